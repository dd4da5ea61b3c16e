"""The shared library compile writes: the packaged sources, a fork's own library/, and loud errors when
either lacks what the Jenkinsfile or the library's Groovy calls (a Jenkinsfile that fails only on Jenkins)."""

from __future__ import annotations

import shutil

import pytest

from pipelinegen.cli import main
from pipelinegen.render import library
from tests.conftest import REPO


def _compile(runner, project):
    return runner.invoke(main, ["-C", str(project), "compile"])


def test_the_packaged_library_is_the_repositorys_library_directory(runner, project):
    done = _compile(runner, project)
    assert done.exit_code == 0, done.output
    for source in (REPO / "library").rglob("*"):
        if source.is_file():
            relative = source.relative_to(REPO / "library")
            compiled = (project / "generated" / "library" / relative).read_text()
            assert compiled.endswith(source.read_text())


def test_a_missing_packaged_library_is_an_error_not_a_shorter_generated_dir(runner, project, monkeypatch):
    monkeypatch.setattr(library, "PACKAGED_LIBRARY", "no-such-directory")
    done = _compile(runner, project)
    assert done.exit_code == 2
    assert "shared library sources pipelinegen ships are missing" in done.output
    assert "reinstall" in done.output
    assert not (project / "generated").exists()


@pytest.mark.parametrize(
    ("removed", "message"),
    [
        ("vars/pipelinegenSummary.groovy", "generated/Jenkinsfile: error: calls the library step pipelinegenSummary"),
        ("resources/pipelinegen/collect-results.sh",
         "pipelinegenCells.groovy: error: loads libraryResource('pipelinegen/collect-results.sh')"),
    ],
)
def test_a_forks_library_lacking_what_is_called_is_named_and_nothing_is_written(runner, project, removed, message):
    shutil.copytree(REPO / "library", project / "library")
    (project / "library" / removed).unlink()
    done = _compile(runner, project)
    assert done.exit_code == 2
    assert message in done.output
    assert f"restore library/{removed}" in done.output
    assert not (project / "generated").exists()


def test_a_forks_own_library_is_compiled_instead_of_the_packaged_one(runner, project):
    shutil.copytree(REPO / "library", project / "library")
    extra = project / "library" / "resources" / "pipelinegen" / "fork-notes.txt"
    extra.write_text("fork\n")
    done = _compile(runner, project)
    assert done.exit_code == 0, done.output
    assert (project / "generated" / "library" / "resources" / "pipelinegen" / "fork-notes.txt").read_text() == "fork\n"
