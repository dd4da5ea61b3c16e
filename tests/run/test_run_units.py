"""The pure parts of `pipelinegen run`: cell selection, slots, ordering, JDK map, environment, docker argv."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pipelinegen.errors import PipelineError
from pipelinegen.run.docker import (
    container_name,
    docker_argv,
    docker_engine_problem,
    image_ids,
    missing_image_reason,
    valid_image_reference,
)
from pipelinegen.run.executor import RunOptions, cannot_run_here, cell_environment
from pipelinegen.run.jdk import detect_jdks, feature_version, jdk_map, parse_jdk_homes
from pipelinegen.run.records import CellResult, run_outcome
from pipelinegen.run.scheduler import pick, run_order, slots_needed
from pipelinegen.run.select import select_cells
from pipelinegen.run.workspace import matching_files, unstash
from tests.run_helpers import make_cell, make_plan

JAR = make_cell("jar_jdk17", "true", kind="build", build_once=True, step="jar", name="jar jdk17")
TEST_CELLS = [make_cell(f"test_jdk17_{k}of20", "true", step="test", name=f"test jdk17 {k}/20", split=k, splits=20,
                        depends_on=("jar_jdk17",)) for k in (1, 2, 3)]
LATEST = make_cell("test-latest_jdk17_3of20", "true", step="test-latest", name="test-latest jdk17 3/20",
                   depends_on=("jar_jdk17",))
PLAN = make_plan(JAR, *TEST_CELLS, LATEST)


def ids(cells) -> list[str]:
    return [c.id for c in cells]


@pytest.mark.parametrize("selector, expected", [
    ("test 3/20", ["jar_jdk17", "test_jdk17_3of20"]),  # words of the name; not test-latest 3/20
    ("test jdk17 3/20", ["jar_jdk17", "test_jdk17_3of20"]),  # the exact name
    ("test_jdk17_1of20", ["jar_jdk17", "test_jdk17_1of20"]),  # the id
    ("test-*", ["jar_jdk17", "test-latest_jdk17_3of20"]),  # a glob
    ("jar", ["jar_jdk17"]),
])
def test_cells_are_selected_by_name_words_id_or_glob_with_their_build_cell(selector, expected):
    assert ids(select_cells(PLAN, [selector])) == expected


def test_no_selector_means_the_whole_plan():
    assert ids(select_cells(PLAN, [])) == ids(PLAN.cells)


def test_a_selector_matching_nothing_is_an_error_with_a_suggestion():
    with pytest.raises(PipelineError) as err:
        select_cells(PLAN, ["tset jdk17 3/20"])
    text = str(err.value)
    assert "matches no cell" in text and "test jdk17 3/20" in text


def test_a_cell_takes_as_many_slots_as_its_cpus_but_never_more_than_exist():
    assert slots_needed(make_cell("a", "true", cpu=1), 4) == 1
    assert slots_needed(make_cell("a", "true", cpu=2.5), 4) == 3
    assert slots_needed(make_cell("a", "true", cpu=7), 4) == 4
    assert slots_needed(make_cell("a", "true", cpu=0), 4) == 1


def test_build_once_cells_are_ordered_first_and_dependants_wait_for_them():
    order = run_order([*TEST_CELLS, JAR])
    assert order[0].id == "jar_jdk17"
    selected = {c.id for c in order}
    assert ids(pick(order, {}, selected, free=4, capacity=4)) == ["jar_jdk17"]
    assert ids(pick(order[1:], {"jar_jdk17": "passed"}, selected, free=2, capacity=4)) == ids(TEST_CELLS[:2])


def test_a_large_cell_that_does_not_fit_lets_smaller_ones_use_the_free_slots():
    large = make_cell("large", "true", cpu=4)
    small = make_cell("small", "true", cpu=1)
    assert ids(pick([large, small], {}, {"large", "small"}, free=2, capacity=4)) == ["small"]
    assert ids(pick([large, small], {}, {"large", "small"}, free=4, capacity=4)) == ["large"]


def _fake_jdk(root: Path, name: str, version: str) -> Path:
    home = root / name
    (home / "bin").mkdir(parents=True)
    (home / "bin" / "javac").write_text("")
    (home / "bin" / "java").write_text("")
    (home / "release").write_text(f'IMPLEMENTOR="x"\nJAVA_VERSION="{version}"\n')
    return home


def test_installed_jdks_are_found_by_their_release_file(tmp_path):
    jdk11 = _fake_jdk(tmp_path, "zulu-11", "11.0.22")
    jdk17 = _fake_jdk(tmp_path, "java-17-openjdk-amd64", "17.0.15")
    (tmp_path / "java-1.17.0-openjdk-amd64").symlink_to(jdk17)
    (tmp_path / "jre-only").mkdir()
    assert detect_jdks(tmp_path) == {"11": jdk11, "17": jdk17}
    assert feature_version("1.8.0_392") == "8"
    assert detect_jdks(tmp_path / "missing") == {}


def test_jdk_home_options_override_detection_and_bad_ones_are_explained(tmp_path):
    detected = _fake_jdk(tmp_path / "jvm", "jdk-17", "17.0.1")
    mine = _fake_jdk(tmp_path, "my-17", "17.0.9")
    assert jdk_map(parse_jdk_homes([f"17={mine}"]), tmp_path / "jvm") == {"17": mine}
    assert jdk_map({}, tmp_path / "jvm") == {"17": detected}
    with pytest.raises(PipelineError, match="VERSION=PATH"):
        parse_jdk_homes(["17"])
    with pytest.raises(PipelineError, match="bin/java does not exist"):
        parse_jdk_homes([f"11={tmp_path / 'nowhere'}"])


def test_cells_of_a_jdk_that_is_not_installed_cannot_run_here():
    cell11 = make_cell("unit_jdk11", "true", axes=(("arch", "amd64"), ("jdk", "11")))
    arm = make_cell("unit_arm64", "true", axes=(("arch", "arm64"), ("jdk", "17")))
    homes = {"17": Path("/jdk17")}
    assert cannot_run_here(cell11, homes, docker=False, arch="amd64") == "jdk 11 not installed"
    assert cannot_run_here(cell11, homes, docker=True, arch="amd64") is None  # the image brings its JDK
    assert "arm64" in cannot_run_here(arm, homes, docker=False, arch="amd64")


def test_environment_carries_axis_values_java_home_step_env_and_overrides():
    cell = make_cell("pytest_jdk17", "true", axes=(("arch", "amd64"), ("jdk", "17"), ("python", "3.11")),
                     env=(("SAMPLE_FLAKY_SEED", ""), ("STEP_ONLY", "x")))
    options = RunOptions(jdk_homes={"17": Path("/opt/jdk17")}, extra_env={"SAMPLE_FLAKY_SEED": "5"})
    env = cell_environment(cell, {"PATH": "/usr/bin", "HOME": "/root"}, options, attempt=2)
    assert env["PIPELINEGEN_ARCH"] == "amd64" and env["PIPELINEGEN_PYTHON"] == "3.11"
    assert env["JAVA_HOME"] == "/opt/jdk17" and env["PATH"].startswith("/opt/jdk17/bin:")
    assert env["SAMPLE_FLAKY_SEED"] == "5" and env["STEP_ONLY"] == "x"
    assert env["PIPELINEGEN_ATTEMPT"] == "2" and env["HOME"] == "/root"


def test_docker_argv_mounts_the_working_copy_and_never_puts_values_on_the_command_line():
    argv = docker_argv("eclipse-temurin:17", Path("/tmp/w"), ".build/run-tests.sh -a unit", {"SECRET": "s3cr3t"},
                       "pipelinegen-x", cpus=2, memory_gb=4)
    assert "s3cr3t" not in " ".join(argv)
    passed = [argv[i + 1] for i, arg in enumerate(argv) if arg == "-e"]
    assert "SECRET" in passed  # by name: docker copies the value from its own environment
    assert "/tmp/w:/work" in argv and argv[-3:] == ["bash", "-c", ".build/run-tests.sh -a unit"]
    assert "eclipse-temurin:17" in argv and "4096m" in argv
    assert argv[argv.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"  # outputs owned by the caller


def test_container_names_are_valid_docker_names_and_distinct():
    names = {container_name("20261201T000000Z", cell, 1) for cell in ("unit_jdk17_1of2", "a b", "a/b", "a\u00e9b")}
    assert "pipelinegen-20261201T000000Z-unit_jdk17_1of2-a1" in names and len(names) == 4
    assert all(re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name) for name in names)


@pytest.mark.parametrize("image", ["--privileged", "-v/:/host", "sample build:17", "Sample:17", "a:b:c",
                                   "sample-build:17;rm -rf /", "x" * 600, "", "name:--tag"])
def test_an_image_that_is_no_image_reference_never_reaches_docker(tmp_path, image):
    log = tmp_path / "calls"
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\necho \"$*\" >> {log}\necho sha256:{'0' * 64}\n")
    fake.chmod(0o755)
    assert not valid_image_reference(image)
    assert image_ids([image], docker=str(fake)) == {} and not log.exists()
    assert "is not a docker image reference" in missing_image_reason(image, tmp_path)


@pytest.mark.parametrize("image", ["sample-build:17", "eclipse-temurin:17-jdk-jammy", "localhost:5000/ns/img:1.0",
                                   "apache/cassandra-testing-ubuntu2004-java11-w-dependencies",
                                   f"debian@sha256:{'a' * 64}", f"sha256:{'b' * 64}"])
def test_real_image_references_are_accepted(image):
    assert valid_image_reference(image)


def test_a_docker_client_without_an_engine_is_reported_clearly(tmp_path):
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.' >&2\n"
                    "exit 1\n")
    fake.chmod(0o755)
    problem = docker_engine_problem(str(fake))
    assert "no docker engine is reachable" in problem and "Cannot connect" in problem
    assert "not installed" in docker_engine_problem(str(tmp_path / "no-docker"))


def test_stash_patterns_follow_ant_meaning_of_double_star(tmp_path):
    (tmp_path / "build" / "classes").mkdir(parents=True)
    (tmp_path / "build" / "classes" / "A.class").write_text("a")
    (tmp_path / "build" / "sample.jar").write_text("jar")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "A.java").write_text("src")
    assert [p.as_posix() for p in matching_files(tmp_path, ["build/**"])] == ["build/classes/A.class",
                                                                              "build/sample.jar"]
    dest = tmp_path / "dest"
    assert unstash(tmp_path, ["build/**, lib/**"], dest) == 2
    assert (dest / "build" / "sample.jar").read_text() == "jar" and not (dest / "src").exists()


@pytest.mark.parametrize("statuses, interrupted, expected", [
    (["passed", "passed"], False, ("passed", 0)),
    (["passed", "failed"], False, ("failed", 1)),
    (["passed", "skipped"], False, ("failed", 1)),  # a skipped cell is never green
    (["passed", "timeout"], False, ("failed", 1)),
    (["passed", "error"], False, ("error", 2)),
    (["passed", "not_run"], True, ("interrupted", 2)),
])
def test_run_outcome_and_exit_code(statuses, interrupted, expected):
    cells = [CellResult(id=str(i), name=str(i), step="s", status=s) for i, s in enumerate(statuses)]
    assert run_outcome(cells, interrupted) == expected


def _git_repo(path: Path, branch: str = "main") -> Path:
    import subprocess

    path.mkdir(parents=True)
    (path / "test_dtest.py").write_text("def test_x():\n    pass\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    for args in (["init", "-q", "-b", branch], ["add", "."], ["commit", "-q", "-m", "dtest"]):
        subprocess.run(git + args, cwd=path, check=True, capture_output=True)
    return path


def test_second_checkouts_are_cloned_copied_from_a_local_path_or_taken_as_shipped(tmp_path):
    from pipelinegen.plan.cell import Checkout
    from pipelinegen.run.workspace import (
        CheckoutSource,
        WorkspaceError,
        clone,
        parse_checkout_source,
        prepare_checkout,
    )

    upstream = _git_repo(tmp_path / "upstream")
    checkout = Checkout(name="dtest", repository=str(upstream), branch="main", directory="dtest",
                        repository_parameter="dtest_repository", branch_parameter="dtest_branch")
    work = tmp_path / "work"
    work.mkdir()
    log = open(tmp_path / "log", "w")
    clones: list[tuple[str, str]] = []

    def cloned(name: str, url: str, branch: str) -> Path:
        clones.append((url, branch))
        dest = tmp_path / f"clone{len(clones)}"
        clone(url, branch, dest, log, name)
        return dest

    prepare_checkout(checkout, work, CheckoutSource(), log, cloned)
    assert (work / "dtest" / "test_dtest.py").is_file() and clones == [(str(upstream), "main")]
    assert not (work / "dtest" / ".git").exists()  # a working copy, not a repository
    (work / "dtest" / "test_dtest.py").write_text("shipped")
    prepare_checkout(checkout, work, CheckoutSource(), log, cloned)
    assert (work / "dtest" / "test_dtest.py").read_text() == "shipped"  # an existing directory is used as is
    local = tmp_path / "my-dtest"
    local.mkdir()
    (local / "mine.py").write_text("")
    prepare_checkout(checkout, work, parse_checkout_source(str(local)), log, cloned)
    assert sorted(p.name for p in (work / "dtest").iterdir()) == ["mine.py"]  # --checkout dtest=PATH
    fork = _git_repo(tmp_path / "fork", branch="fix")
    prepare_checkout(checkout, work, parse_checkout_source(f"file://{fork}#fix"), log, cloned)
    assert clones[-1] == (f"file://{fork}", "fix") and (work / "dtest" / "test_dtest.py").read_text() != "shipped"
    with pytest.raises(WorkspaceError, match="--checkout dtest=PATH"):
        prepare_checkout(checkout, work, parse_checkout_source("file:///nowhere#main"), log, cloned)


def test_progress_line_counts_and_eta_from_finished_cells():
    from pipelinegen.run.progress import eta_seconds, fmt_seconds, status_line

    state = {"total": 10, "done": 4, "running": [("c", 1), ("d", 1)], "queued": 4, "elapsed": 65.0,
             "durations": [10.0, 20.0, 30.0, 20.0], "failed": 1, "skipped": 2, "capacity": 2}
    assert eta_seconds(state) == 60.0  # 6 cells left x 20 s mean / 2 slots
    assert status_line(state) == ("done 4/10 · running 2 · queued 4 · failed 1 · skipped 2 · elapsed 1m05s"
                                  " · ETA 1m00s")
    assert eta_seconds(dict(state, durations=[])) is None
    assert eta_seconds(dict(state, remaining_work=90.0)) == 45.0  # the executor's per-step estimate wins
    assert fmt_seconds(7300) == "2h01m" and fmt_seconds(None) == "?"
