"""docs/adopting.md: the patch it proposes for Cassandra's .build/run-tests.sh and .build/docker/run-tests.sh
does what the page says (run here from the page itself, in scripts of the same shape), and the repository's
own pipeline.yaml points nowhere outside the repository."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pipelinegen.analysis.splits import Assignment, Split, write_split_files
from tests.conftest import REPO

DOC = REPO / "docs" / "adopting.md"


def _patch() -> str:
    text = DOC.read_text()
    block = text.split("<!-- cassandra-patch:start -->")[1].split("<!-- cassandra-patch:end -->")[0]
    return block.split("```diff\n")[1].split("```")[0]


def _hunks(path: str) -> list[tuple[int, list[str]]]:
    """(old start line, hunk lines) of *path*'s hunks in the page's patch."""
    files = re.split(r"^--- a/", _patch(), flags=re.MULTILINE)
    body = next(f for f in files if f.startswith(path + "\n"))
    hunks = []
    for chunk in re.split(r"^(?=@@ )", body, flags=re.MULTILINE)[1:]:
        header, *lines = chunk.rstrip("\n").split("\n")
        hunks.append((int(re.match(r"@@ -(\d+)", header).group(1)), lines))
    return hunks


def _side(lines: list[str], drop: str) -> str:
    """The old (drop='+') or new (drop='-') text of a hunk."""
    return "".join(line[1:] + "\n" for line in lines if not line.startswith(drop))


def test_the_patch_is_well_formed_and_applies_to_its_context(tmp_path):
    for path in (".build/docker/run-tests.sh", ".build/run-tests.sh"):
        ((start, lines),) = _hunks(path)
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# line\n" * (start - 1) + _side(lines, "+") + "# tail\n")
    patch = tmp_path / "adopting.patch"
    patch.write_text(_patch())
    done = subprocess.run(["git", "apply", "--verbose", str(patch)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ((_, lines),) = _hunks(".build/run-tests.sh")
    assert (tmp_path / ".build/run-tests.sh").read_text().endswith(_side(lines, "-") + "# tail\n")


def _split_script(tmp_path: Path) -> Path:
    """The patched functions of .build/run-tests.sh, driven the way it drives them (errexit, pipefail)."""
    ((_, lines),) = _hunks(".build/run-tests.sh")
    script = tmp_path / "split.sh"
    script.write_text(
        "set -o errexit\nset -o pipefail\n"
        'error() { echo >&2 "$2"; exit "$1"; }\n'
        + _side(lines, "-")
        + 'CASSANDRA_DIR="$1"; target="$2"; cd "$CASSANDRA_DIR"\n'
        'testlist="$(_list_tests unit | _split_tests "$3")"\n'
        'echo "${testlist}"\n'
    )
    return script


def _tree(root: Path, classes: list[str]) -> None:
    for name in classes:
        path = root / "test" / "unit" / (name.replace(".", "/") + ".java")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("class X {}\n")


def _select(script: Path, root: Path, k: int, n: int) -> tuple[list[str], str]:
    done = subprocess.run(["bash", str(script), str(root), "test", f"{k}/{n}"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line], done.stderr


CLASSES = [f"org.apache.cassandra.{p}.{c}Test" for p in ("db", "io", "net") for c in ("Alpha", "Beta", "Gamma", "Delta")]


def _as_path(name: str) -> str:
    return name.replace(".", "/") + ".java"


def test_without_split_lists_the_patched_script_splits_as_today(tmp_path):
    root = tmp_path / "cassandra"
    _tree(root, CLASSES)
    script = _split_script(tmp_path)
    paths = sorted(_as_path(c) for c in CLASSES)
    for k in (1, 2, 3):
        selected, _ = _select(script, root, k, 3)
        assert selected == paths[k - 1 :: 3]  # split -n r/K/N over the sorted list


@pytest.mark.parametrize("n", [2, 5])
def test_split_lists_from_pipelinegen_splits_are_run_and_every_test_runs_exactly_once(tmp_path, n):
    root = tmp_path / "cassandra"
    _tree(root, CLASSES)
    listed, gone = CLASSES[:-2], "org.apache.cassandra.db.RemovedTest"
    assignment = Assignment(step="test", method="lpt", splits=tuple(
        Split(index=k, tests=tuple(listed[k - 1 :: n]) + ((gone,) if k == 1 else ()), seconds=1.0) for k in range(1, n + 1)))
    write_split_files(root / "generated" / "splits", assignment)
    script = _split_script(tmp_path)
    everything = []
    for k in range(1, n + 1):
        selected, log = _select(script, root, k, n)
        assert f"from {root}/generated/splits/test/{k}of{n}.txt" in log
        assert set(_as_path(c) for c in listed[k - 1 :: n]) <= set(selected)
        everything += selected
    # the two classes added after the lists were written are run too, once; the removed one is not
    assert sorted(everything) == sorted(_as_path(c) for c in CLASSES)


def test_a_split_whose_list_names_only_removed_tests_runs_nothing_and_does_not_fail(tmp_path):
    root = tmp_path / "cassandra"
    _tree(root, CLASSES[:1])
    lists = root / "generated" / "splits" / "test"
    lists.mkdir(parents=True)
    (lists / "1of2.txt").write_text("# stale\n" + CLASSES[0] + "\n")
    (lists / "2of2.txt").write_text("org.apache.cassandra.db.RemovedTest\n")
    script = _split_script(tmp_path)
    assert _select(script, root, 2, 2)[0] == []
    assert _select(script, root, 1, 2)[0] == [_as_path(CLASSES[0])]


def _repeat(env: dict[str, str]) -> dict[str, str]:
    ((_, lines),) = _hunks(".build/docker/run-tests.sh")
    added = "".join(line[1:] + "\n" for line in lines if line.startswith("+"))
    script = ('test_target="test"; test_name_regexp=""; env_vars=""\n' + added
              + 'echo "$test_target"; echo "$test_name_regexp"; echo "$env_vars"\n')
    done = subprocess.run(["bash", "-c", script], env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    target, regexp, env_vars = done.stdout.split("\n")[:3]
    return {"target": target, "regexp": regexp, "env": env_vars}


def test_the_repeat_variables_become_the_scripts_own_repeat_options():
    assert _repeat({}) == {"target": "test", "regexp": "", "env": ""}
    repeated = _repeat({"PIPELINEGEN_REPEAT_TESTS": r"CompactionTest", "PIPELINEGEN_REPEAT_COUNT": "500",
                        "PIPELINEGEN_REPEAT_STOP_ON_FAILURE": "false"})
    assert repeated == {"target": "test-repeat", "regexp": "CompactionTest",
                        "env": " -e REPEATED_TESTS_COUNT=500 -e REPEATED_TESTS_STOP_ON_FAILURE=false"}


def test_pipeline_yaml_and_the_docs_point_nowhere_outside_the_repository():
    for path in [REPO / "pipeline.yaml", *sorted((REPO / "docs").glob("*.md")), REPO / "README.md"]:
        text = path.read_text()
        assert "../shared" not in text and "/work/" not in text, path
    for reference in re.findall(r"\b((?:docs|examples|scripts|library)/[\w./-]+\w)", (REPO / "pipeline.yaml").read_text()):
        assert (REPO / reference).exists(), f"pipeline.yaml names {reference}, which does not exist"
