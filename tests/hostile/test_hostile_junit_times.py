"""JUnit time attributes no run produces (1e308, milliseconds written as seconds) must not stop `results collect`:
before, a time over 1e9 s made it refuse to write "an invalid manifest" (duration_s over the schema's bound)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.results import archive
from pipelinegen.results.junit import iter_records
from pipelinegen.results.manifest import MAX_DURATION_S
from pipelinegen.results.testcase import MAX_TEST_SECONDS

SCHEMA = Path(__file__).parents[2] / "pipelinegen" / "results" / "manifest.schema.json"


def _collect(root: Path, out: Path):
    return CliRunner().invoke(main, ["results", "collect", str(root), "-o", str(out), "--commit", "0" * 40,
                                     "--profile", "p", "--repository", "r"])


def test_implausible_times_read_as_zero_and_the_bundle_is_written(tmp_path: Path) -> None:
    cell = tmp_path / "results" / "cell-1"
    cell.mkdir(parents=True)
    huge = ["1e308", "2e9", "1000001", "1e6", "12.5"]
    (cell / "TEST-a.xml").write_text(
        '<testsuite name="S">' + "".join(f'<testcase classname="C" name="t{i}" time="{t}"/>' for i, t in enumerate(huge))
        + '<testcase classname="C" name="f" time="3e9"><skipped message="m"/></testcase></testsuite>')
    times = {r.name: r.duration_s for r in iter_records(cell / "TEST-a.xml", "c")}
    assert times == {"t0": 0.0, "t1": 0.0, "t2": 0.0, "t3": MAX_TEST_SECONDS, "t4": 12.5, "f": 0.0}

    out = tmp_path / "bundle.tar.zst"
    result = _collect(tmp_path / "results", out)
    assert result.exit_code == 0, result.output
    manifest = json.loads(archive.read_member(out, "manifest.json"))
    assert manifest["totals"]["tests"]["duration_s"] == MAX_TEST_SECONDS + 12.5
    assert CliRunner().invoke(main, ["results", "verify", str(out)]).exit_code == 0


def test_sums_past_the_manifest_bound_are_written_as_the_bound(tmp_path: Path) -> None:
    # 1,001 test cases of 1e6 s each: every one plausible, their sum over 1e9 s (only hostile input does this).
    cell = tmp_path / "results" / "cell-1"
    cell.mkdir(parents=True)
    (cell / "TEST-a.xml").write_text(
        '<testsuite name="S">' + "".join(f'<testcase classname="C" name="t{i}" time="1e6"/>' for i in range(1001))
        + "</testsuite>")
    out = tmp_path / "bundle.tar.zst"
    result = _collect(tmp_path / "results", out)
    assert result.exit_code == 0, result.output
    manifest = json.loads(archive.read_member(out, "manifest.json"))
    assert manifest["totals"]["tests"]["duration_s"] == MAX_DURATION_S


def test_the_duration_bound_is_the_schemas() -> None:
    schema = json.loads(SCHEMA.read_text())
    bounds = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            found = node.get("duration_s")
            if isinstance(found, dict) and "maximum" in found:
                bounds.add(found["maximum"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    assert bounds == {MAX_DURATION_S}
    jsonschema.Draft202012Validator.check_schema(schema)
