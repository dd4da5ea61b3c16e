"""The compact records member of a bundle: `cells/<id>/records.tsv`, one line per test case.

It holds exactly the TestCaseResults the cell's normalised junit.xml yields (same order, same values), in
a form a bulk reader (history ingest) reads at line-split speed instead of parsing XML a second time.
Format (docs/result-format.md): a header line, then tab-separated fields
    suite, classname, name, status, duration_s (3 decimals), attempt, flaky_reruns, message, details
with backslash, tab, LF and CR written as \\\\, \\t, \\n, \\r. The cell id is the directory's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import BinaryIO

from pipelinegen.escape import only_ascii_in
from pipelinegen.results.testcase import STATUSES, TestCaseResult

RECORDS_NAME = "records.tsv"
MAX_LINE_BYTES = 4 << 20  # one record: message <= 1 KiB and details <= 64 Ki characters, escaped
HEADER = ("#pipelinegen-records 1\tsuite\tclassname\tname\tstatus\tduration_s\tattempt\tflaky_reruns\tmessage"
          "\tdetails\n")
_FIELDS = 9
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
_PLAIN_ASCII = bytes(c for c in range(0x80) if chr(c) not in "\\\t\n\r")  # what _NEEDS_ESCAPE leaves alone
_STATUSES = frozenset(STATUSES)
_new_record = tuple.__new__
_INFINITY = float("inf")


class RecordsError(ValueError):
    """A records member that this reader cannot trust (wrong header, a malformed line)."""


def _field(text: str) -> str:
    if not text or _NEEDS_ESCAPE.search(text) is None:
        return text
    # str.replace runs at C speed; a translate table with multi-character values does not.
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _unescape(text: str) -> str:
    # Split at escaped backslashes first, so "\\\\n" (a backslash, then n) is not read as a line feed.
    parts = [part.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r") for part in text.split("\\\\")]
    if any("\\" in part for part in parts):
        raise RecordsError("a backslash that is not one of \\\\, \\t, \\n, \\r")
    return "\\".join(parts)


def record_line(record: TestCaseResult, prefix: str = "") -> str:
    """One line of the records file (with its newline); *prefix*: its first two fields, already escaped."""
    prefix = prefix or f"{_field(record.suite)}\t{_field(record.classname)}\t"
    return (f"{prefix}{_field(record.name)}\t{record.status}\t{record.duration_s:.3f}\t{record.attempt}\t"
            f"{record.flaky_reruns}\t{_field(record.message)}\t{_field(record.details)}\n")


class RecordsWriter:
    """Buffered writer of a records file onto a binary stream."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._parts = [HEADER]
        self._prefix_of: tuple[str, str] = ("", "")
        self._prefix = ""
        self._pending = 0  # characters write_passed added since the last flush

    def write(self, record: TestCaseResult) -> None:
        if self._prefix_of[0] != record.suite or self._prefix_of[1] != record.classname:
            self._prefix_of = (record.suite, record.classname)  # consecutive cases share suite and class
            self._prefix = f"{_field(record.suite)}\t{_field(record.classname)}\t"
        parts = self._parts
        if record.status == "passed" and not record.details and not record.message:
            name = record.name
            if _NEEDS_ESCAPE.search(name) is not None:
                name = _field(name)
            parts.append(f"{self._prefix}{name}\tpassed\t{record.duration_s:.3f}\t{record.attempt}\t"
                         f"{record.flaky_reruns}\t\t\n")
        else:
            parts.append(record_line(record, self._prefix))
        if len(parts) >= 2048:
            self.flush()

    def write_passed(self, suite: str, classnames: Sequence[str], names: Sequence[str], times: Sequence[str]) -> None:
        """Consecutive plain passes (attempt 1, no reruns), exactly as write() writes each, in one step: *times*
        are their durations with 3 decimals. Per test case this runs at C speed (zip, join)."""
        if not only_ascii_in("".join(classnames), _PLAIN_ASCII) and _NEEDS_ESCAPE.search("".join(classnames)):
            classnames = list(map(_field, classnames))
        if not only_ascii_in("".join(names), _PLAIN_ASCII) and _NEEDS_ESCAPE.search("".join(names)):
            names = list(map(_field, names))
        text = "".join(map("".join, zip(repeat(_field(suite) + "\t"), classnames, repeat("\t"), names,
                                         repeat("\tpassed\t"), times, repeat("\t1\t0\t\t\n"))))
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= 1 << 20 or len(self._parts) >= 2048:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
        self._pending = 0


def _lines(handle: BinaryIO, chunk: int = 1 << 20) -> Iterator[str]:
    """Lines (without their newline) of a UTF-8 stream that ends with one; any object with read() will do."""
    carry = b""
    while True:
        data = handle.read(chunk)
        if not data:
            break
        data = carry + data
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if len(carry) > MAX_LINE_BYTES:  # a hostile member of one endless line must not be held whole
            raise RecordsError(f"a line longer than {MAX_LINE_BYTES >> 20} MiB (records are truncated far below)")
        if end:
            lines = data[:end].decode("utf-8").split("\n")
            lines.pop()  # the empty string after the last newline
            yield from lines
    if carry:
        raise RecordsError("the last line has no newline (file cut short?)")


def read_records(handle: BinaryIO, cell_id: str, name: str = RECORDS_NAME) -> Iterator[TestCaseResult]:
    """Stream the TestCaseResults of one records file. Raises RecordsError naming *name* and the line."""
    statuses = _STATUSES
    number = 0
    try:
        lines = _lines(handle)
        number = 1
        if next(lines, None) != HEADER[:-1]:
            raise RecordsError("not a pipelinegen records file (version 1)")
        for number, line in enumerate(lines, start=2):  # noqa: B007 (number is read in the error message)
            fields = line.split("\t")
            if len(fields) != _FIELDS:
                raise RecordsError("expected 9 tab-separated fields")
            if "\\" in line:
                fields = [_unescape(f) if "\\" in f else f for f in fields]
            suite, classname, test, status, duration, attempt, flaky, message, details = fields
            seconds, tries, reruns = float(duration), int(attempt), int(flaky)
            if status not in statuses or not 0.0 <= seconds < _INFINITY or tries < 1 or reruns < 0:
                raise RecordsError(f"status {status!r}, duration {duration!r}, attempt {attempt!r} or "
                                   f"flaky_reruns {flaky!r} out of range")
            yield _new_record(TestCaseResult, (suite, classname, test, cell_id, status, seconds, message, details,
                                               tries, reruns))
    except (RecordsError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise RecordsError(f"{name}: line {number}: {err}") from err
