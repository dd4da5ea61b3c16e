"""`pipelinegen init` reads files of a checkout someone else controls (build.xml, .build scripts, the
Jenkinsfile, the git remote): what it writes into pipeline.yaml stays data of the expected shape, strings that
do not fit are left out with a note, nothing found is ever executed."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from pipelinegen.load import load_pipeline
from pipelinegen.scaffold.detect import Found, StepFound, detect
from pipelinegen.scaffold.render import render_pipeline_yaml
from pipelinegen.yamlsource import load_located_text


def _checkout(root: Path, project: str = "p", supported: str = "11,17", types: str = "unit") -> Path:
    (root / ".build").mkdir(parents=True)
    (root / "build.xml").write_text(
        f'<project name="{project}"><property name="java.supported" value="{supported}"/></project>')
    (root / ".build" / "build-jars.sh").write_text("#!/bin/bash\n")
    (root / ".build" / "run-tests.sh").write_text(f'TARGET_TYPES="{types}"\ngetopts "a:c:j:" opt\n')
    return root


def _init(root: Path):
    return CliRunner().invoke(main, ["-C", str(root), "init"])


@pytest.mark.parametrize("name", ["0o17", "1e3", "true", "null", "NO", "0x1F", ".inf", "1_000", "-5"])
def test_names_yaml_would_read_as_numbers_or_booleans_stay_strings(tmp_path, name):
    found = Found(project=name, jdks=[name.lstrip("-") if name.lstrip("-").isdigit() else "17"], jdk_default="17",
                  steps=[StepFound(name=name, kind="test", command="run.sh {step}")])
    found.jdk_default = found.jdks[0]
    text = render_pipeline_yaml(found)
    # quoted, so that any YAML 1.1 or 1.2 reader (editors, yq) reads a string too, not only ours
    assert f'project: "{name}"' in text or f"project: '{name}'" in text
    data = load_located_text(text, "pipeline.yaml")
    assert data["project"] == name
    assert data["steps"][0]["name"] == name
    assert data["profiles"][0]["steps"] == [name]
    assert all(isinstance(v, str) for v in data["axes"][1]["values"])


def test_a_hostile_project_name_is_cleaned_and_said(tmp_path):
    root = _checkout(tmp_path / "c", project="evil&quot;&#10;steps: []&#10;x: &quot;{{ }}")
    done = _init(root)
    assert done.exit_code == 0, done.output
    assert "note: project name" in done.output
    pipeline = load_pipeline(root / "pipeline.yaml")
    assert pipeline.project == "evil-steps-x"
    assert [s.name for s in pipeline.steps] == ["jar", "unit"]


def test_java_supported_that_is_not_a_list_of_versions_is_ignored(tmp_path):
    root = _checkout(tmp_path / "c", supported="11,17;$(touch pwned)")
    done = _init(root)
    assert done.exit_code == 0, done.output
    assert "java.supported is not a list of JDK versions" in done.output
    text = (root / "pipeline.yaml").read_text()
    assert "values_from" not in text and "pwned" not in text


@pytest.mark.parametrize("types", ["unit $(touch pwned) `touch pwned` ok", "unit a;b c|d ok"])
def test_test_types_that_are_not_step_names_never_reach_pipeline_yaml(tmp_path, types):
    root = _checkout(tmp_path / "c", types=types)
    (root / ".build" / "run-tests.sh").write_text(
        "#!/bin/bash\nwhile getopts \"a:c:j:\" opt; do\n  case $opt in\n    a) step=$OPTARG ;;\n  esac\ndone\n"
        f"case $step in\n  unit) ;;\n  {types.replace(' ', ') ;;' + chr(10) + '  ')}) ;;\n  *) ;;\nesac\n")
    done = _init(root)
    assert done.exit_code == 0, done.output
    steps = [s.name for s in load_pipeline(root / "pipeline.yaml").steps]
    assert "unit" in steps and "ok" in steps
    assert all(s.replace("-", "").replace("_", "").replace(".", "").isalnum() for s in steps)
    assert not (root / "pwned").exists() and not Path("pwned").exists()


def test_jenkinsfile_entries_with_shell_or_newlines_are_left_out(tmp_path):
    root = _checkout(tmp_path / "c")
    (root / ".jenkins").mkdir()
    (root / ".jenkins" / "Jenkinsfile").write_text("""\
def pipelineProfiles() {
  return [
    'ok': ['unit'],
    'bad"profile': ['unit'],
    'multi
line': ['unit'],
  ]
}
def buildSteps = [
  'lint': [script: 'check.sh; rm -rf /', toCopy: null],
  'docs': [script: 'build-docs.sh', toCopy: null],
]
""")
    done = _init(root)
    assert done.exit_code == 0, done.output
    pipeline = load_pipeline(root / "pipeline.yaml")
    assert [p.name for p in pipeline.profiles] == ["ok", "custom"]
    assert "lint" not in [s.name for s in pipeline.steps]
    assert next(s for s in pipeline.steps if s.name == "docs").command == ".build/docker/build-docs.sh {jdk}"


def test_a_git_remote_url_with_shell_characters_is_left_out(tmp_path):
    root = _checkout(tmp_path / "c")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", "https://example.org/x.git$(touch pwned)"], check=True)
    done = _init(root)
    assert done.exit_code == 0, done.output
    assert "canonical_repository left out" in done.output
    assert "canonical_repository" not in (root / "pipeline.yaml").read_text()
    assert not (root / "pwned").exists()


def test_entity_expansion_in_build_xml_is_not_followed(tmp_path):
    root = _checkout(tmp_path / "c")
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    (root / "build.xml").write_text(
        f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY l0 "lol">{lol}]>'
        '<project name="&l9;"><property name="java.supported" value="11"/></project>')
    started = time.monotonic()
    found = detect(root)
    assert time.monotonic() - started < 5
    assert len(found.project) <= 100


def test_an_oversized_runner_script_is_not_read(tmp_path):
    root = _checkout(tmp_path / "c")
    (root / ".build" / "run-tests.sh").write_text('TARGET_TYPES="unit"\n' + "#" * (2 << 20))
    found = detect(root)
    assert [s.name for s in found.steps if s.kind == "test"] == []
    assert any("no test types found" in note for note in found.notes)
