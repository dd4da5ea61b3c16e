"""Scheduler overhead of `pipelinegen run` per cell over the bare command, and slot utilisation.

    python benchmarks/run_overhead.py [--cells 40] [--jobs 4]

Target (issue 4): < 50 ms per cell over the bare command. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console  # noqa: E402

from pipelinegen.plan.cell import Cell, Parameters, Plan  # noqa: E402
from pipelinegen.run.executor import Executor, RunOptions  # noqa: E402
from pipelinegen.run.output import ResultDirectory  # noqa: E402
from pipelinegen.run.progress import PlainProgress  # noqa: E402
from pipelinegen.run.workspace import copy_source  # noqa: E402

SAMPLE = Path(__file__).resolve().parent.parent / "examples" / "sample-project"


def cell(i: int, command: str) -> Cell:
    return Cell(id=f"c{i}", name=f"c {i}", step="c", kind="test", axes=(), split=1, splits=1, command=command,
                resource="small", label="x", cpu=1, memory_gb=1, timeout_minutes=5, attempts=1)


def run_executor(repo: Path, cells: list[Cell], jobs: int) -> tuple[float, list]:
    tmp = Path(tempfile.mkdtemp(prefix="pipelinegen-bench-"))
    try:
        plan = Plan(parameters=Parameters(profile="bench"), post_commit=False, cells=tuple(cells))
        writer = ResultDirectory(tmp / "out")
        executor = Executor(plan, cells, repo, tmp / "out", tmp / "work", RunOptions(jobs=jobs),
                            PlainProgress(Console(file=open(os.devnull, "w"))), writer)
        started = time.perf_counter()
        summary = executor.run()
        return time.perf_counter() - started, summary.cells
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def copy_time(repo: Path, n: int) -> float:
    """Mean time of the per-cell working copy of *repo* (copy + removal), the part that grows with the repo."""
    tmp = Path(tempfile.mkdtemp(prefix="pipelinegen-bench-copy-"))
    started = time.perf_counter()
    for i in range(n):
        copy_source(repo, tmp / str(i))
        shutil.rmtree(tmp / str(i))
    elapsed = (time.perf_counter() - started) / n
    shutil.rmtree(tmp, ignore_errors=True)
    return elapsed


def bare(command: str, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        subprocess.run(["bash", "-c", command], check=True)
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=40)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.cells, args.jobs = 2, 2
    n = args.cells

    empty_repo = Path(tempfile.mkdtemp(prefix="pipelinegen-bench-repo-"))
    (empty_repo / "README").write_text("x\n")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (figures scale with it)")
    base = bare("true", n)
    print(f"bare `bash -c true`: {base * 1000:.1f} ms per run ({n} runs)")
    for label, repo in (("1-file repo", empty_repo), ("sample project repo", SAMPLE)):
        wall, _ = run_executor(repo, [cell(i, "true") for i in range(n)], jobs=1)
        per_cell = wall / n
        copy = copy_time(repo, n)
        print(f"executor -j 1, {n} cells of `true`, {label}: {per_cell * 1000:.1f} ms per cell "
              f"-> overhead {(per_cell - base) * 1000:.1f} ms per cell (target < 50 ms), of which "
              f"{copy * 1000:.1f} ms copying the working copy alone")

    sleep = 0.3
    wall, cells = run_executor(empty_repo, [cell(i, f"sleep {sleep}") for i in range(n)], jobs=args.jobs)
    busy = sum(c.ended - c.started for c in cells)
    ideal = n * sleep / args.jobs
    print(f"executor -j {args.jobs}, {n} cells of `sleep {sleep}`: wall {wall:.2f} s, ideal {ideal:.2f} s, "
          f"slot utilisation {busy / (args.jobs * wall) * 100:.0f} % (busy cell time / slots x wall)")
    shutil.rmtree(empty_repo, ignore_errors=True)


if __name__ == "__main__":
    main()
