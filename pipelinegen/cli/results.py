"""`pipelinegen results collect|verify|summary|diff`: the certified test-result bundle."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from pipelinegen.cli.options import complete_profiles, name_value_pairs
from pipelinegen.cli.status import terminal_status
from pipelinegen.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, PipelineError
from pipelinegen.plan.cell import Parameters, read_plan_file
from pipelinegen.results.archive import CorruptArchive
from pipelinegen.results.bundle import BundleTooLarge, BundleWriter
from pipelinegen.results.bundle_reader import Bundle, read_bundle
from pipelinegen.results.collect import (
    DEFAULT_LOG_GLOBS,
    detect_producer,
    discover_cells,
    git_subject_details,
    read_jenkins_results,
    read_run_directory,
)
from pipelinegen.results.diff import diff_bundles, text_diff
from pipelinegen.results.identity import model_identity
from pipelinegen.results.manifest import CellRef, Subject, duplicate_count
from pipelinegen.results.summary import profile_scope, summarise, text_summary, write_html, write_merged_junit
from pipelinegen.results.verify import is_full_commit, load_allow_known, verify_bundle

SIGN_KEY_ENV = "PIPELINEGEN_SIGN_KEY"

_existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def _load(pipeline: Path, overlays: tuple[Path, ...]):
    from pipelinegen.cli.options import load_selected

    model = load_selected(pipeline, overlays)
    return model, model_identity(model, pipeline)


def _plan_cells(plan_file: Path) -> list[CellRef]:
    """Cells of a plan written by `pipelinegen plan --format json`."""
    return [CellRef.from_cell(cell) for cell in read_plan_file(plan_file).cells]


def _open(path: Path) -> Bundle:
    try:
        return read_bundle(path)
    except CorruptArchive as err:
        raise PipelineError.single(str(path), None, str(err).removeprefix(f"{path}: "),  # the finding names the file
                                   hint="is this a result bundle?") from err


@click.group("results")
def results() -> None:
    """The certified test-result bundle: collect, verify, summary, diff (format: docs/result-format.md)."""


@results.command("collect")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--commit", required=True, help="The commit the results are for (full sha preferred).")
@click.option("--profile", shell_complete=complete_profiles, help="The profile that ran (e.g. pre-commit); read from a `pipelinegen run` directory.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Bundle to write: *.tar.zst or *.tar.xz.")
@click.option("--repository", default="", help="Repository URL (default: git origin of the current checkout).")
@click.option("--branch", default="", help="Branch name.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Another job parameter (repeatable).")
@click.option("--pipeline", type=_existing_file, help="pipeline.yaml: record its identity, mark unrun plan cells.")
@click.option("--overlay", "overlays", multiple=True, type=_existing_file, help="Overlay (repeatable).")
@click.option("--plan", "plan_file", type=_existing_file, help="Plan JSON (`pipelinegen plan --format json`) instead of --pipeline.")
@click.option("--producer-kind", type=click.Choice(["jenkins", "local", "other"]),
              help="Default: jenkins when BUILD_URL is set, else other.")
@click.option("--log-glob", "log_globs", multiple=True, help="Log file patterns kept per cell directory.")
@click.option("--sign-key", type=_existing_file, help=f"SSH private key to sign with (or ${SIGN_KEY_ENV}).")
def collect_cmd(directory: Path, commit: str, profile: str | None, output: Path, repository: str, branch: str,
                params: tuple[str, ...], pipeline: Path | None, overlays: tuple[Path, ...],
                plan_file: Path | None, producer_kind: str | None, log_globs: tuple[str, ...], sign_key: Path | None) -> None:
    """Bundle a `pipelinegen run` result directory, the ci-results/ directory a Jenkins build's summary stage
    assembles, or any directory of JUnit XML files (then each directory holding *.xml is one cell; name it
    after the plan cell id to match the plan)."""
    full, tree, origin = git_subject_details(commit, Path.cwd())
    full = full or (commit if is_full_commit(commit) else "")
    if not full:
        # An abbreviation names whichever commit happens to share it: the bundle would certify all of them.
        raise PipelineError.single("--commit", None, f"'{commit}' is not a full 40/64-hex commit, and no git "
                                   f"checkout here resolves it to one",
                                   hint="pass the full sha (git rev-parse HEAD), or run collect inside the checkout")
    subject = Subject(repository=repository or origin, commit=full.lower(), branch=branch, tree=tree)
    key = sign_key or (Path(os.environ[SIGN_KEY_ENV]) if os.environ.get(SIGN_KEY_ENV) else None)
    identity = None
    model = None
    if pipeline is not None:
        model, identity = _load(pipeline, overlays)
    run_dir = read_run_directory(directory) or read_jenkins_results(directory)
    if run_dir is not None:
        parameters = Parameters.from_dict(run_dir.parameters)
        if profile and profile != parameters.profile:
            raise PipelineError.single(str(directory / "summary.json"), None,
                                       f"the run used profile '{parameters.profile}', not '{profile}'",
                                       hint="drop --profile, or collect the right run directory")
        writer = BundleWriter(output, subject=subject, parameters=parameters, producer=run_dir.producer,
                              cells=run_dir.planned, pipeline=identity, sign_key=key)
        items, incomplete, reason = run_dir.cells, run_dir.incomplete, run_dir.reason
    else:
        if not profile:
            raise PipelineError.single("--profile", None, "missing", hint="say which profile ran, e.g. --profile pre-commit")
        parameters = Parameters.from_input(profile, name_value_pairs(params, "--param"))
        plan_cells: Sequence = ()
        if plan_file is not None:
            plan_cells = _plan_cells(plan_file)
        elif model is not None:
            from pipelinegen.plan import build_plan

            plan_cells = build_plan(model, parameters).cells
        found = discover_cells(directory, plan_cells, log_globs or DEFAULT_LOG_GLOBS)
        if not found:
            raise PipelineError.single(str(directory), None, "no JUnit *.xml files found",
                                       hint="point at the directory the test runs wrote (e.g. build/test/output)")
        producer = detect_producer([f for cell in found for f in cell.junit], producer_kind)
        writer = BundleWriter(output, subject=subject, parameters=parameters, producer=producer, cells=plan_cells,
                              pipeline=identity, sign_key=key)
        items = [{"cell": c.ref, "status": "passed", "attempts": 1, "junit": c.junit, "logs": c.logs} for c in found]
        incomplete, reason = False, ""
    with terminal_status("collect") as update:  # a whole CI run's results: gigabytes of JUnit, a minute or more
        try:
            for number, item in enumerate(items, start=1):
                item = dict(item)
                cell = item.pop("cell")
                update(f"cell {number} of {len(items)}: {cell.id}")
                result = writer.add_cell(cell, **item)
                if not result.duration_s:
                    result.duration_s = result.tests.recorded_duration_s  # files alone give no wall time: the tests'
        except ValueError as err:  # a doctored summary.json: a cell id that is a path, a status that is none
            writer.close()
            raise PipelineError.single(str(directory), None, str(err),
                                       hint="collect the directory `pipelinegen run -o DIR` wrote, unmodified") from err
        except BaseException:
            writer.close()
            raise
        update(f"writing {output}")
        try:
            writer.finish(incomplete=incomplete, reason=reason)
        except RuntimeError as err:  # signing failed: wrong key, passphrase needed, no ssh-keygen
            raise PipelineError.single(str(key), None, str(err),
                                       hint="use an unencrypted key file or ssh-agent; see docs/result-format.md") from err
        except BundleTooLarge as err:
            raise PipelineError.single(str(directory), None, str(err)[:2000],
                                       hint="collect fewer cells per bundle (one per step or per axis), and keep "
                                            "logs compressed (*.log.xz, *.log.zst)") from err
        except ValueError as err:  # the inputs make a manifest outside the bundle schema (a doctored duration, …)
            raise PipelineError.single(str(directory), None, str(err)[:2000],
                                       hint="collect the directory the run or CI wrote, unmodified") from err
    manifest = writer.manifest  # as written (schema-checked): reading the archive back would only repeat that
    assert manifest is not None
    totals = manifest["totals"]
    click.echo(f"wrote {output}: {totals['cells']['total']} cells ({totals['cells']['not-run']} not run), "
               f"{totals['tests']['total']} tests ({totals['tests']['failed'] + totals['tests']['error']} failing), "
               f"{duplicate_count(manifest)} duplicates, {'signed' if key else 'unsigned'}"
               + (f", INCOMPLETE: {reason}" if incomplete else ""))


@results.command("verify")
@click.argument("bundle", type=_existing_file)
@click.option("--commit", help="Fail unless the bundle certifies this commit.")
@click.option("--profile", shell_complete=complete_profiles, help="Fail unless the bundle is for this profile.")
@click.option("--pipeline", type=_existing_file, help="pipeline.yaml: check identity and that every planned cell ran.")
@click.option("--overlay", "overlays", multiple=True, type=_existing_file, help="Overlay (repeatable).")
@click.option("--plan", "plan_file", type=_existing_file, help="Plan JSON (`pipelinegen plan --format json`) instead of --pipeline.")
@click.option("--allowed-signers", type=_existing_file, help="ssh allowed_signers file: require a good signature.")
@click.option("--allow-known", type=_existing_file, help="Accepted failures: '<test id> <reason>' per line.")
def verify_cmd(bundle: Path, commit: str | None, profile: str | None, pipeline: Path | None,
               overlays: tuple[Path, ...], plan_file: Path | None, allowed_signers: Path | None,
               allow_known: Path | None) -> None:
    """Exit 0 only if BUNDLE certifies the commit: intact, complete, every planned cell ran, no unknown failure."""
    allowed = load_allow_known(allow_known) if allow_known else {}
    if commit is not None and not is_full_commit(commit):
        resolved = git_subject_details(commit, Path.cwd())[0]
        if not resolved:
            raise PipelineError.single("--commit", None, f"'{commit}' is not a full 40/64-hex commit, and no git "
                                       f"checkout here resolves it to one",
                                       hint="pass the full sha: an abbreviation may name another commit")
        commit = resolved
    try:
        manifest = read_bundle(bundle).manifest
    except CorruptArchive:
        manifest = None  # verify_bundle reports it as a failed check
    identity = None
    required = None
    if manifest is not None and plan_file is not None:
        required = _plan_cells(plan_file)
    if manifest is not None and pipeline is not None:
        from pipelinegen.plan import build_plan

        model, identity = _load(pipeline, overlays)
        if required is None:
            required = list(build_plan(model, Parameters.from_dict(manifest.get("parameters", {}))).cells)
    report = verify_bundle(bundle, commit=commit, pipeline_identity=identity, required_cells=required,
                           allowed_signers=allowed_signers, allow_known=allowed)
    if manifest is not None and profile is not None and manifest.get("profile") != profile:
        report.problems.append(f"profile: the bundle is for profile '{manifest.get('profile')}', not '{profile}'")
    for note in report.notes:
        click.echo(f"note: {note}")
    for problem in report.problems:
        click.echo(f"FAIL: {problem}")
    if report.certified:
        # A run of one jdk or arch certifies only those cells: say so, or "(smoke)" reads as the whole profile.
        click.echo(f"CERTIFIED: {manifest['subject']['commit']} ({profile_scope(manifest)})")
        sys.exit(EXIT_OK)
    click.echo(f"NOT CERTIFIED: {len(report.problems)} problem{'s' if len(report.problems) != 1 else ''}")
    sys.exit(EXIT_CHECK_FAILED)


@results.command("summary")
@click.argument("bundle", type=_existing_file)
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an HTML page (plus OUT_files/ with logs) that opens offline.")
@click.option("--junit", "junit_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write every cell's results merged into one JUnit XML file.")
def summary_cmd(bundle: Path, html_out: Path | None, junit_out: Path | None) -> None:
    """Totals, per-step table, every failure (no cut-off), flaky and duplicate tests."""
    opened = _open(bundle)
    try:
        summary = summarise(opened)
        click.echo(text_summary(summary), nl=False)
        if html_out is not None:
            files = write_html(summary, opened, html_out)
            click.echo(f"wrote {html_out} (logs and failure details in {files})")
        if junit_out is not None:
            write_merged_junit(opened, junit_out)
            click.echo(f"wrote {junit_out}")
    except CorruptArchive as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)


@results.command("diff")
@click.argument("base", type=_existing_file)
@click.argument("new", type=_existing_file)
def diff_cmd(base: Path, new: Path) -> None:
    """What changed from BASE to NEW. Exit 1 when NEW has new failures."""
    try:
        result = diff_bundles(_open(base), _open(new))
    except CorruptArchive as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    click.echo(text_diff(result), nl=False)
    sys.exit(EXIT_CHECK_FAILED if result.new_failures else EXIT_OK)


commands = [results]
