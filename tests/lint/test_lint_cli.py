"""`pipelinegen lint` as a user runs it: output formats, exit codes, defaults, one JVM, missing Groovy."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.lint import engine, groovy

GOOD = """pipeline {
    agent any
    stages {
        stage('build') {
            steps { sh './build.sh' }
        }
    }
}
"""
BAD = """pipeline {
    agent any
    stages {
        stage('build') {
            steps { sh './build.sh' }
        }
        stage('build') {
            steps { sh ${WORKSPACE} }
        }
    }
}
"""


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    good = tmp_path / "good.Jenkinsfile"
    bad = tmp_path / "bad.Jenkinsfile"
    good.write_text(GOOD)
    bad.write_text(BAD)
    return {"good": good, "bad": bad}


def run(args: list[str], cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, args)
    return runner.invoke(main, ["-C", str(cwd), *args])


def test_text_format_is_compiler_style_and_exit_1_on_errors(files, monkeypatch):
    starts = []
    real_run = subprocess.run

    def counting_run(*args, **kwargs):
        starts.append(args[0])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(groovy.subprocess, "run", counting_run)
    result = run(["lint", "--no-cache", str(files["good"]), str(files["bad"])])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if ": error: " in line]
    assert any(line.startswith("    hint: ") for line in result.output.splitlines()), "hints go on their own line"
    # Jenkins reports a duplicate stage name on the enclosing `stages` (line 3); the duplicate itself follows.
    assert any(line.startswith(f"{files['bad']}:3:5: error: ") and line.endswith("[stage-duplicate-name]")
               for line in lines), lines
    assert f"    {files['bad']}:7:9: note: the same problem, precisely here" in result.output
    assert any(line.startswith(f"{files['bad']}:8:24: error: ") and line.endswith("[bare-dollar-curly]")
               for line in lines), lines
    assert not any(str(files["good"]) in line for line in lines)
    assert len(starts) == 1, "all files must be parsed by one JVM"


def test_json_format_has_the_documented_fields(files):
    result = run(["lint", "--format", "json", str(files["bad"])])
    assert result.exit_code == 1
    payload = json.loads(result.output[: result.output.rindex("]") + 1])
    assert {f["rule"] for f in payload} == {"stage-duplicate-name", "bare-dollar-curly"}
    for finding in payload:
        assert finding["file"] == str(files["bad"])
        assert isinstance(finding["line"], int) and finding["line"] >= 1
        assert isinstance(finding["column"], int)
        assert finding["severity"] in ("error", "warning")
        assert finding["message"]


def test_valid_file_exits_0(files):
    result = run(["lint", str(files["good"])])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings in 1 file" in result.output
    assert ": error: " not in result.output


def test_missing_file_is_bad_usage(tmp_path):
    result = run(["lint", str(tmp_path / "nope.Jenkinsfile")])
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert "Traceback" not in result.output


def test_missing_groovy_exits_2_and_says_how_to_install(files, monkeypatch):
    monkeypatch.setattr(groovy.shutil, "which", lambda name: None)
    result = run(["lint", str(files["good"])])
    assert result.exit_code == 2
    assert "apt-get install -y groovy" in result.output
    assert "JAVA_HOME" in result.output
    assert "Traceback" not in result.output


def test_no_arguments_lints_generated_jenkinsfile_and_library_syntax(tmp_path):
    (tmp_path / "generated" / "library" / "vars").mkdir(parents=True)
    (tmp_path / "generated" / "Jenkinsfile").write_text(GOOD)
    # Library files get the Groovy syntax gate only: no pipeline rules, so no "no-pipeline" warning either.
    (tmp_path / "generated" / "library" / "vars" / "ok.groovy").write_text("def call(Map cell) { echo cell.name }\n")
    (tmp_path / "generated" / "library" / "vars" / "broken.groovy").write_text("def call( { \n")
    result = run(["lint", "--format", "json"], cwd=tmp_path)
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output[: result.output.rindex("]") + 1])
    assert [(Path(f["file"]).name, f["rule"]) for f in payload] == [("broken.groovy", "groovy-syntax")]


def test_no_arguments_without_generated_files_is_bad_usage(tmp_path):
    result = run(["lint"], cwd=tmp_path)
    assert result.exit_code == 2
    assert "generated/Jenkinsfile" in result.output


def test_groovy_syntax_check_api_reports_compile_errors_with_lines(tmp_path):
    ok = tmp_path / "ok.groovy"
    broken = tmp_path / "broken.groovy"
    ok.write_text("class A { int x = 1 }\n")
    broken.write_text("def f() {\n  return [1, 2\n}\n")
    findings = engine.groovy_syntax_check([ok, broken])
    assert [f.file for f in findings] == [str(broken)]
    assert findings[0].rule == "groovy-syntax" and findings[0].line == 3


def test_compiled_dumper_is_cached_and_gives_the_same_findings(files, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINEGEN_CACHE", str(tmp_path / "cache"))
    groovy_bin, env = groovy.groovy_environment()
    assert Path(groovy.dumper_command(groovy_bin, dict(env))[0]).name == "groovy"  # cold cache: the script
    first = engine.lint_files([files["bad"]])
    cached = list((tmp_path / "cache").glob("lint-dumper-*/AstDump.class"))
    assert len(cached) == 1, "the first run leaves the compiled dumper behind"
    assert Path(groovy.dumper_command(groovy_bin, dict(env))[0]).name == "java"  # warm cache: the class
    assert engine.lint_files([files["bad"]]) == first


@pytest.mark.parametrize(("severities", "exit_code"), [((), 0), (("warning",), 0), (("warning", "error"), 1)])
def test_exit_code_counts_errors_not_warnings(files, monkeypatch, severities, exit_code):
    from pipelinegen.cli import lint as lint_cli
    from pipelinegen.errors import Finding

    fake = [Finding(file=str(files["good"]), line=1, column=1, message="m", rule="r", severity=s) for s in severities]
    monkeypatch.setattr(lint_cli, "lint_paths", lambda declarative, syntax_only, **options: fake)
    result = run(["lint", str(files["good"])])
    assert result.exit_code == exit_code
    assert f"{severities.count('error')} error" in result.output
