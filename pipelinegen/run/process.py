"""Process control: every cell attempt is its own process group, so a timeout or Ctrl-C kills all of it,
and a guard process kills those groups when the runner itself dies (kill -9 leaves no orphan behind)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO

_PR_SET_PDEATHSIG = 1
try:
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    _PRCTL = _LIBC.prctl
except (OSError, AttributeError):  # not Linux: the guard process still covers it
    _PRCTL = None


def _die_with_parent(parent: int) -> None:
    """preexec_fn: SIGKILL this child when the thread that started it dies (Linux PR_SET_PDEATHSIG).

    Only a plain C call: code after fork() in a threaded parent must not take Python locks."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died between fork and prctl
        os._exit(137)


def start_group(argv: list[str], cwd: Path, env: Mapping[str, str], log: IO[bytes]) -> subprocess.Popen:
    """Start *argv* in a new session (its own process group), output to *log*, no stdin.

    A new session also keeps the terminal's Ctrl-C away from the cell: the executor decides how to stop it.
    """
    parent = os.getpid()
    return subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True,
                            preexec_fn=lambda: _die_with_parent(parent))


def signal_group(proc: subprocess.Popen, sig: int) -> bool:
    """Send *sig* to the whole process group of *proc*; False when the group is already gone."""
    try:
        os.killpg(proc.pid, sig)  # pgid == pid: the child is a session leader
        return True
    except (ProcessLookupError, PermissionError):
        return False


def reap_group(proc: subprocess.Popen) -> None:
    """After the leader exited, kill what it left behind in its group (background children, daemons)."""
    signal_group(proc, signal.SIGKILL)


# The guard: a tiny process in its own session that reads "+PGID", "-PGID", "+docker NAME", "-docker NAME",
# "done" lines from the runner. Its stdin reaching EOF without "done" means the runner died (kill -9, OOM
# killer): it then SIGKILLs every group still registered, kills their containers and removes the work dir.
_GUARD = r"""
import os, shutil, signal, subprocess, sys
work, keep = sys.argv[1], sys.argv[2] == "keep"
groups, containers, clean = set(), set(), False
for line in sys.stdin:
    op, _, arg = line.rstrip("\n").partition(" ")
    if op == "done":
        clean = True
        break
    kind, value = (op[0], arg) if op[1:] == "docker" else (op[0], op[1:])
    (containers if op[1:] == "docker" else groups).__getattribute__("add" if kind == "+" else "discard")(value)
if not clean:
    for pgid in groups:
        try:
            os.killpg(int(pgid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    for name in containers:
        subprocess.run(["docker", "kill", name], capture_output=True, check=False, timeout=30)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
"""


class ProcessGuard:
    """Registers each cell's process group with the guard process (started on first use)."""

    def __init__(self, work: Path, keep_work: bool = False) -> None:
        self.work = work
        self.keep_work = keep_work
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        with self._lock:
            if self._proc is None:
                self._proc = subprocess.Popen(
                    [sys.executable, "-I", "-S", "-c", _GUARD, str(self.work), "keep" if self.keep_work else "rm"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    start_new_session=True, text=True)  # own session: the terminal's Ctrl-C does not reach it
            try:
                self._proc.stdin.write(line + "\n")
                self._proc.stdin.flush()
            except (BrokenPipeError, OSError):
                pass  # the guard is gone: PR_SET_PDEATHSIG and the executor's own kills remain

    def watch(self, pgid: int, container: str = "") -> None:
        self._send(f"+{pgid}")
        if container:
            self._send(f"+docker {container}")

    def forget(self, pgid: int, container: str = "") -> None:
        self._send(f"-{pgid}")
        if container:
            self._send(f"-docker {container}")

    def close(self) -> None:
        """The runner is done and has stopped every cell itself: the guard exits without killing."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.write("done\n")
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
