"""Summaries of a bundle: text for the terminal, an offline HTML page, a merged JUnit file."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    import jinja2

from pipelinegen.fsutil import atomic_write_bytes, atomic_write_text, atomic_writer
from pipelinegen.results.bundle_reader import Bundle
from pipelinegen.results.junit import SuiteOutput
from pipelinegen.results.manifest import duplicate_count, safe_id
from pipelinegen.results.normalise import junit_writer
from pipelinegen.results.testcase import TestCaseResult

MAX_LISTED_FAILURES = 1000  # failures listed one by one (each with its detail file) on the HTML page
GROUP_FAILURES_FROM = 100  # more failures than this: the page first counts them by message
_MESSAGE_GROUPS = 20


@dataclass
class StepRow:
    step: str
    cells: int = 0
    cells_failed: int = 0
    cells_not_run: int = 0
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    flaky: int = 0
    duration_s: float = 0.0  # sum of cell durations (machine time)
    longest_s: float = 0.0  # longest cell (wall-clock lower bound)


@dataclass
class Summary:
    manifest: dict
    failures: list[TestCaseResult] = field(default_factory=list)  # every one: no cut-off
    flaky: list[TestCaseResult] = field(default_factory=list)
    suite_outputs: list[SuiteOutput] = field(default_factory=list)  # output of suites with failures
    steps: list[StepRow] = field(default_factory=list)


def summarise(bundle: Bundle) -> Summary:
    """One streaming pass: keeps failing and flaky test cases only, so memory follows failures, not tests; and
    the texts (up to 64 KiB each) only of the failures the HTML page lists and of their suites' output, so it
    does not follow a broken build's gigabytes of output (write_html reads the rest's again)."""
    summary = Summary(manifest=bundle.manifest)
    listed_suites: set[tuple[str, str]] = set()
    for record in bundle.iter_records():
        if isinstance(record, SuiteOutput):
            if record.has_failures and (record.cell_id, record.suite) in listed_suites:
                summary.suite_outputs.append(record)
        elif record.status in ("failed", "error"):
            if len(summary.failures) < MAX_LISTED_FAILURES:
                listed_suites.add((record.cell_id, record.suite))
            else:
                record = record._replace(details="")
            summary.failures.append(record)
        elif record.flaky_reruns:
            summary.flaky.append(record._replace(details=""))
    rows: dict[str, StepRow] = {}
    for cell in bundle.cells:
        row = rows.setdefault(cell["step"] or cell["group"], StepRow(step=cell["step"] or cell["group"]))
        row.cells += 1
        row.cells_failed += cell["status"] in ("failed", "error")
        row.cells_not_run += cell["status"] in ("not-run", "skipped")
        for key in ("passed", "failed", "error", "skipped", "flaky"):
            setattr(row, key, getattr(row, key) + cell["tests"][key])
        row.duration_s += cell["duration_s"]
        row.longest_s = max(row.longest_s, cell["duration_s"])
    summary.steps = list(rows.values())
    return summary


def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def profile_scope(manifest: dict) -> str:
    """'smoke' or 'smoke, jdk=17': a run of one jdk/arch/regexp covers only those cells of its profile."""
    params = manifest.get("parameters") or {}
    narrowed = [f"{key}={params[key]}" for key in ("jdk", "architecture", "custom_regexp") if params.get(key)]
    return ", ".join([str(manifest.get("profile", "")), *narrowed])


def text_summary(summary: Summary) -> str:
    m = summary.manifest
    t = m["totals"]["tests"]
    c = m["totals"]["cells"]
    lines = [
        f"commit   {m['subject']['commit']}  {m['subject']['repository']} {m['subject']['branch']}".rstrip(),
        f"profile  {profile_scope(m)}   producer {m['producer']['kind']} {m['producer']['url'] or m['producer']['host']}",
    ]
    if m["incomplete"]:
        lines.append(f"INCOMPLETE: {m['incomplete_reason']}")
    lines += [
        f"cells    {c['total']} total, {c['passed']} passed, {c['failed']} failed, {c['error']} error, "
        f"{c['skipped']} skipped, {c['not-run']} not run",
        f"tests    {t['total']} total, {t['passed']} passed, {t['failed']} failed, {t['error']} errors, "
        f"{t['skipped']} skipped, {t['flaky']} flaky",
        "",
        f"{'step':<32} {'cells':>5} {'fail':>5} {'norun':>5} {'tests':>7} {'failed':>6} {'time':>10}",
    ]
    for row in summary.steps:
        tests = row.passed + row.failed + row.error + row.skipped
        lines.append(f"{row.step:<32} {row.cells:>5} {row.cells_failed:>5} {row.cells_not_run:>5} {tests:>7} "
                     f"{row.failed + row.error:>6} {_fmt_duration(row.duration_s):>10}")
    not_run = [cell for cell in m["cells"] if cell["status"] == "not-run"]
    if not_run:
        lines += ["", f"not run ({len(not_run)}):"] + [f"  {cell['name']} ({cell['id']})" for cell in not_run]
    if summary.failures:
        if len(summary.failures) > GROUP_FAILURES_FROM:
            lines += ["", "failures by message (first line; the most frequent first):"]
            lines += [f"  {g['count']:>7} in {g['cells']} cell{'s' * (g['cells'] != 1)}  {g['message'][:160]}"
                      for g in failures_by_message(summary.failures)]
        lines += ["", f"failures ({len(summary.failures)}):"]
        names = {cell["id"]: cell["name"] for cell in m["cells"]}
        for case in summary.failures:
            lines.append(f"  {case.status:<6} {case.test_id}  [{names.get(case.cell_id, case.cell_id)}]"
                         + (f"  {case.message}" if case.message else ""))
    if summary.flaky:
        lines += ["", f"flaky, passed on a rerun ({len(summary.flaky)}):"]
        lines += [f"  {case.test_id}  [{case.cell_id}] x{case.flaky_reruns}" for case in summary.flaky]
    if m["duplicates"]:
        total = duplicate_count(m)
        lines += ["", f"duplicates ({total}): tests that ran more than once in one step"]
        lines += [f"  {d['classname']}.{d['name']}  x{d['count']} in {', '.join(d['cells'])}" for d in m["duplicates"]]
        if total > len(m["duplicates"]):
            lines.append(f"  ... and {total - len(m['duplicates'])} more (the bundle lists the first "
                         f"{len(m['duplicates'])})")
    return "\n".join(lines) + "\n"


def _environment() -> jinja2.Environment:
    import jinja2  # here, not at import: `results collect` and `history ingest` never render HTML

    template = resources.files("pipelinegen.results").joinpath("summary.html.j2").read_text("utf-8")
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True, loader=jinja2.DictLoader({"summary.html.j2": template}))
    env.filters["duration"] = _fmt_duration
    # A bundle's producer URL becomes a link only when it is a web address: never javascript: or data:.
    env.tests["match_web_url"] = lambda url: isinstance(url, str) and url.startswith(("https://", "http://"))
    return env


def _failure_text(case: TestCaseResult) -> str:
    return f"{case.test_id}\ncell: {case.cell_id}\nstatus: {case.status}\nmessage: {case.message}\n\n{case.details}\n"


def failures_by_message(failures: list[TestCaseResult]) -> list[dict]:
    """The most frequent first lines of failure messages, with how many failures and cells share each and the
    first test that failed so: many failures are usually a few causes (a missing class fails every test)."""
    groups: dict[str, dict] = {}
    for case in failures:
        key = case.message.split("\n", 1)[0][:300] or "(no message)"
        group = groups.get(key)
        if group is None:
            group = groups[key] = {"message": key, "count": 0, "cells": set(), "first": case}
        group["count"] += 1
        group["cells"].add(case.cell_id)
    ranked = sorted(groups.values(), key=lambda g: -g["count"])[:_MESSAGE_GROUPS]  # stable: first seen first
    return [{**g, "cells": len(g["cells"])} for g in ranked]


def write_html(summary: Summary, bundle: Bundle, out: Path) -> Path:
    """Write *out* and a sibling `<name>_files/` directory holding logs and failure details, so every
    link works offline. Returns the files directory."""
    out = Path(out)
    files_dir = out.with_name(out.stem + "_files")
    files_rel = files_dir.name
    logs_by_cell: dict[str, list[tuple[str, str]]] = {}
    wanted_logs = {path: cell["id"] for cell in bundle.cells for path in cell["logs"]}
    for name, handle in bundle.iter_files():
        if name in wanted_logs:
            target = files_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_writer(target) as dest:
                while block := handle.read(1 << 20):
                    dest.write(block)
            logs_by_cell.setdefault(wanted_logs[name], []).append((Path(name).name, f"{files_rel}/{name}"))
    failures = []
    for index, case in enumerate(summary.failures[:MAX_LISTED_FAILURES]):
        detail = f"failures/{index:05d}-{safe_id(case.test_id)[:120]}.txt"
        atomic_write_text(files_dir / detail, _failure_text(case))
        failures.append({"case": case, "detail": f"{files_rel}/{detail}"})
    more = ""
    if len(summary.failures) > MAX_LISTED_FAILURES:
        # A broken build fails every test: one file for the rest, not one each (50,000 files took 14 s to write).
        with atomic_writer(files_dir / "failures" / "more.txt") as rest:
            failing = (record for record in bundle.iter_records()
                       if record.__class__ is TestCaseResult and record.status in ("failed", "error"))
            for case in islice(failing, MAX_LISTED_FAILURES, None):  # summarise kept no text of these
                rest.write(f"{_failure_text(case)}\n".encode())
        more = f"{files_rel}/failures/more.txt"
    suite_links: dict[tuple[str, str], str] = {}
    for index, output in enumerate(summary.suite_outputs):
        detail = f"suites/{index:05d}-{safe_id(output.suite)[:120]}.txt"
        atomic_write_text(files_dir / detail, f"{output.suite}\n--- system-out ---\n{output.stdout}\n"
                                              f"--- system-err ---\n{output.stderr}\n")
        suite_links[(output.cell_id, output.suite)] = f"{files_rel}/{detail}"
    for failure in failures:
        failure["suite_output"] = suite_links.get((failure["case"].cell_id, failure["case"].suite), "")
    html = _environment().get_template("summary.html.j2").render(
        m=summary.manifest, scope=profile_scope(summary.manifest), steps=summary.steps, failures=failures, flaky=summary.flaky,
        logs=logs_by_cell, cell_names={c["id"]: c["name"] for c in bundle.cells},
        duplicates=duplicate_count(summary.manifest), failure_total=len(summary.failures), more_failures=more,
        by_message=failures_by_message(summary.failures) if len(summary.failures) > GROUP_FAILURES_FROM else [],
    )
    atomic_write_bytes(out, html.encode("utf-8"))
    return files_dir


def write_merged_junit(bundle: Bundle, out: Path | BinaryIO) -> None:
    """One JUnit file with every cell's results (suites tagged with their cell), streamed."""
    if isinstance(out, Path):
        with atomic_writer(out) as handle:
            write_merged_junit(bundle, handle)
        return
    with junit_writer(out, bundle.subject["commit"]) as writer:
        for record in bundle.iter_records():
            writer.write(record)
