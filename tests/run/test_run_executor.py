"""The executor on hand-built plans: ordering, parallelism, timeouts, attempts, stash, skips, results."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from rich.console import Console

from pipelinegen.run.executor import Executor, RunOptions
from pipelinegen.run.output import ResultDirectory, read_summary
from pipelinegen.run.progress import PlainProgress
from tests.run_helpers import make_cell, make_plan, wait_dead


def run(tmp_path: Path, *cells, jobs: int = 2, **options):
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "source.txt").write_text("source\n")
    out = tmp_path / "out"
    plan = make_plan(*cells)
    writer = ResultDirectory(out)
    writer.write_plan(plan, list(plan.cells))
    options.setdefault("jdk_homes", {"17": Path("/usr/lib/jvm/does-not-matter")})
    executor = Executor(plan, list(plan.cells), repo, out, tmp_path / "work", RunOptions(jobs=jobs, **options),
                        PlainProgress(Console(file=open(os.devnull, "w"))), writer)
    summary = executor.run()
    return summary, {c.id: c for c in summary.cells}, out


def overlap(a, b) -> bool:
    return a.started < b.ended and b.started < a.ended


def test_build_once_cell_finishes_before_dependants_start_and_j2_runs_two_at_a_time(tmp_path):
    jar = make_cell("jar", "sleep 0.3; mkdir -p build; echo built > build/artifact; echo junk > not-stashed",
                    kind="build", build_once=True, stash_includes="build/**")
    tests = [make_cell(f"t{k}", "sleep 0.6; cat build/artifact; test ! -e not-stashed; cat source.txt",
                       depends_on=("jar",)) for k in (1, 2, 3)]
    summary, cells, out = run(tmp_path, jar, *tests, jobs=2)
    assert summary.exit_code == 0, {c: (r.status, r.reason) for c, r in cells.items()}
    for k in (1, 2, 3):
        assert cells[f"t{k}"].started >= cells["jar"].ended  # unstash needs the jar's output
        log = (out / cells[f"t{k}"].attempts[0].log).read_text()
        assert "built" in log and "source" in log and "unstashed 1 files" in log
    running = [cells[f"t{k}"] for k in (1, 2, 3)]
    assert overlap(running[0], running[1])  # two slots: two at once
    third = max(running, key=lambda c: c.started)
    assert third.started >= min(c.ended for c in running if c is not third) - 0.05  # ...but never three


def test_a_cell_with_two_cpus_takes_both_slots(tmp_path):
    big = make_cell("big", "sleep 0.4", cpu=2)
    small = [make_cell(f"s{k}", "sleep 0.4") for k in (1, 2)]
    summary, cells, _ = run(tmp_path, small[0], big, small[1], jobs=2)
    assert summary.exit_code == 0
    assert not overlap(cells["big"], cells["s1"]) and not overlap(cells["big"], cells["s2"])
    assert cells["big"].slots == 2


def test_timeout_kills_the_whole_process_group(tmp_path):
    pid_file = tmp_path / "child.pid"
    # the child ignores nothing special; it is a grandchild of the executor that would outlive a plain kill
    cell = make_cell("hang", f"sleep 60 & echo $! > {pid_file}; wait")
    started = time.monotonic()
    summary, cells, _ = run(tmp_path, cell, timeout_s=0.5, kill_grace_s=0.5)
    assert time.monotonic() - started < 10
    assert cells["hang"].status == "timeout" and "timed out after 0.5 s" in cells["hang"].reason
    assert summary.exit_code == 1
    child = int(pid_file.read_text())
    assert wait_dead(child), "the background child survived the timeout"


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace_period(tmp_path):
    cell = make_cell("stubborn", "trap '' TERM; sleep 30")
    started = time.monotonic()
    _, cells, _ = run(tmp_path, cell, timeout_s=0.3, kill_grace_s=0.5)
    assert cells["stubborn"].status == "timeout"
    assert time.monotonic() - started < 10


JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="org.example.FlakyTest" tests="2">
  <testcase classname="org.example.FlakyTest" name="stable" time="0.01"/>
  <testcase classname="org.example.FlakyTest" name="sometimesFails" time="0.01">{failure}</testcase>
</testsuite>
"""


def _junit_command(fail_on_attempts: str) -> str:
    failing = JUNIT.format(failure='<failure message="flaky failure for seed 5"/>')
    passing = JUNIT.format(failure="")
    return (f"mkdir -p out; case $PIPELINEGEN_ATTEMPT in {fail_on_attempts}) "
            f"printf '%s' '{failing}' > out/TEST-flaky.xml; exit 1;; esac; "
            f"printf '%s' '{passing}' > out/TEST-flaky.xml")


def test_a_test_failing_then_passing_on_retry_passes_the_cell_and_is_reported_flaky(tmp_path):
    # retry_on: infra-and-tests (a step that opts in): failing tests get another attempt too
    cell = make_cell("unit", "mkdir -p logs && echo heap > logs/unit.log; " + _junit_command("1"), attempts=2,
                     results=("out/*.xml",), archive=("logs/**",), retry_on="infra-and-tests")
    summary, cells, out = run(tmp_path, cell)
    unit = cells["unit"]
    assert unit.attempts[1].archived == ["cells/unit/attempt-2/archive/logs/unit.log"]
    assert (out / unit.attempts[1].archived[0]).read_text() == "heap\n"
    assert summary.exit_code == 0 and unit.status == "passed" and len(unit.attempts) == 2
    assert unit.flaky_tests == ["org.example.FlakyTest.sometimesFails"]
    assert unit.attempts[0].tests.failing[0]["message"] == "flaky failure for seed 5"
    assert (out / "cells/unit/attempt-1/junit/out/TEST-flaky.xml").is_file()
    assert (out / "cells/unit/attempt-2.log").is_file()


def test_failing_tests_are_not_retried_by_default_an_infra_failure_is(tmp_path):
    """The three-valued outcome of model/outcome.py, as Jenkins applies it: failing tests end the cell (failed,
    one attempt); a non-zero exit without a failing test, or no results from a test step, is infrastructure
    (error) and gets another attempt; the script's exit code 75 says so explicitly."""
    tests = make_cell("tests", _junit_command("1|2"), attempts=2, results=("out/*.xml",))
    crash = make_cell("crash", "exit 3", attempts=2, results=("out/*.xml",))
    declared = make_cell("declared", "echo 'docker: pull failed'; exit 75", attempts=3, results=("out/*.xml",))
    disk = make_cell("disk", "echo 'write: No space left on device'; " + _junit_command("1|2|3"), attempts=2,
                     results=("out/*.xml",))
    silent = make_cell("silent", "true", attempts=2, results=("out/*.xml",))
    summary, cells, _ = run(tmp_path, tests, crash, declared, disk, silent)
    assert (cells["tests"].status, len(cells["tests"].attempts)) == ("failed", 1)
    assert cells["tests"].attempts[0].outcome == "tests-failed"
    assert (cells["crash"].status, len(cells["crash"].attempts)) == ("error", 2)
    assert cells["crash"].reason == "exit code 3 without a failing test"
    assert (cells["declared"].status, len(cells["declared"].attempts)) == ("error", 3)
    assert (cells["disk"].status, len(cells["disk"].attempts)) == ("error", 2)  # failing tests, but the disk was full
    assert cells["disk"].reason == "a known infrastructure failure in the console"
    assert (cells["silent"].status, cells["silent"].reason) == ("error", "no test results")
    assert summary.exit_code == 2


def test_a_test_failing_on_every_attempt_fails_the_run_with_exit_1(tmp_path):
    cell = make_cell("unit", _junit_command("1|2"), attempts=2, results=("out/*.xml",), retry_on="infra-and-tests")
    summary, cells, out = run(tmp_path, cell)
    assert summary.exit_code == 1 and cells["unit"].status == "failed"
    assert cells["unit"].reason == "1 failing test"
    data = read_summary(out)
    assert data["complete"] is True and data["status"] == "failed"
    assert data["cells"][0]["attempts"][1]["tests"]["failing"][0]["test"] == "org.example.FlakyTest.sometimesFails"


def test_missing_jdk_and_failed_build_make_cells_skipped_never_green(tmp_path):
    jar11 = make_cell("jar11", "true", build_once=True, axes=(("jdk", "11"),))
    unit11 = make_cell("unit11", "true", depends_on=("jar11",), axes=(("jdk", "11"),))
    jar17 = make_cell("jar17", "exit 3", build_once=True)
    unit17 = make_cell("unit17", "true", depends_on=("jar17",))
    summary, cells, _ = run(tmp_path, jar11, unit11, jar17, unit17)
    assert cells["jar11"].status == "skipped" and cells["jar11"].reason == "jdk 11 not installed"
    assert cells["unit11"].status == "skipped"
    # a build command failing without a failing test: an infrastructure failure (model/outcome.py), exit 2
    assert cells["jar17"].status == "error" and cells["jar17"].reason == "exit code 3 without a failing test"
    assert cells["unit17"].status == "skipped" and "jar17" in cells["unit17"].reason
    assert summary.exit_code == 2


def test_summary_is_valid_json_while_running_and_marked_complete_at_the_end(tmp_path):
    marker = tmp_path / "seen.json"
    cell = make_cell("peek", f"cp {tmp_path / 'out' / 'summary.json'} {marker}")
    summary, _, out = run(tmp_path, cell)
    during = json.loads(marker.read_text())
    assert during["complete"] is False and during["status"] == "running"
    assert read_summary(out)["complete"] is True and summary.exit_code == 0


@pytest.mark.parametrize("jobs", [1, 3])
def test_every_cell_runs_exactly_once(tmp_path, jobs):
    cells = [make_cell(f"c{k}", f"echo {k} >> {tmp_path / 'ran.txt'}") for k in range(6)]
    summary, _, _ = run(tmp_path, *cells, jobs=jobs)
    assert summary.exit_code == 0
    assert sorted((tmp_path / "ran.txt").read_text().split()) == [str(k) for k in range(6)]


def test_a_second_stop_request_kills_without_waiting_for_the_grace_period(tmp_path):
    import threading

    repo = tmp_path / "repo"
    repo.mkdir()
    plan = make_plan(make_cell("stubborn", "trap '' TERM; sleep 30"), make_cell("later", "true"))
    out = tmp_path / "out"
    executor = Executor(plan, list(plan.cells), repo, out, tmp_path / "work",
                        RunOptions(jobs=1, kill_grace_s=60, jdk_homes={"17": Path("/x")}),
                        PlainProgress(Console(file=open(os.devnull, "w"))), ResultDirectory(out))
    threading.Timer(0.5, executor.request_stop).start()
    threading.Timer(1.0, executor.request_stop).start()
    started = time.monotonic()
    summary = executor.run()
    assert time.monotonic() - started < 10
    assert summary.exit_code == 2 and summary.complete is False
    assert [c.status for c in summary.cells] == ["interrupted", "not_run"]


def test_a_second_checkout_is_cloned_once_per_run_and_copied_into_each_cell(tmp_path):
    import subprocess

    from pipelinegen.plan.cell import Checkout

    upstream = tmp_path / "dtest-upstream"
    upstream.mkdir()
    (upstream / "conftest.py").write_text("# dtest\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q", "-b", "trunk"], ["add", "."], ["commit", "-q", "-m", "x"]):
        subprocess.run(git + args, cwd=upstream, check=True, capture_output=True)
    dtest = Checkout(name="dtest", repository=str(upstream), branch="trunk", directory="cassandra-dtest",
                     repository_parameter="dtest_repository", branch_parameter="dtest_branch")
    cells = [make_cell(f"dtest{k}", "cat cassandra-dtest/conftest.py", checkouts=(dtest,)) for k in (1, 2, 3)]
    summary, results, out = run(tmp_path, *cells, jobs=3)
    assert summary.exit_code == 0, {c: r.reason for c, r in results.items()}
    logs = [(out / results[f"dtest{k}"].attempts[0].log).read_text() for k in (1, 2, 3)]
    assert all("# dtest" in log for log in logs)
    assert sum(log.count("git clone") for log in logs) == 1


def test_remaining_work_uses_the_mean_time_of_the_same_step(tmp_path):
    from pipelinegen.run.records import AttemptResult

    cells = [make_cell("x_1", "true", step="x"), make_cell("x_2", "true", step="x"),
             make_cell("y_1", "true", step="y", cpu=2), make_cell("z_1", "true", step="z"),
             make_cell("z_2", "true", step="z")]
    plan = make_plan(*cells)
    executor = Executor(plan, list(plan.cells), tmp_path, tmp_path / "out", tmp_path / "work",
                        RunOptions(jobs=2), PlainProgress(Console(file=open(os.devnull, "w"))),
                        ResultDirectory(tmp_path / "out"))
    for cell_id, seconds in (("x_1", 10.0), ("z_1", 40.0)):
        executor.results[cell_id].attempts.append(AttemptResult(attempt=1, status="passed", returncode=0,
                                                                started=0.0, ended=seconds, log=""))
        executor.finished[cell_id] = "passed"
    executor.queue = [cells[1], cells[2], cells[4]]
    done = [executor.results["x_1"], executor.results["z_1"]]
    # x_2: 10 s (its step), y_1: 25 s overall mean x 2 slots, z_2: 40 s (its step)
    assert executor._remaining_work(done, []) == 10 + 50 + 40
