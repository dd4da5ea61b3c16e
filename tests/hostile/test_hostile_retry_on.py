"""A step's `retry_on` (pipeline.yaml) decides whether a failed attempt is re-run: an enum, nothing else
passes the schema (a typo must not silently mean "retry everything" or "never"), and the error names the file,
the line and the allowed values."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-project"


def _with_retry_on(tmp_path: Path, value: str) -> Path:
    shutil.copytree(SAMPLE, tmp_path / "p", ignore=shutil.ignore_patterns("generated", ".build"))
    path = tmp_path / "p" / "pipeline.yaml"
    text = path.read_text(encoding="utf-8")
    marker = "attempts: 2,"
    assert marker in text
    path.write_text(text.replace(marker, f"attempts: 2, retry_on: {value},", 1), encoding="utf-8")
    return path


@pytest.mark.parametrize("value", ["sometimes", "INFRA", "1", "[infra]", "{a: b}", "null", "'" + "x" * 5000 + "'",
                                   "'infra; rm -rf /'", "\"infra\\ntests\""])
def test_anything_but_the_three_policies_is_a_located_error(tmp_path: Path, value: str) -> None:
    path = _with_retry_on(tmp_path, value)
    with pytest.raises(PipelineError) as raised:
        load_pipeline(path)
    [finding] = raised.value.findings
    line = 1 + next(n for n, text in enumerate(path.read_text().splitlines()) if "retry_on" in text)
    assert Path(finding.file).name == "pipeline.yaml" and finding.line == line  # the `test:` defaults line
    text = str(raised.value) + " " + finding.message + " " + (finding.hint or "")
    assert "retry_on" in text
    assert "infra" in text and "never" in text  # the allowed values are named
    assert len(text) < 1000  # a huge value is not echoed back whole


@pytest.mark.parametrize("value", ["infra", "infra-and-tests", "never"])
def test_the_three_policies_reach_every_cell_of_the_step(tmp_path: Path, value: str) -> None:
    from pipelinegen.plan import build_plan
    from pipelinegen.plan.cell import Parameters

    pipeline = load_pipeline(_with_retry_on(tmp_path, value))
    plan = build_plan(pipeline, Parameters(profile=pipeline.profiles[0].name))
    tests = [c for c in plan.cells if c.kind == "test"]
    assert tests and {c.retry_on for c in tests} == {value}
    assert {c.retry_on for c in plan.cells if c.kind == "build"} == {"infra"}  # the default
