"""Benchmark: history ingest rate and flaky query time (issue 7 targets: >= 200k testcases/s, query < 2 s).

    python benchmarks/history.py                 # 1,000 runs x 20,000 tests (the target size)
    python benchmarks/history.py --runs 100      # quicker
    python benchmarks/history.py --smoke         # tiny: proves the benchmark runs (CI)

Builds a synthetic history (1 % of tests flaky at 5 %, a few broken tests, one node outage), ingests it
into a fresh DB run by run (one transaction each, as `history ingest` does) and times only ingest_run;
then times the full `pipelinegen flaky` analysis (history query + statistics + classification).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from measure import best, pipelinegen, run_measured  # noqa: E402

from pipelinegen.analysis.flaky import analyse
from pipelinegen.analysis.history import CellRun, HistoryStore, RunInfo
from pipelinegen.results.testcase import TestCaseResult


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--tests", type=int, default=20000)
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--db", type=Path, default=None, help="keep the DB here (default: a temp dir)")
    parser.add_argument("--trace-kb", type=int, default=0,
                        help="give each failure a distinct stack trace of this many KB (as Cassandra's are: ~2-8 KB); "
                             "0: message only, as the targets were set")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.tests, args.cells = 12, 400, 4
        args.trace_kb = args.trace_kb or 1

    def trace() -> str:  # distinct per failure: line numbers differ, as they do between commits
        frames = max(0, args.trace_kb * 1024 // 64)
        return "".join(f"\tat org.apache.cassandra.db.Frame{i}.apply(Frame.java:{rng.randint(1, 9999)})\n"
                       for i in range(frames))

    rng = random.Random(7)
    per_cell = max(1, args.tests // args.cells)
    base = [
        TestCaseResult("s", f"org.example.pkg{t // 500}.Class{t // 10}Test", f"test{t % 10}",
                       f"test_jdk11_{t // per_cell % args.cells + 1}of{args.cells}", "passed", 0.01 + (t % 7) / 10)
        for t in range(args.tests)
    ]
    flaky = rng.sample(range(args.tests), args.tests // 100)
    broken = rng.sample(range(args.tests), 5)
    outage = range(args.runs // 2, args.runs // 2 + 5)  # node n3 broken for five runs
    cells_of = [[CellRun(f"test_jdk11_{k}of{args.cells}", "test", (("jdk", "11"),), node=f"n{(k + r) % 8}")
                 for k in range(1, args.cells + 1)] for r in range(8)]

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "history.sqlite"
        store = HistoryStore(db)
        ingest_s = ingest_cpu = 0.0
        for r in range(args.runs):
            cases = list(base)
            cells = cells_of[r % 8]
            for t in flaky:
                if rng.random() < 0.05:
                    cases[t] = base[t]._replace(status="failed", message="expected:<1> but was:<2>", details=trace())
            for t in broken:
                cases[t] = base[t]._replace(status="failed", message="AssertionError", details=trace())
            if r in outage:
                bad = next((c.cell_id for c in cells if c.node == "n3"), cells[0].cell_id)
                cases = [c._replace(status="error", message="java.net.ConnectException: Connection refused",
                                    details=trace()) if c.cell_id == bad else c for c in cases]
            run = RunInfo(f"run-{r}", f"commit-{r // 4}", "trunk", 1.7e9 + r * 3600)
            start, cpu = time.perf_counter(), time.process_time()
            store.ingest_run(run, cases, cells)
            ingest_s += time.perf_counter() - start
            ingest_cpu += time.process_time() - cpu
        total = args.runs * args.tests
        print(f"ingest: {args.runs} runs x {args.tests} tests = {total:,} testcases in {ingest_s:.1f} s "
              f"-> {total / ingest_s:,.0f} testcases/s wall, {total / ingest_cpu:,.0f}/s of CPU time (target >= 200,000)")
        store.close()
        print(f"db size: {Path(db).stat().st_size / 1e6:.1f} MB")

        store = HistoryStore(db)  # a fresh process-like open: no warm caches
        start, cpu = time.perf_counter(), time.process_time()
        report = analyse(store)
        query_s, query_cpu = time.perf_counter() - start, time.process_time() - cpu
        kinds: dict[str, int] = {}
        for verdict in report.tests:
            kinds[verdict.kind] = kinds.get(verdict.kind, 0) + 1
        found = {t.test: t.kind for t in report.tests}
        name = [f"{c.classname}.{c.name}" for c in base]
        print(f"truth: {sum(found.get(name[t]) == 'test' for t in flaky)} of {len(flaky)} planted flakes found as test, "
              f"{sum(found.get(name[t]) == 'code' for t in broken)} of {len(broken)} broken tests as code")
        print(f"flaky query: {query_s:.2f} s wall, {query_cpu:.2f} s CPU for {len(report.tests)} tests with failures {kinds} (target < 2 s)")
        store.close()

        # The same question through the CLI, as a user asks it: a fresh process, JSON on stdout.
        cost = best(1 if args.smoke else 3, lambda: run_measured(pipelinegen("flaky", "--db", str(db), "--format", "json")))
        data = json.loads(cost.stdout)
        assert len(data["tests"]) == len(report.tests), "flaky --format json lists other tests than analyse()"
        print(f"flaky --format json (whole process): {cost.cpu_s:.2f} s CPU, {cost.wall_s:.2f} s wall, peak RSS "
              f"{cost.peak_mib:.0f} MiB, {len(cost.stdout) / 1e6:.1f} MB of JSON; {cost.cpu_s / query_cpu:.2f}x the "
              f"in-process analysis above (targets: < 1.5 s, < 200 MiB at 1,000 runs x 20,000 tests)")
    print(f"load average while running: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
