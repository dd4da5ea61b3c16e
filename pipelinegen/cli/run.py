"""`pipelinegen run`: the plan's cells on this machine (host or docker), no CI needed."""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import time
from pathlib import Path

import click
from rich.console import Console

from pipelinegen.cli.options import complete_profiles, name_value_pairs, output_option, pipeline_options
from pipelinegen.errors import EXIT_BAD_INPUT, PipelineError
from pipelinegen.escape import shell_quote
from pipelinegen.run import docker as docker_mod
from pipelinegen.run.docker import docker_engine_problem, format_argv
from pipelinegen.run.executor import (
    Executor,
    RunOptions,
    cannot_run_here,
    cell_argv,
    cell_environment,
    host_arch,
)
from pipelinegen.run.jdk import DEFAULT_JVM_ROOT, jdk_map, parse_jdk_homes
from pipelinegen.run.output import ResultDirectory
from pipelinegen.run.progress import PlainProgress, make_progress, print_summary
from pipelinegen.run.run_bundle import write_run_bundle
from pipelinegen.run.scheduler import run_order
from pipelinegen.run.select import cell_matches, select_cells
from pipelinegen.run.workspace import make_work_dir, parse_checkout_source, reclaim_stale_work_dirs


def _pairs(values: tuple[str, ...], option: str, allow_bare: bool = False) -> dict[str, str]:
    """KEY=VALUE options; with *allow_bare*, a bare KEY takes its value from the caller's environment
    (the way to pass a secret without putting it on the command line)."""
    pairs: dict[str, str] = {}
    for key, value in name_value_pairs(values, option, allow_bare=allow_bare):
        if value is None:
            if key not in os.environ:
                raise PipelineError.single("<command line>", None, f"{option} {key}: not set in the environment",
                                           hint=f"export {key} first, or pass {option} {key}=VALUE")
            value = os.environ[key]
        pairs[key] = value
    return pairs


def _repeat_parameters(pipeline, repeat: str | None, times: int | None, stop_on_failure: bool) -> tuple:
    """--repeat/--times as the job's repeat parameters (their names come from pipeline.yaml `repeat:`)."""
    if repeat is None:
        if times is not None:
            raise click.UsageError("--times goes with --repeat REGEX")
        return ()
    try:  # an invalid pattern makes the test script's grep fail per cell: one cell "passes", another dies
        re.compile(repeat)
    except re.error as err:
        raise click.BadParameter(f"{repeat!r} is not a valid regular expression: {err}", param_hint="--repeat") from None
    settings = pipeline.repeat
    pairs = {settings.test_regex_parameter: repeat, settings.stop_on_failure_parameter: str(stop_on_failure).lower()}
    if times is not None:
        pairs[settings.count_parameter] = str(times)
    return tuple(sorted(pairs.items()))


def _load_plan(pipeline_path: Path, overlays: tuple[Path, ...], profile: str | None, custom_regexp: str, architecture: str, jdk: str,
               repository: str, selectors: tuple[str, ...], repeat: str | None = None, times: int | None = None,
               stop_on_failure: bool = True):
    """The plan to run. Without --profile: the first profile, or, with --cells, the first profile that has
    every selected cell (so `--cells 'test 3/20'` reproduces a CI cell whatever profile it came from)."""
    from pipelinegen.cli.options import load_selected
    from pipelinegen.plan import Parameters, build_plan, default_profile

    pipeline = load_selected(pipeline_path, overlays)
    extra = _repeat_parameters(pipeline, repeat, times, stop_on_failure)

    def plan_for(name: str):
        return build_plan(pipeline, Parameters.from_input(name, extra, custom_regexp=custom_regexp,
                                                          architecture=architecture, jdk=jdk, repository=repository))

    if profile is not None or not pipeline.profiles:
        return plan_for(profile or "")
    if selectors:
        for candidate in pipeline.profiles:
            if candidate.custom:
                continue
            plan = plan_for(candidate.name)
            if all(any(cell_matches(cell, sel) for cell in plan.cells) for sel in selectors):
                return plan
    return plan_for(default_profile(pipeline))


def _prepare_docker(options: RunOptions, cells) -> RunOptions:
    """Before a --docker run: remove what killed runners left behind, and find the cells' images."""
    for name in docker_mod.reap_orphans():
        click.echo(f"pipelinegen run: removed container {name}, left by a runner that is gone", err=True)
    images = docker_mod.image_ids(cell.image for cell in cells if cell.image)
    return dataclasses.replace(options, docker_images=images)


def _dry_run(plan, cells, options: RunOptions) -> None:
    click.echo(f"# {len(cells)} cells, -j {options.jobs}, in start order (build-once cells first)")
    arch = host_arch()
    for cell in run_order(cells):
        reason = cannot_run_here(cell, options.jdk_homes, options.docker, arch)
        after = f" after {', '.join(cell.depends_on)}" if cell.depends_on else ""
        if reason:
            click.echo(f"# {cell.name} [{cell.id}]: skipped ({reason})")
            continue
        env = cell_environment(cell, {}, options, 1)
        java = f" JAVA_HOME={env['JAVA_HOME']}" if "JAVA_HOME" in env else ""
        click.echo(f"# {cell.name} [{cell.id}]{after}{java}")
        if cell.env:  # repeat cells differ from split 1 only by these: without them the line would mislead
            click.echo("# env " + " ".join(f"{name}={shell_quote(value)}" for name, value in cell.env))
        argv = cell_argv(cell, Path("<workdir>"), env, options, 1)
        click.echo(cell.command if argv[:2] == ["bash", "-c"] else format_argv(argv))


@click.command("run")
@pipeline_options
@click.option("--profile", default=None, shell_complete=complete_profiles,
              help="Profile to run (default: the first one listed; with --cells, the first that has them).")
@click.option("--custom-regexp", default="", help="With --profile custom: steps whose name matches.")
@click.option("--arch", "--architecture", "architecture", default="",
              help="Arch axis value, or 'all' (default: the parameter default).")
@click.option("--jdk", default="", help="Only cells of this jdk (default: every supported jdk).")
@click.option("--repository", default=None, metavar="URL",
              help="The repository parameter (default: this checkout as file://…, so the run is not post-commit "
                   "and post_commit_only cells such as uploads never run from a laptop).")
@click.option("--cells", "cell_selectors", multiple=True, metavar="SELECTOR",
              help="Only these cells (and what they depend on): id, name, words of the name "
                   "('unit 1/2'), or a glob ('unit*'). Repeatable.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=lambda: os.cpu_count() or 1,
              show_default="number of CPUs", help="Parallel slots; a cell takes as many as its resource's cpu.")
@click.option("--docker", is_flag=True, help="Run each cell in its step's image with its working copy mounted.")
@click.option("--dry-run", is_flag=True, help="Print the commands in start order; run nothing.")
@click.option("--jdk-home", multiple=True, metavar="VERSION=PATH",
              help="JAVA_HOME for a jdk value (adds to / overrides what is found in /usr/lib/jvm). Repeatable.")
@click.option("--jvm-root", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_JVM_ROOT,
              show_default=True, help="Where installed JDKs are looked for (each JDK's `release` file).")
@click.option("--env", "env_pairs", multiple=True, metavar="NAME[=VALUE]",
              help="Extra environment for every cell; NAME alone copies it from your environment. Repeatable.")
@click.option("--checkout", "checkout_pairs", multiple=True, metavar="NAME=PATH|URL[#BRANCH]",
              help="A second checkout from a local directory (dtest=../cassandra-dtest) or another repository "
                   "and branch (dtest=https://github.com/me/cassandra-dtest.git#fix). Repeatable.")
@click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Per-cell timeout in seconds, instead of each step's timeout_minutes.")
@click.option("--kill-grace", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Seconds between SIGTERM and SIGKILL when a cell is stopped.")
@output_option(dest="out_dir", old=("--out",), default=None,
              help="Result directory (default: results/run-<UTC time>).")
@click.option("--keep-work", is_flag=True, help="Keep each cell's working copy (printed at the end).")
@click.option("--no-bundle", is_flag=True, help="Only the result directory, no bundle.tar.zst.")
@click.option("--plain", is_flag=True, help="Plain progress lines even on a terminal.")
@click.option("--repeat", default=None, metavar="REGEX",
              help="Flaky hunt: every selected test step runs the tests matching REGEX many times instead of "
                   "its splits (the job's repeat parameters).")
@click.option("--times", type=click.IntRange(min=1), default=None,
              help="With --repeat: how many times (default: pipeline.yaml repeat.default_count).")
@click.option("--stop-on-failure/--keep-going", default=True, show_default=True,
              help="With --repeat: stop a cell at its first failing repetition.")
@click.pass_context
def run_command(ctx: click.Context, pipeline_path: Path, overlays: tuple[Path, ...], profile: str | None,
                custom_regexp: str,
                architecture: str, jdk: str, repository: str | None, cell_selectors: tuple[str, ...], jobs: int, docker: bool,
                dry_run: bool, jdk_home: tuple[str, ...], jvm_root: Path, env_pairs: tuple[str, ...],
                checkout_pairs: tuple[str, ...], timeout_s: float | None, kill_grace: float,
                out_dir: Path | None, keep_work: bool, no_bundle: bool, plain: bool, repeat: str | None,
                times: int | None, stop_on_failure: bool) -> None:
    """Run the plan's cells on this machine: the same cells the Jenkinsfile runs, no CI needed.

    Exit codes: 0 every cell passed; 1 test failures, timeouts, or cells that could not run here
    (e.g. `skipped (jdk 11 not installed)`); 2 bad input, no docker engine, an error, or Ctrl-C.
    """
    # not a terminal (CI log, pipe): wide enough that the summary table is not folded
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    repository = repository if repository is not None else Path.cwd().resolve().as_uri()
    plan = _load_plan(pipeline_path, overlays, profile, custom_regexp, architecture, jdk, repository, cell_selectors,
                      repeat, times, stop_on_failure)
    cells = select_cells(plan, cell_selectors)
    checkouts = {name: parse_checkout_source(value) for name, value in _pairs(checkout_pairs, "--checkout").items()}
    for name, source in checkouts.items():
        if source.local is not None and not source.local.is_dir():
            raise PipelineError.single("<command line>", None, f"--checkout {name}={source.local}: no such directory",
                                       hint=f"--checkout {name}=PATH or {name}=URL#BRANCH")
    run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    if out_dir is None and (Path("results") / f"run-{run_id}").exists():
        run_id += f"-{os.getpid()}"  # two runs started in the same second
    options = RunOptions(
        jobs=jobs, docker=docker, jdk_homes=jdk_map(parse_jdk_homes(jdk_home), jvm_root),
        extra_env=_pairs(env_pairs, "--env", allow_bare=True), checkouts=checkouts, timeout_s=timeout_s,
        kill_grace_s=kill_grace, keep_work=keep_work, run_id=run_id,
    )
    if dry_run:  # also with --docker and no engine: showing the docker commands is the point
        _dry_run(plan, cells, options)
        return
    if docker:
        problem = docker_engine_problem()
        if problem:
            click.echo(f"pipelinegen run: {problem}", err=True)
            ctx.exit(EXIT_BAD_INPUT)
    if out_dir is not None and (out_dir / "summary.json").exists():
        # a second run would overwrite the first one's bundle and leave its cell directories mixed with its own
        raise PipelineError.single(str(out_dir), None, "holds a previous run (summary.json)",
                                   hint="choose another --output, or delete that directory first")
    if docker:
        options = _prepare_docker(options, cells)
    out = (out_dir or Path("results") / f"run-{run_id}").resolve()
    writer = ResultDirectory(out)
    try:  # a read-only or full --output is found here, before any cell starts
        out.mkdir(parents=True, exist_ok=True)
        writer.write_plan(plan, cells)
        writer.reserve(min(64 << 20, max(1 << 20, 16384 * len(cells))))
    except OSError as err:
        if out.is_dir():
            writer.release_reserve()
        raise PipelineError.single(str(out), None, f"cannot write the results directory: {err.strerror or err}",
                                   hint="pass --output on a writable file system with free space") from err
    reclaim_stale_work_dirs()  # left by runs that were killed (kill -9) before they could clean up
    try:
        work = make_work_dir(run_id)
    except OSError as err:  # $TMPDIR full or read-only: nothing ran, leave no reserve behind
        writer.release_reserve()
        raise PipelineError.single(os.environ.get("TMPDIR", "/tmp"), None,
                                   f"cannot create the run's working directory: {err.strerror or err}",
                                   hint="free space there, or point TMPDIR at a writable file system") from err
    progress = PlainProgress(console) if plain else make_progress(console)
    executor = Executor(plan, cells, Path.cwd(), out, work, options, progress, writer)
    try:
        summary = executor.run()
    finally:
        progress.close()
        writer.release_reserve()
    shown = os.path.relpath(out) if out.is_relative_to(Path.cwd()) else str(out)
    print_summary(console, summary, shown)
    exit_code = summary.exit_code or 0
    if summary.reason:
        console.print(f"INCOMPLETE: {summary.reason}", markup=False, highlight=False)
    if not no_bundle:
        exit_code = max(exit_code, _bundle(console, out, pipeline_path, overlays, summary))
    if keep_work:
        console.print(f"working copies kept in {work}", markup=False, highlight=False)
    sys.stdout.flush()
    ctx.exit(exit_code)


def _bundle(console: Console, out: Path, pipeline_path: Path, overlays: tuple[Path, ...], summary) -> int:
    """Write bundle.tar.zst; a full/read-only disk or Ctrl-C leaves no bundle (never a partial one): exit 2."""
    if summary.reason:
        console.print(f"no bundle: {summary.reason}", markup=False, highlight=False)
        return EXIT_BAD_INPUT
    try:
        outcome = write_run_bundle(out, Path.cwd(), pipeline_path, overlays=overlays)
    except OSError as err:
        console.print(f"no bundle: cannot write {out}: {err.strerror or err}", markup=False, highlight=False)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        console.print("no bundle: interrupted while writing it (the run directory is complete; "
                      f"`pipelinegen results collect {out} --commit SHA` bundles it later)", markup=False,
                      highlight=False)
        return EXIT_BAD_INPUT
    console.print(outcome.message, markup=False, highlight=False)
    return 0


commands = [run_command]
