"""The compact records member of a bundle: `cells/<id>/records.tsv`, one line per test case.

It holds exactly the TestCaseResults the cell's normalised junit.xml yields (same order, same values), in
a form a bulk reader (history ingest) reads at line-split speed instead of parsing XML a second time.
Format (docs/result-format.md): a header line, then tab-separated fields
    suite, classname, name, status, duration_s (3 decimals), attempt, flaky_reruns, message, details
with backslash, tab, LF and CR written as \\\\, \\t, \\n, \\r. The cell id is the directory's.
"""

from __future__ import annotations

import re
from codecs import escape_decode as _escape_decode
from collections.abc import Iterable, Iterator, Sequence
from itertools import compress, groupby, repeat
from operator import itemgetter
from typing import BinaryIO, NamedTuple

from pipelinegen.escape import only_ascii_in
from pipelinegen.results.testcase import STATUSES, TestCaseResult

RECORDS_NAME = "records.tsv"
MAX_LINE_BYTES = 4 << 20  # one record: message <= 1 KiB and details <= 64 Ki characters, escaped
HEADER = ("#pipelinegen-records 1\tsuite\tclassname\tname\tstatus\tduration_s\tattempt\tflaky_reruns\tmessage"
          "\tdetails\n")
_FIELDS = 9
# Characters held before a flush. Small on purpose: a flush joins and encodes what it holds, and buffers of a MiB
# or more are fresh memory from the kernel each time (glibc maps them, or trims the heap after them): dense 64 MB
# collect had 3x the page faults at 1 MiB than at 64 KiB, and holding 2,048 failure texts peaked at 567 MiB.
_FLUSH_CHARS = 1 << 16
_NEEDS_ESCAPE = re.compile(r"[\\\t\n\r]")
PLAIN_ASCII = bytes(c for c in range(0x80) if chr(c) not in "\\\t\n\r")  # what _NEEDS_ESCAPE leaves alone
_STATUSES = frozenset(STATUSES)
_new_record = tuple.__new__
_INFINITY = float("inf")


class RecordsError(ValueError):
    """A records member that this reader cannot trust (wrong header, a malformed line)."""


def _field(text: str) -> str:
    if not text or _NEEDS_ESCAPE.search(text) is None:
        return text
    # str.replace runs at C speed (on ASCII bytes ~2x faster still); a translate table with multi-character values
    # does not.
    if text.isascii():
        return text.encode("ascii").replace(b"\\", b"\\\\").replace(b"\t", b"\\t").replace(b"\n", b"\\n") \
            .replace(b"\r", b"\\r").decode("ascii")
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
        self._pending = 0  # characters held since the last flush, counted for all but single plain passes

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
            # Flushed by size too: a failure's line can be 128 KiB (its text escaped), 2,048 of them 256 MiB.
            line = record_line(record, self._prefix)
            parts.append(line)
            self._pending += len(line)
        if len(parts) >= 2048 or self._pending >= _FLUSH_CHARS:
            self.flush()

    def write_passed(self, suite: str, classnames: Sequence[str], names: Sequence[str], times: Sequence[str],
                     plain: bool = False) -> None:
        """Consecutive plain passes (attempt 1, no reruns), exactly as write() writes each, in one step: *times*
        are their durations with 3 decimals. Per test case this runs at C speed (zip, join). *plain*: the caller
        found every class name and name made of PLAIN_ASCII only."""
        if not plain and not only_ascii_in("".join(classnames), PLAIN_ASCII) \
                and _NEEDS_ESCAPE.search("".join(classnames)):
            classnames = list(map(_field, classnames))
        if not plain and not only_ascii_in("".join(names), PLAIN_ASCII) and _NEEDS_ESCAPE.search("".join(names)):
            names = list(map(_field, names))
        # A template repeated, then the columns assigned into it: one join, no string per test case.
        parts = [_field(suite) + "\t", "", "\t", "", "\tpassed\t", "", "\t1\t0\t\t\n"] * len(names)
        parts[1::7], parts[3::7], parts[5::7] = classnames, names, times
        text = "".join(parts)
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= _FLUSH_CHARS or len(self._parts) >= 2048:
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


def _parse_line(line: str, cell_id: str) -> TestCaseResult:
    """One line (without its newline) as a TestCaseResult; RecordsError says what is wrong with it."""
    fields = line.split("\t")
    if len(fields) != _FIELDS:
        raise RecordsError("expected 9 tab-separated fields")
    if "\\" in line:
        fields = [_unescape(f) if "\\" in f else f for f in fields]
    suite, classname, test, status, duration, attempt, flaky, message, details = fields
    try:
        seconds, tries, reruns = float(duration), int(attempt), int(flaky)
    except ValueError as err:
        raise RecordsError(str(err)) from None
    if status not in _STATUSES or not 0.0 <= seconds < _INFINITY or tries < 1 or reruns < 0:
        raise RecordsError(f"status {status!r}, duration {duration!r}, attempt {attempt!r} or "
                           f"flaky_reruns {flaky!r} out of range")
    return _new_record(TestCaseResult, (suite, classname, test, cell_id, status, seconds, message, details,
                                        tries, reruns))


def read_records(handle: BinaryIO, cell_id: str, name: str = RECORDS_NAME) -> Iterator[TestCaseResult]:
    """Stream the TestCaseResults of one records file. Raises RecordsError naming *name* and the line."""
    number = 0
    parse = _parse_line
    try:
        lines = _lines(handle)
        number = 1
        if next(lines, None) != HEADER[:-1]:
            raise RecordsError("not a pipelinegen records file (version 1)")
        for number, line in enumerate(lines, start=2):  # noqa: B007 (number is read in the error message)
            yield parse(line, cell_id)
    except (RecordsError, ValueError) as err:  # UnicodeDecodeError is a ValueError
        raise RecordsError(f"{name}: line {number}: {err}") from err


# ---------------------------------------------------------------- column by column, for bulk readers


class CaseBatch(NamedTuple):
    """Consecutive test cases of one attempt of one cell, column by column: what a bulk reader (history
    ingest) needs without building one object per test case. Cases that did not simply pass are listed
    in *notable* with everything else about them."""

    cell_id: str
    attempt: int
    classnames: list[str]
    names: list[str]
    durations: list[float]
    counts: dict[str, int]  # status -> cases
    notable: list[tuple[int, str, int, str, str]]  # (index, status, flaky_reruns, message, details)

    @property
    def failing(self) -> int:
        return self.counts["failed"] + self.counts["error"]


BATCH_CASES = 4096  # test cases per batch made of TestCaseResults


def case_batches(cases: Iterable[TestCaseResult]) -> Iterator[CaseBatch]:
    """The batches holding *cases*, in order (a new batch wherever the cell or the attempt changes)."""
    key: tuple[str, int] | None = None
    part: list[TestCaseResult] = []
    for case in cases:
        if (case.cell_id, case.attempt) != key or len(part) >= BATCH_CASES:
            if part:
                yield _batch_of(part)
            key, part = (case.cell_id, case.attempt), []
        part.append(case)
    if part:
        yield _batch_of(part)


def _batch_of(cases: list[TestCaseResult]) -> CaseBatch:
    counts = dict.fromkeys(STATUSES, 0)
    notable = []
    for i, case in enumerate(cases):
        counts[case.status] += 1
        if case.status != "passed" or case.flaky_reruns:
            notable.append((i, case.status, case.flaky_reruns, case.message, case.details))
    first = cases[0]
    return CaseBatch(first.cell_id, first.attempt, [c.classname for c in cases], [c.name for c in cases],
                     [c.duration_s for c in cases], counts, notable)


_ZERO_AT_MOST = (0.0).__le__
_NEWLINE = "\n"
_PASSED = "passed"
_ONE, _ZERO = {"1": 1}, {"0": 0}  # the attempt and flaky_reruns columns of a plain run (read only)
_SEVEN, _EIGHT = 7, 8  # a line's message and details (with the next line's suite) in fields[8i:]
_FIRST = itemgetter(0)
_BAD_ESCAPE = re.compile(r"\\(?![tnr])")  # in text without \\ pairs: a backslash starting no escape


def read_batches(handle: BinaryIO, cell_id: str, name: str = RECORDS_NAME, *, text_limit: int | None = None,
                 chunk: int = 128 << 10) -> Iterator[CaseBatch]:
    """The records file as CaseBatches (about *chunk* bytes each): the cases read_records yields, checked
    as strictly (a bad line raises the same RecordsError naming it), at a fraction of the cost: each
    chunk is split once on tabs and every check runs over whole columns. *text_limit*: the message and
    details of notable cases are cut to that many characters (a reader that keeps no more saves the
    unescaping of the rest)."""
    number = 1  # of the chunk's first line
    first = True
    for text, lines in _texts(handle, name, chunk):
        if first:
            if not text.startswith(HEADER):
                raise RecordsError(f"{name}: line 1: not a pipelinegen records file (version 1)")
            text, lines = text[len(HEADER):], lines - 1
            number, first = 2, False
        if lines:
            yield from _batches_of(text, lines, cell_id, name, number, text_limit)
            number += lines
    if first:
        raise RecordsError(f"{name}: line 1: not a pipelinegen records file (version 1)")


def _texts(handle: BinaryIO, name: str, chunk: int) -> Iterator[tuple[str, int]]:
    """The stream decoded in pieces of whole lines, each with its number of lines."""
    carry = b""
    lines_before = 0
    while True:
        data = handle.read(chunk)
        if not data:
            break
        data = carry + data if carry else data
        end = data.rfind(b"\n") + 1
        carry = data[end:]
        if len(carry) > MAX_LINE_BYTES:  # a hostile member of one endless line must not be held whole
            raise RecordsError(f"{name}: line {lines_before + 1}: a line longer than {MAX_LINE_BYTES >> 20} MiB "
                               f"(records are truncated far below)")
        if end:
            try:
                text = str(memoryview(data)[:end], "utf-8")
            except UnicodeDecodeError as err:
                line = lines_before + data.count(b"\n", 0, err.start) + 1
                raise RecordsError(f"{name}: line {line}: {err}") from err
            # The newlines of data[:end] (none follow it): bytes.replace finds a byte with memchr, 3x faster
            # than str.count, which compares each character.
            lines = len(data) - len(data.replace(b"\n", b""))
            lines_before += lines
            yield text, lines
    if carry:
        raise RecordsError(f"{name}: line {lines_before + 1}: the last line has no newline (file cut short?)")


def _escapes_valid(text: str) -> bool:
    """Every backslash starts one of \\, \t, \n, \r (as _unescape requires of each field)."""
    if _BAD_ESCAPE.search(text) is None:  # the usual case: no \\ at all, so one scan decides
        return True
    # Pair the backslashes left to right, as a reader does; no two lone ones are then adjacent.
    return _BAD_ESCAPE.search(text.replace("\\\\", "")) is None


def _decoded(text: str, limit: int | None = None) -> str:
    """_unescape for a field of a chunk _escapes_valid accepted (then only \\, \t, \n, \r occur, which
    escape_decode reads exactly so, in C), cut to *limit* characters without unescaping the rest."""
    if "\\" not in text:
        return text if limit is None else text[:limit]
    if limit is not None and len(text) > 2 * limit:  # 2 escaped characters at most per character
        text = text[: 2 * limit]
        if (len(text) - len(text.rstrip("\\"))) % 2:
            text = text[:-1]  # the cut went through an escape
    decoded = _escape_decode(text)[0].decode("utf-8")  # a str is read as its UTF-8 bytes
    return decoded if limit is None else decoded[:limit]


def _unescaped(column: list[str]) -> list[str]:
    if "\\" not in "".join(column):
        return column
    return [_decoded(f) if "\\" in f else f for f in column]


def _batches_of(text: str, n: int, cell_id: str, name: str, number: int, limit: int | None) -> Iterator[CaseBatch]:
    """The *n* cases of *text* (whole lines) as batches of one attempt each; a bad line raises RecordsError."""
    fields = text.split("\t")
    # With 9 fields a line, line i is fields[8i:8i+9], its last field sharing an element with the next
    # line's first ("details\nsuite"). Each such element must hold exactly one of the n newlines.
    ok = len(fields) == 8 * n + 1 and all(map(str.__contains__, fields[8::8], repeat(_NEWLINE)))
    if ok:
        statuses = fields[3::8]
        # Most cases pass: one pass finds the others, and only they are counted by status.
        unpassed = list(compress(range(n), map(_PASSED.__ne__, statuses)))
        others = list(map(statuses.__getitem__, unpassed))
        counts = {status: others.count(status) for status in STATUSES}
        counts[_PASSED] = n - len(unpassed)
        ok = sum(counts.values()) == n  # else a status that is none of STATUSES
    if ok:
        try:
            durations = list(map(float, fields[4::8]))
            attempt_column, flaky_column = fields[5::8], fields[6::8]
            # Text -> number of each distinct value; nearly always only "1" and "0" (one-character strings are
            # shared objects, so counting them is a pointer comparison per case).
            attempts = _ONE if attempt_column.count("1") == n else {
                value: int(value) for value in dict.fromkeys(attempt_column)}
            reruns = _ZERO if flaky_column.count("0") == n else {
                value: int(value) for value in dict.fromkeys(flaky_column)}
        except ValueError:
            ok = False
        else:
            total = sum(durations)  # finite only when no duration is infinite or NaN (then one comparison each)
            ok = ((total - total == 0.0 and min(durations) >= 0.0)
                  or (all(map(_ZERO_AT_MOST, durations)) and max(durations) < _INFINITY))
            ok = ok and min(attempts.values()) >= 1 and min(reruns.values()) >= 0
    if ok and "\\" in text:
        ok = _escapes_valid(text)
    if not ok:
        _raise_first_problem(text, cell_id, name, number)
    classnames, names = _unescaped(fields[1::8]), _unescaped(fields[2::8])
    rerun_texts = {value for value, count in reruns.items() if count}
    if rerun_texts:  # passed after reruns: notable too
        unpassed = sorted(set(unpassed).union(compress(range(n), map(rerun_texts.__contains__, flaky_column))))
    notable: list[tuple[int, str, int, str, str]] = []
    if unpassed:
        at = [8 * i for i in unpassed]
        messages = map(fields.__getitem__, map(_SEVEN.__add__, at))
        details = map(_FIRST, map(str.partition, map(fields.__getitem__, map(_EIGHT.__add__, at)), repeat(_NEWLINE)))
        notable = list(zip(unpassed, map(statuses.__getitem__, unpassed),
                           map(reruns.__getitem__, map(flaky_column.__getitem__, unpassed)),
                           map(_decoded, messages, repeat(limit)), map(_decoded, details, repeat(limit)), strict=True))
    if len(set(attempts.values())) == 1:
        yield CaseBatch(cell_id, attempts[attempt_column[0]], classnames, names, durations, counts, notable)
        return
    # Several attempts in one file (no producer of ours writes that): one batch per run of equal attempts.
    start = 0
    for attempt, run in groupby(map(attempts.__getitem__, attempt_column)):
        end = start + len(list(run))
        part = statuses[start:end]
        yield CaseBatch(cell_id, attempt, classnames[start:end], names[start:end], durations[start:end],
                        {status: part.count(status) for status in STATUSES},
                        [(i - start, *rest) for i, *rest in notable if start <= i < end])
        start = end


def _raise_first_problem(text: str, cell_id: str, name: str, number: int) -> None:
    """The column checks found a bad line: name it, with read_records' message."""
    for offset, line in enumerate(text.split(_NEWLINE)[:-1]):
        try:
            _parse_line(line, cell_id)
        except RecordsError as err:
            raise RecordsError(f"{name}: line {number + offset}: {err}") from None
    raise RecordsError(f"{name}: lines {number}-{number + text.count(_NEWLINE) - 1}: malformed")
