"""Size guard, mapping Jenkinsfile findings back to pipeline.yaml, and the validate CLI (json, exit codes,
missing Groovy)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.errors import Finding
from pipelinegen.validate import origin, sizes
from pipelinegen.validate.execution import MethodBytes
from tests.validate_helpers import compile_into, edit

CORPUS = Path(__file__).parents[1] / "malformed"


def _groovy_method(name: str, statements: int) -> str:
    body = "".join(f"    echo('line {i} with a }} brace in a string')\n" for i in range(statements))
    return f"void {name}() {{\n{body}}}\n"


def test_size_guard_reports_the_largest_method_and_warns_past_the_limit(tmp_path: Path):
    small = tmp_path / "vars" / "small.groovy"
    small.parent.mkdir()
    small.write_text(_groovy_method("call", 3) + _groovy_method("helper", 10))
    big = tmp_path / "vars" / "big.groovy"
    big.write_text(_groovy_method("call", 2) + _groovy_method("huge", 600))
    measured = {s.file.rsplit("/", 1)[-1]: s for s in sizes.measure(tmp_path)}
    assert measured["small.groovy"].largest_block == "helper"
    assert measured["big.groovy"].largest_block == "huge" and measured["big.groovy"].largest_block_line == 5
    warnings = sizes.size_findings(list(measured.values()))
    assert [(w.file.rsplit("/", 1)[-1], w.line) for w in warnings] == [("big.groovy", 5)]
    assert "64 KB" in warnings[0].message and warnings[0].severity == "warning"


def test_bytecode_sizes_name_the_largest_method_and_warn_past_the_limit():
    measured = [sizes.FileSize("vars/a.groovy", 100, "call", 80, 1), sizes.FileSize("vars/b.groovy", 100, "call", 80, 1)]
    methods = [MethodBytes("vars/a.groovy", "a", "call", 900), MethodBytes("vars/a.groovy", "a", "helper", 1200),
               MethodBytes("vars/b.groovy", "b", "call", sizes.METHOD_WARN_BYTES + 1)]
    a, b = sizes.with_bytecode(measured, methods)
    assert (a.largest_method, a.largest_method_bytecode) == ("a.helper", 1200)
    [warning] = sizes.size_findings([a, b])
    assert warning.file == "vars/b.groovy" and "b.call" in warning.message and "bytecode" in warning.message


def test_size_guard_counts_a_brace_in_a_string_as_text():
    text = _groovy_method("call", 2)
    assert sizes._block_end(text, text.index("{")) == len(text) - 1


def test_a_jenkinsfile_finding_is_traced_to_the_pipeline_yaml_line(tmp_path: Path):
    _, jenkinsfile = compile_into(CORPUS / "valid.yaml", tmp_path)
    lines = jenkinsfile.read_text().splitlines()
    number = next(i for i, line in enumerate(lines, 1) if "name: 'jdk'" in line)
    finding = Finding(str(jenkinsfile), number, "example", rule="x")
    untouched = Finding(str(jenkinsfile), 1, "example", rule="x")
    traced, kept = origin.annotate([finding, untouched], tmp_path / "pipeline.yaml")
    assert traced.hint.endswith("pipeline.yaml:7")  # the jdk axis of valid.yaml (after its expect line)
    assert kept == untouched


@pytest.mark.slow
def test_validate_json_on_a_clean_pipeline_and_on_a_broken_jenkinsfile(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # -C changes the working directory; monkeypatch restores it
    compile_into(CORPUS / "valid.yaml", tmp_path)
    runner = CliRunner()
    clean = runner.invoke(main, ["-C", str(tmp_path), "validate", "--format", "json"])
    assert clean.exit_code == 0, clean.output
    report = json.loads(clean.stdout)
    assert report["findings"] == [] and report["runs"] and all(r["differences"] == 0 for r in report["runs"])
    assert {"quick"} <= {r["case"].removeprefix("profile ") for r in report["runs"]}
    jenkinsfile_size = next(s for s in report["sizes"] if s["file"].endswith("Jenkinsfile"))
    assert jenkinsfile_size["largest_method"].startswith("Jenkinsfile") and jenkinsfile_size["largest_method_bytecode"] > 100
    edit(tmp_path / "generated/Jenkinsfile", "pipeline {", "pipeline {{")
    broken = runner.invoke(main, ["-C", str(tmp_path), "validate", "--format", "json"])
    assert broken.exit_code == 1
    findings = json.loads(broken.stdout)["findings"]
    assert {"stale", "groovy-syntax"} <= {f["rule"] for f in findings}
    assert all(set(f) >= {"file", "line", "column", "rule", "message"} for f in findings)


def test_validate_reports_layer_one_errors_and_exits_1(tmp_path: Path):
    result = CliRunner().invoke(main, ["validate", "--pipeline", str(CORPUS / "need-cycle.yaml")])
    assert result.exit_code == 1
    assert "need-cycle.yaml:14: error: steps[b].needs: dependency cycle: a -> b -> a [semantics]" in result.output


def test_validate_without_groovy_says_how_to_install_it_and_exits_2(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    compile_into(CORPUS / "valid.yaml", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))  # no groovy, no java
    monkeypatch.delenv("JAVA_HOME", raising=False)
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "validate"])
    assert result.exit_code == 2
    assert "apt-get install -y groovy" in result.output


@pytest.mark.slow
def test_a_custom_regexp_is_run_in_java_and_compared_with_python(tmp_path: Path, monkeypatch):
    # '[[:est:]]' is a nested class in Java (matches 'test') and a set followed by ']' in Python; '\0' is an error in Java only
    monkeypatch.chdir(tmp_path)
    compile_into(CORPUS / "valid.yaml", tmp_path)
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "validate", "--format", "json",
                                       "--custom-regexp", "[[:est:]]", "--custom-regexp", "\\0",
                                       "--custom-regexp", "^te"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    runs = {r["case"]: r for r in report["runs"]}
    assert runs["custom regexp '^te'"]["differences"] == 0
    assert runs["custom regexp '[[:est:]]'"]["differences"] > 0
    assert runs["custom regexp '\\\\0'"]["differences"] > 0


def test_validate_of_a_missing_file_is_bad_input_exit_2_like_every_other_command(tmp_path: Path):
    for args in (["--pipeline", str(tmp_path / "nope.yaml")],
                 ["--pipeline", str(CORPUS / "valid.yaml"), "--overlay", str(tmp_path / "fork.yaml")]):
        result = CliRunner().invoke(main, ["validate", "--no-harness", *args])
        assert result.exit_code == 2, result.output
        assert "error: file not found" in result.output and "nothing was written" in result.output
