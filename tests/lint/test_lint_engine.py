"""Engine behaviour beyond the per-rule corpus: safety, shared-library pipelines, scripted files, positions.

All files of this module are linted by ONE call (one JVM), as `pipelinegen lint` does; each test reads its
own file's findings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinegen.lint.engine import lint_files

VALID_BODY = """    agent any
    stages {
        stage('a') { steps { echo 'x' } }
    }"""
TABS = 'pipeline {\n\tagent any\n\tstages {\n\t\tstage("a") { steps { sh ${X} } }\n\t}\n}\n'


def _files(directory: Path) -> dict[str, bytes]:
    marker = directory / "ran"
    return {
        # @Grab's global AST transformation runs at CONVERSION and would download the named artifact;
        # @ASTTest would run code if we compiled further than CONVERSION.
        "acts.Jenkinsfile": (
            "@Grab('org.example.never:exists:6.6.6')\nimport org.example.Never\n"
            f"@groovy.transform.ASTTest(value = {{ new File('{marker}').text = 'ran' }})\n"
            f"def x = 1\npipeline {{\n{VALID_BODY}\n}}\n"
        ).encode(),
        "several.Jenkinsfile": (
            b"pipeline {\n"
            b"    agent { docker { label 'x' } }\n"
            b"    environment { $A = 'x' }\n"
            b"    stages {\n"
            b"        stage('a') { steps { } }\n"
            b"        stage('a') { steps { echo 'x' } }\n"
            b"    }\n"
            b"    post { sometimes { echo 'x' } }\n"
            b"}\n"
        ),
        "standardPipeline.groovy": (
            b"def call(Map config) {\n    pipeline {\n        agent any\n        stages {\n"
            b"            stage('a') { steps { } }\n        }\n    }\n}\n"
        ),
        "scripted.Jenkinsfile": b"node('linux') {\n    stage('build') { sh 'make' }\n}\n",
        "bom.Jenkinsfile": b"\xef\xbb\xbf" + TABS.encode(),
        "crlf.Jenkinsfile": TABS.replace("\n", "\r\n").encode(),
    }


@pytest.fixture(scope="module")
def linted(tmp_path_factory) -> tuple[Path, dict[str, list[tuple[int | None, str, str]]]]:
    directory = tmp_path_factory.mktemp("engine")
    paths = []
    for name, data in _files(directory).items():
        (directory / name).write_bytes(data)
        paths.append(directory / name)
    by_name: dict[str, list] = {p.name: [] for p in paths}
    for f in lint_files(paths):
        by_name[Path(f.file).name].append((f.line, f.column, f.rule, f.severity))
    return directory, by_name


def test_lint_never_acts_on_the_file(linted):
    directory, by_name = linted
    assert [f for f in by_name["acts.Jenkinsfile"] if f[3] == "error"] == []
    assert not (directory / "ran").exists()


def test_several_problems_in_one_file_are_all_reported_in_line_order(linted):
    found = [(line, rule) for line, _, rule, _ in linted[1]["several.Jenkinsfile"]]
    # the duplicate stage (line 6) is reported on its `stages` (line 4), as Jenkins does
    assert found == [(2, "agent-param-missing"), (3, "env-identifier"), (4, "stage-duplicate-name"),
                     (5, "steps-empty"), (8, "post-condition")]


def test_pipeline_in_a_shared_library_call_method_is_linted(linted):
    assert [(line, rule) for line, _, rule, _ in linted[1]["standardPipeline.groovy"]] == [(5, "steps-empty")]


def test_scripted_jenkinsfile_gets_only_a_warning(linted):
    assert [(rule, sev) for _, _, rule, sev in linted[1]["scripted.Jenkinsfile"]] == [("no-pipeline", "warning")]


@pytest.mark.parametrize("name", ["bom.Jenkinsfile", "crlf.Jenkinsfile"])
def test_byte_order_mark_crlf_and_tabs_keep_positions_exact(linted, name):
    # Groovy counts a tab as one column, as do we when we quote the source back.
    assert [(line, col, rule) for line, col, rule, _ in linted[1][name]] == [(4, 27, "bare-dollar-curly")]
