"""The sample project's scripts keep the CI-agnostic script contract of docs/scripts.md, run by hand (no
pipelinegen, no CI): split lists with stale and unlisted entries, every test exactly once across the splits,
repeat mode with one report directory per repetition, and no CI variable read."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from pipelinegen.run.jdk import detect_jdks
from tests.conftest import REPO

SAMPLE = REPO / "examples" / "sample-project"
SCRIPTS = sorted((SAMPLE / ".build").glob("*.sh"))
CI_VARIABLES = re.compile(r"\$\{?(JENKINS_\w+|BUILD_(NUMBER|ID|URL|TAG)|NODE_NAME|EXECUTOR_NUMBER|WORKSPACE|"
                          r"GIT_COMMIT|GIT_BRANCH|CHANGE_\w+|CIRCLE\w*|GITHUB_\w+|CI)\b")


def test_the_scripts_read_no_ci_variable_and_every_variable_of_the_repeat_contract():
    contract = (REPO / "docs" / "scripts.md").read_text().split("## Repeat mode")[1].split("## ")[0]
    repeat_variables = sorted(set(re.findall(r"PIPELINEGEN_REPEAT_\w+", contract)))
    assert repeat_variables == ["PIPELINEGEN_REPEAT_COUNT", "PIPELINEGEN_REPEAT_STOP_ON_FAILURE", "PIPELINEGEN_REPEAT_TESTS"]
    runner = (SAMPLE / ".build" / "run-tests.sh").read_text()
    for variable in repeat_variables:
        assert variable in runner, f"run-tests.sh ignores {variable} of docs/scripts.md"
    assert "generated/splits/STEP/KofN.txt" in (REPO / "docs" / "scripts.md").read_text()
    assert 'generated/splits/$step/${k}of${n}.txt' in runner
    for script in SCRIPTS:
        used = CI_VARIABLES.findall(script.read_text())
        assert not used, f"{script.name} reads CI variables {used}"


needs_jdk = pytest.mark.skipif(not (shutil.which("ant") and "17" in detect_jdks()),
                               reason="needs ant and a JDK 17 (scripts/setup.sh)")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A copy of the sample project with its jar built (the `jar` step, by hand)."""
    project = tmp_path_factory.mktemp("contract") / "sample"
    shutil.copytree(SAMPLE, project, ignore=shutil.ignore_patterns("build", "results", "generated", "__pycache__"))
    _script(project, "build-jars.sh", "17")
    return project


def _env() -> dict[str, str]:
    return {"JAVA_HOME": str(detect_jdks()["17"]), "PATH": str(Path(shutil.which("python3")).parent) + ":/usr/bin:/bin"}


def _script(project: Path, name: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([f"./.build/{name}", *args], cwd=project, env={**_env(), **(env or {})},
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _pytest_files_run(project: Path) -> list[str]:
    """The test files of the pytest step's reports (testcase file/classname), one entry per file per report."""
    files = []
    for report in (project / "build" / "test" / "output" / "pytest").rglob("*.xml"):
        names = {case.get("classname", "").split(".")[0] for case in etree.parse(str(report)).iter("testcase")}
        files += sorted(f"{n}.py" for n in names)
    return files


@pytest.mark.slow
@needs_jdk
def test_pytest_splits_follow_the_lists_and_run_every_file_exactly_once(built):
    lists = built / "generated" / "splits" / "pytest"
    lists.mkdir(parents=True, exist_ok=True)
    (lists / "1of2.txt").write_text("# pipelinegen splits: pytest split 1 of 2\ntest_words.py\ntest_removed_since.py\n")
    (lists / "2of2.txt").write_text("sample-dtest/test_arithmetic.py\n")
    added = built / "sample-dtest" / "test_added_since.py"
    added.write_text("def test_added():\n    assert True\n")
    try:
        everything = []
        for k in (1, 2):
            shutil.rmtree(built / "build" / "test" / "output" / "pytest", ignore_errors=True)
            done = _script(built, "run-tests.sh", "-a", "pytest", "-c", f"{k}/2", "-j", "17")
            assert f"from generated/splits/pytest/{k}of2.txt" in done.stderr
            ran = _pytest_files_run(built)
            everything += ran
            if k == 1:  # its list, plus the file added after the lists were written (dealt round-robin)
                assert ran == ["test_added_since.py", "test_words.py"]
            else:
                assert ran == ["test_arithmetic.py"]
        assert sorted(everything) == ["test_added_since.py", "test_arithmetic.py", "test_words.py"]
    finally:
        added.unlink()
        shutil.rmtree(built / "generated")


@pytest.mark.slow
@needs_jdk
def test_repeat_mode_ignores_the_split_and_keeps_one_report_per_repetition(built):
    shutil.rmtree(built / "build" / "test" / "output" / "pytest", ignore_errors=True)
    done = _script(built, "run-tests.sh", "-a", "pytest", "-c", "2/2", "-j", "17",
                   env={"PIPELINEGEN_REPEAT_TESTS": "words", "PIPELINEGEN_REPEAT_COUNT": "3",
                        "PIPELINEGEN_REPEAT_STOP_ON_FAILURE": "true"})
    assert "repeat 3/3" in done.stdout and "0 of 3 repeats failed" in done.stdout
    output = built / "build" / "test" / "output" / "pytest"
    assert sorted(p.parent.name for p in output.rglob("*.xml")) == ["repeat-1", "repeat-2", "repeat-3"]
    assert _pytest_files_run(built) == ["test_words.py"] * 3
