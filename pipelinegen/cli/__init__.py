"""The `pipelinegen` command group.

Each capability lives in its own package; COMMANDS names each command's click object by import path,
and a command's module is imported only when that command runs (`pipelinegen --help` and every command
start fast instead of importing jenkins-job-builder, lxml rules, ... for all of them).
"""

from __future__ import annotations

import difflib
import errno
import importlib
import os
import sys
from pathlib import Path

import click

from pipelinegen import __version__
from pipelinegen.errors import EXIT_BAD_INPUT, PipelineError, flood_summary, shown_findings

# command name -> "module:attribute" of its click command (adding a capability is one line here)
COMMANDS: dict[str, str] = {
    "compile": "pipelinegen.cli.core:compile_command",
    "init": "pipelinegen.cli.init:init_command",
    "plan": "pipelinegen.cli.core:plan_command",
    "schema": "pipelinegen.cli.core:schema_command",
    "validate": "pipelinegen.cli.validate:validate_command",
    "explain": "pipelinegen.cli.validate:explain_command",
    "lint": "pipelinegen.cli.lint:lint_command",
    "run": "pipelinegen.cli.run:run_command",
    "results": "pipelinegen.cli.results:results",
    "history": "pipelinegen.cli.history:history",
    "flaky": "pipelinegen.cli.history:flaky",
    "splits": "pipelinegen.cli.estimate:splits_command",
    "estimate": "pipelinegen.cli.estimate:estimate_command",
    "jobs": "pipelinegen.cli.deploy:jobs_command",
    "test-on-clone": "pipelinegen.cli.deploy:test_on_clone_command",
    "clone": "pipelinegen.cli.deploy:clone_group",
    "catalogue": "pipelinegen.cli.deploy:catalogue_group",
}


_FILE_SYSTEM_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EISDIR,
                                  errno.ENOTDIR, errno.ENAMETOOLONG, errno.EFBIG, errno.EMFILE, errno.ENFILE})


class PipelinegenGroup(click.Group):
    """Loads commands lazily; turns PipelineError into a clear message and exit code 2, never a traceback."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        name = args[0] if args else ""
        if name and not name.startswith("-") and name not in COMMANDS:
            close = difflib.get_close_matches(name, list(COMMANDS), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            ctx.fail(f"No such command '{name}'.{hint}")
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except PipelineError as err:
            for finding in shown_findings(err.findings):
                click.echo(finding.format(), err=True)
            for line in flood_summary(err.findings, see_all=""):
                click.echo(line, err=True)
            n = len(err.findings)
            click.echo(f"{n:,} error{'s' if n != 1 else ''}; nothing was written.", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except OSError as err:
            # A full disk, a read-only or forbidden output directory: the user's machine, not a bug of ours.
            # Every output is written through fsutil's temp file + rename, so nothing half-written is left.
            if err.errno not in _FILE_SYSTEM_ERRNOS:
                raise
            where = str(err.filename or err.filename2 or "<output>")
            if Path(where).name.startswith("."):  # our temp file (.NAME.xxxx.tmp, .bundle-xxxx): name its directory
                where = str(Path(where).parent)
            click.echo(f"{where}: error: {err.strerror or err} — free space or choose a writable location; "
                       f"no partial file was left", err=True)
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
