"""`pipelinegen lint`: offline declarative-Jenkinsfile linter (rules: docs/lint.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from pipelinegen.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, Finding
from pipelinegen.lint.engine import lint_paths

DEFAULT_JENKINSFILE = Path("generated/Jenkinsfile")
DEFAULT_LIBRARY = Path("generated/library")


def format_text(finding: Finding) -> str:
    """`FILE:LINE:COL: error: MESSAGE [rule]`, like a compiler; the hint goes on its own line."""
    text = f"{finding.where()}: {finding.severity}: {finding.message} [{finding.rule}]"
    if finding.hint:
        text += f"\n    hint: {finding.hint}"
    return text


def default_targets(root: Path = Path(".")) -> tuple[list[Path], list[Path]]:
    """generated/Jenkinsfile (all rules) and generated/library/**/*.groovy (Groovy syntax only)."""
    jenkinsfile = root / DEFAULT_JENKINSFILE
    library = sorted((root / DEFAULT_LIBRARY).rglob("*.groovy")) if (root / DEFAULT_LIBRARY).is_dir() else []
    return ([jenkinsfile] if jenkinsfile.is_file() else []), library


@click.command("lint")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: FILE:LINE:COL: error: MESSAGE [rule]; json: one array of findings.")
def lint_command(files: tuple[Path, ...], fmt: str) -> None:
    """Check declarative Jenkinsfiles offline, as Jenkins's own validator would.

    With no FILE: generated/Jenkinsfile and the Groovy files of generated/library (syntax only).
    Exit codes: 0 no errors (warnings allowed), 1 at least one error, 2 bad usage or no Java/Groovy.
    """
    if files:
        declarative, syntax_only = list(files), []
    else:
        declarative, syntax_only = default_targets()
        if not declarative and not syntax_only:
            click.echo(f"pipelinegen lint: nothing to lint: {DEFAULT_JENKINSFILE} not found; run "
                       "`pipelinegen compile` first or name the files to lint", err=True)
            sys.exit(EXIT_BAD_INPUT)
    # PipelineError (missing file, missing Java/Groovy) propagates to the group: message + exit 2.
    findings = lint_paths(declarative, syntax_only)
    if fmt == "json":
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    else:
        for finding in findings:
            click.echo(format_text(finding))
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    checked = len(declarative) + len(syntax_only)
    click.echo(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} "
               f"in {checked} file{'s' * (checked != 1)}", err=True)
    sys.exit(EXIT_CHECK_FAILED if errors else EXIT_OK)


commands = [lint_command]
