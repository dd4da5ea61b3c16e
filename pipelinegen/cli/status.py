"""One status line on the terminal for long commands (validate, results collect): what they are doing now."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_FORCE_TERMINAL = ("FORCE_COLOR", "TTY_COMPATIBLE")  # rich treats stderr as a terminal when one is set


@contextmanager
def terminal_status(label: str) -> Iterator[Callable[[str], None]]:
    """Yields update(text), shown as a spinner line `label: text` on stderr when stderr is a terminal.

    A pipe or a CI log gets nothing (the command's last line says what it did), and then rich is not even
    imported: `results collect` is measured in CPU seconds (benchmarks/ingest.py)."""
    if not sys.stderr.isatty() and not any(os.environ.get(name) for name in _FORCE_TERMINAL):
        yield _ignore
        return
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:  # TERM=dumb and the like
        yield _ignore
        return
    with console.status(label) as status:
        yield lambda text: status.update(f"{label}: {text}")


def _ignore(_text: str) -> None:
    pass
