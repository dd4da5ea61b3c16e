"""Streaming JUnit XML reader: one pass, constant memory, tolerant of what real tools write.

Handles Ant (suite-level system-out), Maven Surefire (flakyFailure/flakyError/rerunFailure/rerunError),
pytest (xfail as skipped, failure + error on one case), nose/cqlsh, nested <testsuites>, a UTF-8 BOM,
leading whitespace before the XML declaration, control characters that XML 1.0 forbids (raw or as
character references) and files cut short by a killed JVM (reported as an error record, never dropped).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from pipelinegen.results.testcase import TestCaseResult

# Big enough for the useful head and tail of a stack trace or log, small enough that a 2 GB
# system-out cannot blow up the bundle or the HTML summary.
MAX_TEXT_CHARS = 64 * 1024
TRUNCATION_MARKER = "\n[... {n} characters truncated by pipelinegen ...]\n"

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


@dataclass(frozen=True)
class SuiteOutput:
    """Suite-level output (Ant writes stdout/stderr per suite, after its test cases)."""

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
    return _INVALID_XML_CHARS.sub("?", text)


def _duration(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        # Surefire in some locales writes "1,234.5".
        return max(0.0, float(value.replace(",", "")))
    except ValueError:
        return 0.0


def _plain_pass(elem, suite: str, cell_id: str, attempt: int) -> TestCaseResult:
    get = elem.get
    attempt_attr = get("attempt")
    return TestCaseResult(suite, get("classname") or get("class") or "", get("name") or "", cell_id, "passed",
                          _duration(get("time")), "", "",
                          int(attempt_attr) if attempt_attr and attempt_attr.isdigit() else attempt)


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


_FAIL_TAGS = {"failure": "failed", "error": "error"}
_FLAKY_TAGS = ("flakyFailure", "flakyError")
_RERUN_TAGS = ("rerunFailure", "rerunError")


def _testcase(elem, suite: str, cell_id: str, attempt: int) -> TestCaseResult:
    status = "passed"
    message = ""
    details: list[str] = []
    flaky = 0
    reruns: list[str] = []
    stdout = stderr = ""
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
            stdout = child.text or ""
        elif tag == "system-err":
            stderr = child.text or ""
    # Logs are kept only where someone will read them: failures, errors and flaky runs.
    if status in ("failed", "error") or reruns:
        if reruns:
            details.extend(reruns)
        # Cut each stream before joining, so a 100 MB output is not copied twice first.
        if stdout.strip():
            details.append("--- system-out ---\n" + truncate(stdout))
        if stderr.strip():
            details.append("--- system-err ---\n" + truncate(stderr))
    elif status == "skipped":
        details = [d for d in (_text(c) for c in elem if c.tag == "skipped") if d]
    # Our own normalised files carry these; foreign files do not.
    attempt_attr = elem.get("attempt")
    flaky_attr = elem.get("flaky_reruns")
    return TestCaseResult(
        suite=suite,
        classname=elem.get("classname") or elem.get("class") or "",
        name=elem.get("name") or "",
        cell_id=cell_id,
        status=status,
        duration_s=_duration(elem.get("time")),
        message=truncate(message, 1024) if message else "",
        details=truncate("\n".join(details)) if details else "",
        attempt=int(attempt_attr) if attempt_attr and attempt_attr.isdigit() else attempt,
        flaky_reruns=int(flaky_attr) if flaky_attr and flaky_attr.isdigit() else flaky,
    )


class _Unreadable(Exception):
    def __init__(self, seen: int, error: Exception) -> None:
        super().__init__(str(error))
        self.seen = seen
        self.error = error


def _parse(source, cell_id: str, attempt: int, default_suite: str, counts: list[int],
           cases_only: bool = False) -> Iterator[TestCaseResult | SuiteOutput]:
    """Records from one parse of *source* (a file name or a readable). counts[0] counts records yielded."""
    failed_suites: set[str] = set()
    # End events only: a test case's suite is its parent element, whose attributes are already parsed.
    parser = etree.iterparse(
        source,
        events=("end",),
        tag=("testsuite", "testcase"),
        huge_tree=True,
        remove_comments=True,
        remove_pis=True,
        resolve_entities=False,
        no_network=True,
    )
    # Holding the parent proxy makes lxml hand back the same object, so its name is looked up once.
    last_parent = None
    last_suite = default_suite
    processed = 0
    try:
        for _event, elem in parser:
            parent = elem.getparent()
            if elem.tag == "testcase":
                if parent is not last_parent:
                    last_parent = parent
                    last_suite = (parent.get("name") or default_suite) \
                        if parent is not None and parent.tag == "testsuite" else default_suite
                suite = last_suite
                if len(elem):
                    result = _testcase(elem, suite, cell_id, attempt)
                    if result.status in ("failed", "error"):
                        failed_suites.add(suite)
                else:  # the common case, a plain pass: skip the general path
                    result = _plain_pass(elem, suite, cell_id, attempt)
                counts[0] += 1
                yield result
            elif not cases_only:
                suite = elem.get("name") or default_suite
                out = err = ""
                for child in elem:
                    if child.tag == "system-out":
                        out = child.text or ""
                    elif child.tag == "system-err":
                        err = child.text or ""
                if out.strip() or err.strip():
                    counts[0] += 1
                    yield SuiteOutput(suite, cell_id, truncate(out), truncate(err), suite in failed_suites)
            # Drop the element, and now and then every already-processed sibling before it (in one
            # slice: the parser may already have built siblings after it): memory stays flat.
            elem.clear(keep_tail=False)
            processed += 1
            if parent is not None and (processed & 63 == 0 or elem.tag == "testsuite"):
                del parent[:parent.index(elem)]
    except etree.XMLSyntaxError as err:
        raise _Unreadable(counts[0], err) from err


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


def iter_records(source: str | Path | BinaryIO, cell_id: str, attempt: int = 1, name: str | None = None,
                 repair: bool = True, cases_only: bool = False) -> Iterator[TestCaseResult | SuiteOutput]:
    """Stream test cases (and suite-level output) from one JUnit XML file or binary file object.

    A file is first parsed by libxml2 straight from disk (fastest); only if that fails is it parsed
    again through the repairing reader (BOM, control characters), skipping what was already yielded.
    A stream is parsed through the repairing reader unless repair=False (our own normalised files).
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        label = name or path.name
        counts = [0]
        try:
            yield from _parse(str(path), cell_id, attempt, path.stem, counts, cases_only)
            return
        except _Unreadable:
            done = counts[0]
        retry = [0]
        try:
            with open(path, "rb") as handle:
                for record in _parse(_CleanReader(handle), cell_id, attempt, path.stem, retry, cases_only):
                    if retry[0] > done:
                        yield record
        except _Unreadable as err:
            yield _unreadable(label, cell_id, attempt, err.seen, err.error)
        return
    label = name or str(getattr(source, "name", "") or "junit.xml")
    try:
        yield from _parse(_CleanReader(source) if repair else source, cell_id, attempt, Path(label).stem, [0],
                          cases_only)
    except _Unreadable as err:
        yield _unreadable(label, cell_id, attempt, err.seen, err.error)


def iter_testcases(path: str | Path | BinaryIO, cell_id: str, attempt: int = 1,
                   repair: bool = True) -> Iterator[TestCaseResult]:
    """Stream every <testcase> of one JUnit XML file as a TestCaseResult (constant memory)."""
    # cases_only: no SuiteOutput is built, so every record is a TestCaseResult.
    return iter_records(path, cell_id, attempt, repair=repair, cases_only=True)  # type: ignore[return-value]
