"""Test-result formats: the one registry of the files a run, a result bundle or a timing source reads tests from.

A format is discovery (which files are its: `suffixes`) plus records (`records(source, cell_id, attempt)`: the
test cases of one file). Every reader finds result files with `result_files` / `is_result_file` and parses
them with `records_of`, so a new format (e.g. a TAP or pytest JSON report) is one entry in RESULT_FORMATS.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pipelinegen.results import junit
from pipelinegen.results.junit import SuiteOutput
from pipelinegen.results.testcase import TestCaseResult


@dataclass(frozen=True)
class ResultFormat:
    name: str
    suffixes: tuple[str, ...]  # file name endings that are this format's files (case-sensitive, as `*.xml` was)
    # (source, cell_id, attempt=1, cases_only=False) -> its test cases (and suite output unless cases_only)
    records: Callable[..., Iterator[TestCaseResult | SuiteOutput]]
    # the same records in lists (bulk writers take a run at a time); None: one list per record
    batches: Callable[..., Iterator[list[TestCaseResult | SuiteOutput]]] | None = None


RESULT_FORMATS: dict[str, ResultFormat] = {
    "junit": ResultFormat("junit", (".xml",), junit.iter_records, junit.iter_record_batches),
}


def format_of(name: str | Path) -> ResultFormat | None:
    """The format whose files end like *name*, or None for a file no format reads (a log, a heap dump)."""
    text = str(name)
    return next((f for f in RESULT_FORMATS.values() if text.endswith(f.suffixes)), None)


def is_result_file(name: str | Path) -> bool:
    return format_of(name) is not None


def result_files(paths: Iterable[Path]) -> list[Path]:
    """Every result file under the given files/directories (recursively), sorted per directory, each once.

    A file named explicitly counts whatever its name; inside a directory only the registered formats do."""
    found: dict[Path, None] = {}
    for path in map(Path, paths):
        try:
            mode = os.stat(path).st_mode  # one system call, not is_dir() then is_file()
        except (OSError, ValueError):
            continue
        if stat.S_ISDIR(mode):
            for candidate in sorted(path.rglob("*")):
                if candidate.is_file() and is_result_file(candidate.name):
                    found.setdefault(candidate, None)
        elif stat.S_ISREG(mode):
            found.setdefault(path, None)
    return list(found)


def records_of(source: Path, cell_id: str, attempt: int = 1, cases_only: bool = False,
               ) -> Iterator[TestCaseResult | SuiteOutput]:
    """The records of one result file, by its format (a file named explicitly with no format: JUnit)."""
    return (format_of(source) or RESULT_FORMATS["junit"]).records(source, cell_id, attempt, cases_only=cases_only)


def record_batches_of(source: Path, cell_id: str, attempt: int = 1, cases_only: bool = False,
                      ) -> Iterator[list[TestCaseResult | SuiteOutput]]:
    """records_of in lists, for bulk writers: the same records in the same order."""
    found = format_of(source) or RESULT_FORMATS["junit"]
    if found.batches is not None:
        return found.batches(source, cell_id, attempt, cases_only=cases_only)
    return ([record] for record in found.records(source, cell_id, attempt, cases_only=cases_only))
