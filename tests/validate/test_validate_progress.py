"""`validate` takes ~20 s (JVMs): on a terminal it names the layer running; in a pipe or CI log it prints nothing extra."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelinegen.cli import main
from pipelinegen.validate.report import validate


def _compiled(project, runner):
    assert runner.invoke(main, ["-C", str(project), "compile"]).exit_code == 0
    return project


def test_each_layer_is_announced_in_order_before_it_runs(project, runner, monkeypatch):
    monkeypatch.chdir(_compiled(project, runner))
    stages: list[str] = []
    report = validate(Path("pipeline.yaml"), harness=False, progress=stages.append)
    assert report.errors == 0
    assert [s.split(" ")[0] for s in stages] == ["1/5", "2/5", "3/5", "4/5"]
    assert "Groovy 2.4" in stages[2]


def test_a_pipeline_that_does_not_load_stops_after_the_first_layer(project):
    (project / "pipeline.yaml").write_text("version: 1\nsteps: 5\n")
    stages: list[str] = []
    validate(project / "pipeline.yaml", generated_dir=project / "generated", harness=False, progress=stages.append)
    assert stages == ["1/5 pipeline.yaml semantics"]


def _validate_cli(project, **env):
    return subprocess.run([sys.executable, "-c", "from pipelinegen.cli import main; main()", "-C", str(project),
                           "validate", "--no-harness"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, **env})


def test_a_terminal_shows_the_running_layer_a_pipe_does_not(project, runner):
    _compiled(project, runner)
    terminal = _validate_cli(project, FORCE_COLOR="1", TTY_INTERACTIVE="1")  # rich: behave as on a terminal
    assert terminal.returncode == 0, terminal.stderr
    assert "validate: 3/5 Jenkinsfile rules" in terminal.stderr
    piped = _validate_cli(project)
    assert piped.returncode == 0 and "validate: " not in piped.stderr
