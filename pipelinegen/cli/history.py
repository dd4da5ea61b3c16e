"""Commands: `history ingest|info`, `flaky [list]`, `flaky explain TEST`, `flaky repeats --base REV`."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from pipelinegen.analysis import flaky as flaky_mod

from pipelinegen.analysis.history import DEFAULT_DB, HistoryStore, ingest_bundle, store_errors
from pipelinegen.cli import options
from pipelinegen.errors import EXIT_BAD_INPUT, PipelineError
from pipelinegen.fsutil import atomic_write_text, atomic_writer

_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str | None, now: float | None = None) -> float | None:
    """'30d', '12h', '2w', '90m' (ago) or an ISO date/time '2026-01-31[T12:00]' (UTC) -> unix seconds."""
    if not text:
        return None
    now = time.time() if now is None else now
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: use a duration such as 30d, 12h, 2w or a date such as 2026-01-31",
                                 param_hint="--since") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _day(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts is not None else "-"


db_option = options.db_option(default=DEFAULT_DB)


@click.group("history")
def history() -> None:
    """The test-run history DB that `flaky` and timing-based splits read."""


@history.command("ingest")
@click.argument("bundles", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_option
@click.option("--allow-incomplete", is_flag=True, help="Also ingest bundles marked incomplete (interrupted runs).")
def ingest(bundles: tuple[Path, ...], db: Path, allow_incomplete: bool) -> None:
    """Add result bundles to the history; a bundle already stored is skipped (same manifest digest)."""
    added = skipped = 0
    with HistoryStore(db) as store:
        for path in bundles:
            start = time.perf_counter()
            try:
                with store_errors(db):
                    stored = ingest_bundle(store, path, allow_incomplete)
            except PipelineError as err:
                if not added:
                    raise  # nothing stored yet: the usual "nothing was written" is true
                click.echo(str(err), err=True)  # each run is its own transaction: the earlier ones stay
                click.echo(f"{added} bundle{'s' * (added != 1)} added before this error (kept in {db});"
                           " the bundles after it were not read", err=True)
                sys.exit(EXIT_BAD_INPUT)
            if stored:
                added += 1
                click.echo(f"ingested {path} ({time.perf_counter() - start:.1f} s)")
            else:
                skipped += 1
                click.echo(f"already in the history: {path}")
    click.echo(f"{added} added, {skipped} already present; history: {db}")


@history.command("import")
@click.option("--jenkins-url", required=True, help="The Jenkins that ran the builds (e.g. https://ci-cassandra.apache.org/).")
@click.option("--job", required=True, help="The job's full name (folders separated by '/').")
@click.option("--user", help="Jenkins user (or $JENKINS_USER); the token comes from $JENKINS_TOKEN or --token-file.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), help="File holding the API token.")
@click.option("--pipeline", "pipeline_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("pipeline.yaml"), show_default=True,
              help="Its cells name the stages the tests ran in (overlays are discovered as for every command).")
@db_option
@click.option("--since", type=click.IntRange(0, None), default=0, show_default=True,
              help="Only builds with a higher number (by default: every build the history does not have).")
@click.option("--max-builds", type=click.IntRange(1, 1_000_000), help="Import at most this many builds this time.")
def import_builds(jenkins_url: str, job: str, user: str | None, token_file: Path | None, pipeline_path: Path,
                  db: Path, since: int, max_builds: int | None) -> None:
    """Import a Jenkins job's past builds: parameters, per-test results and durations, node names.

    Incremental: builds already in the history are skipped, so an interrupted import resumes."""
    from pipelinegen.analysis.jenkins_history import import_job
    from pipelinegen.deploy.credentials import load_credentials, url_without_secrets
    from pipelinegen.deploy.driver import JenkinsDriver
    from pipelinegen.deploy.errors import DeployError
    from pipelinegen.load import load_pipeline
    from pipelinegen.plan.expand import cell_universe

    cells = cell_universe(load_pipeline(pipeline_path)) if pipeline_path.is_file() else ()
    driver = JenkinsDriver(url_without_secrets(jenkins_url), load_credentials(user, token_file),
                           progress=lambda m: click.echo(m, err=True))
    with HistoryStore(db) as store, store_errors(db):
        try:
            report = import_job(driver, store, job, cells, since=since, max_builds=max_builds,
                                progress=lambda m: click.echo(m, err=True))
        except DeployError as err:
            click.echo(f"error: {err}", err=True)
            click.echo("the builds imported before it are kept; run the same command again to resume", err=True)
            sys.exit(1)
    click.echo(f"{job}: {report.imported} builds imported ({report.testcases} test results; "
               f"{report.cells_exact} cells matched to the plan, {report.cells_step_level} step-level), "
               f"{report.skipped_existing} already in the history, {report.skipped_running} still running; "
               f"history: {db}")
    if report.without_tests:
        shown = ", ".join(f"#{n}" for n in report.without_tests[:10])
        click.echo(f"no test results in {len(report.without_tests)} builds ({shown}"
                   f"{', ...' if len(report.without_tests) > 10 else ''})")


@history.command("info")
@db_option
def info(db: Path) -> None:
    """Counts and the schema version of the history DB."""
    if not db.exists():
        raise PipelineError.single(str(db), None, "no history DB here", hint="run `pipelinegen history ingest BUNDLE` first")
    with HistoryStore(db, readonly=True) as store, store_errors(db):
        # quick_check reads every page once (seconds for a GB): info is where a user asks "is my DB fine?"
        damaged = store.integrity_problems()
        if damaged:
            for line in damaged[:20]:
                click.echo(f"damaged: {line}", err=True)
            raise PipelineError.single(str(db), None, f"the history DB is corrupt ({len(damaged)} problem"
                                       f"{'s' * (len(damaged) != 1)} found by PRAGMA quick_check)",
                                       hint="restore a backup, or salvage it with `sqlite3 DB .recover`; "
                                            "pipelinegen did not change it")
        for key, value in store.stats().items():
            click.echo(f"{key}: {value}")
        runs = store.runs()
        if runs:
            click.echo(f"first run: {_day(runs[0].started_at)}  last run: {_day(runs[-1].started_at)}")
        click.echo("integrity: ok (PRAGMA quick_check)")


def _open_existing(db: Path) -> HistoryStore:
    if not db.exists():
        raise PipelineError.single(str(db), None, "no history DB here",
                                   hint="ingest result bundles first: `pipelinegen history ingest BUNDLE...`, or pass --db")
    return HistoryStore(db, readonly=True)


def _window_options(f):
    f = click.option("--signatures", "signatures", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Extra infra signature YAML file(s), same format as pipelinegen/analysis/signatures.yaml.")(f)
    f = click.option("--since", help="Only runs since: 30d, 12h, 2w, or a date 2026-01-31.")(f)
    f = click.option("--branch", default=None, help="Only runs of this branch.")(f)
    return db_option(f)


@click.group("flaky", invoke_without_command=True)
@_window_options
@click.option("--html", "html", type=click.Path(dir_okay=False, path_type=Path), help="Write the HTML report here.")
@options.format_option("text", "json", help="json: the whole report.")
@click.option("--json-file", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON report here.")
@options.renamed_option("--verdict", dest="kind", old=("--kind",), type=click.Choice(["test", "code", "infra", "all"]),
                        default="all", show_default=True, help="Which verdicts to list in the text output.")
@click.pass_context
def flaky(ctx: click.Context, db: Path, branch: str | None, since: str | None, signatures: tuple[Path, ...],
          html: Path | None, fmt: str, json_file: Path | None, kind: str) -> None:
    """Find every flaky test in the history: rates, 95 % intervals, and an infra/test/code verdict with evidence."""
    if ctx.invoked_subcommand is not None:
        return
    since_ts = parse_since(since)  # bad input is reported before anything is opened
    with _open_existing(db) as store, store_errors(db):
        from pipelinegen.analysis import flaky as flaky_mod  # not at import: `history ingest` starts faster

        report = flaky_mod.analyse(store, branch, since_ts, signatures=signatures,
                                   timelines="flagged" if (html or fmt == "json" or json_file) else "none")
    if html:
        from pipelinegen.analysis.flaky_report import render_html

        atomic_write_text(html, render_html(report))
    if json_file:
        with atomic_writer(json_file) as raw:
            out = io.TextIOWrapper(raw, encoding="utf-8")
            report.write_json(out)
            out.flush()
            out.detach()  # atomic_writer still flushes, syncs and renames the raw file
    if fmt == "json":
        report.write_json(sys.stdout)
        return
    _print_report(report, kind)
    if html:
        click.echo(f"HTML report: {html}")


def _count(n: int, word: str) -> str:
    """'1 run', '2 runs'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def _rate(r: flaky_mod.Rate) -> str:
    return f"{r.rate:6.1%}  [{r.low:5.1%} – {r.high:5.1%}]"


def _print_report(report: flaky_mod.FlakyReport, kind: str) -> None:
    counts = {k: sum(1 for t in report.tests if t.kind == k) for k in ("test", "code", "infra")}
    click.echo(f"{_count(report.runs, 'run')}{' on ' + report.branch if report.branch else ''} from {_day(report.first_run)} "
               f"to {_day(report.last_run)}: {counts['test']} flaky, {counts['code']} failing (code), "
               f"{counts['infra']} failed only for infra reasons")
    shown = [t for t in report.tests if kind in ("all", t.kind)]
    if kind == "all" and counts["infra"] > 20:
        shown = [t for t in shown if t.kind != "infra"]
        hidden = counts["infra"]
    else:
        hidden = 0
    if shown:
        click.echo(f"{'VERDICT':<16} {'FAIL RATE [95 % CI]':<27} {'FAILS/EXEC':>11} {'NEEDED':>6}  TEST")
    for t in shown:
        verdict = t.kind + (" (confirmed)" if t.confirmed else " (suspected)" if t.kind == "test" else "")
        needed = str(t.runs_needed) if t.runs_needed else "-"
        click.echo(f"{verdict:<16} {_rate(t.rate):<27} {t.rate.failures:>5}/{t.rate.executions:<5} {needed:>6}  {t.test}")
        if t.evidence:
            click.echo(f"{'':16} {t.evidence[0]}")
    if hidden:
        click.echo(f"... and {_count(hidden, 'test')} that failed only for infra reasons (list them with --verdict infra)")
    if shown:
        click.echo("NEEDED: runs on one commit that show a failure with 95 % probability at the observed rate "
                   "(also: passes in a row needed to trust a fix).")


def _inherit(ctx: click.Context, **values):
    """Window options given before the sub-command (`flaky --db X explain T`) apply to it too."""
    parent = ctx.parent.params if ctx.parent else {}
    result = []
    for name, value in values.items():
        if ctx.get_parameter_source(name) == click.core.ParameterSource.DEFAULT and name in parent:
            value = parent[name]
        result.append(value)
    return result


@flaky.command("explain")
@click.argument("test")
@_window_options
@click.pass_context
def explain(ctx: click.Context, test: str, db: Path, branch: str | None, since: str | None,
            signatures: tuple[Path, ...]) -> None:
    """Everything about one test (classname.name, or a * pattern): its runs, evidence and verdict."""
    db, branch, since, signatures = _inherit(ctx, db=db, branch=branch, since=since, signatures=signatures)
    since_ts = parse_since(since)
    with _open_existing(db) as store, store_errors(db):
        from pipelinegen.analysis import flaky as flaky_mod

        report = flaky_mod.analyse(store, branch, since_ts, tests=[test], signatures=signatures)
    if not report.tests:
        click.echo(f"no test matching {test!r} in the history window", err=True)
        sys.exit(EXIT_BAD_INPUT)
    for t in report.tests:
        click.echo(f"{t.test}")
        click.echo(f"  verdict: {t.kind}" + (" (flaky, confirmed)" if t.confirmed else " (flaky, suspected)" if t.flaky else ""))
        click.echo(f"  failure rate: {_rate(t.rate)}  ({t.rate.failures} of {_count(t.rate.executions, 'execution')}, "
                   f"{_count(t.runs, 'run')}, {_count(t.commits, 'commit')})")
        if t.runs_needed:
            what = "passes in a row to trust a fix" if t.confirmed else "runs on one commit to confirm it at 95 %"
            click.echo(f"  {what}: {t.runs_needed}")
        if t.first_failing_commit:
            click.echo(f"  first failing commit: {t.first_failing_commit}")
            click.echo(f"  last passing commit: {t.last_passing_commit or '(none in the window)'}")
        click.echo("  evidence:")
        for line in t.evidence or ["no failures in this window"]:
            click.echo(f"    - {line}")
        if len(t.variants) > 1:
            click.echo("  by variant:")
            for label, rate in t.variants.items():
                click.echo(f"    {label:<40} {_rate(rate)}  {rate.failures}/{rate.executions}")
        failing = [p for p in t.timeline if p.failures or p.infra_failures]
        click.echo(f"  runs with failures ({len(failing)} of {len(t.timeline)}):")
        for p in failing[-50:]:
            click.echo(f"    {_day(p.started_at)}  {p.commit[:12]}  run {p.run_id[:12]}  "
                       f"{p.failures} failed, {p.infra_failures} infra, of {p.executions + p.infra_failures}")


@flaky.command("repeats")
@click.option("--base", required=True, help="Compare HEAD with its merge base with this revision (e.g. origin/trunk).")
@click.option("--head", default="HEAD", show_default=True)
@click.option("--pipeline", "pipeline_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              default=Path("pipeline.yaml"), show_default=True)
@click.option("--overlay", "overlays", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Overlay YAML merged onto pipeline.yaml, as `compile --overlay` (a fork's steps and counts).")
@click.option("--rules", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Repeat rules YAML (default: pipelinegen/analysis/repeat_rules.yaml).")
@click.option("--count", "counts", multiple=True, metavar="STEP_OR_CLASS=N",
              help="Override a count, by step name or class (default, long, upgrade). Repeatable.")
@click.option("--no-stop-on-failure", is_flag=True, help="Keep repeating after the first failure.")
@options.format_option("text", "json")
def repeats(base: str, head: str, pipeline_path: Path, overlays: tuple[Path, ...], rules: Path | None,
            counts: tuple[str, ...], no_stop_on_failure: bool, fmt: str) -> None:
    """Which new/changed tests (git diff --diff-filter=AMR BASE...HEAD) to repeat, where and how often."""
    from pipelinegen.analysis.repeats import changed_files, load_rules, repeat_requests
    from pipelinegen.cli.options import load_selected

    overrides = {}
    for item in counts:
        name, _, value = item.partition("=")
        if not value.isdigit() or int(value) < 1:
            raise click.BadParameter(f"{item!r}: use STEP_OR_CLASS=N with N >= 1, e.g. test=100", param_hint="--count")
        overrides[name] = int(value)
    pipeline = load_selected(pipeline_path, overlays)
    files = changed_files(base, head, pipeline_path.parent)
    requests = repeat_requests(files, pipeline, overrides, rules=load_rules(rules), stop_on_failure=not no_stop_on_failure)
    if fmt == "json":
        click.echo(json.dumps({"base": base, "head": head, "changed_files": files,
                               "repeats": [r.as_dict() for r in requests]}, indent=2))
        return
    click.echo(f"{len(files)} changed files since {base}; {len(requests)} repeat requests")
    for r in requests:
        click.echo(f"{r.step:<24} {r.count:>5}x over {len(r.per_split):>3} machines  "
                   f"{'stop-on-failure ' if r.stop_on_failure else ''}{r.test}")


commands = [history, flaky]
