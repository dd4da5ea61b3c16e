"""The local executor: runs the plan's cells on this machine, like the Jenkinsfile runs them on agents.

Threads only wait for processes; the main loop owns every decision (what starts, timeouts, Ctrl-C, retries),
so there is one place where state changes and one place to read to understand the run.
"""

from __future__ import annotations

import os
import platform
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen.model.outcome import INFRA, INFRA_SIGNATURES, TESTS_FAILED, Observed, classify, retries
from pipelinegen.model.outcome import PASSED as PASSED_OUTCOME
from pipelinegen.plan.cell import Cell, Plan
from pipelinegen.plan.environment import script_environment
from pipelinegen.results.junit import PARSE_ERROR_CLASS, iter_testcases
from pipelinegen.results.manifest import safe_id
from pipelinegen.run import docker as docker_mod
from pipelinegen.run.process import ProcessGuard, reap_group, signal_group, start_group
from pipelinegen.run.records import (
    ERROR,
    FAILED,
    INTERRUPTED,
    NOT_RUN,
    PASSED,
    SKIPPED,
    TIMEOUT,
    AttemptResult,
    CellResult,
    RunSummary,
    TestCounts,
    run_outcome,
)
from pipelinegen.run.scheduler import blocked_by, pick, run_order, slots_needed
from pipelinegen.run.usage import Usage, wait_measured
from pipelinegen.run.workspace import (
    CheckoutSource,
    WorkspaceError,
    clone,
    confined,
    copy_source,
    matching_files,
    prepare_checkout,
    unstash,
)
from pipelinegen.step_kinds import STEP_KINDS

SUMMARY_INTERVAL_S = 1.0
_INFRA_SIGNATURE = re.compile("|".join(f"(?:{s})" for s in INFRA_SIGNATURES))


def _has_infra_signature(log_path: Path) -> bool:
    """A known infrastructure message in the attempt's console (run-cell.sh greps the same expressions)."""
    try:
        with open(log_path, encoding="utf-8", errors="replace") as log:
            return any(_INFRA_SIGNATURE.search(line) for line in log)
    except OSError:
        return False
UNMEASURED_DOCKER = Usage(None, None, "docker cell: the container's usage is not measured")


@dataclass(frozen=True)
class RunOptions:
    jobs: int = 1
    docker: bool = False
    jdk_homes: dict[str, Path] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)  # --env KEY=VALUE, overrides everything
    checkouts: dict[str, CheckoutSource] = field(default_factory=dict)  # --checkout NAME=PATH|URL[#BRANCH]
    timeout_s: float | None = None  # overrides every cell's timeout_minutes (to reproduce or to test)
    kill_grace_s: float = 5.0  # SIGTERM, then SIGKILL after this long
    keep_work: bool = False
    run_id: str = ""
    docker_images: dict[str, str] = field(default_factory=dict)  # --docker: image -> id, only those present


_MACHINE_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


def host_arch() -> str:
    machine = platform.machine().lower()
    return _MACHINE_ARCH.get(machine, machine)


def cannot_run_here(cell: Cell, jdk_homes: dict[str, Path], docker: bool, arch: str) -> str | None:
    """Why the cell cannot run on this machine ('jdk 11 not installed'), or None.

    Such cells are reported `skipped`, never passed. In docker the image brings its own JDK.
    """
    cell_arch = cell.axis("arch")
    if cell_arch is not None and cell_arch != arch:
        return f"arch {cell_arch} is not this machine's ({arch})"
    jdk = cell.axis("jdk")
    if docker or jdk is None or jdk in jdk_homes:
        return None
    return f"jdk {jdk} not installed"


def cell_environment(cell: Cell, base: dict[str, str], options: RunOptions, attempt: int) -> dict[str, str]:
    """The environment of one attempt: host, then axis values, then the step's env, then --env."""
    env = dict(base)
    jdk = cell.axis("jdk")
    if not options.docker and jdk is not None and jdk in options.jdk_homes:
        home = str(options.jdk_homes[jdk])
        env["JAVA_HOME"] = home
        env["PATH"] = os.pathsep.join([os.path.join(home, "bin"), env.get("PATH", "")])
    env.update(script_environment(cell, attempt))  # the step's own env comes last and wins
    env.update(options.extra_env)
    return env


def cell_argv(cell: Cell, workdir: Path, env: dict[str, str], options: RunOptions, attempt: int) -> list[str]:
    if options.docker and cell.image:
        cell_vars = {k: v for k, v in env.items() if k.startswith("PIPELINEGEN_") or k in dict(cell.env)
                     or k in options.extra_env}
        name = docker_mod.container_name(options.run_id, cell.id, attempt)
        # by id: the image recorded in the summary is the one that ran, even if the tag moves meanwhile
        image = options.docker_images.get(cell.image, cell.image)
        return docker_mod.docker_argv(image, workdir, cell.command, cell_vars, name, cell.cpu, cell.memory_gb,
                                      labels=docker_mod.runner_labels(options.run_id))
    return ["bash", "-c", cell.command]


@dataclass
class _Running:
    cell: Cell
    attempt: int
    deadline: float | None
    proc: subprocess.Popen | None = None
    kill_reason: str | None = None
    kill_sent: float = 0.0
    hard_killed: bool = False


@dataclass
class _Done:
    cell: Cell
    result: AttemptResult
    passed_tests: set[str]
    workdir: Path


class Executor:
    def __init__(self, plan: Plan, cells: list[Cell], repo: Path, out: Path, work: Path, options: RunOptions,
                 progress, writer) -> None:
        self.plan = plan
        self.cells = run_order(cells)
        self.repo = repo
        self.out = out
        self.work = work
        self.options = options
        self.progress = progress
        self.writer = writer
        self.capacity = max(1, options.jobs)
        self.events: queue.Queue[_Done] = queue.Queue()
        self.lock = threading.Lock()
        self.running: dict[str, _Running] = {}
        self.stop = threading.Event()
        self.results: dict[str, CellResult] = {
            c.id: CellResult(id=c.id, name=c.name, step=c.step, status=NOT_RUN, slots=slots_needed(c, self.capacity))
            for c in self.cells
        }
        self.finished: dict[str, str] = {}
        self.queue: list[Cell] = []
        self.stash_dirs: dict[str, Path] = {}
        self.started = time.time()
        self.last_summary_write = 0.0
        self.by_id = plan.by_id()
        self.kill_now = False
        self.clone_lock = threading.Lock()  # held while cloning: other cells wait for the same clone
        self.clones: dict[tuple[str, str], Path] = {}
        self.out_error: OSError | None = None  # first failure to write the results directory
        self.guard = ProcessGuard(work, keep_work=options.keep_work)  # kills the cells if this process dies

    # ---- public -------------------------------------------------------------------------------------------
    def run(self) -> RunSummary:
        previous = self._install_signal_handlers()
        crashed = True
        try:
            self._loop()
            crashed = False
        finally:
            self._restore_signal_handlers(previous)
            self._stop_all()
            self.guard.close()
            if not self.options.keep_work:
                shutil.rmtree(self.work, ignore_errors=True)
            if crashed:  # a bug or a second Ctrl-C mid-bookkeeping: still leave a readable, incomplete result
                self._write_summary(self._summary(complete=False, status=ERROR, exit_code=2), final=True)
        interrupted = self.stop.is_set() and any(r.status in (INTERRUPTED, NOT_RUN) for r in self.results.values())
        status, code = run_outcome(list(self.results.values()), interrupted)
        if self.out_error is not None:  # the results directory failed us: nothing here is a complete result
            status, code, interrupted = ERROR, 2, True
        summary = self._summary(complete=not interrupted, status=status, exit_code=code)
        self._write_summary(summary, final=True)
        return summary

    def _write_summary(self, summary: RunSummary, final: bool = False) -> None:
        """summary.json, atomically. A full or read-only results directory stops the run (exit 2, incomplete)
        instead of killing the loop with a traceback; the final write first frees the space reserved for it."""
        if final:
            self.writer.release_reserve()
        try:
            self.writer.write_summary(summary)
        except OSError as err:
            self._out_failed(err)
            if final:
                self.progress.note(f"cannot write {self.out / 'summary.json'}: {err.strerror or err}; the last one "
                                   f"written says complete: false")

    def _out_failed(self, err: OSError) -> None:
        """The results directory cannot be written (ENOSPC, EROFS, EACCES…): stop cleanly, say why once."""
        if self.out_error is None:
            self.out_error = err
            self.progress.note(f"stopping: cannot write the results directory {self.out}: {err.strerror or err}")
        self.stop.set()

    def request_stop(self) -> None:
        """Ctrl-C / SIGTERM: stop cleanly (SIGTERM, then SIGKILL after the grace); a second one kills now."""
        if self.stop.is_set():
            self.kill_now = True
        self.stop.set()

    # ---- main loop ----------------------------------------------------------------------------------------
    def _loop(self) -> None:
        queue_ = self.queue
        selected = {c.id for c in self.cells}
        for cell in self.cells:
            reason = cannot_run_here(cell, self.options.jdk_homes, self.options.docker, host_arch())
            if reason:
                self._finish_without_running(cell, SKIPPED, reason)
            elif self.options.docker and cell.image and cell.image not in self.options.docker_images:
                self._finish_without_running(cell, ERROR, docker_mod.missing_image_reason(cell.image, self.repo))
            else:
                queue_.append(cell)
        self._write_summary(self._summary(complete=False, status="running", exit_code=None))
        self.last_summary_write = time.monotonic()
        used = 0
        while queue_ or self.running:
            if self.stop.is_set():
                break
            # cells whose dependency failed or was skipped can never run
            for cell in list(queue_):
                dep = blocked_by(cell, self.finished)
                if dep is not None:
                    queue_.remove(cell)
                    dep_result = self.results.get(dep)
                    why = f"{dep_result.status}" + (f" ({dep_result.reason})" if dep_result and dep_result.reason else "")
                    self._finish_without_running(cell, SKIPPED, f"needs {dep_result.name if dep_result else dep}, "
                                                                f"which {why}")
            for cell in pick(queue_, self.finished, selected, self.capacity - used, self.capacity):
                queue_.remove(cell)
                used += slots_needed(cell, self.capacity)
                self._start_attempt(cell, 1)
            if not self.running and queue_:
                # nothing runs and nothing can start: dependencies outside any possible order
                for cell in queue_:
                    self._finish_without_running(cell, ERROR, "dependencies can never be satisfied")
                queue_.clear()
                break
            self.progress.update(self._state())
            try:
                done = self.events.get(timeout=self._wait_time())
            except queue.Empty:
                self._enforce_deadlines()
                continue
            self._enforce_deadlines()
            if self._handle_done(done):
                used -= slots_needed(done.cell, self.capacity)
        for cell in queue_:
            self.results[cell.id].reason = "not started: the run was interrupted"

    def _wait_time(self) -> float:
        now = time.monotonic()
        wait = 0.25
        with self.lock:
            for running in self.running.values():
                if running.deadline is not None and running.kill_reason is None:
                    wait = min(wait, max(0.0, running.deadline - now))
                if running.kill_reason is not None:
                    wait = min(wait, 0.05)
        return wait

    def _handle_done(self, done: _Done) -> bool:
        """Record one finished attempt; retry it or finish the cell. True when the cell's slots are free."""
        cell, attempt = done.cell, done.result
        result = self.results[cell.id]
        result.attempts.append(attempt)
        with self.lock:
            self.running.pop(cell.id, None)
        retry = (attempt.status in (FAILED, TIMEOUT, ERROR) and retries(attempt.outcome or INFRA, cell.retry_on)
                 and attempt.attempt < cell.attempts and not self.stop.is_set())
        self.progress.attempt_finished(cell, attempt, retry)
        keep_stash = cell.build_once and attempt.status == PASSED
        if retry:
            self._start_attempt(cell, attempt.attempt + 1)
            return False
        result.status = attempt.status
        result.reason = attempt.reason
        if attempt.status == PASSED:
            earlier = {f["test"] for a in result.attempts[:-1] for f in a.tests.failing}
            result.flaky_tests = sorted(earlier & done.passed_tests)
            if keep_stash:
                self.stash_dirs[cell.id] = done.workdir
        self.finished[cell.id] = result.status
        self.progress.cell_finished(result, self._state())
        self._write_progress_summary()
        return True

    def _write_progress_summary(self) -> None:
        """summary.json while running (complete: false), at most once a second: each write holds every cell,
        so writing after each of thousands of cells would cost more than the cells' own bookkeeping."""
        now = time.monotonic()
        if now - self.last_summary_write >= SUMMARY_INTERVAL_S:
            self.last_summary_write = now
            self._write_summary(self._summary(complete=False, status="running", exit_code=None))

    def _finish_without_running(self, cell: Cell, status: str, reason: str) -> None:
        result = self.results[cell.id]
        result.status, result.reason = status, reason
        self.finished[cell.id] = status
        self.progress.cell_skipped(cell, status, reason)

    # ---- attempts -----------------------------------------------------------------------------------------
    def _start_attempt(self, cell: Cell, attempt: int) -> None:
        timeout = self.options.timeout_s if self.options.timeout_s is not None else cell.timeout_minutes * 60
        running = _Running(cell=cell, attempt=attempt,
                           deadline=time.monotonic() + timeout if timeout and timeout > 0 else None)
        with self.lock:
            self.running[cell.id] = running
        self.progress.attempt_started(cell, attempt)
        threading.Thread(target=self._attempt_thread, args=(running,), name=f"cell-{cell.id}", daemon=True).start()

    def _attempt_thread(self, running: _Running) -> None:
        """Run one attempt; whatever happens (disk full, a bug), report it, so the main loop never waits
        for a thread that died."""
        cell, attempt = running.cell, running.attempt
        workdir = self.work / cell.id / f"attempt-{attempt}"
        started = time.time()
        result = AttemptResult(attempt=attempt, status=ERROR, returncode=None, started=started, ended=started,
                               log=f"cells/{cell.id}/attempt-{attempt}.log", command=cell.command)
        passed_tests: set[str] = set()
        try:
            passed_tests = self._attempt(running, workdir, result)
        except BaseException as err:  # noqa: BLE001 - reported as the attempt's error, never lost
            result.status = ERROR
            if isinstance(err, OSError) and _is_results_error(err, self.out):
                self._out_failed(err)
                result.reason = f"cannot write the results directory: {err.strerror or err}"
            else:
                result.reason = f"pipelinegen error: {type(err).__name__}: {err}"
            if running.proc is not None and running.proc.poll() is None:
                signal_group(running.proc, signal.SIGKILL)
                running.proc.wait()
        finally:
            result.ended = time.time()
            if not (cell.build_once and result.status == PASSED) and not self.options.keep_work:
                # here, not in the main loop: removing a big checkout must not delay starting the next cells
                try:  # never outside the run's work directory, whatever the cell id says
                    shutil.rmtree(confined(self.work, workdir.relative_to(self.work), "cell working copy"),
                                  ignore_errors=True)
                except (WorkspaceError, ValueError):
                    pass
            self.events.put(_Done(cell=cell, result=result, passed_tests=passed_tests, workdir=workdir))

    def _attempt(self, running: _Running, workdir: Path, result: AttemptResult) -> set[str]:
        cell, attempt = running.cell, running.attempt
        confined(self.work, f"{cell.id}/attempt-{attempt}", "cell working copy")
        log_path = self.out / result.log
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = cell_environment(cell, dict(os.environ), self.options, attempt)
        argv = cell_argv(cell, workdir, env, self.options, attempt)
        with open(log_path, "wb") as log:
            try:
                self._prepare(cell, workdir, log)
                log.write(f"pipelinegen: {cell.name} attempt {attempt}: {docker_mod.format_argv(argv)}\n".encode())
                log.flush()
                with self.lock:
                    if self.stop.is_set():
                        raise _Interrupted
                    running.proc = start_group(argv, workdir, env, log)
                    self.guard.watch(running.proc.pid, self._container(cell, attempt))
                try:
                    if self._container(cell, attempt):  # the container's processes are not in our tree
                        returncode, usage = running.proc.wait(), UNMEASURED_DOCKER
                    else:
                        returncode, usage = wait_measured(running.proc)
                    result.usage = usage.as_dict()
                    reap_group(running.proc)
                finally:
                    self.guard.forget(running.proc.pid, self._container(cell, attempt))
                if running.kill_reason and self.options.docker and cell.image:
                    docker_mod.remove_container(self._container(cell, attempt))
                result.returncode = returncode
                result.status = running.kill_reason or (PASSED if returncode == 0 else FAILED)
                if running.kill_reason == TIMEOUT:
                    result.reason = f"timed out after {self._timeout_text(cell)}"
                elif result.status == FAILED:
                    result.reason = f"exit code {returncode}"
            except _Interrupted:
                result.status, result.reason = INTERRUPTED, "interrupted before it started"
            except (WorkspaceError, OSError) as err:
                if isinstance(err, OSError) and _is_results_error(err, self.out):
                    raise
                result.status, result.reason = ERROR, str(err)
                log.write(f"pipelinegen: error: {err}\n".encode())
            skipped: list[str] = []
            result.junit, result.tests, passed_tests = self._collect_junit(cell, workdir, attempt, skipped)
            result.archived = self._collect_archive(cell, workdir, attempt, skipped)
            for note in skipped:
                log.write(f"pipelinegen: {note}\n".encode())
        if result.status in (PASSED, FAILED, TIMEOUT):  # the command ran: the one rule (model/outcome.py) decides
            self._classify(cell, result, log_path, finished=running.kill_reason is None)
        return passed_tests

    def _container(self, cell: Cell, attempt: int) -> str:
        if self.options.docker and cell.image:
            return docker_mod.container_name(self.options.run_id, cell.id, attempt)
        return ""

    def _classify(self, cell: Cell, result: AttemptResult, log_path: Path, finished: bool) -> None:
        """passed / tests failed (FAILED) / infrastructure failure (ERROR, or TIMEOUT when the cell timed out)."""
        unreadable = any(f["test"].startswith(f"{PARSE_ERROR_CLASS}.") for f in result.tests.failing)
        observed = Observed(
            exit_code=result.returncode if finished else None,
            tests_total=result.tests.total,
            tests_failed=result.tests.failed,
            results_readable=not unreadable,
            infra_signature=result.returncode not in (0, None) and _has_infra_signature(log_path),
            expects_tests=STEP_KINDS[cell.kind].expects_tests and bool(cell.results),
        )
        outcome, reason = classify(observed)
        result.outcome = outcome
        if outcome == PASSED_OUTCOME:
            result.status, result.reason = PASSED, ""
            if not result.tests.total and dict(cell.env).get("PIPELINEGEN_REPEAT_TESTS"):
                # a mistyped --repeat regexp matches nothing and the script exits 0: green, but nothing was hunted
                result.reason = "no test ran: does the repeat regexp match a test name?"
        elif outcome == TESTS_FAILED:
            result.status, result.reason = FAILED, reason
        else:
            result.status = TIMEOUT if result.status == TIMEOUT else ERROR
            result.reason = result.reason if result.status == TIMEOUT else reason
            if reason == "no test results" and dict(cell.env).get("PIPELINEGEN_REPEAT_TESTS"):
                # a mistyped --repeat regexp matches nothing and the script exits 0: nothing was hunted
                result.reason = "no test ran: does the repeat regexp match a test name?"

    def _timeout_text(self, cell: Cell) -> str:
        if self.options.timeout_s is not None:
            return f"{self.options.timeout_s:g} s"
        return f"{cell.timeout_minutes} min"

    def _prepare(self, cell: Cell, workdir: Path, log) -> None:
        if workdir.exists():
            shutil.rmtree(confined(self.work, workdir.relative_to(self.work), "cell working copy"))
        workdir.parent.mkdir(parents=True, exist_ok=True)
        copy_source(self.repo, workdir, extra_excluded=(self.out, self.work))
        by_id = self.by_id
        for dep in cell.depends_on:
            if dep in self.stash_dirs:
                count = unstash(self.stash_dirs[dep], [by_id[dep].stash_includes or "**"], workdir)
                log.write(f"pipelinegen: unstashed {count} files from {by_id[dep].name}\n".encode())
        text_log = _TextLog(log)
        for checkout in cell.checkouts:
            source = self.options.checkouts.get(checkout.name, CheckoutSource())
            prepare_checkout(checkout, workdir, source, text_log, lambda *args: self._cloned(*args, log=text_log))

    def _cloned(self, name: str, url: str, branch: str, log) -> Path:
        """Clone each (url, branch) once per run; every cell then copies it (64 dtest cells: one clone)."""
        key = (url, branch)
        with self.clone_lock:
            if key not in self.clones:
                # the name comes from pipeline.yaml: never a path ('../x' would clone, and on failure delete, there)
                dest = self.work / "_checkouts" / f"{safe_id(name)}-{len(self.clones) + 1}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                clone(url, branch, dest, log, name)
                self.clones[key] = dest
            return self.clones[key]

    def _collect_archive(self, cell: Cell, workdir: Path, attempt: int, skipped: list[str]) -> list[str]:
        """The step's `archive` patterns (test logs, heap dumps…), kept per cell and attempt."""
        kept: list[str] = []
        if not cell.archive or not workdir.is_dir():
            return kept
        for rel in matching_files(workdir, cell.archive, skipped):
            dest_rel = Path("cells") / cell.id / f"attempt-{attempt}" / "archive" / rel
            _copy_into(workdir / rel, self.out / dest_rel)
            kept.append(dest_rel.as_posix())
        return kept

    def _collect_junit(self, cell: Cell, workdir: Path, attempt: int,
                       skipped: list[str]) -> tuple[list[str], TestCounts, set[str]]:
        counts = TestCounts()
        passed: set[str] = set()
        collected: list[str] = []
        if not workdir.is_dir():
            return collected, counts, passed
        for rel in matching_files(workdir, cell.results, skipped):
            dest_rel = Path("cells") / cell.id / f"attempt-{attempt}" / "junit" / rel
            _copy_into(workdir / rel, self.out / dest_rel)
            collected.append(dest_rel.as_posix())
            for case in iter_testcases(workdir / rel, cell.id, attempt):
                counts.total += 1
                if case.status in ("failed", "error"):
                    counts.failed += 1
                    counts.failing.append({"test": case.test_id, "status": case.status, "message": case.message})
                elif case.status == "skipped":
                    counts.skipped += 1
                else:
                    passed.add(case.test_id)
        return collected, counts, passed

    # ---- stopping -----------------------------------------------------------------------------------------
    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        with self.lock:
            items = list(self.running.values())
        for running in items:
            if running.proc is None:
                continue
            if running.kill_reason is None:
                if self.stop.is_set():
                    running.kill_reason = INTERRUPTED
                elif running.deadline is not None and now >= running.deadline:
                    running.kill_reason = TIMEOUT
                if running.kill_reason is not None:
                    running.kill_sent = now
                    self._kill(running, signal.SIGTERM)
            elif not running.hard_killed and (self.kill_now or now - running.kill_sent >= self.options.kill_grace_s):
                running.hard_killed = True
                self._kill(running, signal.SIGKILL)

    def _kill(self, running: _Running, sig: int) -> None:
        signal_group(running.proc, sig)
        if self.options.docker and running.cell.image:
            name = docker_mod.container_name(self.options.run_id, running.cell.id, running.attempt)
            signal_name = "KILL" if sig == signal.SIGKILL else "TERM"
            subprocess.run(docker_mod.docker_kill_argv(name, signal_name), capture_output=True, check=False,
                           timeout=30)

    def _stop_all(self) -> None:
        """Stop every running attempt (Ctrl-C or an unexpected error) and wait until each has reported."""
        if not self.running:
            return
        self.stop.set()
        self.progress.note(f"stopping {len(self.running)} running cell(s): SIGTERM, SIGKILL after "
                           f"{self.options.kill_grace_s:g} s (Ctrl-C again: now); finished cells are kept")
        while True:
            with self.lock:
                if not self.running:
                    break
            self._enforce_deadlines()
            try:
                done = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            self._handle_done(done)

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: self.request_stop())
        return previous

    def _restore_signal_handlers(self, previous) -> None:
        for sig, handler in (previous or {}).items():
            signal.signal(sig, handler)

    # ---- reporting ----------------------------------------------------------------------------------------
    def _state(self) -> dict:
        done = [r for r in self.results.values() if r.id in self.finished]
        with self.lock:
            running = [(r.cell, r.attempt) for r in self.running.values()]
        return {"total": len(self.results), "done": len(done), "running": running, "queued": len(self.queue),
                "elapsed": time.time() - self.started, "durations": [r.ended - r.started for r in done
                                                                     if r.attempts],
                "remaining_work": self._remaining_work(done, running),
                "failed": sum(1 for r in done if r.status in (FAILED, TIMEOUT, ERROR)),
                "skipped": sum(1 for r in done if r.status == SKIPPED), "capacity": self.capacity}

    def _remaining_work(self, done: list[CellResult], running: list) -> float | None:
        """Slot-seconds still to do: each unfinished cell costs the mean time of its step's finished cells
        (splits of one step take alike), else of all finished cells; running cells less what they ran."""
        by_step: dict[str, list[float]] = {}
        for r in done:
            if r.attempts:
                by_step.setdefault(r.step, []).append(r.ended - r.started)
        if not by_step:
            return None
        overall = sum(sum(v) for v in by_step.values()) / sum(len(v) for v in by_step.values())

        def estimate(cell: Cell) -> float:
            times = by_step.get(cell.step)
            return (sum(times) / len(times) if times else overall) * slots_needed(cell, self.capacity)

        now = time.time()
        work = sum(estimate(cell) for cell in self.queue)
        for cell, _attempt in running:
            started = self.results[cell.id].started or now
            work += max(0.0, estimate(cell) - (now - started) * slots_needed(cell, self.capacity))
        return work

    def _summary(self, complete: bool, status: str, exit_code: int | None) -> RunSummary:
        return RunSummary(
            run_id=self.options.run_id, started=self.started, ended=time.time(), complete=complete, status=status,
            exit_code=exit_code, jobs=self.capacity, docker=self.options.docker,
            parameters=self.plan.parameters.as_dict(), cells=list(self.results.values()),
            jdk_homes={k: str(v) for k, v in sorted(self.options.jdk_homes.items())},
            reason=(f"cannot write the results directory: {self.out_error.strerror or self.out_error}"
                    if self.out_error is not None else ""),
            docker_images=self._images_used(),
        )

    def _images_used(self) -> dict[str, str]:
        """{image: id} of the selected cells' images (the bundle records what the results were produced in)."""
        if not self.options.docker:
            return {}
        used = {cell.image for cell in self.cells if cell.image}
        return {image: id_ for image, id_ in sorted(self.options.docker_images.items()) if image in used}


class _Interrupted(Exception):
    pass


def _is_results_error(err: OSError, out: Path) -> bool:
    """A write into the results directory failed because of its file system (full, read-only, no
    permission): the run cannot record anything more, unlike a cell whose own checkout failed."""
    import errno

    if err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM):
        return False
    names = [n for n in (getattr(err, "filename", None), getattr(err, "filename2", None)) if n is not None]
    if any(Path(os.path.abspath(str(n))).is_relative_to(out) for n in names):
        return True
    if err.errno in (errno.EACCES, errno.EPERM):
        return False
    try:  # a write() on an open file names no file: ask the results directory's file system
        stat = os.statvfs(out)
    except OSError:
        return True
    return bool(stat.f_flag & os.ST_RDONLY) or stat.f_bavail * stat.f_frsize < (1 << 20)


def _copy_into(source: Path, dest: Path) -> None:
    """Copy a cell's file into the results directory; a failed copy (disk full) leaves no partial file."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy2(source, dest)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


class _TextLog:
    """The cell log is binary (the child writes bytes to it); checkout preparation writes text lines."""

    def __init__(self, raw) -> None:
        self.raw = raw

    def write(self, text: str) -> None:
        self.raw.write(text.encode())

    def flush(self) -> None:
        self.raw.flush()

    def fileno(self) -> int:
        return self.raw.fileno()
