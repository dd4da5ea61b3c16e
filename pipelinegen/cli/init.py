"""`pipelinegen init`: write a starting pipeline.yaml for this checkout, compile generated/, say what is next."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from pipelinegen import generate
from pipelinegen.errors import Finding, PipelineError
from pipelinegen.escape import shell_quote
from pipelinegen.fsutil import atomic_write_text
from pipelinegen.load import DEFAULT_PIPELINE, load_pipeline
from pipelinegen.scaffold.detect import detect
from pipelinegen.scaffold.render import render_pipeline_yaml


def next_steps(profile: str) -> str:
    """What a new user does after init, as commands to copy."""
    quoted = shell_quote(profile)
    rows = [
        ("review pipeline.yaml", "splits, agent labels and sizes, profiles (`pipelinegen schema`, docs/pipeline-yaml.md)"),
        (f"pipelinegen plan --profile {quoted}", "the cells a run of that profile has"),
        (f"pipelinegen run --profile {quoted} --dry-run", "their commands; without --dry-run, run them here"),
        ("pipelinegen validate", "every offline check of pipeline.yaml and generated/"),
        ("git add pipeline.yaml generated/", "commit both; point the Jenkins job's script path at generated/Jenkinsfile"),
        ("pipelinegen compile --check", "in CI: fails when generated/ is stale (docs/adopting.md)"),
    ]
    width = max(len(command) for command, _ in rows)
    return "next:\n" + "".join(f"  {n}. {command:<{width}}   {why}\n" for n, (command, why) in enumerate(rows, 1))


def _validated_files(text: str, root: Path) -> dict[str, bytes]:
    """Load and render *text* as root/pipeline.yaml would be, from a temporary file beside it."""
    handle, temporary = tempfile.mkstemp(prefix=".pipelinegen-init-", suffix=".yaml", dir=root)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        return generate.render_all(load_pipeline(Path(temporary)), root)
    except PipelineError as err:
        bug = Finding(str(DEFAULT_PIPELINE), None, "init made a pipeline.yaml that does not load (a pipelinegen bug: "
                      "please report it with the findings below)")
        raise PipelineError([bug, *err.findings]) from err
    finally:
        os.unlink(temporary)


def _foreign_generated_files(files: dict[str, bytes], out_dir: Path) -> list[str]:
    """Files under generated/ that compile would overwrite but did not write (hand-made, another tool's)."""
    listing = out_dir / generate.FILE_LIST
    ours = set(listing.read_text(encoding="utf-8").splitlines()) if listing.is_file() else set()
    return [name for name in files if (out_dir / name).is_file() and name not in ours]


@click.command("init")
@click.option("--force", is_flag=True, help="Replace an existing pipeline.yaml and any generated/ file in the way.")
@click.option("--project", "project_name", default=None,
              help="The project name (default: build.xml's <project name=...>, else the directory's name).")
@click.option("--dry-run", is_flag=True,
              help="Print the pipeline.yaml init would write (checked to load and compile) and write nothing: "
              "compare it with an existing one.")
def init_command(force: bool, project_name: str | None, dry_run: bool) -> None:
    """Write a starting pipeline.yaml for this checkout (JDKs from build.xml, the steps and profiles of its
    scripts and Jenkinsfile) plus generated/, and print the next steps."""
    root = Path(".")
    target = root / DEFAULT_PIPELINE
    if target.exists() and not force and not dry_run:
        raise PipelineError.single(str(target), None, "already exists: init writes a pipeline.yaml only where there is none",
                                   hint="edit it and run `pipelinegen compile`, or `pipelinegen init --force` to replace it")
    found = detect(root, project_name)
    if not found.steps:
        raise PipelineError.single(
            str(target), None, "no step found: no .build/ build or test script, no ant jar/test target in build.xml",
            hint="write pipeline.yaml by hand (docs/pipeline-yaml.md; `pipelinegen schema` for editors)")
    text = render_pipeline_yaml(found)
    files = _validated_files(text, root)
    if dry_run:
        click.echo(text, nl=False)
        for note in found.notes:
            click.echo(f"note: {note}", err=True)
        return
    out_dir = root / generate.GENERATED_DIR
    foreign = _foreign_generated_files(files, out_dir)
    if foreign and not force:
        raise PipelineError.single(
            f"{generate.GENERATED_DIR}/{foreign[0]}", None,
            f"exists and was not written by pipelinegen ({len(foreign)} such file(s) in the way)",
            hint="move them away, or `pipelinegen init --force` to overwrite them")
    atomic_write_text(target, text)
    pipeline = load_pipeline(target)
    written = generate.write(generate.render_all(pipeline, root), out_dir)
    profile = pipeline.profiles[0].name
    jdks = ",".join(found.jdks)
    click.echo(f"wrote {target} (project {found.project}: jdk {jdks}, {len(found.steps)} steps, "
               f"{len(pipeline.profiles)} profiles) and {len(written)} files under {generate.GENERATED_DIR}/")
    click.echo(f"  read: {', '.join(found.sources)}")
    for note in found.notes:
        click.echo(f"  note: {note}")
    click.echo(next_steps(profile), nl=False)
