"""The summary stage at scale: how long the generated library's summary stage takes to turn N cells' results into
the certified bundle, ci_summary.html and the merged JUnit, measured with the validate harness's executing mode
(the local Jenkinsfile runner the Jenkins double runs builds with). Run on demand:

    python benchmarks/summary_stage.py            # 1,500 cells (two test steps x 750 splits + the jar)
    python benchmarks/summary_stage.py --smoke    # 20 cells: proves the benchmark runs (CI)

Every cell really runs (a command writing one small JUnit file), stashes its result files, and the summary
unstashes all of them on one agent and runs `pipelinegen results collect` + `results summary`. Figures: the
summary stage's wall time, split into the per-cell unstash loop and pipelinegen's work, and as a ratio against
the anchor measured in the same run: the median time one cell takes in the tests stage. A real controller adds
a network round trip per unstash, which this cannot measure (docs/jenkins-compatibility.md).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from pipelinegen.validate.execution import Execution, HarnessRun, SimulatedAgent, run_harness_and_measure

PIPELINE = """\
version: 1
project: bench
canonical_repository: https://example.org/bench.git
branches: [main]
axes:
  - {{name: arch, values: [amd64], default: amd64, parameter: architecture, parameter_default: amd64, hide_in_name: [amd64]}}
  - {{name: jdk, values: ["17"], default: "17", parameter: jdk, cell_name: "jdk{{value}}"}}
resources:
  - {{name: small, label: "bench-small", cpu: 1, memory_gb: 1}}
defaults:
  build: {{resource: small, timeout_minutes: 10, axes: [arch, jdk]}}
  test: {{resource: small, timeout_minutes: 10, axes: [arch, jdk], needs: [jar]}}
steps:
  - {{name: jar, kind: build, command: "mkdir -p build && echo jar > build/jar", build_once: true, always: true, stash: "build/**"}}
  - {{name: unit, kind: test, splits: {splits}, results: ["out/*.xml"], command: "bash write-junit.sh"}}
  - {{name: other, kind: test, splits: {splits}, results: ["out/*.xml"], command: "bash write-junit.sh"}}
profiles:
  - {{name: all, steps: [unit, other]}}
"""
# one JUnit file of 3 tests per cell: a real split's report is larger, but the count of files is what scales
WRITE_JUNIT = """#!/usr/bin/env bash
mkdir -p out
c="c${PIPELINEGEN_STEP}${PIPELINEGEN_SPLIT}"
cat > "out/TEST-$PIPELINEGEN_STEP-$PIPELINEGEN_SPLIT.xml" <<XML
<testsuite name="$c" tests="3"><testcase classname="$c" name="a" time="0.1"/><testcase classname="$c" name="b" time="0.1"/><testcase classname="$c" name="c" time="0.1"/></testsuite>
XML
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.org", *args], cwd=cwd, check=True,
                   capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", type=int, default=750, help="splits per test step (cells = 2 x splits + 1)")
    parser.add_argument("--smoke", action="store_true", help="tiny size: only proves the benchmark runs (CI)")
    args = parser.parse_args()
    splits = 10 if args.smoke else args.splits
    with tempfile.TemporaryDirectory(prefix="pipelinegen-summary-bench-") as tmp:
        repo = Path(tmp) / "repo"
        repo.mkdir()
        (repo / "pipeline.yaml").write_text(PIPELINE.format(splits=splits), encoding="utf-8")
        (repo / "write-junit.sh").write_text(WRITE_JUNIT, encoding="utf-8")
        subprocess.run(["pipelinegen", "-C", str(repo), "compile"], check=True, capture_output=True)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "bench")
        agents = tuple(SimulatedAgent(f"agent-{n}", ("bench-small",)) for n in range(1, 5))
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG") if k in os.environ}
        run = HarnessRun("summary at scale", {"profile": "all"}, scm_url=str(repo), scm_branch="*/main",
                         execute=Execution(Path(tmp) / "build", agents, env=env), step_budget=10_000_000)
        started = time.perf_counter()
        [result] = run_harness_and_measure([run], repo / "generated" / "Jenkinsfile", repo, timeout_s=7200)[0]
        total = time.perf_counter() - started
        if not result.ok or result.result != "SUCCESS":
            raise SystemExit(f"the build did not succeed: {result.result} {result.error} {result.bugs[:3]}")
        events = result.events
        cells = 2 * splits + 1
        summary = [e for e in events if e.get("stage") == "summary"]
        first, last = summary[0]["t_ms"], summary[-1]["t_ms"]
        script = next(i for i, e in enumerate(events) if e["type"] == "sh" and "summarise" in e["script"])
        pipelinegen_ms = events[script + 1]["t_ms"] - events[script]["t_ms"]
        unstashes = [e for e in summary if e["type"] == "unstash"]
        runs = [e["t_ms"] for e in events if e["type"] == "sh" and "run-cell" in e["script"] and e.get("stage") == "tests"]
        per_cell = statistics.median(b - a for a, b in zip(runs, runs[1:], strict=False)) if len(runs) > 1 else 1
        summary_ms = last - first
        print(f"cells                              : {cells} ({len(unstashes)} result stashes unstashed)")
        print(f"whole build (harness, 4 agents)    : {total:8.1f} s")
        print(f"summary stage                      : {summary_ms / 1000:8.1f} s")
        print(f"  unstash loop + plan.json         : {(summary_ms - pipelinegen_ms) / 1000:8.1f} s "
              f"({(summary_ms - pipelinegen_ms) / max(cells, 1):.1f} ms per cell)")
        print(f"  pipelinegen collect + summary    : {pipelinegen_ms / 1000:8.1f} s")
        print(f"anchor: one cell in the tests stage: {per_cell:8.0f} ms (median)")
        print(f"summary stage / anchor             : {summary_ms / per_cell:8.1f} cells' worth of work")


if __name__ == "__main__":
    main()
