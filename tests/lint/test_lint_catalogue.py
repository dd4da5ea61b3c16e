"""Plugin catalogues: export one from a controller (script console), lint with it, reject bad ones.

The exporter is pipelinegen/lint/export_catalogue.groovy run on real Groovy 2.4 against stand-ins of the
Jenkins classes it calls (tests/lint_catalogue_stubs, not Jenkins); the transport is python-jenkins against
tests/jenkins_double, whose script console runs the posted script the same way.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.lint.catalogue_file import FORMAT, load_catalogue
from pipelinegen.lint.groovy import groovy_environment
from tests.jenkins_double import JenkinsDouble

STUBS = Path(__file__).parents[1] / "lint_catalogue_stubs"
EXPORTER = Path(__file__).resolve().parents[2] / "pipelinegen" / "lint" / "export_catalogue.groovy"

JENKINSFILE = """pipeline {
    agent { label 'linux' }
    options { timestamps(); banana() }
    triggers { cron('H * * * *'); githubPush() }
    parameters { string(name: 'A', defaultValue: 'x'); choice(name: 'C', choices: ['a']) }
    tools { maven 'M4'; gradle 'g7' }
    stages {
        stage('a') {
            options { timeout(time: 1, unit: 'HOURS'); buildDiscarder(logRotator(numToKeepStr: '5')) }
            steps { sh script: 'x', bogus: true; junit 'a.xml' }
        }
    }
}
"""
CLEAN = """pipeline {
    agent { label 'linux' }
    options { timestamps(); buildDiscarder(logRotator(numToKeepStr: '5')) }
    triggers { cron('H * * * *') }
    parameters { string(name: 'A', defaultValue: 'x') }
    tools { maven 'apache-maven-3.0.1' }
    stages {
        stage('a') {
            options { retry(2) }
            steps { sh 'x'; junit testResults: 'a.xml' }
        }
    }
}
"""


def run_groovy_script(script: str, tmp: Path) -> str:
    """What the double's script console does with a posted script: run it with the stand-ins on the classpath."""
    groovy, env = groovy_environment()
    path = tmp / "posted.groovy"
    path.write_text(script)
    proc = subprocess.run([groovy, "-cp", str(STUBS), str(path)], capture_output=True, text=True, env=env,
                          check=False, timeout=120)
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("catalogue")
    out = tmp / "controller.json"
    out.write_text(run_groovy_script(EXPORTER.read_text(), tmp))
    return out


def lint(tmp_path: Path, text: str, *args: str):
    (tmp_path / "Jenkinsfile").write_text(text)
    return CliRunner().invoke(main, ["-C", str(tmp_path), "lint", "--no-cache", "--format", "json", *args,
                                     "Jenkinsfile"])


def rules_at(result) -> list[tuple[str, int]]:
    return sorted((f["rule"], f["line"]) for f in json.loads(result.stdout) if f["severity"] == "error")


def test_the_exporter_prints_one_valid_catalogue(exported):
    doc = json.loads(exported.read_text())
    assert doc["format"] == FORMAT
    assert doc["options"]["timeout"] == {"parameters": {"time": {"type": "int", "required": True},
                                                        "unit": {"type": "str", "required": False},
                                                        "activity": {"type": "bool", "required": False}},
                                         "stage": True}
    assert doc["options"]["buildDiscarder"]["stage"] is False
    assert doc["tools"] == {"jdk": [], "maven": ["M3", "apache-maven-3.0.1"]}
    assert doc["when_conditions"]["not"]["children"] == 1
    assert doc["steps"]["timeout"]["block"] is True
    assert doc["plugins"]["kubernetes"] == "4423.vb_59f230b_ce53"
    assert load_catalogue(str(exported)).controller is not None


def test_with_a_catalogue_every_plugin_metadata_question_is_decided(exported, tmp_path):
    without = lint(tmp_path, JENKINSFILE)
    # Without a catalogue, plugin names are open: only the core checks fire.
    assert rules_at(without) == [("option-not-in-stage", 9), ("step-arguments", 10)]
    with_catalogue = lint(tmp_path, JENKINSFILE, "--catalogue", str(exported))
    assert with_catalogue.exit_code == 1
    assert rules_at(with_catalogue) == [
        ("option-not-in-stage", 9),  # buildDiscarder is not a stage option there
        ("option-type", 3),  # banana()
        ("parameter-type", 5),  # choice is not installed on that controller
        ("step-arguments", 10),  # sh has no `bogus`
        ("tools-type", 6),  # gradle
        ("tools-version", 6),  # maven 'M4' is not an installation
        ("trigger-type", 4),  # githubPush
    ]
    messages = {f["rule"]: f for f in json.loads(with_catalogue.stdout)}
    assert messages["tools-version"]["hint"] == 'did you mean "M3"?'
    assert "http://controller.example/" in messages["trigger-type"]["message"]


def test_a_pipeline_using_only_what_the_controller_has_passes(exported, tmp_path):
    result = lint(tmp_path, CLEAN, "--catalogue", str(exported))
    assert result.exit_code == 0, result.stdout


def test_export_through_the_script_console_of_the_double(tmp_path, monkeypatch):
    with JenkinsDouble(users={"admin": "adm-token", "dev": "dev-token"}) as jd:
        jd.admins = {"admin"}
        jd.script_console = lambda script: run_groovy_script(script, tmp_path)
        monkeypatch.setenv("JENKINS_USER", "admin")
        monkeypatch.setenv("JENKINS_TOKEN", "adm-token")
        out = tmp_path / "exported.json"
        result = CliRunner().invoke(main, ["catalogue", "export", "--jenkins-url", jd.url, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "adm-token" not in result.output
        assert "wrote" in result.output and "5 options" in result.output
        assert len(jd.script_requests) == 1 and "pipelinegen-lint-catalogue/1" in jd.script_requests[0]
        assert load_catalogue(str(out)).controller.triggers.keys() == {"cron", "pollSCM"}

        # A user without Overall/Administer gets a message naming the permission, and nothing is written.
        monkeypatch.setenv("JENKINS_USER", "dev")
        monkeypatch.setenv("JENKINS_TOKEN", "dev-token")
        denied = tmp_path / "denied.json"
        result = CliRunner().invoke(main, ["catalogue", "export", "--jenkins-url", jd.url, "-o", str(denied)])
        assert result.exit_code == 1
        assert "Overall/Administer" in result.output and "dev-token" not in result.output
        assert not denied.exists()


def test_a_console_that_prints_no_catalogue_is_an_error_not_an_empty_file(tmp_path, monkeypatch):
    with JenkinsDouble(users={"admin": "t"}) as jd:
        jd.admins = {"admin"}
        jd.script_console = lambda script: 'groovy.lang.MissingPropertyException: No such property: x\n)]}.'
        monkeypatch.setenv("JENKINS_USER", "admin")
        monkeypatch.setenv("JENKINS_TOKEN", "t")
        out = tmp_path / "c.json"
        result = CliRunner().invoke(main, ["catalogue", "export", "--jenkins-url", jd.url, "-o", str(out)])
        assert result.exit_code == 1 and "printed no catalogue" in result.output
        assert not out.exists()


@pytest.mark.parametrize(("content", "expected"), [
    ("not json", "not JSON"),
    ('{"format": "other/9"}', "not a lint catalogue"),
    (json.dumps({"format": FORMAT, "options": {"bad\nname": {}}, "triggers": {}, "parameters": {}, "tools": {},
                 "steps": {}}), "options"),
    (json.dumps({"format": FORMAT, "options": {}, "triggers": {}, "parameters": {}, "tools": {},
                 "steps": {"sh": {"parameters": {"script": {"type": "float"}}}}}), "steps/sh/parameters/script/type"),
    ("[" * 100000 + "]" * 100000, "not"),
])
def test_a_bad_catalogue_is_exit_2_naming_the_file(tmp_path, content, expected):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = lint(tmp_path, CLEAN, "--catalogue", str(bad))
    assert result.exit_code == 2
    assert "bad.json" in result.output and expected in result.output


def test_a_missing_or_huge_catalogue_is_exit_2(tmp_path):
    assert lint(tmp_path, CLEAN, "--catalogue", str(tmp_path / "nope.json")).exit_code == 2
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    result = lint(tmp_path, CLEAN, "--catalogue", str(huge))
    assert result.exit_code == 2 and "larger than" in result.output


def test_the_pinned_catalogue_matches_plugins_txt_and_accepts_our_generated_jenkinsfiles(tmp_path):
    root = Path(__file__).resolve().parents[2]
    pinned_plugins = {}
    for line in (root / "pipelinegen" / "deploy" / "plugins.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.strip().split(":", 1)
            pinned_plugins[name] = version
    doc = json.loads((root / "pipelinegen" / "lint" / "catalogue-pinned.json").read_text())
    assert doc["plugins"] == pinned_plugins, (
        "plugins.txt changed: refresh pipelinegen/lint/catalogue-pinned.json (export it from a clone with "
        "`pipelinegen catalogue export`) so `lint --catalogue pinned` describes the plugins the clone installs")
    generated = [root / "generated" / "Jenkinsfile", *sorted(root.glob("examples/*/generated/Jenkinsfile"))]
    result = CliRunner().invoke(main, ["lint", "--no-cache", "--catalogue", "pinned", *map(str, generated)])
    assert result.exit_code == 0, result.output  # what we generate runs on the clone we deploy
    kitchen_sink = root / "tests" / "lint_real" / "kitchen_sink.Jenkinsfile"
    result = CliRunner().invoke(main, ["lint", "--no-cache", "--catalogue", "pinned", "--format", "json",
                                       str(kitchen_sink)])
    rules = {f["rule"] for f in json.loads(result.stdout)}
    assert {"option-type", "agent-type-unknown", "tools-version"} <= rules  # ansiColor, docker: not installed
