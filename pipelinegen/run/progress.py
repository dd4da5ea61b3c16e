"""What the user sees while cells run: a live rich view on a terminal, plain event lines otherwise."""

from __future__ import annotations

import time
from statistics import mean

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from pipelinegen.plan.cell import Cell
from pipelinegen.run.records import PASSED, AttemptResult, CellResult, RunSummary

_STYLE = {"passed": "green", "failed": "red", "timeout": "red", "error": "bold red", "skipped": "yellow",
          "interrupted": "magenta", "not_run": "dim"}


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def eta_seconds(state: dict) -> float | None:
    """Remaining wall time: the executor's remaining slot-seconds (per-step means) spread over the slots;
    without that, unfinished cells × mean finished-cell duration."""
    if state.get("remaining_work") is not None:
        return state["remaining_work"] / max(1, state["capacity"])
    if not state["durations"]:
        return None
    remaining = state["total"] - state["done"]
    per_cell = mean(state["durations"])
    waves = remaining / max(1, state["capacity"])
    return max(0.0, waves * per_cell)


def status_line(state: dict) -> str:
    return (f"done {state['done']}/{state['total']} · running {len(state['running'])} · queued {state['queued']}"
            f" · failed {state['failed']} · skipped {state['skipped']} · elapsed {fmt_seconds(state['elapsed'])}"
            f" · ETA {fmt_seconds(eta_seconds(state))}")


class PlainProgress:
    """One line per event: for logs, CI consoles and pipes (no cursor movement)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = time.monotonic()
        self.state: dict | None = None

    def _line(self, text: str) -> None:
        self.console.print(f"[{fmt_seconds(time.monotonic() - self.started):>5}] {text}", markup=False,
                           highlight=False, soft_wrap=True)

    def update(self, state: dict) -> None:
        self.state = state

    def attempt_started(self, cell: Cell, attempt: int) -> None:
        self._line(f"start   {cell.name}" + (f" (attempt {attempt})" if attempt > 1 else ""))

    def attempt_finished(self, cell: Cell, attempt: AttemptResult, retry: bool) -> None:
        tests = f", {attempt.tests.total} tests, {attempt.tests.failed} failing" if attempt.tests.total else ""
        why = f": {attempt.reason}" if attempt.reason else ""
        then = " — retrying" if retry else ""
        self._line(f"{attempt.status:<7} {cell.name} in {fmt_seconds(attempt.duration_s)}{tests}{why}{then}")

    def cell_finished(self, result: CellResult, state: dict) -> None:
        self.update(state)
        self._line(f"        {status_line(state)}")

    def note(self, text: str) -> None:
        self._line(text)

    def cell_skipped(self, cell: Cell, status: str, reason: str) -> None:
        self._line(f"{status:<7} {cell.name} ({reason})")

    def close(self) -> None:
        pass


class LiveProgress(PlainProgress):
    """Event lines scroll above a live footer: the overall counts and the running cells with their elapsed time."""

    def __init__(self, console: Console) -> None:
        super().__init__(console)
        self.running_since: dict[str, float] = {}
        self.live = Live(self._render(), console=console, refresh_per_second=4, transient=True)
        self.live.start()

    def _render(self):
        if self.state is None:
            return Text("starting…")
        table = Table.grid(padding=(0, 2))
        now = time.monotonic()
        for cell, attempt in self.state["running"][:12]:
            since = self.running_since.get(cell.id, now)
            table.add_row(Text("running", style="cyan"), cell.name,
                          f"attempt {attempt}" if attempt > 1 else "", fmt_seconds(now - since))
        return Group(Text(status_line(dict(self.state, elapsed=time.monotonic() - self.started)), style="bold"),
                     table)

    def update(self, state: dict) -> None:
        super().update(state)
        self.live.update(self._render())

    def attempt_started(self, cell: Cell, attempt: int) -> None:
        self.running_since[cell.id] = time.monotonic()
        super().attempt_started(cell, attempt)

    def close(self) -> None:
        self.live.stop()


def make_progress(console: Console):
    return LiveProgress(console) if console.is_terminal else PlainProgress(console)


def print_summary(console: Console, summary: RunSummary, out_dir: str) -> None:
    table = Table(title=f"pipelinegen run {summary.run_id}", show_lines=False)
    for column in ("cell", "status", "attempts", "time", "tests", "failing", "note"):
        table.add_column(column, justify="right" if column in ("attempts", "time", "tests", "failing") else "left")
    for cell in summary.cells:
        duration = (cell.ended - cell.started) if cell.started is not None and cell.ended is not None else None
        note = cell.reason
        if cell.status == PASSED and cell.flaky_tests:
            note = "flaky: " + ", ".join(cell.flaky_tests)
        table.add_row(cell.name, Text(cell.status, style=_STYLE.get(cell.status, "")), str(len(cell.attempts)),
                      fmt_seconds(duration) if duration is not None else "", str(cell.tests.total or ""),
                      str(cell.tests.failed or ""), note)
    console.print(table)
    failing = [(cell.name, f) for cell in summary.cells for f in cell.tests.failing]
    for name, failure in failing[:50]:
        console.print(f"  FAIL {failure['test']} ({name}): {failure['message']}", markup=False, highlight=False)
    if len(failing) > 50:
        console.print(f"  … and {len(failing) - 50} more failing tests (see {out_dir}/summary.json)")
    counts = ", ".join(f"{n} {status}" for status, n in summary.as_dict()["counts"].items())
    verdict = {0: "all cells passed", 1: "NOT all green", 2: "incomplete or errored"}.get(summary.exit_code, "")
    console.print(f"{counts} — {verdict}; results in {out_dir}" + ("" if summary.complete else " (INCOMPLETE)"),
                  markup=False, highlight=False)
