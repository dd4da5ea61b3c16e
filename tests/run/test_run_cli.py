"""`pipelinegen run` as a user calls it: dry run, selection errors, --docker without engine, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipelinegen.results.bundle_reader import read_bundle
from tests.run_helpers import REPO, SAMPLE, pipelinegen, wait_dead

TINY = """\
version: 1
project: tiny
canonical_repository: https://example.invalid/tiny.git
branches: [main]
axes:
  - {name: arch, values: [amd64], default: amd64}
  - {name: jdk, values: ["17"], default: "17", parameter: jdk, cell_name: "jdk{value}"}
resources:
  - {name: small, label: "tiny-small", cpu: 1, memory_gb: 1}
defaults:
  build: {resource: small, timeout_minutes: 5, attempts: 1, axes: [arch, jdk]}
  test: {resource: small, timeout_minutes: 5, attempts: 2, axes: [arch, jdk], needs: [jar]}
steps:
  - {name: jar, kind: build, command: "mkdir -p build && echo ok > build/out", build_once: true, always: true,
     stash: "build/**"}
  - {name: quick, kind: test, command: "cat build/out"}
  - {name: hang, kind: test, command: "sleep 60 & echo $! > \\"$PIDS/{cell_id}.pid\\"; wait", splits: 2}
  - {name: upload, kind: publish, command: "echo uploading", post_commit_only: true, always: true,
     resource: small, timeout_minutes: 5, attempts: 1, axes: []}
profiles:
  - {name: all, steps: [quick, hang]}
  - {name: quick, steps: [quick]}
"""


def tiny_project(tmp_path: Path) -> Path:
    """The tiny pipeline as a committed git checkout (a bundle certifies a commit)."""
    project = tmp_path / "tiny"
    project.mkdir()
    (project / "pipeline.yaml").write_text(TINY)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q"], ["add", "pipeline.yaml"], ["commit", "-q", "-m", "tiny"]):
        subprocess.run(git + args, cwd=project, check=True, capture_output=True)
    return project


def test_a_green_run_of_a_clean_checkout_writes_a_complete_bundle(tmp_path):
    project = tiny_project(tmp_path)
    out = tmp_path / "out"
    done = pipelinegen("-C", str(project), "run", "--profile", "quick", "--out", str(out), cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = read_bundle(out / "bundle.tar.zst").manifest
    assert manifest["incomplete"] is False
    assert {c["id"]: c["status"] for c in manifest["cells"]} == {"jar_amd64_jdk17": "passed",
                                                                  "quick_amd64_jdk17": "passed"}
    (project / "pipeline.yaml").write_text(TINY + "# changed\n")
    done = pipelinegen("-C", str(project), "run", "--profile", "quick", "--out", str(tmp_path / "o2"), cwd=REPO)
    assert done.returncode == 0 and "no bundle: 1 uncommitted change" in done.stdout
    assert not (tmp_path / "o2" / "bundle.tar.zst").exists()


def test_dry_run_prints_the_commands_in_start_order_and_the_cells_that_cannot_run(tmp_path):
    jdk17 = tmp_path / "jdk17"
    (jdk17 / "bin").mkdir(parents=True)
    (jdk17 / "bin" / "java").write_text("")
    done = pipelinegen("-C", str(SAMPLE), "run", "--profile", "smoke", "-j", "2", "--dry-run",
                       "--jvm-root", str(tmp_path / "no-jvms"), "--jdk-home", f"17={jdk17}", cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "# jar jdk11 [jar_jdk11]: skipped (jdk 11 not installed)" in lines
    assert "# unit jdk11 1/2 [unit_jdk11_1of2]: skipped (jdk 11 not installed)" in lines
    assert f"# unit jdk17 2/2 [unit_jdk17_2of2] after jar_jdk17 JAVA_HOME={jdk17}" in lines
    commands = [line for line in lines if not line.startswith("#")]
    assert commands == [".build/build-jars.sh 17", ".build/run-tests.sh -a unit -c 1/2 -j 17",
                        ".build/run-tests.sh -a unit -c 2/2 -j 17"]


def test_a_local_run_is_never_post_commit_unless_asked(tmp_path):
    project = tiny_project(tmp_path)
    local = pipelinegen("-C", str(project), "run", "--profile", "quick", "--dry-run", cwd=REPO)
    assert local.returncode == 0, local.stderr
    assert "echo uploading" not in local.stdout and "cat build/out" in local.stdout
    canonical = pipelinegen("-C", str(project), "run", "--profile", "quick", "--dry-run",
                            "--repository", "https://example.invalid/tiny.git", cwd=REPO)
    assert "echo uploading" in canonical.stdout


def test_cells_of_another_profile_are_found_without_naming_it():
    # pytest is only in the sample's `full` profile; the default profile is `smoke`
    done = pipelinegen("-C", str(SAMPLE), "run", "--cells", "pytest", "--jdk", "17", "--dry-run", cwd=REPO)
    assert done.returncode == 0, done.stderr
    commands = [line for line in done.stdout.splitlines() if not line.startswith("#")]
    assert commands == [".build/build-jars.sh 17", ".build/run-tests.sh -a pytest -c 1/1 -j 17 -p 3.11"]


def test_an_unknown_cell_is_a_usage_error_with_a_suggestion():
    done = pipelinegen("-C", str(SAMPLE), "run", "--cells", "unit 3/2", "--dry-run", cwd=REPO)
    assert done.returncode == 2
    assert "--cells 'unit 3/2' matches no cell" in done.stderr


def test_docker_without_an_engine_says_so_and_exits_2(tmp_path):
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
                    "Is the docker daemon running?' >&2\nexit 1\n")
    fake.chmod(0o755)
    done = pipelinegen("-C", str(SAMPLE), "run", "--docker", "--jdk", "17", cwd=REPO,
                       env={"PATH": f"{fake.parent}:{os.environ['PATH']}"})
    assert done.returncode == 2
    assert "no docker engine is reachable" in done.stderr and "Is the docker daemon running?" in done.stderr
    assert "without --docker" in done.stderr


def test_sigint_stops_running_cells_keeps_finished_ones_and_writes_an_incomplete_result(tmp_path):
    project = tiny_project(tmp_path)
    pids = tmp_path / "pids"
    pids.mkdir()
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-c", "from pipelinegen.cli import main; main()", "-C", str(project), "run", "-j", "1",
         "--plain", "--out", str(out), "--kill-grace", "1"],
        env={**os.environ, "PYTHONPATH": str(REPO), "PIDS": str(pids)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not list(pids.glob("*.pid")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(pids.glob("*.pid")), "the hanging cell never started"
        child = int(next(pids.glob("*.pid")).read_text())
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 2, stderr
    summary = json.loads((out / "summary.json").read_text())
    status = {c["id"]: c["status"] for c in summary["cells"]}
    assert summary["complete"] is False and summary["status"] == "interrupted"
    assert status == {"jar_amd64_jdk17": "passed", "quick_amd64_jdk17": "passed",
                      "hang_amd64_jdk17_1of2": "interrupted", "hang_amd64_jdk17_2of2": "not_run"}
    hang = next(c for c in summary["cells"] if c["id"] == "hang_amd64_jdk17_1of2")
    assert len(hang["attempts"]) == 1  # an interrupted cell is not retried
    assert (out / "cells" / "quick_amd64_jdk17" / "attempt-1.log").read_text().strip().endswith("ok")
    assert json.loads((out / "plan.json").read_text())["selected"]
    assert "INCOMPLETE" in stdout
    assert wait_dead(child), "Ctrl-C left the cell's child running"
    manifest = read_bundle(out / "bundle.tar.zst").manifest
    assert manifest["incomplete"] is True and "interrupted" in manifest["incomplete_reason"]


def test_dry_run_shows_the_environment_that_makes_a_repeat_cell_differ_from_split_one():
    done = pipelinegen("-C", str(SAMPLE), "run", "--cells", "unit", "--jdk", "17", "--dry-run",
                       "--repeat", "Flaky Test", "--times", "7", cwd=REPO)
    assert done.returncode == 0, done.stderr
    env_lines = [line for line in done.stdout.splitlines() if line.startswith("# env ")]
    assert env_lines, done.stdout
    assert all("PIPELINEGEN_REPEAT_TESTS='Flaky Test'" in line for line in env_lines)
    assert all("PIPELINEGEN_REPEAT_COUNT=" in line for line in env_lines)


def test_the_bundle_of_a_local_run_records_the_checked_out_branch(tmp_path):
    project = tiny_project(tmp_path)
    subprocess.run(["git", "branch", "-m", "feature-x"], cwd=project, check=True, capture_output=True)
    out = tmp_path / "out"
    done = pipelinegen("-C", str(project), "run", "--profile", "quick", "--out", str(out), cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    subject = read_bundle(out / "bundle.tar.zst").manifest["subject"]
    assert subject["branch"] == "feature-x"
    assert subject["repository"] == project.resolve().as_uri()  # no origin remote: the checkout itself


def test_an_invalid_repeat_regex_is_a_usage_error_before_anything_runs():
    done = pipelinegen("-C", str(SAMPLE), "run", "--cells", "unit", "--jdk", "17", "--dry-run",
                       "--repeat", "(Flaky", cwd=REPO)
    assert done.returncode == 2
    assert "'(Flaky' is not a valid regular expression" in done.stderr
    assert "run-tests.sh" not in done.stdout


def test_a_repeat_cell_that_ran_no_test_says_so(tmp_path):
    project = tiny_project(tmp_path)
    done = pipelinegen("-C", str(project), "run", "--profile", "quick", "--repeat", "NoSuchTest", "--times", "2",
                       "--plain", "--no-bundle", "--out", str(tmp_path / "out"), cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr
    cells = json.loads((tmp_path / "out" / "summary.json").read_text())["cells"]
    repeat = [c for c in cells if "repeat" in c["name"]]
    assert repeat and all("no test ran" in c["reason"] for c in repeat), cells
    assert "no test ran" in done.stdout


def test_a_second_run_into_the_same_out_directory_is_refused(tmp_path):
    project = tiny_project(tmp_path)
    out = tmp_path / "out"
    args = ("-C", str(project), "run", "--profile", "quick", "--out", str(out))
    assert pipelinegen(*args, cwd=REPO).returncode == 0
    first = (out / "bundle.tar.zst").read_bytes()
    again = pipelinegen(*args, cwd=REPO)
    assert again.returncode == 2 and "holds a previous run" in again.stderr
    assert (out / "bundle.tar.zst").read_bytes() == first
