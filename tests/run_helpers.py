"""Shared helpers of the tests/run/test_run_*.py files: hand-built cells and plans."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelinegen.plan.cell import Cell, Parameters, Plan

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "sample-project"


def make_cell(cell_id: str, command: str, **fields) -> Cell:
    values = dict(
        id=cell_id, name=cell_id.replace("_", " "), step=cell_id.split("_")[0], kind="test",
        axes=(("jdk", "17"),), split=1, splits=1, command=command, resource="small", label="x", cpu=1,
        memory_gb=1, timeout_minutes=5, attempts=1,
    )
    values.update(fields)
    return Cell(**values)


def make_plan(*cells: Cell) -> Plan:
    return Plan(parameters=Parameters(profile="test"), post_commit=False, cells=tuple(cells))


def pipelinegen(*args: str, cwd: Path, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the CLI in a child process (it changes directory and installs signal handlers)."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-c", "from pipelinegen.cli import main; main()", *args], cwd=cwd,
                          env=full_env, capture_output=True, text=True, **kwargs)


def alive(pid: int) -> bool:
    """True while *pid* runs; a zombie (killed, waiting for a parent that may never reap it) is not alive."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_dead(pid: int, seconds: float = 5.0) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)
