"""Driver throughput against the Jenkins REST test double (tests/jenkins_double): a build whose console
arrives in many progressive chunks and that archives many JUnit files. Prints wall time, console MB/s,
artifacts/s and peak Python memory (the double runs in the same process and holds the whole console, so
the driver's own share is the peak minus about twice the console size). Run on demand: `python benchmarks/deploy_driver.py`.
(A real controller is slower; this measures the driver's own overhead.)"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from jenkins_double import BuildScript, JenkinsDouble  # noqa: E402

from pipelinegen.deploy.credentials import Credentials  # noqa: E402
from pipelinegen.deploy.driver import JenkinsDriver  # noqa: E402
from pipelinegen.deploy.testrun import RunRequest, run_on_jenkins  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=2000, help="console chunks (one per poll)")
    parser.add_argument("--chunk-kb", type=int, default=16)
    parser.add_argument("--artifacts", type=int, default=500, help="archived JUnit files")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.chunks, args.chunk_kb, args.artifacts = 20, 1, 5
    line = ("x" * 99 + "\n") * (args.chunk_kb * 1024 // 100)
    junit = b"<testsuite name='s' tests='1'><testcase classname='s' name='t'/></testsuite>" * 20
    script = BuildScript(console_chunks=[line] * args.chunks, test_report={"passCount": args.artifacts},
                         artifacts={f"ci-results/c{i}/TEST-{i}.xml": junit for i in range(args.artifacts)})
    with JenkinsDouble(script=script) as jd, tempfile.TemporaryDirectory() as tmp:
        driver = JenkinsDriver(jd.url, Credentials("alice", "s3cret-token"))
        tracemalloc.start()
        start = time.perf_counter()
        outcome = run_on_jenkins(driver, RunRequest("bench", "<flow-definition/>", {"profile": "x"}, Path(tmp), poll_s=0))
        wall = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        console_mb = (Path(tmp) / "console.log").stat().st_size / 2**20
    assert outcome.complete
    print(f"console: {console_mb:.1f} MB in {args.chunks} chunks; artifacts: {args.artifacts}")
    print(f"wall {wall:.2f} s; {console_mb / wall:.1f} MB/s console; {args.artifacts / wall:.0f} artifacts/s "
          f"(both in the same run); peak traced memory {peak / 2**20:.1f} MB (double included)")


if __name__ == "__main__":
    main()
