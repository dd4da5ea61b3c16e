"""Streaming JUnit XML reader: one pass, constant memory, tolerant of what real tools write.

Handles Ant (suite-level system-out), Maven Surefire (flakyFailure/flakyError/rerunFailure/rerunError),
pytest (xfail as skipped, failure + error on one case), nose/cqlsh, nested <testsuites>, a UTF-8 BOM,
leading whitespace before the XML declaration, control characters that XML 1.0 forbids (raw or as
character references) and files cut short by a killed JVM (reported as an error record, never dropped).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from itertools import chain, repeat
from pathlib import Path
from typing import BinaryIO, NamedTuple

from lxml import etree

from pipelinegen.escape import only_ascii_in
from pipelinegen.results.testcase import MAX_TEST_SECONDS, TestCaseResult

# Big enough for the useful head and tail of a stack trace or log, small enough that a 2 GB
# system-out cannot blow up the bundle or the HTML summary.
MAX_TEXT_CHARS = 64 * 1024
TRUNCATION_MARKER = "\n[... {n} characters truncated by pipelinegen ...]\n"
# One text node is held whole only up to this; beyond it only its last MAX_TEXT_CHARS are kept (then
# truncate() cuts as usual), so a 1 GiB <system-out> costs megabytes, not gigabytes, in any reader.
TEXT_NODE_BUDGET = 16 * MAX_TEXT_CHARS

# Suite/class/name used for the record that stands for a file we could not read to the end.
PARSE_ERROR_SUITE = "pipelinegen"
PARSE_ERROR_CLASS = "pipelinegen.junit"

_CHUNK = 1 << 20
# XML 1.0 forbids C0 controls except tab, LF, CR. In UTF-8 these bytes never occur inside a multi-byte
# sequence, so replacing them byte-wise is safe and runs at C speed.
_CONTROL_BYTES = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D))
_BYTE_TABLE = bytes.maketrans(_CONTROL_BYTES, b"?" * len(_CONTROL_BYTES))
# The same characters written as character references (Surefire and Ant write e.g. "&#27;").
_BAD_CHAR_REF = re.compile(
    rb"&#(?:0*(?:[0-8]|1[1-24-9]|2[0-9]|3[01])|[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]));"
)
_MAX_REF_LEN = 12
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_UTF8_BOM = b"\xef\xbb\xbf"
_INVALID_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_XML_ASCII = b"\t\n\r" + bytes(range(0x20, 0x80))  # what _INVALID_XML_CHARS leaves alone, in ASCII


class SuiteOutput(NamedTuple):
    """Suite-level output (Ant writes stdout/stderr per suite, after its test cases). A NamedTuple like
    TestCaseResult (immutable); not a dataclass, whose import costs every reader process ~5 ms."""

    suite: str
    cell_id: str
    stdout: str
    stderr: str
    has_failures: bool


class _CleanReader:
    """File-like wrapper that repairs the byte stream before libxml2 sees it."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self._first = True
        self._carry = b""
        self._passthrough = False

    def read(self, size: int = _CHUNK) -> bytes:
        size = max(size, _CHUNK)
        data = self._raw.read(size)
        if self._first:
            self._first = False
            if data.startswith(_UTF16_BOMS):
                # UTF-16 files are rare; libxml2 decodes them itself and byte filtering would corrupt them.
                self._passthrough = True
                return data
            if data.startswith(_UTF8_BOM):
                data = data[len(_UTF8_BOM):]
            data = data.lstrip()  # "XML declaration allowed only at the start" otherwise
        if self._passthrough:
            return data
        data = self._carry + data
        self._carry = b""
        if data and len(data) >= _MAX_REF_LEN:
            # Keep a possibly split "&#..;" reference for the next chunk.
            amp = data.rfind(b"&", len(data) - _MAX_REF_LEN)
            if amp != -1 and data.find(b";", amp) == -1:
                self._carry = data[amp:]
                data = data[:amp]
                if not data:
                    # Never return b"" before the end: the parser would stop.
                    data, self._carry = self._carry, b""
        if b"&#" in data:
            data = _BAD_CHAR_REF.sub(b"?", data)
        return data.translate(_BYTE_TABLE)


def truncate(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """Keep the head and the (more useful) tail of *text*, with a marker saying how much was cut."""
    if len(text) <= limit:
        return text
    head = limit // 4
    tail = limit - head
    cut = len(text) - head - tail
    return text[:head] + TRUNCATION_MARKER.format(n=cut) + text[-tail:]


def xml_safe(text: str) -> str:
    """Replace characters XML 1.0 cannot carry (only reachable through UTF-16 input)."""
    if only_ascii_in(text, _XML_ASCII):  # the common case, checked at C speed
        return text
    return _INVALID_XML_CHARS.sub("?", text)


def _duration(value: str | None) -> float:
    """Seconds from a time attribute; 0.0 for what is not a number from 0 to MAX_TEST_SECONDS."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        try:
            # Surefire in some locales writes "1,234.5".
            seconds = float(value.replace(",", ""))
        except ValueError:
            return 0.0
    return seconds if 0.0 <= seconds <= MAX_TEST_SECONDS else 0.0


def _text(elem) -> str:
    """Element text including a Surefire <stackTrace> child."""
    parts = [elem.text or ""]
    for child in elem:
        if child.tag == "stackTrace" and child.text:
            parts.append(child.text)
    return "".join(parts).strip()


def _describe(elem) -> tuple[str, str]:
    message = elem.get("message") or ""
    kind = elem.get("type") or ""
    body = _text(elem)
    if not message:
        first = body.strip().splitlines()[0] if body.strip() else ""
        message = first or kind
    if kind and kind not in body and kind not in message:
        body = f"{kind}: {body}" if body else kind
    return message.strip().splitlines()[0] if message.strip() else "", body


_new_record = tuple.__new__  # builds a TestCaseResult without the NamedTuple's Python-level __new__
_FAIL_TAGS = {"failure": "failed", "error": "error"}
_FLAKY_TAGS = ("flakyFailure", "flakyError")
_RERUN_TAGS = ("rerunFailure", "rerunError")


def _testcase(elem, suite: str, cell_id: str, attempt: int) -> TestCaseResult:
    status = "passed"
    message = ""
    details: list[str] = []
    flaky = 0
    reruns: list[str] = []
    stdout = stderr = None  # the output elements, read only if the logs are kept (most tests pass)
    for child in elem:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag in _FAIL_TAGS:
            new = _FAIL_TAGS[tag]
            if status != "error":
                status = new
            msg, body = _describe(child)
            message = message or msg
            details.append(body)
        elif tag == "skipped":
            if status == "passed":
                status = "skipped"
                message = (child.get("message") or "").strip()
        elif tag in _FLAKY_TAGS and elem.get("flaky_reruns"):
            reruns.append(_text(child))  # our normalised form: the text is already the full record
        elif tag in _FLAKY_TAGS:
            flaky += 1
            msg, body = _describe(child)
            reruns.append(f"--- {tag} (run {flaky} failed, a later run passed): {msg}\n{body}")
        elif tag in _RERUN_TAGS:
            msg, body = _describe(child)
            reruns.append(f"--- {tag} (rerun failed again): {msg}\n{body}")
        elif tag == "system-out":
            stdout = child
        elif tag == "system-err":
            stderr = child
    # Logs are kept only where someone will read them: failures, errors and flaky runs.
    if status in ("failed", "error") or reruns:
        if reruns:
            details.extend(reruns)
        # Cut each stream before joining, so a 100 MB output is not copied twice first.
        for label, stream in (("system-out", stdout), ("system-err", stderr)):
            text = (stream.text or "") if stream is not None else ""
            if text.strip():
                details.append(f"--- {label} ---\n" + truncate(text))
    elif status == "skipped":
        details = [d for d in (_text(c) for c in elem if c.tag == "skipped") if d]
    # Our own normalised files carry these; foreign files do not.
    attempt_attr = elem.get("attempt")
    flaky_attr = elem.get("flaky_reruns")
    return _new_record(TestCaseResult, (
        suite, elem.get("classname") or elem.get("class") or "", elem.get("name") or "", cell_id, status,
        _duration(elem.get("time")), truncate(message, 1024) if message else "",
        truncate("\n".join(details)) if details else "",
        int(attempt_attr) if attempt_attr and attempt_attr.isdigit() else attempt,
        int(flaky_attr) if flaky_attr and flaky_attr.isdigit() else flaky))


class _Unreadable(Exception):
    def __init__(self, seen: int, error: Exception) -> None:
        super().__init__(str(error))
        self.seen = seen
        self.error = error


def _plain_case(attrs, suite: str, cell_id: str, attempt: int) -> TestCaseResult:
    """The record of a test case without child elements (a plain pass) from its attributes (a dict, or an
    element's attrib): no element is built and the general path (_testcase) is skipped."""
    get = attrs.get
    flaky = 0
    if len(attrs) > 3:  # Ant writes exactly classname, name, time
        found = get("attempt")
        attempt = int(found) if found and found.isdigit() else attempt
        found = get("flaky_reruns")
        flaky = int(found) if found and found.isdigit() else 0
    return _new_record(TestCaseResult, (suite, get("classname") or get("class") or "", get("name") or "", cell_id,
                                        "passed", _duration(get("time")), "", "", attempt, flaky))


def _decode_amp(attrib) -> dict:
    """Attribute values as the tree reader sees them: with resolve_entities=False libxml2 hands a parser target
    every "&" of an attribute value as "&#38;" ("a &amp; b" arrives as "a &#38; b"); it writes no other
    reference there, so replacing each one is exact."""
    if any("&#38;" in value for value in attrib.values()):
        return {key: value.replace("&#38;", "&") for key, value in attrib.items()}
    return attrib


class _RecordTarget:
    """lxml parser target: turns parser events into records without building a tree.

    A plain test case (no child element: the ~95 % that passed) becomes a record straight from its
    attribute dict. A test case with children (failure, skipped, output) is replayed into an lxml
    TreeBuilder and read by _testcase, so every format rule lives in one place. Suite-level output
    is captured only for system-out/system-err directly under a <testsuite>.
    """

    def __init__(self) -> None:
        self.out: list[TestCaseResult | SuiteOutput] = []
        self.reset("", 1, "", False)

    def reset(self, cell_id: str, attempt: int, default_suite: str, cases_only: bool) -> None:
        self.cell_id = cell_id
        self.attempt = attempt
        self.default_suite = default_suite
        self.cases_only = cases_only
        self.out.clear()
        self.amp = False  # set once the file holds a "&": attribute values may then need _decode_amp
        self.failed_suites: set[str] = set()
        self._stack: list[str] = []  # open elements outside test cases
        self._suites: list[list] = []  # open <testsuite>s: [name, stdout parts, stderr parts]
        self._case: dict | None = None  # attributes of the open test case
        self._case_suite = ""
        self._builder = None  # TreeBuilder while inside a test case with children
        self._depth = 0
        self._capture: list[str] | None = None
        self._node_chars = 0  # characters of the current text node so far
        self._tail: list[str] = []  # the last characters of a node past TEXT_NODE_BUDGET
        self._tail_chars = 0

    def start(self, tag: str, attrib) -> None:
        if self._node_chars:
            self._end_text()
        if self.amp and attrib:
            attrib = _decode_amp(attrib)
        if self._case is None:
            if tag == "testcase":
                stack = self._stack
                self._case_suite = self._suites[-1][0] if stack and stack[-1] == "testsuite" else self.default_suite
                self._case = attrib
                return
            if tag == "testsuite":
                self._suites.append([attrib.get("name") or self.default_suite, [], []])
            elif (tag == "system-out" or tag == "system-err") and self._stack and self._stack[-1] == "testsuite" \
                    and not self.cases_only:
                self._capture = self._suites[-1][1 if tag == "system-out" else 2]
            self._stack.append(tag)
        elif self._builder is not None:
            self._builder.start(tag, dict(attrib))
            self._depth += 1
        else:  # the open test case has a child: build it as an element
            self._builder = etree.TreeBuilder()
            self._builder.start("testcase", dict(self._case))
            self._builder.start(tag, dict(attrib))
            self._depth = 2

    def data(self, text: str) -> None:
        self._node_chars += len(text)
        if self._node_chars > TEXT_NODE_BUDGET:  # a hostile gigabyte text node: keep only its tail
            self._overflow(text)
        elif self._builder is not None:
            self._builder.data(text)
        elif self._capture is not None:
            self._capture.append(text)

    def _overflow(self, text: str) -> None:
        if self._builder is None and self._capture is None:
            return
        self._tail.append(text)
        self._tail_chars += len(text)
        if self._tail_chars > 2 * MAX_TEXT_CHARS:  # amortised: join and trim only now and then
            joined = "".join(self._tail)
            self._tail = [joined[-MAX_TEXT_CHARS:]]
            self._tail_chars = len(self._tail[0])

    def _end_text(self) -> None:
        """A text node ended (any start/end event): hand on the tail of an oversized one, marked."""
        if self._tail:
            tail = "".join(self._tail)[-MAX_TEXT_CHARS:]
            text = TRUNCATION_MARKER.format(n=self._node_chars - TEXT_NODE_BUDGET - len(tail)) + tail
            if self._builder is not None:
                self._builder.data(text)
            elif self._capture is not None:
                self._capture.append(text)
            self._tail, self._tail_chars = [], 0
        self._node_chars = 0

    def end(self, tag: str) -> None:
        if self._node_chars:
            self._end_text()
        case = self._case
        if case is not None and self._builder is None:
            # The common case, a plain pass: a tuple from the attribute dict, no element, no general path.
            self._case = None
            self.out.append(_plain_case(case, self._case_suite, self.cell_id, self.attempt))
        elif case is not None:
            self._builder.end(tag)
            self._depth -= 1
            if self._depth == 0:
                elem = self._builder.close()
                self._builder = self._case = None
                result = _testcase(elem, self._case_suite, self.cell_id, self.attempt)
                if result.status in ("failed", "error"):
                    self.failed_suites.add(result.suite)
                self.out.append(result)
        else:
            self._stack.pop()
            self._capture = None
            if tag == "testsuite":
                name, out, err = self._suites.pop()
                if not self.cases_only:
                    stdout, stderr = "".join(out), "".join(err)
                    if stdout.strip() or stderr.strip():
                        self.out.append(SuiteOutput(name, self.cell_id, truncate(stdout), truncate(stderr),
                                                    name in self.failed_suites))

    def close(self) -> None:
        return None


def _parse(source, cell_id: str, attempt: int, default_suite: str, counts: list[int],
           cases_only: bool = False) -> Iterator[list[TestCaseResult | SuiteOutput]]:
    """Batches of records from one parse of *source* (a file name or a readable). counts[0] counts records
    yielded.

    The file is fed to libxml2 in chunks; what each chunk completes is yielded (one batch) before the next is
    read, so memory stays flat whatever the file size.
    """
    # Parsers are reused: creating one with a Python target costs more than parsing a small file.
    parser, target = _PARSERS.pop() if _PARSERS else _new_parser()
    target.reset(cell_id, attempt, default_suite, cases_only)
    out = target.out
    reusable = False
    handle = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115 (closed below)
    try:
        read, feed = handle.read, parser.feed
        error: etree.XMLSyntaxError | None = None
        while error is None:
            chunk = read(_CHUNK)
            if not target.amp and b"&" in chunk:
                target.amp = True
            try:
                if chunk:
                    feed(chunk)
                else:
                    parser.close()
            except etree.XMLSyntaxError as err:
                error = err
            if out:  # what this chunk completed, even when the rest of the file is unreadable
                counts[0] += len(out)
                yield out[:]
                out.clear()
            if not chunk:
                break
        if error is not None:
            raise _Unreadable(counts[0], error)
        reusable = True
    finally:
        if handle is not source:
            handle.close()
        if reusable and len(_PARSERS) < 4:
            _PARSERS.append((parser, target))


def _new_parser() -> tuple[etree.XMLParser, _RecordTarget]:
    target = _RecordTarget()
    return etree.XMLParser(target=target, huge_tree=True, remove_comments=True, remove_pis=True,
                           resolve_entities=False, no_network=True), target


# Idle (parser, target) pairs; a generator takes one for the duration of a file, so interleaved
# generators never share one.
_PARSERS: list[tuple[etree.XMLParser, _RecordTarget]] = []


# Files up to this size are parsed into a tree in one go and walked (_TreeReader): one Python step per test case
# instead of two parser callbacks per element. No text node of such a file can exceed TEXT_NODE_BUDGET
# characters (a character takes at least one byte), so both readers give the same records. The tree of the worst
# such file (only tiny elements) takes ~16 MiB; realistic ones (Ant: ~33 KB per suite) a few hundred KiB.
TREE_MAX_BYTES = 512 << 10
assert TREE_MAX_BYTES <= TEXT_NODE_BUDGET
_MAX_TREE_DEPTH = 64


class _NeedsStream(Exception):
    """This file has a shape the tree reader does not replicate: read it with the streaming parser target."""


class PlainRun:
    """Consecutive plain passes of one <testsuite>, as columns: test cases without a child element whose attributes
    say nothing but classname, name and time (and what no record holds, e.g. pytest's file and line). Iterating
    gives their records (status passed, no message, no details, flaky_reruns 0); bulk writers (results/bundle.py)
    take the columns whole, so no record is built for them."""

    __slots__ = ("suite", "cell_id", "attempt", "classnames", "names", "seconds")

    def __init__(self, suite: str, cell_id: str, attempt: int, classnames: list[str], names: list[str],
                 seconds: list[float]) -> None:
        self.suite, self.cell_id, self.attempt = suite, cell_id, attempt
        self.classnames, self.names, self.seconds = classnames, names, seconds

    def __len__(self) -> int:
        return len(self.names)

    def __iter__(self) -> Iterator[TestCaseResult]:
        # One C loop: zip builds each record's fields, tuple.__new__ makes them a TestCaseResult.
        return map(_new_record, repeat(TestCaseResult), zip(
            repeat(self.suite), self.classnames, self.names, repeat(self.cell_id), repeat("passed"), self.seconds,
            repeat(""), repeat(""), repeat(self.attempt), repeat(0)))


# Attributes that change a plain test case's record beyond classname, name and time (see _plain_case).
_NOT_PLAIN_KEYS = frozenset(("class", "attempt", "flaky_reruns"))


def _plain_layout(keys: list[str]) -> tuple[int, int, int, int] | None:
    """Where classname, name and time are among a test case's attribute names (in document order), for reading
    its values by position; None when the attributes need _plain_case."""
    if "classname" not in keys or "name" not in keys or "time" not in keys or not _NOT_PLAIN_KEYS.isdisjoint(keys):
        return None
    return len(keys), keys.index("classname"), keys.index("name"), keys.index("time")


def _seconds(times: list[str]) -> list[float]:
    """_duration of each time attribute, at C speed when every one is a plain non-negative finite number."""
    try:
        seconds = list(map(float, times))
    except ValueError:
        return list(map(_duration, times))
    # A NaN in any term makes the sum NaN (min and max do not see it reliably).
    if seconds and (not 0.0 <= sum(seconds) or min(seconds) < 0.0 or max(seconds) > MAX_TEST_SECONDS):
        return list(map(_duration, times))
    return seconds


class _TreeReader:
    """The records of one parsed file, exactly as _RecordTarget gives them (tests/results/test_junit_readers.py),
    as batches: PlainRuns and lists of everything else.

    Only for what the two read the same way: no DOCTYPE (so no entity reference nodes), suite-level
    system-out/system-err without child elements, nesting at most _MAX_TREE_DEPTH deep; anything else raises
    _NeedsStream. Comments and processing instructions are removed by the parser in both readers.
    """

    def __init__(self, cell_id: str, attempt: int, default_suite: str, cases_only: bool) -> None:
        self.cell_id = cell_id
        self.attempt = attempt
        self.default_suite = default_suite
        self.cases_only = cases_only
        self.batches: list[list[TestCaseResult | SuiteOutput]] = []
        self.failed_suites: set[str] = set()

    def read(self, root) -> list[list[TestCaseResult | SuiteOutput]]:
        if root.tag == "testcase":
            self._case(root, self.default_suite)
        else:
            self._element(root, 0)
        return self.batches

    def _emit(self, record: TestCaseResult | SuiteOutput) -> None:
        batches = self.batches
        if not batches or batches[-1].__class__ is PlainRun:
            batches.append([])
        batches[-1].append(record)

    def _case(self, case, suite: str) -> None:
        if len(case):
            result = _testcase(case, suite, self.cell_id, self.attempt)
            if result.status in ("failed", "error"):
                self.failed_suites.add(result.suite)
            self._emit(result)
        else:
            self._emit(_plain_case(case.attrib, suite, self.cell_id, self.attempt))

    def _plain_run(self, suite: str, layout: tuple[int, int, int, int], values: list[str]) -> PlainRun:
        width, classname, name, time = layout
        return PlainRun(suite, self.cell_id, self.attempt, values[classname::width], values[name::width],
                        _seconds(values[time::width]))

    def _element(self, elem, depth: int) -> None:
        """An element outside any test case (the target's start ... end of it)."""
        tag = elem.tag
        if depth > _MAX_TREE_DEPTH:
            raise _NeedsStream
        if tag == "testsuite":
            name = elem.get("name") or self.default_suite
            stdout: list[str] = []
            stderr: list[str] = []
            batches = self.batches
            # The open run of plain passes: their attribute values, flat, all with the attribute names run_keys.
            run_keys: list[str] | None = None
            layout = (0, 0, 0, 0)
            values: list[str] = []
            extend = values.extend
            for child in elem:
                child_tag = child.tag
                if child_tag == "testcase":
                    if not len(child):
                        keys = child.keys()
                        if keys == run_keys:
                            extend(child.values())
                            continue
                        found = _plain_layout(keys)
                        if found is not None:
                            if values:
                                batches.append(self._plain_run(name, layout, values))
                            run_keys, layout, values = keys, found, child.values()
                            extend = values.extend
                            continue
                        run_keys = None
                    if values:
                        batches.append(self._plain_run(name, layout, values))
                        values = []  # the next plain case most likely has the same attribute names (run_keys)
                        extend = values.extend
                    self._case(child, name)
                elif (child_tag == "system-out" or child_tag == "system-err") and not self.cases_only:
                    if len(child):  # the target captures such text only up to the first child's end
                        raise _NeedsStream
                    (stdout if child_tag == "system-out" else stderr).append(child.text or "")
                else:
                    if values:
                        batches.append(self._plain_run(name, layout, values))
                        values = []
                        extend = values.extend
                    self._element(child, depth + 1)
            if values:
                batches.append(self._plain_run(name, layout, values))
            if not self.cases_only:
                text_out, text_err = "".join(stdout), "".join(stderr)
                if text_out.strip() or text_err.strip():
                    self._emit(SuiteOutput(name, self.cell_id, truncate(text_out), truncate(text_err),
                                           name in self.failed_suites))
            return
        for child in elem:
            if child.tag == "testcase":
                self._case(child, self.default_suite)
            else:
                self._element(child, depth + 1)


def _tree_parser() -> etree.XMLParser:
    # collect_ids=False: no table of xml:id attributes (nothing here looks an element up by id). remove_blank_text:
    # no node for the indentation between elements (a tail nothing reads; libxml2 keeps the whitespace-only content
    # of an element without children, e.g. <system-out>  </system-out>: tests/results "blank text").
    return etree.XMLParser(huge_tree=True, remove_comments=True, remove_pis=True, resolve_entities=False,
                           no_network=True, collect_ids=False, remove_blank_text=True)


_TREE_PARSERS: list[etree.XMLParser] = []


def _tree_records(path: str, cell_id: str, attempt: int, default_suite: str,
                  cases_only: bool) -> list[list[TestCaseResult | SuiteOutput]] | None:
    """Every record of a small, well-formed file (in batches), or None when the streaming reader must read it."""
    # os-level calls: open() would add a buffer object and five system calls per file (isatty, seeks, stats).
    descriptor = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(descriptor).st_size
        if size > TREE_MAX_BYTES:
            return None
        data = os.read(descriptor, size + 1)  # sized by fstat: a fixed buffer would be mmapped and unmapped per file
    finally:
        os.close(descriptor)
    if not data or len(data) > size:  # empty, or grown since fstat: the streaming reader reads it to its end
        return None
    parser = _TREE_PARSERS.pop() if _TREE_PARSERS else _tree_parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None  # the streaming reader reports it (and repairs what it can)
    finally:
        if len(_TREE_PARSERS) < 4:
            _TREE_PARSERS.append(parser)
    tree = root.getroottree()
    if tree.docinfo.doctype:
        return None
    try:
        return _TreeReader(cell_id, attempt, default_suite, cases_only).read(root)
    except _NeedsStream:
        return None


def _unreadable(label: str, cell_id: str, attempt: int, seen: int, err: Exception) -> TestCaseResult:
    # A file cut short (killed JVM, full disk) must show up as a failure, never vanish.
    return TestCaseResult(
        suite=PARSE_ERROR_SUITE,
        classname=PARSE_ERROR_CLASS,
        name=label,
        cell_id=cell_id,
        status="error",
        duration_s=0.0,
        message=f"unreadable JUnit XML after {seen} records: {err}",
        details=f"{label}: {err}",
        attempt=attempt,
    )


def iter_record_batches(source: str | Path | BinaryIO, cell_id: str, attempt: int = 1, name: str | None = None,
                        repair: bool = True, cases_only: bool = False,
                        use_tree: bool = True) -> Iterator[list[TestCaseResult | SuiteOutput]]:
    """iter_records in lists (bulk writers handle a run of records at a time); the same records in the same order."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        label = name or path.name
        batches = _tree_records(str(path), cell_id, attempt, path.stem, cases_only) if use_tree else None
        if batches is not None:
            yield from batches
            return
        counts = [0]
        try:
            yield from _parse(str(path), cell_id, attempt, path.stem, counts, cases_only)
            return
        except _Unreadable:
            done = counts[0]
        retry = [0]
        try:
            with open(path, "rb") as handle:
                for batch in _parse(_CleanReader(handle), cell_id, attempt, path.stem, retry, cases_only):
                    if done >= len(batch):  # the first pass yielded these already
                        done -= len(batch)
                        continue
                    yield batch[done:] if done else batch
                    done = 0
        except _Unreadable as err:
            yield [_unreadable(label, cell_id, attempt, err.seen, err.error)]
        return
    label = name or str(getattr(source, "name", "") or "junit.xml")
    try:
        yield from _parse(_CleanReader(source) if repair else source, cell_id, attempt, Path(label).stem, [0],
                          cases_only)
    except _Unreadable as err:
        yield [_unreadable(label, cell_id, attempt, err.seen, err.error)]


def iter_records(source: str | Path | BinaryIO, cell_id: str, attempt: int = 1, name: str | None = None,
                 repair: bool = True, cases_only: bool = False,
                 use_tree: bool = True) -> Iterator[TestCaseResult | SuiteOutput]:
    """Stream test cases (and suite-level output) from one JUnit XML file or binary file object.

    A file of at most TREE_MAX_BYTES is parsed into a tree and walked (fastest; use_tree=False forces the
    streaming reader, which gives the same records). A larger file is parsed by libxml2 straight from disk
    through a parser target, in chunks (flat memory); only if that fails is it parsed again through the
    repairing reader (BOM, control characters), skipping what was already yielded. A stream is parsed
    through the repairing reader unless repair=False (our own normalised files).
    """
    # chain flattens at C speed: no generator step per record.
    return chain.from_iterable(iter_record_batches(source, cell_id, attempt, name, repair, cases_only, use_tree))


def iter_testcases(path: str | Path | BinaryIO, cell_id: str, attempt: int = 1,
                   repair: bool = True) -> Iterator[TestCaseResult]:
    """Stream every <testcase> of one JUnit XML file as a TestCaseResult (constant memory)."""
    # cases_only: no SuiteOutput is built, so every record is a TestCaseResult.
    return iter_records(path, cell_id, attempt, repair=repair, cases_only=True)  # type: ignore[return-value]
