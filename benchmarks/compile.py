"""Compile time and peak memory for the Cassandra pipeline: load + merge + model, every profile's plan,
and rendering everything under generated/ (in memory). Run on demand: `python benchmarks/compile.py`."""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc
from pathlib import Path

from pipelinegen.generate import render_all
from pipelinegen.load import load_pipeline
from pipelinegen.plan import Parameters, build_plan

REPO = Path(__file__).resolve().parents[1]


def once(pipeline_path: Path) -> tuple[float, float, float, int, int]:
    start = time.perf_counter()
    pipeline = load_pipeline(pipeline_path)
    loaded = time.perf_counter()
    cells = 0
    for profile in pipeline.profiles:
        parameters = Parameters(
            profile=profile.name,
            architecture="all",
            custom_regexp="dtest" if profile.custom else "",
            repository=pipeline.canonical_repository,
        )
        cells += len(build_plan(pipeline, parameters).cells)
    planned = time.perf_counter()
    files = render_all(pipeline, pipeline_path.parent)
    rendered = time.perf_counter()
    return loaded - start, planned - loaded, rendered - planned, cells, sum(len(v) for v in files.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pipeline", type=Path, default=REPO / "pipeline.yaml")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 1
    runs = [once(args.pipeline) for _ in range(args.repeat)]
    tracemalloc.start()
    once(args.pipeline)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    load_s, plan_s, render_s, cells, size = (statistics.median(column) for column in zip(*runs, strict=True))
    total = [sum(r[:3]) for r in runs]
    print(f"pipeline: {args.pipeline}")
    print(f"load+merge+model : {load_s * 1000:8.1f} ms (median of {args.repeat})")
    print(f"plan, all {len(load_pipeline(args.pipeline).profiles)} profiles: {plan_s * 1000:8.1f} ms for {int(cells)} cells")
    print(f"render generated/: {render_s * 1000:8.1f} ms, {int(size) / 1024:.0f} KiB")
    print(f"total            : {statistics.median(total) * 1000:8.1f} ms median, {max(total) * 1000:.1f} ms max")
    print(f"peak Python heap : {peak / 2**20:8.1f} MiB (tracemalloc)")
    print(f"max RSS          : {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f} MiB")


if __name__ == "__main__":
    main()
