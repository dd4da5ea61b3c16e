"""The issue's exploit, end to end: a value that would be Groovy code if it left its comment or string is
compiled, then `validate` and `explain` run the generated Jenkinsfile and library in their Groovy harness on
this machine. The payload would create a file; it must not exist afterwards. File names (an overlay named with
a line break) are attacked the same way. Plus a generator: random hostile strings into random string fields."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.attack import (
    assert_located,
    compile_in_memory,
    groovy_marker_scan,
    run_cli,
    write_project,
)
from tests.hostile.schema_fields import FULL_PIPELINE_YAML, full_document, set_field, string_fields

pytestmark = pytest.mark.slow


def _payload(target: Path) -> str:
    # no spaces (a URL has none): /**/ separates the tokens; \u000a ends a // comment in Groovy if unescaped
    return f"https://example.org/x\\u000anew/**/File('{target}').write('pwned')//"


def test_validate_and_explain_never_execute_a_value(tmp_path: Path):
    target = tmp_path / "PWNED"
    document = set_field(full_document(), ("canonical_repository",), _payload(target))
    document["parameters"][0]["default"] = f"'''+new File('{target}').write('x')+'''"
    project = write_project(tmp_path / "p", document)
    compiled = run_cli(["compile"], project)
    assert compiled.returncode == 0, compiled.stderr
    jenkinsfile = (project / "generated" / "Jenkinsfile").read_text(encoding="utf-8")
    assert "File(" in jenkinsfile  # the payload is there, as text
    for command in (["validate"], ["explain"]):
        run = run_cli(command, project, timeout=300, bounded=False)
        assert "Traceback" not in run.stderr, run.stderr[-2000:]
        assert run.returncode == 0, (command, run.stdout[-2000:], run.stderr[-2000:])
        assert not target.exists(), f"`pipelinegen {command[0]}` ran code from pipeline.yaml"


def test_an_overlay_file_name_cannot_leave_the_header_comment(tmp_path: Path):
    project = write_project(tmp_path / "p", FULL_PIPELINE_YAML.replace("overlays: [overlay.yaml]\n", ""))
    overlay = project / "o\npwned_overlay()\n\\u000apwned_overlay2() .yaml"
    overlay.write_text("description: from a strangely named overlay\n", encoding="utf-8")
    run = run_cli(["compile", "--overlay", str(overlay.name)], project)
    assert run.returncode == 0, run.stderr
    jenkinsfile = project / "generated" / "Jenkinsfile"
    assert jenkinsfile.read_bytes().isascii()
    assert groovy_marker_scan([jenkinsfile]) == {jenkinsfile: "OK"}


def test_non_ascii_in_the_canonical_repository_compiles(tmp_path: Path):
    document = set_field(full_document(), ("canonical_repository",), "https://例え.jp/dépôt/é😀.git")
    run = run_cli(["compile"], write_project(tmp_path / "p", document))
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr


PIECES = ["'", '"', "'''", '"""', "\\", "\\u000a", "\n", "${", "}", "{", "$", "`", "/*", "*/", "//", "pwned_gen()",
          "é", "🚀", " ", "\t", "#", "^${", "{{", "}}", "-"]
HOSTILE = st.lists(st.sampled_from(PIECES), min_size=1, max_size=10).map("".join)


def test_random_hostile_strings_in_random_fields_stay_data(tmp_path: Path):
    """Generator: hypothesis combines the pieces of every attack class into one value per field; the accepted
    results are checked by one Groovy 2.4 JVM at the end."""
    drawn: list[tuple[int, str]] = []
    fields = string_fields()

    @settings(max_examples=40, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(st.integers(0, len(fields) - 1), HOSTILE)
    def draw(index: int, value: str) -> None:
        drawn.append((index, value))

    draw()
    jenkinsfiles = []
    for number, (index, value) in enumerate(drawn):
        project = write_project(tmp_path / f"g{number}", set_field(full_document(), fields[index].path, value))
        compiled = compile_in_memory(project)
        if compiled.error is not None:
            assert_located(compiled.error)
            continue
        path = project / "Jenkinsfile.groovy"
        path.write_bytes(compiled.files["Jenkinsfile"])
        jenkinsfiles.append(path)
    assert jenkinsfiles, "every drawn value was refused: the generator reaches no renderer"
    verdicts = groovy_marker_scan(jenkinsfiles)
    assert {p: v for p, v in verdicts.items() if v != "OK"} == {}


def test_an_edited_generated_jenkinsfile_is_never_executed(tmp_path: Path):
    """generated/ is committed: a branch can carry a Jenkinsfile compile would not write. validate reports it
    stale and skips the harness; explain refuses; neither runs it."""
    target = tmp_path / "PWNED"
    project = write_project(tmp_path / "p")
    assert run_cli(["compile"], project).returncode == 0
    jenkinsfile = project / "generated" / "Jenkinsfile"
    jenkinsfile.write_text(f"new File('{target}').write('x')\n" + jenkinsfile.read_text(encoding="utf-8"), encoding="utf-8")
    validate = run_cli(["validate"], project, timeout=300, bounded=False)
    assert validate.returncode == 1 and "[stale]" in validate.stdout, validate.stdout[-2000:]
    assert "harness runs only what `pipelinegen compile` writes" in validate.stdout + validate.stderr
    explain = run_cli(["explain"], project, timeout=300, bounded=False)
    assert explain.returncode == 2 and "explain runs only what `pipelinegen compile` writes" in explain.stderr
    assert not target.exists()
