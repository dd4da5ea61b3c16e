"""Run one command as a fresh process and report what the kernel says it cost (shared by the benchmarks).

CPU time (user + sys, including interpreter start-up and the process's own children) rather than wall
time: on a machine shared with other work the wall clock measures the neighbours. Peak RSS is the
process's own high-water mark (ru_maxrss from wait4), not the benchmark driver's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Cost:
    cpu_s: float
    wall_s: float
    peak_mib: float
    stdout: str


def run_measured(args: list[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> Cost:
    """Run *args* (with *env* added to the environment); exit with its stderr when it fails."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, cwd=cwd, env=dict(os.environ, **(env or {}), PYTHONPATH=str(ROOT)))
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(args[:6])} ... failed ({proc.returncode}):\n"
                             f"{err.read().decode(errors='replace')[-4000:]}")
        return Cost(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, out.read().decode())


def pipelinegen(*args: str) -> list[str]:
    """The command line running the CLI of this checkout in a fresh interpreter."""
    return [sys.executable, "-c", "import sys; from pipelinegen.cli import main; sys.argv[0] = 'pipelinegen'; main()",
            *args]


def best(runs: int, func):
    """The cheapest (CPU) of *runs* calls of func() -> Cost."""
    return min((func() for _ in range(max(1, runs))), key=lambda cost: cost.cpu_s)


def load_line() -> str:
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
