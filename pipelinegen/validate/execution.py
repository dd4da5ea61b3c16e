"""The I/O edge of the execution harness: run generated/Jenkinsfile + its library under Groovy 2.4, ONE JVM
for any number of job-parameter sets, and read back what each run executed (harness/run_pipeline.groovy).

Nothing here knows the plan; `differential` compares what the harness recorded with `build_plan`.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.lint.catalogue_file import PINNED, load_catalogue
from pipelinegen.lint.groovy import GroovyUnavailable, cached_script_command, groovy_environment

HARNESS_SCRIPT = Path(__file__).with_name("harness") / "run_pipeline.groovy"
# The library's contract with the cell scripts: the one `sh` that runs a cell's command.
RUN_CELL_SCRIPT = ".pipelinegen/run-cell.sh"


@dataclass(frozen=True)
class SimulatedAgent:
    """One agent of the executing mode's pool: node(label) takes a free one whose labels satisfy the label."""

    name: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Execution:
    """The executing mode (a local Jenkinsfile runner): `sh` really runs, in per-agent workspaces under *root*;
    archived artifacts land in root/archive, the console in root/console.log."""

    root: Path
    agents: tuple[SimulatedAgent, ...]
    env: dict[str, str] = field(default_factory=dict)  # the agents' environment (PATH, HOME, ...)
    kill: dict[str, int] = field(default_factory=dict)  # cell id -> how many attempts lose their agent mid-command

    def config(self) -> dict:
        return {"root": str(Path(self.root).resolve()), "env": self.env, "kill": self.kill,
                "agents": [{"name": a.name, "labels": list(a.labels)} for a in self.agents]}


@dataclass(frozen=True)
class HarnessRun:
    """One simulated build: job parameters as Jenkins would receive them (absent = the Jenkinsfile default)."""

    name: str
    params: dict[str, object]
    fail: dict[str, int] = field(default_factory=dict)  # cell id -> how many attempts of its command fail
    test_failures: dict[str, int] = field(default_factory=dict)  # cell id -> how many attempts report a failing test
    env: dict[str, str] = field(default_factory=dict)
    jenkinsfile: Path | None = None  # per-run override (the fuzz test runs many pipelines in one JVM)
    workspace: Path | None = None
    step_budget: int = 1_000_000  # steps one build may take before the harness calls it an endless loop
    node_name: str = ""  # agent names, "{n}" numbered (default agent-{n}); Jenkins allows '"' in them
    scm_url: str = ""  # the job's own SCM repository (what an empty `repository` parameter means)
    scm_branch: str = ""  # the job's own SCM branch spec (default */trunk)
    execute: Execution | None = None  # really run the build (see Execution); None = the stub DSL


@dataclass(frozen=True)
class RecordedCell:
    """A cell as the Jenkinsfile ran it: from the `sh` of run-cell.sh and what surrounded it."""

    id: str
    name: str
    step: str
    command: str
    label: str
    timeout_minutes: float | None
    stage: str
    env: dict[str, str]
    unstashed: tuple[str, ...]
    stashed: tuple[str, ...]  # stash names after the command, on the same node
    checkouts: tuple[tuple[str, str, str], ...]  # (directory, url, ref) of checkouts in a sub-directory
    attempts: int  # how many times its command ran


@dataclass(frozen=True)
class HarnessResult:
    name: str
    ok: bool
    result: str
    error: str | None
    job_params: dict[str, object]
    events: list[dict]
    bugs: list[dict]
    tests: dict | None = None  # executing mode: the junit steps' totals {total, failed, skipped}
    description: str = ""  # executing mode: currentBuild.description

    def first_failure(self) -> str | None:
        """The first normal failure (an `error` step, a failing `sh`, a missing stash): the root cause."""
        return next((e["message"] for e in self.events if e["type"] == "abort"), self.error)

    def cells(self) -> list[RecordedCell]:
        return recorded_cells(self.events)

    def bug_findings(self) -> list[Finding]:
        return [
            Finding(
                file=bug.get("file") or "generated/Jenkinsfile",
                line=bug.get("line"),
                rule="harness",
                message=f"run '{self.name}': {bug.get('type', '').rsplit('.', 1)[-1]}: {bug.get('message')}"
                + (f" (stage {bug['stage']}" + (f", cell {bug['cell']})" if bug.get("cell") else ")") if bug.get("stage") else ""),
                hint="the generated pipeline fails this way in Jenkins too",
            )
            for bug in self.bugs
        ]


_MINUTES = {"SECONDS": 1 / 60, "MINUTES": 1, "HOURS": 60, "DAYS": 1440, "MILLISECONDS": 1 / 60000}


def _minutes(timeout: dict | None) -> float | None:
    if not timeout:
        return None
    return float(timeout["time"]) * _MINUTES.get(timeout["unit"], 0)


def recorded_cells(events: list[dict]) -> list[RecordedCell]:
    """The cells whose command ran, in execution order, with the node-level context of their first attempt."""
    cells: dict[str, RecordedCell] = {}
    per_node: dict[str, list[dict]] = {}
    for event in events:
        node = event.get("node")
        if node:
            per_node.setdefault(node, []).append(event)
    for node_events in per_node.values():
        for index, event in enumerate(node_events):
            if event["type"] != "sh" or RUN_CELL_SCRIPT not in event["script"] or not event.get("cell"):
                continue
            cell_id = event["cell"]
            before, after = node_events[:index], node_events[index + 1 :]
            if cell_id in cells:  # a retry: on another node, where a successful attempt stashes
                previous = cells[cell_id]
                stashed = previous.stashed + tuple(e["name"] for e in after if e["type"] == "stash")
                cells[cell_id] = replace(previous, attempts=previous.attempts + 1, stashed=stashed)
                continue
            env = event.get("env") or {}
            cells[cell_id] = RecordedCell(
                id=cell_id,
                name=event.get("label") or "",
                step=env.get("PIPELINEGEN_STEP", ""),
                command=event.get("command") or "",
                label=event.get("node_label") or "",
                timeout_minutes=_minutes(event.get("timeout")),
                stage=event.get("stage") or "",
                env=env,
                unstashed=tuple(e["name"] for e in before if e["type"] == "unstash"),
                stashed=tuple(e["name"] for e in after if e["type"] == "stash"),
                checkouts=tuple((e["dir"], e.get("url") or "", e.get("ref") or "") for e in before
                                if e["type"] == "checkout" and e.get("dir")),
                attempts=1,
            )
    order = [e["cell"] for e in events if e["type"] == "sh" and e.get("cell") and RUN_CELL_SCRIPT in e["script"]]
    seen: dict[str, None] = {}
    for cell_id in order:
        seen.setdefault(cell_id, None)
    return [cells[c] for c in seen]


@dataclass(frozen=True)
class MethodBytes:
    """JVM bytecode of one method as Groovy 2.4 compiles it (before Jenkins's CPS transform enlarges it)."""

    file: str
    class_name: str
    method: str
    bytes: int


def run_harness(runs: list[HarnessRun], jenkinsfile: Path, workspace: Path) -> list[HarnessResult]:
    """Run every *runs* entry in one JVM; raise GroovyUnavailable (exit 2) when Java/Groovy is missing."""
    return run_harness_and_measure(runs, jenkinsfile, workspace)[0]


def harness_threads() -> int:
    """Builds the harness runs at once: one per CPU, at most 4 (PIPELINEGEN_HARNESS_THREADS overrides)."""
    given = os.environ.get("PIPELINEGEN_HARNESS_THREADS", "")
    if given.isdigit() and int(given) > 0:
        return min(int(given), 64)
    return max(1, min(os.cpu_count() or 1, 4))


@functools.cache
def harness_rulebook() -> dict[str, object]:
    """The Jenkins rules the harness checks arguments by: lint's catalogue of the pinned plugins, so lint and the
    harness accept and reject the same parameters, options and step arguments (one rulebook)."""
    controller = load_catalogue(PINNED).controller
    assert controller is not None
    return {
        "parameters": {name: sorted(d.params) for name, d in controller.parameters.items()},
        "steps": {name: sorted(d.params) for name, d in controller.steps.items()},
        "options": sorted(controller.options),
    }


class HarnessProcess:
    """A harness JVM started by start_harness(): result() waits for it; cancel() stops it (validate starts it
    before linting, so the two JVMs overlap, and cancels it when the Groovy does not compile)."""

    def __init__(self, runs: list[HarnessRun], jenkinsfile: Path, bytecode: tuple[Path, ...], timeout_s: float,
                 groovy: str, env: dict[str, str], config: dict) -> None:
        self.runs, self.jenkinsfile, self.bytecode, self.timeout_s = runs, jenkinsfile, bytecode, timeout_s
        self._tmp = tempfile.TemporaryDirectory(prefix="pipelinegen-harness-")
        tmp = Path(self._tmp.name)
        (tmp / "config.json").write_text(json.dumps(config), encoding="utf-8")
        # Files, not pipes: nobody reads while validate lints, and a full pipe would stall the JVM.
        self._out = open(tmp / "stdout", "w+", encoding="utf-8")  # noqa: SIM115 (closed in _close)
        self._err = open(tmp / "stderr", "w+", encoding="utf-8")  # noqa: SIM115
        try:
            command = cached_script_command(HARNESS_SCRIPT, "RunPipeline", groovy, env, "validate-harness",
                                            modules=("json", "xml"))
            self._proc = subprocess.Popen([*command, str(tmp / "config.json")], stdout=self._out, stderr=self._err,
                                          env=env)
        except OSError as err:
            self._close()
            raise GroovyUnavailable([Finding(file="groovy", line=None, message=f"could not start groovy: {err}")]) from err

    def _close(self) -> None:
        self._out.close()
        self._err.close()
        self._tmp.cleanup()

    def cancel(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._close()

    def result(self) -> tuple[list[HarnessResult], list[MethodBytes]]:
        try:
            try:
                returncode = self._proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired as err:
                self._proc.kill()
                self._proc.wait()
                raise PipelineError([Finding(file=str(self.jenkinsfile), line=None, rule="harness",
                                             message=f"the harness did not finish {len(self.runs)} runs in "
                                                     f"{self.timeout_s:.0f} s",
                                             hint="a loop in the Jenkinsfile or library that never ends?")]) from err
            self._out.seek(0)
            self._err.seek(0)
            return _read_results(self.runs, self.bytecode, returncode, self._out.read(), self._err.read())
        finally:
            self._close()


def start_harness(runs: list[HarnessRun], jenkinsfile: Path, workspace: Path, bytecode: tuple[Path, ...] = (),
                  timeout_s: float = 900.0) -> HarnessProcess:
    """Start the harness JVM for *runs* (and the bytecode sizes of *bytecode*); see run_harness_and_measure."""
    groovy, env = groovy_environment()
    config = {
        "threads": harness_threads(),
        "rulebook": harness_rulebook(),
        "bytecode": [str(Path(p).resolve()) for p in bytecode],
        "jenkinsfile": str(Path(jenkinsfile).resolve()),
        "workspace": str(Path(workspace).resolve()),
        "runs": [
            {
                "name": run.name,
                "params": run.params,
                "fail": run.fail,
                "test_failures": run.test_failures,
                "env": run.env,
                "step_budget": run.step_budget,
                **({"node_name": run.node_name} if run.node_name else {}),
                **({"scm_url": run.scm_url} if run.scm_url else {}),
                **({"scm_branch": run.scm_branch} if run.scm_branch else {}),
                **({"execute": run.execute.config()} if run.execute else {}),
                **({"jenkinsfile": str(Path(run.jenkinsfile).resolve())} if run.jenkinsfile else {}),
                **({"workspace": str(Path(run.workspace).resolve())} if run.workspace else {}),
            }
            for run in runs
        ],
    }
    return HarnessProcess(runs, jenkinsfile, bytecode, timeout_s, groovy, env, config)


def run_harness_and_measure(runs: list[HarnessRun], jenkinsfile: Path, workspace: Path,
                            bytecode: tuple[Path, ...] = (), timeout_s: float = 900.0,
                            ) -> tuple[list[HarnessResult], list[MethodBytes]]:
    """The harness runs plus, in the same JVM, the bytecode size of every method of the *bytecode* files.

    The runs are built on harness_threads() threads; results come back in the order of *runs*."""
    if not runs and not bytecode:
        return [], []
    return start_harness(runs, jenkinsfile, workspace, bytecode, timeout_s).result()


def _read_results(runs: list[HarnessRun], bytecode: tuple[Path, ...], returncode: int, stdout: str,
                  stderr: str) -> tuple[list[HarnessResult], list[MethodBytes]]:
    docs = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    measured = docs.pop(0)["bytecode"] if bytecode and docs and "bytecode" in docs[0] else []
    if returncode != 0 or len(docs) != len(runs) or (bytecode and not measured):
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        raise PipelineError([Finding(file=str(HARNESS_SCRIPT), line=None, rule="harness",
                                     message=f"the harness stopped after {len(docs)} of {len(runs)} runs "
                                             f"(exit {returncode}): {tail}")])
    by_path = {str(Path(p).resolve()): str(p) for p in bytecode}
    methods = [MethodBytes(by_path.get(entry["file"], entry["file"]), m["class"], m["method"], m["bytes"])
               for entry in measured for m in entry["methods"]]
    return [
        HarnessResult(
            name=doc["name"],
            ok=doc["ok"],
            result=doc["result"],
            error=doc.get("error"),
            job_params=doc.get("job_params") or {},
            events=doc["events"],
            bugs=doc["bugs"],
            tests=doc.get("tests"),
            description=doc.get("description") or "",
        )
        for doc in docs
    ], methods
