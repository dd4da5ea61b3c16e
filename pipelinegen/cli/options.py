"""Every option more than one command takes, declared once: same name, same meaning, same env variable.

Use `@pipeline_options` + `load_selected(...)`, `@parameter_options` + `parameters_from(...)`,
`@format_option(...)`, `@db_option(...)`, `@output_option(...)`, `@plan_file_option(...)` rather than
declaring these options again. Older spellings (`--json`, `--history`, `--out`, `--plan-json`,
`--download-results`) keep working as hidden aliases (`renamed_option`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

# The pipeline loader (yaml, jsonschema, the model) is imported where a command loads a pipeline: commands that
# never do (`results collect` of a plain directory, `history ingest`) start ~0.1 s faster (issue 16).
if TYPE_CHECKING:
    from pipelinegen.model.pipeline import Pipeline
    from pipelinegen.plan.cell import Parameters


def pipeline_options(func: Callable[..., Any]) -> Callable[..., Any]:
    from pipelinegen.load import DEFAULT_PIPELINE

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
    from pipelinegen.load import load_pipeline
    from pipelinegen.load.discovery import GENERATED_DIR, overlay_mismatch

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
        click.option("--profile", default=None, shell_complete=complete_profiles,
                     help="Profile to plan (default: the first one listed)."),
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
    """The values of `@parameter_options` as Parameters (`--param NAME=VALUE` naming a field sets it)."""
    from pipelinegen.plan import parameters_for

    return parameters_for(pipeline, profile, name_value_pairs(extra, "--param"), architecture=architecture, jdk=jdk,
                          custom_regexp=custom_regexp, repository=repository, branch=branch)


HISTORY_DB_ENV = "PIPELINEGEN_HISTORY_DB"
DEFAULT_HISTORY_DB = Path("history.db")


def renamed_option(*decls: str, dest: str, old: tuple[str, ...], old_kwargs: dict[str, Any] | None = None,
                   **kwargs: Any) -> Callable[[Callable], Callable]:
    """Option *decls* (stored in *dest*) whose older spellings *old* still work, hidden from --help.

    Giving the new and an old spelling together is a usage error rather than a silent choice.
    *old_kwargs*: how the old spelling parses when it differs (e.g. `--json`, a flag meaning `--format json`).
    """
    alias_dest = f"{dest}_old_spelling"
    alias_kwargs = old_kwargs if old_kwargs is not None else {
        k: v for k, v in kwargs.items() if k in ("type", "multiple", "metavar")}

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **values: Any) -> Any:
            old_value = values.pop(alias_dest)
            if old_value not in (None, (), False):
                ctx = click.get_current_context()
                if ctx.get_parameter_source(dest) == click.core.ParameterSource.COMMANDLINE:
                    raise click.UsageError(f"{decls[-1]} and {'/'.join(old)} are the same option: give it once")
                values[dest] = old_value
            return func(*args, **values)

        wrapper = click.option(*old, alias_dest, hidden=True, **{"default": None, **alias_kwargs})(wrapper)
        return click.option(*decls, dest, **kwargs)(wrapper)

    return decorate


def format_option(*choices: str, default: str = "text", help: str = "Output format.") -> Callable[[Callable], Callable]:
    """`--format CHOICE` (stored in `fmt`); `--json` is the hidden old spelling of `--format json`."""
    return renamed_option("--format", dest="fmt", old=("--json",), old_kwargs={"is_flag": True, "flag_value": "json"},
                          type=click.Choice(choices), default=default, show_default=True, help=help)


def db_option(*, default: Path | None = DEFAULT_HISTORY_DB, must_exist: bool = False, dest: str = "db",
              help: str = "History DB file (SQLite).") -> Callable[[Callable], Callable]:
    """`--db PATH` or $PIPELINEGEN_HISTORY_DB, in every command that reads or writes the history."""
    return renamed_option("--db", dest=dest, old=("--history",), default=default, show_default=default is not None,
                          envvar=HISTORY_DB_ENV, type=click.Path(dir_okay=False, exists=must_exist, path_type=Path),
                          help=f"{help} Env: {HISTORY_DB_ENV}.")


def output_option(*, dest: str, old: tuple[str, ...] = (), directory: bool = True, **kwargs: Any,
                  ) -> Callable[[Callable], Callable]:
    """`-o/--output PATH`: where a command writes what it produces (a file or a directory)."""
    kind = click.Path(file_okay=not directory, dir_okay=directory, path_type=Path)
    if not old:
        return lambda func: click.option("-o", "--output", dest, type=kind, **kwargs)(func)
    return renamed_option("-o", "--output", dest=dest, old=old, type=kind, **kwargs)


def plan_file_option(*, dest: str = "plan_file", help: str = "Plan JSON written by `pipelinegen plan --format json`."
                     ) -> Callable[[Callable], Callable]:
    """`--plan FILE`: a saved plan instead of planning pipeline.yaml again."""
    return renamed_option("--plan", dest=dest, old=("--plan-json",), type=click.Path(exists=True, dir_okay=False,
                          path_type=Path), default=None, help=help)


def name_value_pairs(items: Iterable[str], option: str, *, allow_bare: bool = False) -> list[tuple[str, str]]:
    """NAME=VALUE arguments of a repeatable option, in order; a bad one is a usage error naming the option."""
    pairs = []
    for item in items:
        name, sep, value = item.partition("=")
        if not name or (not sep and not allow_bare):
            raise click.BadParameter(f"{item!r}: write NAME=VALUE", param_hint=option)
        pairs.append((name, value if sep else None))
    return pairs


def _pipeline_for_completion(ctx: click.Context) -> Pipeline | None:
    """The pipeline the command line being completed points at (-C, --pipeline, --overlay), or None."""
    from pipelinegen.load import DEFAULT_PIPELINE, load_pipeline

    root = ctx.find_root().params.get("directory") or Path(".")
    path = ctx.params.get("pipeline_path") or ctx.params.get("pipeline") or DEFAULT_PIPELINE
    overlays = ctx.params.get("overlays") or ()
    try:
        return load_pipeline(Path(root) / path, tuple(Path(root) / o for o in overlays))
    except Exception:  # noqa: BLE001 - completing must never print a traceback into the user's shell
        return None


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of --profile: the profiles of the pipeline.yaml the command line names."""
    pipeline = _pipeline_for_completion(ctx)
    return [p.name for p in pipeline.profiles if p.name.startswith(incomplete)] if pipeline else []


def complete_steps(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    """Shell completion of --step: the steps of the pipeline.yaml the command line names."""
    pipeline = _pipeline_for_completion(ctx)
    return [s.name for s in pipeline.steps if s.name.startswith(incomplete)] if pipeline else []
