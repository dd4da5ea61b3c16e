"""Engine behaviour beyond the per-rule corpus: safety, shared-library pipelines, scripted files."""

from __future__ import annotations

from pathlib import Path

from pipelinegen.lint.engine import lint_files

VALID_BODY = """    agent any
    stages {
        stage('a') { steps { echo 'x' } }
    }"""


def test_lint_never_acts_on_the_file(tmp_path: Path):
    # @Grab's global AST transformation runs at CONVERSION and would download the named artifact.
    marker = tmp_path / "grapes"
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(
        "@Grab('org.example.never:exists:6.6.6')\nimport org.example.Never\n"
        f"@groovy.transform.ASTTest(value = {{ new File('{marker}').text = 'ran' }})\n"
        f"def x = 1\npipeline {{\n{VALID_BODY}\n}}\n"
    )
    findings = lint_files([jenkinsfile])
    assert [f for f in findings if f.severity == "error"] == []
    assert not marker.exists()


def test_several_problems_in_one_file_are_all_reported_in_line_order(tmp_path: Path):
    jenkinsfile = tmp_path / "Jenkinsfile"
    jenkinsfile.write_text(
        "pipeline {\n"
        "    agent { docker { label 'x' } }\n"
        "    environment { $A = 'x' }\n"
        "    stages {\n"
        "        stage('a') { steps { } }\n"
        "        stage('a') { steps { echo 'x' } }\n"
        "    }\n"
        "    post { sometimes { echo 'x' } }\n"
        "}\n"
    )
    found = [(f.line, f.rule) for f in lint_files([jenkinsfile])]
    assert found == [(2, "agent-param-missing"), (3, "env-identifier"), (5, "steps-empty"), (6, "stage-duplicate-name"),
                     (8, "post-condition")]


def test_pipeline_in_a_shared_library_call_method_is_linted(tmp_path: Path):
    library_var = tmp_path / "standardPipeline.groovy"
    library_var.write_text(
        "def call(Map config) {\n    pipeline {\n        agent any\n        stages {\n"
        "            stage('a') { steps { } }\n        }\n    }\n}\n"
    )
    assert [(f.line, f.rule) for f in lint_files([library_var])] == [(5, "steps-empty")]


def test_scripted_jenkinsfile_gets_only_a_warning(tmp_path: Path):
    scripted = tmp_path / "Jenkinsfile"
    scripted.write_text("node('linux') {\n    stage('build') { sh 'make' }\n}\n")
    findings = lint_files([scripted])
    assert [(f.severity, f.rule) for f in findings] == [("warning", "no-pipeline")]


def test_byte_order_mark_crlf_and_tabs_keep_positions_exact(tmp_path: Path):
    body = 'pipeline {\n\tagent any\n\tstages {\n\t\tstage("a") { steps { sh ${X} } }\n\t}\n}\n'
    bom = tmp_path / "bom.Jenkinsfile"
    crlf = tmp_path / "crlf.Jenkinsfile"
    bom.write_bytes(b"\xef\xbb\xbf" + body.encode())
    crlf.write_bytes(body.replace("\n", "\r\n").encode())
    found = [(Path(f.file).name, f.line, f.column, f.rule) for f in lint_files([bom, crlf])]
    # Groovy counts a tab as one column, as do we when we quote the source back.
    assert found == [("bom.Jenkinsfile", 4, 27, "bare-dollar-curly"), ("crlf.Jenkinsfile", 4, 27, "bare-dollar-curly")]
