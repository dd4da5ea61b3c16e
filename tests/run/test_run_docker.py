"""`pipelinegen run --docker` against the real docker engine (scripts/docker.sh starts one; CI=true requires it).

Every promise of the docker path: the sample's smoke profile gives the host run's results, the working copy is
mounted, files belong to the invoking user, env values never reach argv, memory limits, timeouts, Ctrl-C and
kill -9 of the runner leave no container, a missing image names its build command, the bundle records ids.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.run import docker as docker_mod
from tests.run_helpers import REPO, SAMPLE, pipelinegen, wait_dead

pytestmark = [pytest.mark.docker, pytest.mark.slow]

IMAGE = "sample-build:17"
SECRET = "s3cr3t-value-never-on-argv"


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A private scratch directory: pytest keeps only its 3 newest base directories, so on a machine where
    several sessions run at once a run of a minute could see its tmp_path deleted under it."""
    with tempfile.TemporaryDirectory(prefix="pipelinegen-docker-test-") as scratch:
        yield Path(scratch)


@pytest.fixture(scope="module")
def engine() -> None:
    """A docker engine and the sample image (built once, then reused: scripts/docker.sh, build-image.sh)."""
    problem = docker_mod.docker_engine_problem()
    if problem and shutil.which("dockerd") and os.geteuid() == 0:
        # an installed engine that is not running is started (as scripts/setup.sh does); it keeps running
        subprocess.run(["bash", str(REPO / "scripts/docker.sh"), "engine"], capture_output=True, timeout=120)
        problem = docker_mod.docker_engine_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true needs a docker engine (scripts/setup.sh starts one): {problem}")
        pytest.skip(f"no docker engine: {problem}")
    base = subprocess.run(["bash", str(REPO / "scripts/docker.sh"), "base-image"], capture_output=True, text=True,
                          timeout=900, check=True).stdout.strip()
    subprocess.run([str(SAMPLE / docker_mod.IMAGE_BUILD_SCRIPT), IMAGE], env={**os.environ, "BASE_IMAGE": base},
                   capture_output=True, text=True, timeout=900, check=True)


def containers(label: str) -> list[str]:
    done = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True,
                          check=True)
    return done.stdout.split()


def wait_for_container(runner_pid: int, seconds: float = 60.0) -> str:
    """The container started by the `pipelinegen run` process *runner_pid* (other runs may have their own)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = subprocess.run(["docker", "ps", "--filter", f"label={docker_mod.LABEL_RUNNER}", "--format",
                               f'{{{{.ID}}}} {{{{.Label "{docker_mod.LABEL_RUNNER}"}}}}'],
                              capture_output=True, text=True, check=True)
        for line in done.stdout.splitlines():
            container, runner = line.split()
            if runner.startswith(f"{runner_pid}:"):
                return container
        time.sleep(0.2)
    raise AssertionError(f"no container of runner {runner_pid} within {seconds:g} s")


def inspect(container: str) -> dict:
    done = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def tiny_project(root: Path, command: str, image: str = IMAGE, extra: str = "") -> Path:
    """A project of one cell (`probe`) in *image*; the directory is world-readable (a non-root runner reads it)."""
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    (root / "pipeline.yaml").write_text(f"""\
version: 1
project: tiny
canonical_repository: https://example.org/tiny.git
axes:
  - {{name: arch, values: [amd64], parameter: architecture, parameter_default: amd64, hide_in_name: [amd64]}}
resources:
  - {{name: small, label: tiny, cpu: 1, memory_gb: 0.5}}
steps:
  - name: probe
    kind: build
    resource: small
    timeout_minutes: 5
    command: {json.dumps(command)}
    image: {json.dumps(image)}
    archive: ["probe/**"]
{extra}
profiles:
  - {{name: smoke, steps: [probe]}}
""")
    return root


def run_tiny(project: Path, out: Path, *args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    return pipelinegen("-C", str(project), "run", "--docker", "--plain", "--no-bundle", "--out", str(out), *args,
                       cwd=REPO, env=env, timeout=180, **kwargs)


def start_tiny(project: Path, out: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-c", "from pipelinegen.cli import main; main()", "-C", str(project),
                             "run", "--docker", "--plain", "--no-bundle", "--out", str(out), *args],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def bundle_content(bundle: Path) -> tuple[dict[str, str], set[tuple[str, str, str, str]]]:
    read = read_bundle(bundle)
    cells = {cell["id"]: cell["status"] for cell in read.cells}
    tests = {(case.cell_id, case.classname, case.name, case.status) for case in read.iter_testcases()}
    return cells, tests


def test_the_smoke_profile_in_docker_gives_the_host_runs_results_and_records_the_image(engine, tmp_path):
    bundles = {}
    for mode in ("host", "docker"):
        out = tmp_path / mode
        args = ["--docker"] if mode == "docker" else []
        done = pipelinegen("-C", str(SAMPLE), "run", "--profile", "smoke", "--jdk", "17", "-j", "2", "--plain",
                           "--out", str(out), "--env", "SAMPLE_FLAKY_SEED=1", "--env", "SAMPLE_SLOW_MILLIS=200",
                           *args, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (out / "bundle.tar.zst").is_file(), done.stdout
        bundles[mode] = out / "bundle.tar.zst"
    host_cells, host_tests = bundle_content(bundles["host"])
    docker_cells, docker_tests = bundle_content(bundles["docker"])
    assert docker_cells == host_cells == {"jar_jdk17": "passed", "unit_jdk17_1of2": "passed",
                                          "unit_jdk17_2of2": "passed"}
    assert docker_tests == host_tests and len(docker_tests) == 11
    image_id = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", IMAGE], capture_output=True,
                              text=True, check=True).stdout.strip()
    assert read_bundle(bundles["docker"]).manifest["producer"]["images"] == {IMAGE: image_id}
    assert read_bundle(bundles["host"]).manifest["producer"]["images"] == {}
    # the cells really ran in the image (by id), not on the host
    log = (tmp_path / "docker/cells/unit_jdk17_1of2/attempt-1.log").read_text()
    assert "--network none -e HOME=/tmp -v " in log and f" {image_id} bash -c " in log


def test_the_working_copy_is_mounted_and_the_resource_limits_apply(engine, tmp_path):
    # the cell proves the mount: /work is a bind mount and what it writes there is collected from the host side
    command = "grep -q ' /work ' /proc/self/mountinfo && mkdir -p probe && id -u > probe/uid && sleep 3"
    project = tiny_project(tmp_path / "p", command)
    proc = start_tiny(project, tmp_path / "out")
    try:
        details = inspect(wait_for_container(proc.pid))
    finally:
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    # resource `small`: cpu 1, memory_gb 0.5
    assert details["HostConfig"]["Memory"] == 512 * 1024 * 1024 and details["HostConfig"]["NanoCpus"] == 10 ** 9
    assert details["HostConfig"]["NetworkMode"] == "none"
    assert [(m["Type"], m["Destination"]) for m in details["Mounts"]] == [("bind", "/work")]
    assert details["Config"]["User"] == f"{os.getuid()}:{os.getgid()}"
    assert (tmp_path / "out/cells/probe/attempt-1/archive/probe/uid").read_text().strip() == str(os.getuid())


def test_env_values_reach_the_container_but_never_argv(engine, tmp_path):
    project = tiny_project(tmp_path / "p", "mkdir -p probe && printf %s \"$TOKEN\" > probe/token && sleep 4")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TOKEN": SECRET}
    proc = subprocess.Popen([sys.executable, "-c", "from pipelinegen.cli import main; main()", "-C", str(project),
                             "run", "--docker", "--plain", "--no-bundle", "--out", str(tmp_path / "out"),
                             "--env", "TOKEN"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        container = wait_for_container(proc.pid)
        details = inspect(container)
        argvs = subprocess.run(["ps", "-ww", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    finally:
        output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, output
    assert "docker run" in argvs and " -e TOKEN " in argvs and SECRET not in argvs
    assert SECRET not in json.dumps([details["Path"], details["Args"]])
    assert f"TOKEN={SECRET}" in details["Config"]["Env"]  # it did reach the container, by name
    assert (tmp_path / "out/cells/probe/attempt-1/archive/probe/token").read_text() == SECRET
    assert SECRET not in (tmp_path / "out/cells/probe/attempt-1.log").read_text()
    assert SECRET not in (tmp_path / "out/summary.json").read_text()


def python_for(uid: int) -> tuple[str, str]:
    """(python, PYTHONPATH) a non-root *uid* can run pipelinegen with: this interpreter, or, when it lives where
    that uid cannot go (a pyenv under /root), the system python of the same version over this venv's packages."""
    real = Path(os.path.realpath(sys.executable))
    reachable = all(p.stat().st_mode & 0o001 for p in real.parents)
    system = Path(f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}")
    if reachable or not system.exists():
        return sys.executable, str(REPO)
    return str(system), os.pathsep.join([str(REPO), *site.getsitepackages()])


def test_files_written_in_the_container_belong_to_a_non_root_runner(engine):
    """The runner runs as uid 4242 (in the docker group): nothing it leaves behind is root's."""
    uid = 4242
    docker_gid = int(subprocess.run(["getent", "group", "docker"], capture_output=True, text=True,
                                    check=True).stdout.split(":")[2])
    with tempfile.TemporaryDirectory(prefix="pipelinegen-docker-uid-") as scratch:
        root = Path(scratch)
        root.chmod(0o755)
        project = tiny_project(root / "p", "mkdir -p probe/deep && id -u > probe/deep/uid && touch made-here")
        work = root / "tmp"
        work.mkdir()
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(root)], check=True)
        python, pythonpath = python_for(uid)
        env = {**os.environ, "PYTHONPATH": pythonpath, "TMPDIR": str(work), "HOME": str(work)}
        done = subprocess.run(["setpriv", f"--reuid={uid}", f"--regid={uid}", f"--groups={docker_gid}", python,
                               "-c", "from pipelinegen.cli import main; main()", "-C", str(project), "run", "--docker",
                               "--plain", "--no-bundle", "--keep-work", "--out", str(root / "out")],
                              cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        kept = list(work.glob("pipelinegen-run-*/probe/attempt-1"))
        assert len(kept) == 1 and (kept[0] / "made-here").is_file()
        assert (kept[0] / "probe/deep/uid").read_text().strip() == str(uid)
        owners = {(p, p.stat().st_uid, p.stat().st_gid) for p in root.rglob("*")}
        assert {(p, u, g) for p, u, g in owners if (u, g) != (uid, uid)} == set()


def test_a_timeout_stops_the_container(engine, tmp_path):
    project = tiny_project(tmp_path / "p", "sleep 300")
    started = time.monotonic()
    done = run_tiny(project, tmp_path / "out", "--timeout", "3", "--kill-grace", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["cells"][0]["status"] == "timeout"
    assert time.monotonic() - started < 60
    name = docker_mod.container_name(summary["run_id"], "probe", 1)
    assert containers(f"{docker_mod.LABEL_RUN}={summary['run_id']}") == [], name


@pytest.mark.parametrize("how", ["ctrl-c", "kill-9"])
def test_stopping_the_runner_leaves_no_container_running(engine, tmp_path, how):
    project = tiny_project(tmp_path / "p", "sleep 300")
    proc = start_tiny(project, tmp_path / "out")
    try:
        container = wait_for_container(proc.pid)
        runner = inspect(container)["Config"]["Labels"][docker_mod.LABEL_RUNNER]
        proc.send_signal(signal.SIGINT if how == "ctrl-c" else signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == (2 if how == "ctrl-c" else -9)
    # Ctrl-C: the runner stops it before exiting; kill -9: the runner's guard process kills it
    deadline = time.monotonic() + 20
    while containers(f"{docker_mod.LABEL_RUNNER}={runner}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert containers(f"{docker_mod.LABEL_RUNNER}={runner}") == []


def test_the_next_run_removes_containers_of_a_dead_runner(engine, tmp_path):
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert wait_dead(gone.pid)
    labels = [f"{docker_mod.LABEL_RUNNER}={gone.pid}:1", f"{docker_mod.LABEL_HOST}={os.uname().nodename}",
              f"{docker_mod.LABEL_RUN}=orphan-test"]
    name = f"pipelinegen-orphan-{os.getpid()}"
    subprocess.run(["docker", "run", "-d", "--network", "none", "--name", name,
                    *[arg for label in labels for arg in ("--label", label)], IMAGE, "sleep", "300"],
                   capture_output=True, check=True)
    try:
        project = tiny_project(tmp_path / "p", "true")
        done = run_tiny(project, tmp_path / "out")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"removed container {name}, left by a runner that is gone" in done.stderr
        assert containers(f"{docker_mod.LABEL_RUN}=orphan-test") == []
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def test_a_missing_image_fails_the_cell_naming_the_build_command(engine, tmp_path):
    project = tiny_project(tmp_path / "p", "true", image="pipelinegen-test-no-such-image:1")
    script = project / docker_mod.IMAGE_BUILD_SCRIPT
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    done = run_tiny(project, tmp_path / "out")
    assert done.returncode == 2, done.stdout + done.stderr
    cell = json.loads((tmp_path / "out/summary.json").read_text())["cells"][0]
    assert cell["status"] == "error"
    assert cell["reason"] == (f"image pipelinegen-test-no-such-image:1 is not in the docker engine: build it first "
                              f"with `(cd {project} && .build/docker/build-image.sh pipelinegen-test-no-such-image:1)`")
    assert "build-image.sh pipelinegen-test-no-such-image:1" in done.stdout


def test_ci_setup_leaves_an_engine_it_did_not_start_running(engine, tmp_path):
    """.ci/run stops the engine at the end only when setup started it: a running one is not recorded."""
    started = tmp_path / "started.pid"
    script = str(REPO / "scripts/docker.sh")
    done = subprocess.run(["bash", script, "engine", "--started-pidfile", str(started)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "docker engine already running" in done.stderr, done.stderr
    assert not started.exists()
    subprocess.run(["bash", script, "stop", str(started)], check=True, timeout=60)
    assert docker_mod.docker_engine_problem() is None


def test_the_memory_limit_is_enforced(engine, tmp_path):
    # resource `small` has memory_gb 0.5: 800 MB cannot be had inside the container (the host has plenty)
    project = tiny_project(tmp_path / "p", "python3 -c 'b = bytearray(800 * 1024 * 1024)' && echo allocated")
    done = run_tiny(project, tmp_path / "out")
    assert done.returncode != 0, done.stdout + done.stderr
    cell = json.loads((tmp_path / "out/summary.json").read_text())["cells"][0]
    # SIGKILL from the OOM killer (the status of a non-zero exit without a failing test is executor.py's call)
    assert cell["status"] in ("failed", "error") and cell["reason"].startswith("exit code 137"), cell
    log = (tmp_path / "out/cells/probe/attempt-1.log").read_text()
    assert "Killed" in log and "allocated" not in log.splitlines()
