"""compile: deterministic output, --check detects stale files, generated Groovy parses under Groovy 2.4."""

from __future__ import annotations

import shutil

from pipelinegen.cli import main
from pipelinegen.lint.engine import groovy_syntax_check
from tests.conftest import REPO


def _compile(runner, directory, *args):
    return runner.invoke(main, ["-C", str(directory), "compile", *args])


def test_output_is_byte_identical_across_runs_and_directories(tmp_path, runner):
    first, second = tmp_path / "a", tmp_path / "b"
    for directory in (first, second):
        directory.mkdir()
        shutil.copy(REPO / "pipeline.yaml", directory / "pipeline.yaml")
        assert _compile(runner, directory).exit_code == 0
    files_a = sorted(p.relative_to(first) for p in (first / "generated").rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(second) for p in (second / "generated").rglob("*") if p.is_file())
    assert files_a == files_b and files_a
    for relative in files_a:
        assert (first / relative).read_bytes() == (second / relative).read_bytes(), relative
    again = _compile(runner, first)
    assert "all up to date" in again.output


def test_committed_generated_files_are_up_to_date(runner):
    result = _compile(runner, REPO, "--check")
    assert result.exit_code == 0, result.output


def test_check_detects_changed_missing_and_leftover_files(project, runner):
    assert _compile(runner, project).exit_code == 0
    assert _compile(runner, project, "--check").exit_code == 0
    jenkinsfile = project / "generated" / "Jenkinsfile"
    jenkinsfile.write_text(jenkinsfile.read_text().replace("stage('tests')", "stage('tests-edited')"))
    result = _compile(runner, project, "--check")
    assert result.exit_code == 1
    assert "generated/Jenkinsfile: changed" in result.output and "tests-edited" in result.output
    jenkinsfile.unlink()
    assert "generated/Jenkinsfile: missing" in _compile(runner, project, "--check").output
    assert _compile(runner, project).exit_code == 0
    # a change to pipeline.yaml makes generated/ stale
    pipeline = project / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("splits: 2", "splits: 3"))
    result = _compile(runner, project, "--check")
    assert result.exit_code == 1 and "plan.json: changed" in result.output


def test_compile_removes_only_files_it_wrote_before(project, runner):
    assert _compile(runner, project).exit_code == 0
    own_file = project / "generated" / "splits" / "unit" / "1of2.txt"
    own_file.parent.mkdir(parents=True)
    own_file.write_text("SomeTest\n")
    stale = project / "generated" / "library" / "vars" / "pipelinegenPlan.groovy"
    listing = project / "generated" / ".pipelinegen-files"
    listing.write_text(listing.read_text() + "library/vars/obsolete.groovy\n")
    (project / "generated" / "library" / "vars" / "obsolete.groovy").write_text("// old\n")
    assert "no longer generated" in _compile(runner, project, "--check").output
    assert _compile(runner, project).exit_code == 0
    assert not (project / "generated" / "library" / "vars" / "obsolete.groovy").exists()
    assert own_file.exists() and stale.exists()
    assert not list((project / "generated").rglob("*.tmp"))


def test_jenkinsfile_is_declarative_and_small_whatever_the_matrix():
    text = (REPO / "generated" / "Jenkinsfile").read_text()
    assert "\npipeline {\n" in text
    assert text.count("stage(") == 4
    assert len(text.encode()) < 8000  # the cells live in the library's plan data, not in the Jenkinsfile


def test_generated_groovy_compiles_under_groovy_2_4_in_one_jvm():
    files = [REPO / "generated" / "Jenkinsfile", *sorted((REPO / "generated" / "library").rglob("*.groovy"))]
    assert len(files) >= 5
    assert groovy_syntax_check(files) == []


def test_groovy_syntax_gate_catches_a_broken_library_file(tmp_path):
    broken = tmp_path / "broken.groovy"
    broken.write_text("def call() {\n    echo('unclosed'\n}\n")
    findings = groovy_syntax_check([broken])
    assert findings and findings[0].line is not None and findings[0].rule == "groovy-syntax"


def test_check_advice_repeats_the_overlay_and_output_it_checked(project, runner):
    (project / "fork.yaml").write_text("steps:\n  - {name: unit, splits: 3}\n")
    assert _compile(runner, project, "--output", "out").exit_code == 0  # compiled without the overlay
    result = _compile(runner, project, "--check", "--overlay", "fork.yaml", "--output", "out")
    assert result.exit_code == 1
    assert "out/ is stale: run `pipelinegen compile --overlay fork.yaml --output out`" in result.output
