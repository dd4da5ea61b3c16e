"""Process control: every cell attempt is its own process group, so a timeout or Ctrl-C kills all of it."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import IO


def start_group(argv: list[str], cwd: Path, env: Mapping[str, str], log: IO[bytes]) -> subprocess.Popen:
    """Start *argv* in a new session (its own process group), output to *log*, no stdin.

    A new session also keeps the terminal's Ctrl-C away from the cell: the executor decides how to stop it.
    """
    return subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)


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
