"""Hostile YAML: every class ends in seconds, under 1 GiB, with exit 2 and FILE:LINE, writing nothing.
One generator per class (alias bombs, merge-key bombs, nesting) plus the fixed shapes of the issue."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinegen.errors import PipelineError
from pipelinegen.yamlsource import MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, load_located_text
from tests.hostile.attack import assert_clean_refusal, run_cli, write_project
from tests.hostile.schema_fields import FULL_PIPELINE_YAML


def alias_bomb(width: int, depth: int, merge: bool = False) -> str:
    """`depth` levels, each using the previous anchor `width` times: width**depth values from a few lines."""
    if merge:
        lines = ["l0: &l0 {a: 1, b: 2}"]
        for level in range(1, depth + 1):
            sources = ", ".join(f"*l{level - 1}" for _ in range(width))
            lines.append(f"l{level}: &l{level} {{<<: [{sources}], k{level}: {{<<: [{sources}]}}}}")
    else:
        lines = ["l0: &l0 [x, y, z]"]
        for level in range(1, depth + 1):
            lines.append(f"l{level}: &l{level} [{', '.join(f'*l{level - 1}' for _ in range(width))}]")
    return "\n".join(lines) + "\n"


FIXED = {
    "alias bomb (billion laughs)": (alias_bomb(10, 9), 1),
    "merge-key bomb": (alias_bomb(4, 20, merge=True), 1),
    "recursive alias in a list": ("a: &a [1, *a]\n", 1),
    "recursive alias in a mapping": ("version: 1\na: &a {b: *a}\n", 2),
    "merge key of a scalar": ("version: 1\nsteps:\n  - {<<: 5}\n", 3),
    "merge key of a list of scalars": ("a: {<<: [1, 2]}\n", 1),
    "NUL byte": ("version: 1\nproject: a\x00b\n", 2),
    "escape character": ("version: 1\nproject: a\x1bb\n", 2),
    "deep flow nesting": ("a: " + "[" * 100_000 + "]" * 100_000 + "\n", 1),
    "deep block nesting": ("".join("  " * i + f"k{i}:\n" for i in range(MAX_DEPTH + 20)), MAX_DEPTH),
    "unknown tag": ("version: !!python/object:os.system x\n", 1),
    "integer of 5000 digits": ("version: " + "9" * 5000 + "\n", 1),
    "mapping as a key": ("? [a, b]\n: 1\n", 1),
    "alias of a bomb as a key": ("x: &x [1, 2]\n? *x\n: 1\n", 1),  # the anchored value's line
    "two documents": ("version: 1\n---\nversion: 2\n", 2),
    "undefined alias": ("version: *nope\n", 1),
    "duplicate key": ("version: 1\nversion: 1\n", 2),
}


@pytest.mark.parametrize("case", FIXED, ids=list(FIXED))
def test_hostile_yaml_is_refused_quickly_with_its_line(case: str, tmp_path: Path):
    text, line = FIXED[case]
    project = write_project(tmp_path / "p", text)
    run = run_cli(["compile"], project)
    assert_clean_refusal(run, "pipeline.yaml")
    assert f"pipeline.yaml:{line}:" in run.stderr, run.stderr
    assert run.seconds < 15, f"{case} took {run.seconds:.1f} s"
    assert not (project / "generated").exists()


def _write_bytes(project: Path, data: bytes) -> None:
    (project / "pipeline.yaml").write_bytes(data)


@pytest.mark.parametrize("case", ["non-UTF-8", "over 1 MiB", "/dev/zero", "FIFO", "directory"])
def test_files_that_are_not_small_utf8_yaml_are_refused(case: str, tmp_path: Path):
    project = write_project(tmp_path / "p")
    target = project / "pipeline.yaml"
    if case == "non-UTF-8":
        _write_bytes(project, b"version: 1\nproject: \xff\xfe\n")
    elif case == "over 1 MiB":
        _write_bytes(project, b"description: " + b"x" * (MAX_FILE_BYTES + 10) + b"\n")
    elif case == "/dev/zero":
        target.unlink()
        target.symlink_to("/dev/zero")
    elif case == "FIFO":
        target.unlink()
        os.mkfifo(target)
    else:
        target.unlink()
        target.mkdir()
    run = run_cli(["compile", "--pipeline", "pipeline.yaml"], project)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.returncode == 2, run.stderr
    assert "pipeline.yaml" in run.stderr
    assert run.seconds < 15
    assert not (project / "generated").exists()


def test_an_overlay_bomb_is_refused_naming_the_overlay(tmp_path: Path):
    project = write_project(tmp_path / "p")
    (project / "overlay.yaml").write_text(alias_bomb(10, 9), encoding="utf-8")
    run = run_cli(["compile"], project)
    assert_clean_refusal(run, "overlay.yaml")


def test_validate_reports_a_bomb_and_plan_refuses_it(tmp_path: Path):
    project = write_project(tmp_path / "p", alias_bomb(10, 9))
    assert_clean_refusal(run_cli(["plan"], project), "pipeline.yaml")
    validate = run_cli(["validate"], project)  # a report: its findings on stdout, exit 1 (a check failed)
    assert "Traceback" not in validate.stderr and validate.returncode == 1
    assert "pipeline.yaml:1: error: expands to more than" in validate.stdout


def _refusal_seconds(text: str) -> tuple[PipelineError, float]:
    start = time.monotonic()
    with pytest.raises(PipelineError) as refused:
        load_located_text(text, "bomb.yaml")
    return refused.value, time.monotonic() - start


@settings(max_examples=20, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(width=st.integers(2, 40), depth=st.integers(4, 30), merge=st.booleans())
def test_any_alias_bomb_that_expands_past_the_bound_is_refused(width: int, depth: int, merge: bool):
    """Generator: bombs of any fan-out and depth; those expanding past MAX_NODES are refused in seconds."""
    base = 3 if not merge else 2
    expanded = base * width**depth if not merge else width**depth
    if expanded <= MAX_NODES * 4:
        return
    error, seconds = _refusal_seconds(alias_bomb(width, depth, merge))
    assert seconds < 10
    assert error.findings[0].line is not None


@settings(max_examples=15, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(depth=st.integers(MAX_DEPTH + 1, 5000), flow=st.booleans())
def test_any_nesting_deeper_than_the_bound_is_refused(depth: int, flow: bool):
    text = ("a: " + "[" * depth + "]" * depth) if flow else "".join(" " * i + f"k{i}:\n" for i in range(depth))
    error, seconds = _refusal_seconds(text)
    assert seconds < 10 and "nested deeper" in str(error)


def test_the_full_pipeline_uses_aliases_and_merge_keys_as_yaml_means_them(tmp_path: Path):
    """The bounds do not break legitimate anchors: `<<` merges, explicit keys win, earlier sources win."""
    text = "base: &base {a: 1, b: 2}\nother: &other {b: 3, c: 4}\nmerged: {<<: [*base, *other], a: 9}\n"
    data = load_located_text(text, "x.yaml")
    assert dict(data["merged"]) == {"a": 9, "b": 2, "c": 4}
    assert FULL_PIPELINE_YAML  # the fixture the other tests use is itself plain YAML


@pytest.mark.parametrize("reader", ["signatures", "repeat rules"])
@pytest.mark.parametrize("content", ["bomb", "nesting", "devzero", "nul"])
def test_other_yaml_inputs_have_the_same_bounds(reader: str, content: str, tmp_path: Path):
    """flaky --signatures and compile --repeat-changed --rules read YAML too: the same loader, the same bounds."""
    from pipelinegen.analysis.classify import load_signatures
    from pipelinegen.analysis.repeats import load_rules

    path = tmp_path / "input.yaml"
    if content == "devzero":
        path.symlink_to("/dev/zero")
    else:
        path.write_text({"bomb": alias_bomb(10, 9), "nesting": "a: " + "[" * 10_000 + "]" * 10_000,
                         "nul": "signatures: [\x00]\n"}[content], encoding="utf-8")
    start = time.monotonic()
    with pytest.raises(PipelineError) as refused:
        load_signatures([path]) if reader == "signatures" else load_rules(path)
    assert time.monotonic() - start < 10
    assert refused.value.findings[0].file.endswith("input.yaml")
