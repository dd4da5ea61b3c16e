"""The `pipelinegen` command group.

Each capability lives in its own package and exposes its click commands in a module listed in
COMMAND_MODULES; this file only wires them together, so adding a capability is a one-line change here.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import click

from pipelinegen import __version__
from pipelinegen.errors import EXIT_BAD_INPUT, PipelineError

# module path -> attribute holding a list of click commands
COMMAND_MODULES: tuple[str, ...] = (
    "pipelinegen.core_cli",
    "pipelinegen.run.cli",
    "pipelinegen.analysis.estimate_cli",
    "pipelinegen.lint.cli",
    "pipelinegen.results.cli",
    "pipelinegen.validate.cli",
    "pipelinegen.deploy.cli",
    "pipelinegen.analysis.history_cli",
)


class PipelinegenGroup(click.Group):
    """Turns PipelineError into a clear message and exit code 2, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipelineError as err:
            click.echo(str(err), err=True)
            n = len(err.findings)
            click.echo(f"{n} error{'s' if n != 1 else ''}; nothing was written.", err=True)
            sys.exit(EXIT_BAD_INPUT)


@click.group(cls=PipelinegenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pipelinegen")
@click.option(
    "-C",
    "directory",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Work on the checkout in DIR instead of the current directory.",
)
@click.pass_context
def main(ctx: click.Context, directory: Path | None) -> None:
    """pipelinegen: one pipeline.yaml -> declarative Jenkinsfile, shared library, local runs and results.

    Exit codes: 0 ok, 1 a check failed (stale files, failing tests, lint errors), 2 bad input or usage.
    """
    if directory is not None:
        previous = os.getcwd()
        os.chdir(directory)
        # back where we were when the command ends: the CLI also runs in-process (tests, other tools)
        ctx.call_on_close(lambda: os.chdir(previous))
    ctx.ensure_object(dict)


for _module_name in COMMAND_MODULES:
    _module = importlib.import_module(_module_name)
    for _command in _module.commands:
        main.add_command(_command)
