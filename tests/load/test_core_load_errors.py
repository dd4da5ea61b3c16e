"""Broken pipeline.yaml files get errors naming file:line, the key path and a fix; all at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinegen.cli import main
from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline
from tests.conftest import MINIMAL_PIPELINE


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError) as caught:
        load_pipeline(path)
    return [f.format() for f in caught.value.findings]


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


# (description, replace-this, with-this, expected message fragment, the line's marker in the broken text)
BROKEN = [
    ("unknown key with suggestion", "splits: 2,", "splts: 2,", "unknown key 'splts' — did you mean 'splits'?", "splts"),
    ("bad kind enum", "kind: test, splits", "kind: tset, splits", "did you mean 'test'?", "tset"),
    ("splits below 1", "splits: 2,", "splits: 0,", "0 is out of bounds: must be at least 1", "splits: 0"),
    ("unknown resource", "resource: small, needs", "resource: smal, needs", "unknown resource class 'smal' — did you mean 'small'?", "smal,"),
    ("unknown step in profile", "steps: [unit]", "steps: [unti]", "unknown step 'unti' — did you mean 'unit'?", "unti"),
    ("unknown axis value", "only: {arch: [amd64]}", "only: {arch: [amd46]}", "'amd46' is not a value of axis 'arch'", "amd46"),
    ("unknown placeholder", "-j {jdk}\"}", "-j {jkd}\"}", "unknown placeholder {jkd} — did you mean 'jdk'?", "{jkd}"),
    ("unknown placeholder in results", "splits: 2,", "splits: 2, results: ['out/{stp}/*.xml'],", "unknown placeholder {stp} in 'out/{stp}/*.xml' — did you mean 'step'?", "{stp}"),
    ("axis-only placeholders in image", "splits: 2,", "splits: 2, image: 'img:{split}',", "unknown placeholder {split} in 'img:{split}'", "img:"),
    ("needs a non-build-once step", "build_once: true, always", "always", "'jar' is not a build_once step", "needs: [jar]"),
    ("float version", 'values: ["11", "17"]', "values: [11, 3.10]", "YAML reads an unquoted 3.10 as the number 3.1", "3.10"),
    ("duplicate key", "project: mini", "project: mini\nproject: other", "duplicate key 'project'", "project: other"),
    ("unknown extends", "{name: custom, custom: true}", "{name: nightly, extends: [smoke2]}", "unknown profile 'smoke2'", "smoke2"),
    ("bad yaml", "profiles:", "profiles: [", "not valid YAML", "- {name: smoke"),
    ("version", "version: 1", "version: 2", "must be 1", "version: 2"),
    ("default not in values", "parameter_default: amd64", "parameter_default: x86", "'x86' is not one of the values", "x86"),
]


@pytest.mark.parametrize("description,old,new,fragment,marker", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_file_names_line_and_fix(tmp_path, description, old, new, fragment, marker):
    assert old in MINIMAL_PIPELINE, description
    text = MINIMAL_PIPELINE.replace(old, new, 1)
    errors = _errors(tmp_path, text)
    matching = [e for e in errors if fragment in e]
    assert matching, f"{description}: {errors}"
    line = _line_of(text, marker)
    assert any(e.startswith(f"{tmp_path / 'pipeline.yaml'}:{line}:") or f"pipeline.yaml:{line}:" in e for e in matching), matching


def test_several_errors_are_reported_at_once(tmp_path):
    text = MINIMAL_PIPELINE.replace("splits: 2,", "splts: 2,").replace("steps: [unit]", "steps: [unti]")
    errors = _errors(tmp_path, text)
    assert any("splts" in e for e in errors)
    text = MINIMAL_PIPELINE.replace("kind: test, splits: 2,", "kind: tset, splts: 2,")
    errors = _errors(tmp_path, text)
    assert any("splts" in e for e in errors) and any("tset" in e for e in errors)


def test_cli_exit_code_2_and_nothing_written(tmp_path, runner):
    (tmp_path / "pipeline.yaml").write_text(MINIMAL_PIPELINE.replace("splits: 2,", "splts: 2,"))
    result = runner.invoke(main, ["-C", str(tmp_path), "compile"])
    assert result.exit_code == 2
    assert "unknown key 'splts'" in result.output
    assert not (tmp_path / "generated").exists()


def test_yaml_booleans_follow_yaml_1_2(tmp_path):
    text = MINIMAL_PIPELINE.replace('values: ["11", "17"]', "values: [no, yes]").replace(
        "parameter: jdk", "parameter: jdk\n    default: no"
    )
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    pipeline = load_pipeline(path)
    assert pipeline.axis("jdk").values == ("no", "yes")
