"""`pipelinegen history import` at ci-cassandra's scale, against the Jenkins REST test double.

The double (tests/jenkins_double/history.py) serves an archived job: BUILDS builds of CELLS cells with
TESTS test cases each, as junit's testReport JSON. The import runs as its own process (`pipelinegen
history import`), so its CPU time and peak RSS are the importer's alone; the anchor is the history DB's
own ingest of the same number of test cases in this process (no HTTP, no JSON), measured in the same run.
Peak RSS is reported for two job sizes: an import holds one build at a time, so it should not grow with
the number of builds. Run on demand: `python benchmarks/history_import.py` (CI runs `--smoke`).
(A real controller serves testReport slower than the double; this measures pipelinegen's side.)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from measure import load_line, pipelinegen, run_measured  # noqa: E402

from pipelinegen.analysis.history import HistoryStore, RunInfo  # noqa: E402
from pipelinegen.results.testcase import TestCaseResult  # noqa: E402
from tests.jenkins_double import JenkinsDouble  # noqa: E402
from tests.jenkins_double.history import ArchivedJob, serve_archived_job  # noqa: E402

CELL_NAMES = [f"test jdk17 {k}/20" for k in range(1, 21)] + [f"jvm-dtest jdk17 {k}/16" for k in range(1, 17)]


def anchor_rate(builds: int, tests: int) -> float:
    """Test cases per second that HistoryStore.ingest_run takes directly (no HTTP, no JSON)."""
    cases = [TestCaseResult("s", f"org.apache.cassandra.c{i % 36}.Test{i // 20}", f"test{i % 20}",
                            f"cell{i % 36}", "passed", 0.5) for i in range(tests)]
    with tempfile.TemporaryDirectory() as tmp, HistoryStore(Path(tmp) / "anchor.sqlite") as store:
        start = time.process_time()
        for b in range(builds):
            store.ingest_run(RunInfo(f"anchor-{b}", f"{b:040x}", "trunk", float(b)), cases)
        return builds * tests / (time.process_time() - start)


def measure_import(builds: int, cells: int, tests_per_cell: int) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, peak RSS MiB) of one `history import` process."""
    job = ArchivedJob("Cassandra-trunk", builds=builds, cells=CELL_NAMES[:cells], tests_per_cell=tests_per_cell,
                      flaky={"org.apache.cassandra.c1.Test0.test3": 0.1})
    with JenkinsDouble(users={"reader": "r"}) as jd, tempfile.TemporaryDirectory() as tmp:
        serve_archived_job(jd, job)
        os.environ.update(JENKINS_USER="reader", JENKINS_TOKEN="r")
        cost = run_measured(pipelinegen("history", "import", "--jenkins-url", jd.url, "--job", job.name,
                                        "--db", str(Path(tmp) / "h.sqlite")))
    assert f"{builds} builds imported" in cost.stdout, cost.stdout
    return cost.cpu_s, cost.wall_s, cost.peak_mib


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--builds", type=int, default=100)
    parser.add_argument("--cells", type=int, default=36)
    parser.add_argument("--tests-per-cell", type=int, default=600, help="36 x 600 = 21,600 tests per build")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.builds, args.cells, args.tests_per_cell = 4, 3, 50
    tests = args.cells * args.tests_per_cell
    print(f"job: {args.builds} builds x {tests} test cases ({load_line()})")
    rate = anchor_rate(max(2, args.builds // 10), tests)
    small_builds = max(2, args.builds // 4)
    cpu_small, _, rss_small = measure_import(small_builds, args.cells, args.tests_per_cell)
    cpu, wall, rss = measure_import(args.builds, args.cells, args.tests_per_cell)
    imported_rate = args.builds * tests / cpu
    print(f"history import: {imported_rate:,.0f} test cases/s of importer CPU ({cpu:.1f} s CPU, {wall:.1f} s wall "
          f"incl. the double); anchor (direct ingest, same run): {rate:,.0f}/s; import / anchor = "
          f"{imported_rate / rate:.2f}x")
    print(f"peak RSS of the import: {rss:.0f} MiB for {args.builds} builds, {rss_small:.0f} MiB for {small_builds} "
          f"builds: ratio {rss / rss_small:.2f}x (one build at a time: flat) ; cpu per build "
          f"{cpu / args.builds * 1000:.0f} ms vs {cpu_small / small_builds * 1000:.0f} ms")


if __name__ == "__main__":
    main()
