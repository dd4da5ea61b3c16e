"""pipeline.yaml's `pipelinegen_version`: a checkout names the release its generated/ is compiled with; any
other release refuses to work on it (exit 2, the line, the command that runs the right release)."""

from __future__ import annotations

import pytest
import yaml

from pipelinegen import __version__
from pipelinegen.cli import main
from tests.conftest import MINIMAL_PIPELINE


def _pinned(project, spec: str) -> None:
    (project / "pipeline.yaml").write_text(MINIMAL_PIPELINE.replace("version: 1\n", f"version: 1\npipelinegen_version: {spec}\n", 1))


@pytest.mark.parametrize("spec", [f'"=={__version__}"', '">=0.1,<99"', f'"~={__version__}"'])
def test_a_pin_that_accepts_this_release_compiles(runner, project, spec):
    _pinned(project, spec)
    done = runner.invoke(main, ["-C", str(project), "compile"])
    assert done.exit_code == 0, done.output
    assert (project / "generated" / "Jenkinsfile").is_file()


def test_another_release_is_refused_with_the_line_and_the_command_to_run(runner, project):
    _pinned(project, '"==0.0.1"')
    done = runner.invoke(main, ["-C", str(project), "compile"])
    assert done.exit_code == 2
    assert f"pipeline.yaml:2: error: pipelinegen_version: this checkout is compiled with pipelinegen ==0.0.1; this is pipelinegen {__version__}" in done.output
    assert "pipx install --force pipelinegen==0.0.1" in done.output
    assert not (project / "generated").exists()
    plan = runner.invoke(main, ["-C", str(project), "plan", "--profile", "smoke"])
    assert plan.exit_code == 2 and "pipelinegen_version" in plan.output


def test_init_pins_the_release_that_wrote_generated(runner, tmp_path):
    (tmp_path / ".build").mkdir()
    (tmp_path / ".build" / "run-tests.sh").write_text('TARGET_TYPES="unit"\ngetopts "a:c:j:" o\n')
    assert runner.invoke(main, ["-C", str(tmp_path), "init"]).exit_code == 0
    assert yaml.safe_load((tmp_path / "pipeline.yaml").read_text())["pipelinegen_version"] == f"=={__version__}"
