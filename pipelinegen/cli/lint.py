"""`pipelinegen lint`: offline declarative-Jenkinsfile linter (rules: docs/lint.md)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from pipelinegen.cli.options import format_option
from pipelinegen.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK
from pipelinegen.lint.catalogue import DEFAULT_CATALOGUE
from pipelinegen.lint.catalogue_file import load_catalogue
from pipelinegen.lint.engine import lint_paths
from pipelinegen.lint.formats import FORMATS

DEFAULT_JENKINSFILE = Path("generated/Jenkinsfile")
_PIPELINE_BLOCK = re.compile(rb"(?<![\w.$])pipeline\s*\{")
DEFAULT_LIBRARY = Path("generated/library")


def mentions_pipeline(path: Path) -> bool:
    """Does the file have a `pipeline {` at all? (Cheap pre-filter; the linter itself decides the rest.)"""
    try:
        return bool(_PIPELINE_BLOCK.search(path.read_bytes()))
    except OSError:
        return True  # let the linter report the unreadable file


def default_targets(root: Path = Path(".")) -> tuple[list[Path], list[Path]]:
    """generated/Jenkinsfile (all rules) and generated/library/**/*.groovy (Groovy syntax only)."""
    jenkinsfile = root / DEFAULT_JENKINSFILE
    library = sorted((root / DEFAULT_LIBRARY).rglob("*.groovy")) if (root / DEFAULT_LIBRARY).is_dir() else []
    return ([jenkinsfile] if jenkinsfile.is_file() else []), library


@click.command("lint")
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@format_option(*FORMATS,
               help="; ".join(f"{f.name}: {f.help}" for f in FORMATS.values()) + ".")
@click.option("--no-cache", is_flag=True,
              help="Parse every file again (by default a file whose exact bytes were parsed before starts no JVM).")
@click.option("--only-pipelines", is_flag=True,
              help="Skip the named files that contain no `pipeline {` block (for hooks that pass every *.groovy).")
@click.option("--catalogue", "catalogue_spec", metavar="FILE|pinned",
              help="What your controller has installed (`pipelinegen catalogue export`), or `pinned`: the plugins "
                   "pipelinegen's clone installs. Unknown options, triggers, parameters and tools become errors.")
def lint_command(files: tuple[Path, ...], fmt: str, no_cache: bool, only_pipelines: bool,
                 catalogue_spec: str | None) -> None:
    """Check declarative Jenkinsfiles offline, as Jenkins's own validator would.

    With no FILE: generated/Jenkinsfile and the Groovy files of generated/library (syntax only).
    Exit codes: 0 no errors (warnings allowed), 1 at least one error, 2 bad usage or no Java/Groovy.
    """
    if files:
        declarative, syntax_only = list(files), []
        if only_pipelines:
            declarative = [p for p in declarative if not p.is_file() or mentions_pipeline(p)]
            if not declarative:
                sys.exit(EXIT_OK)
    else:
        declarative, syntax_only = default_targets()
        if not declarative and not syntax_only:
            click.echo(f"pipelinegen lint: nothing to lint: {DEFAULT_JENKINSFILE} not found; run "
                       "`pipelinegen compile` first or name the files to lint", err=True)
            sys.exit(EXIT_BAD_INPUT)
    # PipelineError (missing file, missing Java/Groovy) propagates to the group: message + exit 2.
    catalogue = load_catalogue(catalogue_spec) if catalogue_spec else DEFAULT_CATALOGUE
    findings = lint_paths(declarative, syntax_only, catalogue=catalogue, use_cache=not no_cache)
    rendered = FORMATS[fmt].render(findings, [str(p) for p in declarative + syntax_only])
    if rendered:
        click.echo(rendered)
    errors = sum(1 for f in findings if f.severity == "error")
    warnings = len(findings) - errors
    checked = len(declarative) + len(syntax_only)
    click.echo(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)} "
               f"in {checked} file{'s' * (checked != 1)}", err=True)
    sys.exit(EXIT_CHECK_FAILED if errors else EXIT_OK)


commands = [lint_command]
