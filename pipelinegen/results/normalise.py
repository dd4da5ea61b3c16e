"""Write test cases back out as one normalised JUnit XML stream (per cell, or merged), incrementally.

The output is plain JUnit that Jenkins' junit step and any JUnit viewer read: <testsuites> holding one
<testsuite> per run of consecutive cases from the same (cell, suite). Counts are not written as suite
attributes because a stream does not know them up front; they are in the bundle manifest. Extra
attributes `cell`, `attempt` and `flaky_reruns` keep what plain JUnit cannot say.

Written as text, buffered, with every value escaped by pipelinegen.escape (xml_attribute / xml_text): building
one lxml element per test case cost several times the parse of the input (issue 16).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

from pipelinegen.escape import only_ascii_in, xml_attribute, xml_text
from pipelinegen.results.junit import SuiteOutput, xml_safe
from pipelinegen.results.testcase import TestCaseResult

_STATUS_TAG = {"failed": "failure", "error": "error", "skipped": "skipped"}
_FLUSH_PARTS = 2048
_FLUSH_CHARS = 1 << 16  # characters held before flushing: see records._FLUSH_CHARS
_PASSED_CASE = ['<testcase classname="', "", '" name="', "", '" time="', "", '"/>']  # write_passed fills the gaps


# Anything xml_safe or xml_attribute would change; most names contain none of it (one scan, then done).
_ATTRIBUTE_WORK = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')
ATTRIBUTE_PLAIN_ASCII = bytes(c for c in range(0x20, 0x80) if chr(c) not in '&<>"')  # _ATTRIBUTE_WORK leaves alone


def _attr(text: str) -> str:
    return text if _ATTRIBUTE_WORK.search(text) is None else xml_attribute(xml_safe(text))


def _text(text: str) -> str:
    if not text:
        return ""
    try:  # xml_text refuses every character xml_safe would replace: check long texts once, not twice
        return xml_text(text)
    except ValueError:
        return xml_text(xml_safe(text))


class JUnitStreamWriter:
    """Appends TestCaseResult / SuiteOutput records to a binary stream as JUnit XML (buffered)."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._parts: list[str] = []
        self._suite: str | None = None  # the open <testsuite>: its suite and cell
        self._cell: str | None = None
        self._classes: dict[str, str] = {}  # classname -> escaped (a suite repeats one classname)
        self._pending = 0  # characters held (in _parts) since the last flush, counted for all but plain passes

    def _emit(self, text: str) -> None:
        # Flushed by size too: 2,048 failures of 64 KiB each held 128 MiB here (a broken build's output).
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= _FLUSH_CHARS or len(self._parts) >= _FLUSH_PARTS:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._out.write("".join(self._parts).encode("utf-8"))
            self._parts.clear()
        self._pending = 0

    def _open_suite(self, suite: str, cell_id: str) -> None:
        self._close_suite()
        cell = f' cell="{_attr(cell_id)}"' if cell_id else ""
        self._emit(f'<testsuite name="{_attr(suite)}"{cell}>')
        self._suite, self._cell = suite, cell_id
        self._classes.clear()

    def _close_suite(self) -> None:
        if self._suite is not None:
            self._emit("</testsuite>")
            self._suite = self._cell = None

    def write(self, record: TestCaseResult | SuiteOutput) -> None:
        if record.suite != self._suite or record.cell_id != self._cell:
            self._open_suite(record.suite, record.cell_id)
        if record.__class__ is SuiteOutput:
            for tag, text in (("system-out", record.stdout), ("system-err", record.stderr)):
                if text.strip():
                    self._emit(f"<{tag}>{_text(text)}</{tag}>")
            return
        classname = self._classes.get(record.classname)
        if classname is None:
            classname = self._classes[record.classname] = _attr(record.classname)
        name = record.name
        if _ATTRIBUTE_WORK.search(name) is not None:
            name = xml_attribute(xml_safe(name))
        head = f'<testcase classname="{classname}" name="{name}" time="{record.duration_s:.3f}"'
        status = record.status
        if status == "passed" and record.attempt == 1 and not record.flaky_reruns:
            # The common case (~95 % of a Cassandra run), kept short: one string, no other test.
            self._parts.append(head + "/>")
            if len(self._parts) >= _FLUSH_PARTS:
                self.flush()
            return
        if record.attempt != 1:
            head += f' attempt="{record.attempt}"'
        if record.flaky_reruns:
            head += f' flaky_reruns="{record.flaky_reruns}"'
        tag = _STATUS_TAG.get(status)
        if tag:
            message = f' message="{_attr(record.message)}"' if record.message else ""
            body = f"<{tag}{message}>{_text(record.details)}</{tag}>" if record.details else f"<{tag}{message}/>"
            self._emit(f"{head}>{body}</testcase>")
        elif record.flaky_reruns and record.details:
            # A flaky pass keeps the traces of its failed runs, as Surefire does.
            self._emit(f"{head}><flakyFailure>{_text(record.details)}</flakyFailure></testcase>")
        else:
            self._emit(head + "/>")

    def write_passed(self, suite: str, cell_id: str, classnames: Sequence[str], names: Sequence[str],
                     times: Sequence[str], plain: bool = False) -> None:
        """Consecutive plain passes of one suite (attempt 1, no reruns), exactly as write() writes each, in one
        step: *times* are their durations with 3 decimals. Per test case this runs at C speed (zip, join).
        *plain*: the caller found every class name and name made of ATTRIBUTE_PLAIN_ASCII only."""
        if suite != self._suite or cell_id != self._cell:
            self._open_suite(suite, cell_id)
        if not plain and not only_ascii_in("".join(classnames), ATTRIBUTE_PLAIN_ASCII):
            classnames = list(map(_attr, classnames))
        if not plain and not only_ascii_in("".join(names), ATTRIBUTE_PLAIN_ASCII):
            names = list(map(_attr, names))
        # A template repeated, then the columns assigned into it: one join, no string per test case.
        parts = _PASSED_CASE * len(names)
        parts[1::7], parts[3::7], parts[5::7] = classnames, names, times
        text = "".join(parts)
        self._parts.append(text)
        self._pending += len(text)
        if self._pending >= _FLUSH_CHARS or len(self._parts) >= _FLUSH_PARTS:
            self.flush()

    def close(self) -> None:
        self._close_suite()
        self.flush()


@contextmanager
def junit_writer(out: BinaryIO, name: str = "") -> Iterator[JUnitStreamWriter]:
    """Context manager yielding a JUnitStreamWriter that writes to the binary stream *out*."""
    root = f'<testsuites name="{_attr(name)}">' if name else "<testsuites>"
    out.write(f"<?xml version='1.0' encoding='utf-8'?>\n{root}".encode())
    writer = JUnitStreamWriter(out)
    try:
        yield writer
    finally:
        writer.close()
        out.write(b"</testsuites>")
