"""The command group: every command resolves, --version, -C, and exit code 2 on bad input."""

from __future__ import annotations

import click

from pipelinegen import __version__
from pipelinegen.cli import COMMANDS, main


def test_every_listed_command_loads_under_its_name():
    context = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(context, name)
        assert isinstance(command, click.Command), name
        assert command.name == name


def test_version_and_unknown_command(runner):
    assert runner.invoke(main, ["--version"]).output.strip().endswith(__version__)
    result = runner.invoke(main, ["complie"])
    assert result.exit_code == 2 and "Did you mean 'compile'" in result.output


def test_dash_c_works_on_another_checkout_and_comes_back(project, runner, tmp_path):
    import os

    before = os.getcwd()
    result = runner.invoke(main, ["-C", str(project), "plan", "--profile", "smoke"])
    assert result.exit_code == 0, result.output
    assert "unit jdk11 1/2" in result.output and "6 cells" in result.output
    assert os.getcwd() == before


def test_stale_advice_repeats_the_overlays_in_compile_and_validate(project, runner):
    overlay = project / "fork.yaml"
    overlay.write_text("steps:\n  - {name: unit, splits: 3}\n")
    assert runner.invoke(main, ["-C", str(project), "compile"]).exit_code == 0
    checked = runner.invoke(main, ["-C", str(project), "compile", "--check", "--overlay", "fork.yaml"])
    assert checked.exit_code == 1 and "run `pipelinegen compile --overlay fork.yaml`" in checked.output
    validated = runner.invoke(main, ["-C", str(project), "validate", "--no-harness", "--overlay", "fork.yaml"])
    assert validated.exit_code == 1 and "run `pipelinegen compile --overlay fork.yaml` and commit" in validated.output
