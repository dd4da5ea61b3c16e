"""Benchmark: round-robin-by-count (Cassandra today) vs LPT-by-timings on a heavy-tailed test suite.

Run: python benchmarks/splits.py [--classes 3000] [--splits 20] [--seeds 5]

Durations are log-normal (median ~20 s, a long tail of multi-minute classes, a few ~10 min ones),
like Cassandra's unit test classes. Two LPT figures are printed:
- "LPT, exact": splits planned and judged on the same durations (the algorithm's own quality;
  "plain" is LPT without the local search that `pipelinegen splits` adds);
- "LPT, next run": planned on one run's durations, judged on the next run's (each class ±25 % noise;
  "+new" adds 3 % new classes, planned at the step median but heavy-tailed in reality), which is what
  CI will actually see.
Target: LPT ≤ 1.05 × lower bound.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelinegen.analysis.splits import balance, lower_bound, lpt, round_robin  # noqa: E402
from pipelinegen.analysis.timings import fill_unknown  # noqa: E402


def suite(rng: random.Random, classes: int) -> dict[str, float]:
    durations = {}
    for i in range(classes):
        seconds = rng.lognormvariate(3.0, 1.2)  # median e^3 ~ 20 s, heavy right tail
        if rng.random() < 0.002:
            seconds += rng.uniform(300, 600)  # the odd 5-10 minute class (long-running compaction tests)
        durations[f"org.apache.cassandra.pkg{i % 97}.Test{i:05d}"] = seconds
    return durations


def judged(assignment_tests: list[tuple[str, ...]], actual: dict[str, float]) -> float:
    return max(sum(actual[t] for t in tests) for tests in assignment_tests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=3000)
    parser.add_argument("--splits", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.classes, args.splits, args.seeds = 60, 4, 1

    rows = {
        "round-robin by count": [],
        "plain LPT, exact": [],
        "LPT, exact": [],
        "LPT, next run: drift": [],
        "LPT, next run: +new": [],
    }
    lpt_seconds = []
    for seed in range(args.seeds):
        rng = random.Random(seed)
        planned = suite(rng, args.classes)
        bound = lower_bound(planned, args.splits)
        rr = round_robin(list(planned), args.splits, planned)
        rows["round-robin by count"].append(max(s.seconds for s in rr) / bound)
        rows["plain LPT, exact"].append(max(s.seconds for s in lpt(planned, args.splits)) / bound)
        start = time.perf_counter()
        _, exact = balance(planned, args.splits)  # what `pipelinegen splits` writes: LPT + local search
        lpt_seconds.append(time.perf_counter() - start)
        rows["LPT, exact"].append(max(s.seconds for s in exact) / bound)

        # Next run: every class drifts ±25 %; then also 3 % new classes (no timing yet: they get the median).
        actual = {t: d * rng.uniform(0.75, 1.25) for t, d in planned.items()}
        rows["LPT, next run: drift"].append(
            judged([s.tests for s in exact], actual) / lower_bound(actual, args.splits)
        )
        new = {
            f"org.apache.cassandra.new.Test{i}": rng.lognormvariate(3.0, 1.2)
            for i in range(args.classes // 33)
        }
        actual.update(new)
        estimate, _ = fill_unknown(planned, list(actual))
        _, next_plan = balance(estimate, args.splits)
        rows["LPT, next run: +new"].append(
            judged([s.tests for s in next_plan], actual) / lower_bound(actual, args.splits)
        )

    print(f"{args.classes} classes, {args.splits} splits, {args.seeds} seeds: makespan / lower bound")
    print(f"  {'method':<24}{'mean':>8}{'worst':>8}")
    for name, ratios in rows.items():
        print(f"  {name:<24}{statistics.fmean(ratios):>8.4f}{max(ratios):>8.4f}")
    print(f"  time per assignment (LPT + local search): {statistics.fmean(lpt_seconds) * 1000:.1f} ms")
    worst = max(rows["LPT, exact"])
    print(f"  target LPT <= 1.05 x bound: {'met' if worst <= 1.05 else 'NOT met'} (worst {worst:.4f})")


if __name__ == "__main__":
    main()
