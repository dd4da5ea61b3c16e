"""Core commands: compile (pipeline.yaml -> generated/), plan (the exact cells), schema."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from pipelinegen import generate
from pipelinegen.cli.options import (
    format_option,
    load_selected,
    output_option,
    parameter_options,
    parameters_from,
    pipeline_options,
)
from pipelinegen.errors import EXIT_CHECK_FAILED
from pipelinegen.generate import stale_advice
from pipelinegen.load.repeats import REPEATS_FILE, write_repeats
from pipelinegen.plan.expand import build_plan
from pipelinegen.schema import pipeline_schema


@click.command("compile")
@pipeline_options
@click.option("--check", is_flag=True, help="Write nothing; exit 1 with a diff when generated/ is stale.")
@output_option(dest="output_dir", default=generate.GENERATED_DIR, show_default=True, help="Where the generated files go.")
@click.option(
    "--repeat-changed",
    is_flag=True,
    help="Write repeats.yaml for the tests added or changed since --base, so CI runs them many times.",
)
@click.option("--base", default=None, help="With --repeat-changed: the revision the branch forked from (origin/trunk).")
@click.option("--no-repeats", is_flag=True, help="Delete repeats.yaml (do this before merging).")
def compile_command(
    pipeline_path: Path,
    overlays: tuple[Path, ...],
    check: bool,
    output_dir: Path,
    repeat_changed: bool,
    base: str | None,
    no_repeats: bool,
) -> None:
    """Compile pipeline.yaml (+ overlays) into generated/Jenkinsfile and the shared library."""
    repeats_path = pipeline_path.parent / REPEATS_FILE
    if base and not repeat_changed or repeat_changed and no_repeats:  # one was silently ignored
        raise click.UsageError("--base goes with --repeat-changed; --no-repeats goes alone")
    if repeat_changed or no_repeats:
        if check:
            raise click.UsageError("--check writes nothing: run --repeat-changed/--no-repeats without it")
        if no_repeats:
            repeats_path.unlink(missing_ok=True)
        else:
            if not base:
                raise click.UsageError("--repeat-changed needs --base REV (e.g. origin/trunk)")
            _write_repeats(pipeline_path, overlays, repeats_path, base)
    pipeline = load_selected(pipeline_path, overlays, output_dir)
    files = generate.render_all(pipeline, pipeline_path.parent)
    for note in pipeline.notes:
        click.echo(f"note: {note}", err=True)
    if check:
        staleness = generate.check(files, output_dir)
        if staleness.stale:
            click.echo(staleness.diff)
            for label, names in (("changed", staleness.changed), ("missing", staleness.missing), ("no longer generated", staleness.extra)):
                for name in names:
                    click.echo(f"{output_dir}/{name}: {label}", err=True)
            click.echo(f"{output_dir}/ is stale: {stale_advice(pipeline.overlays, overlays, output_dir)}.", err=True)
            sys.exit(EXIT_CHECK_FAILED)
        click.echo(f"{output_dir}/ is up to date ({len(files)} files)")
        return
    touched = generate.write(files, output_dir)
    click.echo(f"wrote {len(touched)} of {len(files)} files under {output_dir}/" + ("" if touched else " (all up to date)"))


def _write_repeats(pipeline_path: Path, overlays: tuple[Path, ...], repeats_path: Path, base: str) -> None:
    """Repeat specs for the test files changed since *base* (rules: pipelinegen/analysis/repeat_rules.yaml)."""
    from pipelinegen.analysis.repeats import changed_files, repeat_requests  # noqa: PLC0415 - only this option needs git

    repeats_path.unlink(missing_ok=True)  # the repeats of an older base must not shape this computation
    pipeline = load_selected(pipeline_path, overlays)
    requests = repeat_requests(changed_files(base, repo=pipeline_path.parent), pipeline)
    specs = [
        {
            "step": r.step,
            "tests": r.test_regex,
            "count": r.count,
            "stop_on_failure": r.stop_on_failure,
            "machines": len(r.per_split),
            "file": r.file,
        }
        for r in requests
    ]
    write_repeats(repeats_path, specs, base)
    click.echo(f"{repeats_path}: {len(specs)} repeat request(s) for tests changed since {base}", err=True)
    for spec in specs:
        click.echo(f"  {spec['step']}: {spec['tests']} x{spec['count']} on {spec['machines']} cell(s)", err=True)


@click.command("plan")
@pipeline_options
@parameter_options
@format_option("text", "json", help="json: the plan with every field of every cell.")
def plan_command(pipeline_path: Path, overlays: tuple[Path, ...], fmt: str, **parameter_values: object) -> None:
    """Print the exact cells that would run for the given job parameters."""
    pipeline = load_selected(pipeline_path, overlays)
    parameters = parameters_from(pipeline, **parameter_values)  # type: ignore[arg-type]
    plan = build_plan(pipeline, parameters)
    if fmt == "json":
        click.echo(plan.to_json(), nl=False)
        return
    width = max((len(c.name) for c in plan.cells), default=10)
    for cell in plan.cells:
        depends = f"  after {', '.join(cell.depends_on)}" if cell.depends_on else ""
        click.echo(f"{cell.name:<{width}}  {cell.label:<28} {cell.timeout_minutes:>4}m x{cell.attempts}  {cell.command}{depends}")
    per_kind = Counter(c.kind for c in plan.cells)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(per_kind.items()))
    click.echo(
        f"{len(plan.cells)} cells ({kinds}) for profile '{parameters.profile}'"
        + (" [post-commit]" if plan.post_commit else "")
    )


@click.command("schema")
@click.option("--overlay", "for_overlay", is_flag=True,
              help="The schema of an overlay file instead: partial documents, $remove, $replace, $append.")
def schema_command(for_overlay: bool) -> None:
    """Print the JSON Schema of pipeline.yaml, or of an overlay file (point your editor's YAML support at it:
    first line `# yaml-language-server: $schema=pipeline.schema.json`)."""
    from pipelinegen.merge.schema import overlay_schema  # noqa: PLC0415 - only this option needs it

    click.echo(json.dumps(overlay_schema() if for_overlay else pipeline_schema(), indent=2))


commands = [compile_command, plan_command, schema_command]
