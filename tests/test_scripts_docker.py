"""scripts/docker.sh's engine bookkeeping, with a stand-in dockerd: CI stops only an engine it started.

(The real engine path is exercised by scripts/setup.sh in CI and by tests/test_run_docker.py.)
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.run_helpers import REPO, alive, wait_dead

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="docker.sh starts dockerd as root (or with sudo -n)")

FAKE_DOCKER = """#!/bin/sh
# stand-in client: `docker info` answers once the stand-in dockerd is up
[ "$1" = info ] && [ -f "$PIPELINEGEN_DOCKER_STATE/up" ] && { echo 20.10-fake; exit 0; }
echo "Cannot connect to the Docker daemon" >&2; exit 1
"""
FAKE_DOCKERD = """#!/bin/sh
# stand-in engine: records its argv, writes --pidfile, says it is up, then runs until killed
echo "$*" > "$PIPELINEGEN_DOCKER_STATE/argv"
while [ $# -gt 0 ]; do [ "$1" = --pidfile ] && echo $$ > "$2"; shift; done
touch "$PIPELINEGEN_DOCKER_STATE/up"
trap 'rm -f "$PIPELINEGEN_DOCKER_STATE/up"; exit 0' TERM
while :; do sleep 0.1; done
"""


def docker_sh(tmp_path: Path, *args: str, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    bin_dir = tmp_path / "bin"
    if not bin_dir.exists():
        bin_dir.mkdir()
        for name, text in (("docker", FAKE_DOCKER), ("dockerd", FAKE_DOCKERD)):
            (bin_dir / name).write_text(text)
            (bin_dir / name).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PIPELINEGEN_DOCKER_STATE": str(tmp_path / "state"), **(extra_env or {})}
    return subprocess.run(["bash", str(REPO / "scripts/docker.sh"), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_engine_is_started_once_and_stopped_only_by_whoever_started_it(tmp_path):
    started, second = tmp_path / "started.pid", tmp_path / "second.pid"
    first = docker_sh(tmp_path, "engine", "--started-pidfile", str(started))
    assert first.returncode == 0, first.stderr
    assert "starting dockerd --iptables=false --bridge=none" in first.stderr
    assert (tmp_path / "state/argv").read_text().split()[:2] == ["--iptables=false", "--bridge=none"]
    pid = int(started.read_text())
    assert alive(pid)
    # a second setup (another CI run, a developer) finds it running: it records nothing, so it stops nothing
    again = docker_sh(tmp_path, "engine", "--started-pidfile", str(second))
    assert again.returncode == 0 and "already running" in again.stderr and not second.exists()
    assert docker_sh(tmp_path, "stop", str(second)).returncode == 0
    time.sleep(0.3)
    assert alive(pid)
    stop = docker_sh(tmp_path, "stop", str(started))
    assert stop.returncode == 0 and f"stopped the docker engine this run started (pid {pid})" in stop.stderr
    assert wait_dead(pid) and not started.exists()


def test_an_engine_that_cannot_start_fails_setup_with_its_log(tmp_path):
    docker_sh(tmp_path, "stop", str(tmp_path / "none"))  # writes the stand-ins
    (tmp_path / "bin/dockerd").write_text('#!/bin/sh\necho "failed to start daemon: no cgroups" >&2\nexit 1\n')
    started = time.monotonic()
    result = docker_sh(tmp_path, "engine")
    assert result.returncode == 1 and time.monotonic() - started < 30
    assert "failed to start daemon: no cgroups" in result.stderr and "dockerd exited instead of starting" in result.stderr
    assert f"log: {tmp_path}/state/dockerd.log" in result.stderr


def test_an_engine_that_never_answers_is_given_up_on(tmp_path):
    docker_sh(tmp_path, "stop", str(tmp_path / "none"))
    (tmp_path / "bin/dockerd").write_text('#!/bin/sh\necho $$ > "$PIPELINEGEN_DOCKER_STATE/hung.pid"\nexec sleep 60\n')
    try:
        result = docker_sh(tmp_path, "engine", extra_env={"PIPELINEGEN_DOCKERD_WAIT_S": "2"})
    finally:
        os.kill(int((tmp_path / "state/hung.pid").read_text()), 9)
    assert result.returncode == 1 and "dockerd did not answer within 2 s" in result.stderr
