"""What the deploy stage needs from pipeline.yaml, in one small value: the `DeploySpec`.

Built from the model by `spec_from_pipeline`; jobs, clone rendering and cluster checks read only
this, so they are testable without a pipeline.yaml and there is no second list to keep in sync.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen.errors import PipelineError
from pipelinegen.model.parameters import job_parameters
from pipelinegen.model.pipeline import ARCH_AXIS, Controller, JobParameter, Pipeline

PLUGINS_FILE = Path(__file__).with_name("plugins.txt")
SCRIPT_PATH = "generated/Jenkinsfile"
DEFAULT_EPHEMERAL_GB = 20.0  # docker images + a Cassandra build tree; used when pipeline.yaml says nothing
JNLP_CPU = 0.25  # the agent (jnlp) container beside the docker-in-docker one
JNLP_MEMORY_GB = 0.5


@dataclass(frozen=True)
class Plugin:
    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class AgentClass:
    """One pod template: a resource class on one architecture."""

    resource: str
    arch: str
    label: str  # the resolved agent label, e.g. cassandra-amd64-medium
    cpu: float
    memory_gb: float  # the docker-in-docker container: max(agent memory, test container memory)
    ephemeral_storage_gb: float
    instance_cap: int | None = None

    @property
    def name(self) -> str:
        return self.label

    @property
    def pod_cpu(self) -> float:
        return self.cpu + JNLP_CPU

    @property
    def pod_memory_gb(self) -> float:
        return self.memory_gb + JNLP_MEMORY_GB


@dataclass(frozen=True)
class DeploySpec:
    project: str
    canonical_repository: str
    branches: tuple[str, ...]
    parameters: tuple[JobParameter, ...]  # every job parameter, "branch" default filled per job
    agents: tuple[AgentClass, ...]
    controller: Controller = Controller()
    plugins: tuple[Plugin, ...] = field(default_factory=tuple)
    script_path: str = SCRIPT_PATH


def load_plugins(path: Path = PLUGINS_FILE) -> tuple[Plugin, ...]:
    """Read name:version lines; '#' comments and blank lines are skipped."""
    plugins: list[Plugin] = []
    seen: set[str] = set()
    for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition(":")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not version or version == "latest":
            raise PipelineError.single(str(path), number, f"{line!r} is not a pinned plugin",
                                       hint="write name:version, e.g. git:5.10.1 (no 'latest')")
        if name in seen:
            raise PipelineError.single(str(path), number, f"plugin {name} is listed twice", hint="keep one line")
        seen.add(name)
        plugins.append(Plugin(name, version))
    return tuple(plugins)


def job_name(project: str, branch: str) -> str:
    """One Jenkins job per branch: 'cassandra-trunk', 'cassandra-cassandra-5.0' (slashes made safe)."""
    return f"{project}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', branch)}"


def agent_classes(pipeline: Pipeline) -> tuple[AgentClass, ...]:
    try:
        archs = pipeline.axis(ARCH_AXIS).values
    except KeyError:
        archs = ("amd64",)
    agents = []
    for res in pipeline.resources:
        for arch in archs if "{arch}" in res.label else archs[:1]:
            agents.append(AgentClass(
                resource=res.name, arch=arch, label=res.label.replace("{arch}", arch), cpu=float(res.cpu),
                memory_gb=float(max(res.memory_gb, res.container_memory_gb or 0)),
                ephemeral_storage_gb=float(res.ephemeral_storage_gb or DEFAULT_EPHEMERAL_GB),
                instance_cap=res.instance_cap))
    return tuple(agents)


def spec_from_pipeline(pipeline: Pipeline, plugins: tuple[Plugin, ...] | None = None) -> DeploySpec:
    return DeploySpec(
        project=pipeline.project, canonical_repository=pipeline.canonical_repository,
        branches=pipeline.branches or ("main",), parameters=job_parameters(pipeline),
        agents=agent_classes(pipeline), controller=pipeline.controller,
        plugins=load_plugins() if plugins is None else plugins)
