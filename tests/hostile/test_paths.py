"""Paths a hostile pipeline.yaml or overlay names: absolute, `..`, symlinks leading out, option-like names.
Each is refused at load with FILE:LINE, and `validate` reports it; one generator draws escaping paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.attack import (
    assert_clean_refusal,
    assert_located,
    compile_in_memory,
    run_cli,
    write_project,
)
from tests.hostile.schema_fields import FULL_PIPELINE_YAML, fields, full_document, set_field

ESCAPES = ["/etc", "/tmp/x", "..", "../x", "a/../../x", "a/..", "./../x", "~/x", "-x", "--upload-pack=touch",
           "a\\..\\x", "C:/x", "a/\x00b", ""]
PATH_FIELDS = [f for f in fields() if f.path[-1] in ("directory", "file")]


def test_the_path_fields_are_the_ones_attacked():
    assert {f.name for f in PATH_FIELDS} == {"axes[].values_from.file", "repositories[].directory"}


@pytest.mark.parametrize("escape", ESCAPES)
@pytest.mark.parametrize("field", PATH_FIELDS, ids=lambda f: f.name)
def test_a_path_leaving_the_project_is_refused_with_its_line(field, escape, tmp_path: Path):
    compiled = compile_in_memory(write_project(tmp_path / "p", set_field(full_document(), field.path, escape)))
    assert compiled.error is not None, f"{field.name} = {escape!r} accepted"
    assert_located(compiled.error)


@pytest.mark.parametrize("escape", ["/etc/passwd.yaml", "../up.yaml", "sub/../../up.yaml", "-x.yaml", "link.yaml"])
def test_an_overlay_leaving_the_project_is_refused(escape, tmp_path: Path):
    project = write_project(tmp_path / "p", FULL_PIPELINE_YAML.replace("overlays: [overlay.yaml]", f"overlays: ['{escape}']"))
    (tmp_path / "up.yaml").write_text("description: outside\n")
    (project / "link.yaml").symlink_to(tmp_path / "up.yaml")
    compiled = compile_in_memory(project)
    assert compiled.error is not None
    assert_located(compiled.error)


def test_a_symlinked_values_file_leading_out_is_refused(tmp_path: Path):
    project = write_project(tmp_path / "p")
    outside = tmp_path / "outside.xml"
    outside.write_text((project / "build.xml").read_text())
    (project / "build.xml").unlink()
    (project / "build.xml").symlink_to(outside)
    compiled = compile_in_memory(project)
    assert compiled.error is not None and "outside the project directory" in str(compiled.error)
    assert_located(compiled.error)


def test_validate_reports_an_absolute_checkout_directory(tmp_path: Path):
    project = write_project(tmp_path / "p", set_field(full_document(), ("repositories", "[]", "directory"), "/tmp"))
    run = run_cli(["validate", "--no-harness"], project)
    assert "Traceback" not in run.stderr and run.returncode == 1
    assert "repositories[extra].directory: '/tmp' is not valid" in run.stdout
    assert_clean_refusal(run_cli(["compile"], project), "pipeline.yaml")


def test_option_like_urls_are_refused(tmp_path: Path):
    doc = set_field(full_document(), ("repositories", "[]", "url"), "--upload-pack=touch${IFS}pwned")
    compiled = compile_in_memory(write_project(tmp_path / "p", doc))
    assert compiled.error is not None
    assert_located(compiled.error)


SEGMENTS = st.sampled_from(["a", "b", "..", ".", "", "~", "-", "/", "x.yaml"])


@settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(SEGMENTS, min_size=1, max_size=6).map("/".join))
def test_any_directory_is_accepted_only_if_it_stays_inside(tmp_path_factory, directory: str):
    """Generator: random relative/absolute paths; accepted ones resolve inside the cell's working copy."""
    project = write_project(tmp_path_factory.mktemp("dir"),
                            set_field(full_document(), ("repositories", "[]", "directory"), directory))
    compiled = compile_in_memory(project)
    if compiled.error is not None:
        assert_located(compiled.error)
        return
    root = Path("/work-copy")
    resolved = (root / directory).resolve()
    assert directory and not directory.startswith(("/", "-", "~")) and (resolved == root or root in resolved.parents)


def _compiled(tmp_path: Path) -> Path:
    project = write_project(tmp_path / "p")
    assert run_cli(["compile"], project).returncode == 0
    return project


def test_a_committed_file_list_cannot_make_compile_delete_outside_generated(tmp_path: Path):
    """generated/.pipelinegen-files is committed: names in it that leave generated/ are never removed."""
    project = _compiled(tmp_path)
    victim, inner = tmp_path / "victim.txt", project / "victim.txt"
    victim.write_text("keep"), inner.write_text("keep")
    (project / "generated" / "sneaky").symlink_to(tmp_path)
    listing = project / "generated" / ".pipelinegen-files"
    listing.write_text(listing.read_text() + f"{victim}\n../victim.txt\nsneaky/victim.txt\n")
    (project / "pipeline.yaml").write_text((project / "pipeline.yaml").read_text().replace("quick", "quicker"))
    run_cli(["compile"], project)
    assert victim.read_text() == "keep" and inner.read_text() == "keep"


@pytest.mark.parametrize("link", ["generated", "generated/library"])
def test_compile_never_writes_through_a_committed_symlink(link: str, tmp_path: Path):
    project = _compiled(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = project / link
    shutil.rmtree(target)
    target.symlink_to(elsewhere)
    run = run_cli(["compile"], project)
    assert_clean_refusal_without_line(run)
    assert list(elsewhere.iterdir()) == []


def assert_clean_refusal_without_line(run) -> None:
    assert "Traceback" not in run.stderr and run.returncode == 2, run.stderr
    assert "symlink" in run.stderr


def test_a_forks_library_symlink_to_a_secret_is_not_compiled_into_generated(tmp_path: Path):
    project = write_project(tmp_path / "p")
    secret = tmp_path / "id_rsa"
    secret.write_text("PRIVATE KEY")
    shutil.copytree(Path(__file__).parents[2] / "library", project / "library")
    (project / "library" / "resources" / "stolen.txt").symlink_to(secret)
    run = run_cli(["compile"], project)
    assert run.returncode == 2 and "symlink leading outside library/" in run.stderr, run.stderr
    assert not (project / "generated").exists()
