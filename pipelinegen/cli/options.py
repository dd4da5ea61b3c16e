"""Click options shared by every command that reads pipeline.yaml or takes job parameters.

Use `@pipeline_options` + `load_selected(...)` and `@parameter_options` + `parameters_from(...)` rather
than declaring these options again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pipelinegen.load import DEFAULT_PIPELINE, load_pipeline
from pipelinegen.load.discovery import GENERATED_DIR, overlay_mismatch
from pipelinegen.model.pipeline import Pipeline
from pipelinegen.plan.cell import Parameters


def pipeline_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--overlay",
        "overlays",
        multiple=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="Overlay YAML merged onto pipeline.yaml, in order, after the ones the checkout's "
        "pipelinegen.overlays.yaml declares (a file already declared is not applied twice).",
    )(func)
    func = click.option(
        "--pipeline",
        "pipeline_path",
        default=str(DEFAULT_PIPELINE),
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The pipeline definition.",
    )(func)
    return func


def load_selected(pipeline_path: Path, overlays: tuple[Path, ...] = (), generated_dir: Path | None = None) -> Pipeline:
    """The pipeline every command works on: pipeline.yaml + the checkout's declared overlays + --overlay.

    Says so in one line (stderr) when *generated_dir* (default: generated/ beside pipeline.yaml) was
    compiled with another overlay set.
    """
    pipeline = load_pipeline(pipeline_path, overlays)
    mismatch = overlay_mismatch(pipeline.overlays, generated_dir or Path(pipeline_path).parent / GENERATED_DIR)
    if mismatch:
        click.echo(f"note: {mismatch}", err=True)
    return pipeline


def parameter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--param", "extra", multiple=True, metavar="NAME=VALUE", help="Any other job parameter."),
        click.option("--branch", default="", help="Branch or sha (job parameter `branch`)."),
        click.option(
            "--repository",
            default="",
            help="Repository URL; the run is post-commit when it is the canonical repository. Empty = the job's "
            "own SCM, taken to be a fork's or a clone's (not post-commit), in plan, explain and test-on-clone alike.",
        ),
        click.option("--custom-regexp", default="", help="With --profile custom: steps whose name matches."),
        click.option("--jdk", default="", help="One jdk value; empty = every supported jdk."),
        click.option(
            "--arch", "--architecture", "architecture", default="", help="One arch value, or 'all'; empty = the job default."
        ),
        click.option("--profile", default=None, help="Profile to plan (default: the first one listed)."),
    ]
    for option in options:
        func = option(func)
    return func


def parameters_from(
    pipeline: Pipeline,
    profile: str | None,
    architecture: str = "",
    jdk: str = "",
    custom_regexp: str = "",
    repository: str = "",
    branch: str = "",
    extra: tuple[str, ...] = (),
) -> Parameters:
    pairs = []
    for item in extra:
        if "=" not in item:
            raise click.BadParameter(f"{item!r}: write NAME=VALUE", param_hint="--param")
        name, value = item.split("=", 1)
        pairs.append((name, value))
    return Parameters(
        profile=profile if profile is not None else pipeline.profiles[0].name,
        custom_regexp=custom_regexp,
        architecture=architecture,
        jdk=jdk,
        repository=repository,
        branch=branch,
        extra=tuple(sorted(pairs)),
    )
