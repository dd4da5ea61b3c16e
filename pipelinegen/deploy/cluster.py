"""What the cluster must offer: node pools derived from pipeline.yaml, checked against real nodes.

Pure functions over `kubectl get nodes -o json` output, so the check runs before anything is deployed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipelinegen.deploy.clone import CONTROLLER_STORAGE_GB
from pipelinegen.deploy.spec import AgentClass, DeploySpec

_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15,
           "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
GIB = 2**30


def parse_quantity(text: str | int | float) -> float:
    """A Kubernetes quantity ('3500m', '16Gi', '16323532Ki', '1e3') as a plain number."""
    match = re.fullmatch(r"([0-9.]+(?:e[0-9]+)?)([a-zA-Z]*)", str(text).strip())
    if not match or match.group(2) not in _SUFFIX:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    return float(match.group(1)) * _SUFFIX[match.group(2)]


@dataclass(frozen=True)
class Node:
    name: str
    arch: str
    cpu: float
    memory_gb: float
    ephemeral_gb: float


def nodes_from_json(data: dict) -> list[Node]:
    """Schedulable nodes and their allocatable resources from `kubectl get nodes -o json`."""
    nodes = []
    for item in data.get("items", []):
        if item.get("spec", {}).get("unschedulable"):
            continue
        alloc = item.get("status", {}).get("allocatable", {})
        labels = item.get("metadata", {}).get("labels", {})
        nodes.append(Node(
            name=item["metadata"]["name"],
            arch=labels.get("kubernetes.io/arch", "amd64"),
            cpu=parse_quantity(alloc.get("cpu", "0")),
            memory_gb=parse_quantity(alloc.get("memory", "0")) / GIB,
            ephemeral_gb=parse_quantity(alloc.get("ephemeral-storage", "0")) / GIB))
    return nodes


def fits(agent: AgentClass, node: Node) -> bool:
    return (node.arch == agent.arch and node.cpu >= agent.pod_cpu and node.memory_gb >= agent.pod_memory_gb
            and node.ephemeral_gb >= agent.ephemeral_storage_gb)


def node_pool_problems(agents: tuple[AgentClass, ...] | list[AgentClass], nodes: list[Node]) -> list[str]:
    """Pod templates the cluster can never run, or whose instance cap exceeds the nodes that fit them."""
    problems = []
    for agent in agents:
        same_arch = [n for n in nodes if n.arch == agent.arch]
        need = (f"{agent.pod_cpu:g} cpu, {agent.pod_memory_gb:g} GiB memory, "
                f"{agent.ephemeral_storage_gb:g} GiB ephemeral storage")
        if not same_arch:
            problems.append(f"pod template {agent.label}: needs a node with kubernetes.io/arch={agent.arch}; "
                            "the cluster has none")
            continue
        fitting = [n for n in same_arch if fits(agent, n)]
        if not fitting:
            big = max(same_arch, key=lambda n: (n.cpu, n.memory_gb))
            problems.append(f"pod template {agent.label}: needs {need} per pod; the largest {agent.arch} node "
                            f"{big.name} has {big.cpu:g} cpu, {big.memory_gb:.1f} GiB, {big.ephemeral_gb:.0f} GiB")
        elif agent.instance_cap is not None and agent.instance_cap > len(fitting):
            problems.append(f"pod template {agent.label}: instance cap {agent.instance_cap} (one pod per node) "
                            f"exceeds the {len(fitting)} node(s) that fit it")
    return problems


def requirements_text(spec: DeploySpec) -> str:
    """The cluster requirements as Markdown (for docs/test-on-clone.md and `clone requirements`)."""
    lines = [
        f"Cluster requirements for {spec.project} (from pipeline.yaml; one agent pod per node):",
        "",
        "| node pool (label) | arch | allocatable per node: cpu | memory | ephemeral storage | nodes |",
        "|---|---|---|---|---|---|",
    ]
    for agent in spec.agents:
        nodes = f"{agent.instance_cap}" if agent.instance_cap is not None else ">= 1 (autoscale for parallelism)"
        lines.append(f"| {agent.label} | {agent.arch} | {agent.pod_cpu:g} | {agent.pod_memory_gb:g} GiB | "
                     f"{agent.ephemeral_storage_gb:g} GiB | {nodes} |")
    ctl = spec.controller
    lines += [
        "",
        f"Controller: {ctl.cpu:g} cpu, {ctl.memory_gb:g} GiB memory ({ctl.java_opts}), "
        f"a {CONTROLLER_STORAGE_GB} GiB ReadWriteOnce persistent volume (default storage class).",
        "Agent pods run a privileged docker-in-docker container: the node pools must allow privileged pods.",
        "",
    ]
    return "\n".join(lines)
