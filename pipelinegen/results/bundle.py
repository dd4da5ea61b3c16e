"""Write and read result bundles (format: docs/result-format.md).

Producers (`pipelinegen run`, the Jenkins-clone driver, `results collect`) use BundleWriter:

    with BundleWriter(out, subject=..., parameters=..., producer=..., cells=plan.cells) as writer:
        writer.add_cell(cell, status="passed", attempts=1, duration_s=61.2, node="agent-3",
                        junit=[Path("build/test/output")], logs=[Path("logs/test_jdk11_1of4.log.xz")])
    # leaving the block normally writes a complete bundle; an exception (Ctrl-C) writes one
    # marked incomplete, which `results verify` rejects with that reason.

Cells of the plan that were never added are recorded as "not-run", so a missing split is visible.
"""

from __future__ import annotations

import array
import hashlib
import heapq
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from functools import reduce
from itertools import groupby, islice, repeat
from operator import add, itemgetter
from pathlib import Path

from pipelinegen.escape import only_ascii_in
from pipelinegen.fsutil import sha256_bytes, sha256_file
from pipelinegen.plan.cell import Cell, Parameters
from pipelinegen.results import archive, attest
from pipelinegen.results.formats import record_batches_of, result_files
from pipelinegen.results.junit import PlainRun, SuiteOutput
from pipelinegen.results.manifest import (
    ATTESTATION,
    CELL_STATUSES,
    CELLS_DIR,
    DIGESTS,
    MANIFEST,
    MAX_LISTED_DUPLICATES,
    SIGNATURE,
    CellRef,
    CellResult,
    Producer,
    Subject,
    TestCounts,
    build_manifest,
    dumps,
    schema_problems,
)
from pipelinegen.results.normalise import ATTRIBUTE_PLAIN_ASCII, JUnitStreamWriter, junit_writer
from pipelinegen.results.records import PLAIN_ASCII, RECORDS_NAME, RecordsWriter, read_records
from pipelinegen.results.testcase import MAX_NAME_CHARS, TestCaseResult, bounded_name, bounded_names

JUNIT_NAME = "junit.xml"
_CELL_ID = re.compile(r"[A-Za-z0-9_.-]{1,200}")


class BundleTooLarge(ValueError):
    """The inputs would make a bundle over the limits readers hold it to (results.archive); nothing is written."""


def _as_ref(cell: Cell | CellRef) -> CellRef:
    return cell if isinstance(cell, CellRef) else CellRef.from_cell(cell)


class _DuplicateTracker:
    """Finds a test seen twice in one cell, or in two splits of the same step and axes, in flat memory.

    Each test case costs 8 bytes on disk, not its identity in memory: the 64-bit hash of (group, suite,
    classname, name) is appended to one of BUCKETS files, chosen by the hash of (group, suite, classname), so
    the cases of one class go to one bucket in one C-speed step (a duplicate has the same class, hence the
    same bucket). report() reads one bucket at a time and keeps the hashes seen more than once; only when
    there are such candidates are the staged records files read again to confirm them exactly, so a hash
    collision is never reported and a real duplicate is never dropped.
    """

    BUCKETS = 64
    _SPILL = 4096
    _FIT = 1 << 20  # keys of one bucket checked in memory at once (8 MiB, and a set of as many)

    def __init__(self, directory: Path) -> None:
        self._dir = directory
        self._dir.mkdir(parents=True, exist_ok=True)
        self._buffers = [array.array("q") for _ in range(self.BUCKETS)]
        self._spilled = [False] * self.BUCKETS
        self._cells: dict[str, tuple[str, Path]] = {}  # cell id -> (group, staged records file)

    def add_cell(self, cell_id: str, group: str, records: Path) -> None:
        self._cells[cell_id] = (group, records)

    def see(self, group: str, case: TestCaseResult) -> None:
        bucket = hash((group, case.suite, case.classname)) & 63  # BUCKETS - 1
        buffer = self._buffers[bucket]
        buffer.append(hash((group, case.suite, case.classname, case.name)))
        if len(buffer) >= self._SPILL:
            self._spill(bucket)

    def see_many(self, group: str, suite: str, classnames: Sequence[str], names: Sequence[str]) -> None:
        """see() for test cases of one suite, their keys hashed and stored at C speed, a class at a time."""
        keys = map(hash, zip(repeat(group), repeat(suite), classnames, names))
        if classnames and classnames.count(classnames[0]) == len(classnames):  # one class (Ant, Surefire)
            self._extend(hash((group, suite, classnames[0])) & 63, keys)
            return
        start = 0
        for classname, run in groupby(classnames):  # pytest: a suite of many classes (modules)
            end = start + sum(1 for _ in run)
            self._extend(hash((group, suite, classname)) & 63, islice(keys, end - start))
            start = end

    def _extend(self, bucket: int, keys: Iterable[int]) -> None:
        buffer = self._buffers[bucket]
        buffer.extend(keys)
        if len(buffer) >= self._SPILL:
            self._spill(bucket)

    def _spill(self, bucket: int) -> None:
        with open(self._dir / f"{bucket:02d}", "ab") as out:
            self._buffers[bucket].tofile(out)
        self._buffers[bucket] = array.array("q")
        self._spilled[bucket] = True

    def _candidates(self) -> set[int]:
        found: set[int] = set()
        for bucket in range(self.BUCKETS):
            path = self._dir / f"{bucket:02d}"
            size = (path.stat().st_size // 8 if self._spilled[bucket] else 0) + len(self._buffers[bucket])
            if size > self._FIT:  # one class of millions of test cases: split its bucket further, on disk
                if self._buffers[bucket]:
                    self._spill(bucket)
                found |= _repeated_on_disk(path)
                continue
            keys = array.array("q")
            if self._spilled[bucket]:
                with open(path, "rb") as handle:
                    keys.frombytes(handle.read())
            keys.extend(self._buffers[bucket])
            if len(set(keys)) != len(keys):
                found |= _repeated(keys)
        return found

    def report(self, listed: int) -> tuple[list[dict], int]:
        """The first *listed* duplicates (sorted by group, classname, name, suite) and how many there are."""
        candidates = self._candidates()
        if not candidates:
            return [], 0
        sightings: dict[tuple[str, str, str, str], list[str]] = {}
        for cell_id, (group, records) in self._cells.items():
            with open(records, "rb") as handle:
                for case in read_records(handle, cell_id, records.name):
                    identity = (group, case.suite, case.classname, case.name)
                    if hash(identity) in candidates:
                        sightings.setdefault(identity, []).append(cell_id)
        total = sum(len(cells) > 1 for cells in sightings.values())
        # nsmallest: a broken split that runs every test everywhere must not build a dict per duplicate.
        first = heapq.nsmallest(listed, (((group, classname, name, suite), cells)
                                         for (group, suite, classname, name), cells in sightings.items()
                                         if len(cells) > 1), key=itemgetter(0))
        return [{"suite": suite, "classname": classname, "name": name, "group": group, "cells": sorted(set(cells)),
                 "count": len(cells)} for (group, classname, name, suite), cells in first], total


def _repeated(keys: Iterable[int], seen: set[int] | None = None) -> set[int]:
    """The keys that occur more than once (also among *seen*, which it adds to)."""
    seen = set() if seen is None else seen
    found: set[int] = set()
    for key in keys:
        if key in seen:
            found.add(key)
        seen.add(key)
    return found


def _key_chunks(path: Path) -> Iterator[array.array]:
    with open(path, "rb") as handle:
        while data := handle.read(8 << 16):
            yield array.array("q", data)


def _repeated_on_disk(path: Path) -> set[int]:
    """_repeated for a bucket file too large for memory: its keys are split into BUCKETS files by other bits
    (a key's bucket chose only its class), then each is checked holding only its distinct keys."""
    parts = [array.array("q") for _ in range(_DuplicateTracker.BUCKETS)]
    files = [path.with_name(f"{path.name}-{i:02d}") for i in range(_DuplicateTracker.BUCKETS)]

    def flush(i: int) -> None:
        with open(files[i], "ab") as out:
            parts[i].tofile(out)
        parts[i] = array.array("q")

    for chunk in _key_chunks(path):
        for key in chunk:
            parts[(key >> 6) & 63].append(key)
        for i, part in enumerate(parts):
            if len(part) >= _DuplicateTracker._SPILL:
                flush(i)
    found: set[int] = set()
    for i in range(len(parts)):
        if parts[i]:
            flush(i)
        if files[i].exists():
            seen: set[int] = set()
            for chunk in _key_chunks(files[i]):
                found |= _repeated(chunk, seen)
            files[i].unlink()
    return found


_CLASSNAME, _NAME, _DURATION = itemgetter(1), itemgetter(2), itemgetter(5)
_PLAIN_FOR_BOTH = bytes(sorted(set(ATTRIBUTE_PLAIN_ASCII) & set(PLAIN_ASCII)))  # what neither writer changes


def _plain_pass(record: TestCaseResult) -> bool:
    """Written as the shortest line in both junit.xml and records.tsv (JUnitStreamWriter/RecordsWriter.write_passed)."""
    return record.status == "passed" and record.attempt == 1 and not record.flaky_reruns and not record.message \
        and not record.details


class _HashingFile:
    """A binary file that hashes what is written to it (no second read to digest it)."""

    def __init__(self, path: Path) -> None:
        # A 1 MiB buffer, allocated once: the writers hand over 64 KiB at a time (one system call per MiB).
        self._handle = open(path, "wb", buffering=1 << 20)  # noqa: SIM115 (closed by close())
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self._handle.write(data)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> _HashingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BundleWriter:
    """Stages cells one by one (streaming their JUnit), then writes the archive atomically."""

    def __init__(self, out: Path, *, subject: Subject, parameters: Parameters | dict, producer: Producer,
                 cells: Sequence[Cell | CellRef] = (), pipeline: dict | None = None,
                 sign_key: Path | None = None) -> None:
        self.out = Path(out)
        archive.compression_for(self.out)  # fail fast on a bad name, before any work
        self.subject = subject
        self.parameters = parameters.as_dict() if isinstance(parameters, Parameters) else dict(parameters)
        self.profile = self.parameters.get("profile", "")
        self.producer = producer
        self.pipeline = pipeline
        self.sign_key = Path(sign_key) if sign_key else None
        self._planned = [_as_ref(c) for c in cells]
        self._results: dict[str, CellResult] = {}
        self._tmp = tempfile.TemporaryDirectory(prefix=".bundle-", dir=self.out.parent if self.out.parent.is_dir()
                                                else None)
        self.staging = Path(self._tmp.name)
        self._dups = _DuplicateTracker(self.staging / ".duplicates")  # outside cells/: never archived
        self._digests: dict[str, str] = {}  # staged member -> sha256, for files hashed while written
        self.manifest: dict | None = None  # the manifest written, once finish() has written the bundle
        self._done = False

    def __enter__(self) -> BundleWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._done:
            return
        if exc_type is None:
            self.finish()
        else:
            # Ctrl-C or a crash: still leave evidence, clearly marked as not a certification.
            reason = "interrupted by the user (Ctrl-C)" if exc_type is KeyboardInterrupt else \
                f"producer stopped with {exc_type.__name__}: {exc}"
            try:
                self.finish(incomplete=True, reason=reason)
            except Exception:
                self.close()

    def add_cell(self, cell: Cell | CellRef, *, status: str, attempts: int = 1, duration_s: float = 0.0,
                 node: str = "", junit: Sequence[Path] = (), logs: Sequence[Path] = (),
                 flaky_tests: Sequence[str] = (), usage: Sequence[dict] = ()) -> CellResult:
        """Record one finished cell; its JUnit files (of the last attempt) are parsed and normalised now.

        flaky_tests: test ids (classname.name) that failed on an earlier attempt of this cell and passed
        on the last one; they are recorded as flaky (flaky_reruns >= 1).
        """
        ref = _as_ref(cell)
        if not _CELL_ID.fullmatch(ref.id) or ref.id in (".", ".."):
            # the id becomes a directory of the bundle: '../x' would write outside the staging directory
            raise ValueError(f"cell id {ref.id[:100]!r} is not a plain name (letters, digits, _ . -)")
        if status not in CELL_STATUSES:
            raise ValueError(f"cell {ref.id}: status {status!r} is not one of {', '.join(CELL_STATUSES)}")
        if ref.id in self._results:
            raise ValueError(f"cell {ref.id} was added twice")
        result = CellResult(ref=ref, reported_status=status, attempts=attempts, duration_s=duration_s, node=node,
                            usage=[dict(u) for u in usage])
        cell_dir = self.staging / CELLS_DIR / ref.id
        cell_dir.mkdir(parents=True, exist_ok=True)
        sources = result_files(junit)
        if sources:
            result.junit = f"{CELLS_DIR}/{ref.id}/{JUNIT_NAME}"
            result.records = f"{CELLS_DIR}/{ref.id}/{RECORDS_NAME}"
            self._ingest(ref, sources, result, attempts, frozenset(flaky_tests))
        for i, log in enumerate(map(Path, logs)):
            if not log.is_file():
                continue
            name = log.name if not (cell_dir / "logs" / log.name).exists() else f"{i}-{log.name}"
            (cell_dir / "logs").mkdir(exist_ok=True)
            shutil.copyfile(log, cell_dir / "logs" / name)
            result.logs.append(f"{CELLS_DIR}/{ref.id}/logs/{name}")
        self._results[ref.id] = result
        return result

    def _ingest(self, ref: CellRef, sources: list[Path], result: CellResult, attempt: int,
                flaky_tests: frozenset[str]) -> None:
        """Parse the cell's JUnit once; write junit.xml and records.tsv, hashing both as they are written."""
        group = ref.group
        see = self._dups.see
        statuses = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
        duration = 0.0
        flaky = 0
        assert result.junit and result.records
        with _HashingFile(self.staging / result.junit) as junit_out, \
                _HashingFile(self.staging / result.records) as records_out, \
                junit_writer(junit_out, ref.id) as writer:
            records = RecordsWriter(records_out)
            write, keep = writer.write, records.write
            cell_id = ref.id
            for source in sources:
                result.junit_files.append(source.name)
                for batch in record_batches_of(source, cell_id, attempt=max(attempt, 1)):
                    if batch.__class__ is PlainRun:
                        if batch.attempt == 1 and not flaky_tests:
                            # Columns of plain passes (passed, no message, no details, no reruns): no record built.
                            duration = self._write_passed(writer, records, group, cell_id, batch.suite,
                                                          batch.classnames, batch.names, batch.seconds, duration)
                            statuses["passed"] += len(batch)
                            continue
                        batch = list(batch)
                    index, end = 0, len(batch)
                    while index < end:
                        record = batch[index]
                        if record.__class__ is TestCaseResult and _plain_pass(record) and not flaky_tests:
                            # A run of plain passes of one suite: written, counted and hashed in bulk.
                            suite = record.suite
                            stop = index + 1
                            while stop < end:
                                other = batch[stop]
                                if other.__class__ is not TestCaseResult or other.suite != suite \
                                        or not _plain_pass(other):
                                    break
                                stop += 1
                            run = batch[index:stop]
                            duration = self._write_passed(writer, records, group, cell_id, suite,
                                                          list(map(_CLASSNAME, run)), list(map(_NAME, run)),
                                                          list(map(_DURATION, run)), duration)
                            statuses["passed"] += stop - index
                            index = stop
                            continue
                        index += 1
                        if isinstance(record, SuiteOutput):
                            if len(record.suite) > MAX_NAME_CHARS:
                                record = record._replace(suite=bounded_name(record.suite))
                            write(record)
                            continue
                        if flaky_tests and record.status == "passed" and record.test_id in flaky_tests:
                            record = record._replace(flaky_reruns=max(1, record.flaky_reruns))
                        record = bounded_names(record)
                        write(record)
                        keep(record)
                        statuses[record.status] += 1
                        duration += record.duration_s
                        if record.flaky_reruns:
                            flaky += 1
                        see(group, record)
            records.flush()
        self._digests[result.junit] = junit_out.digest.hexdigest()
        self._digests[result.records] = records_out.digest.hexdigest()
        self._dups.add_cell(ref.id, group, self.staging / result.records)
        result.tests.merge(TestCounts(**statuses, flaky=flaky, duration_s=duration))

    def _write_passed(self, writer: JUnitStreamWriter, records: RecordsWriter, group: str, cell_id: str, suite: str,
                      classnames: list[str], names: list[str], seconds: list[float], duration: float) -> float:
        """Write, hash and add up a run of plain passes of one suite in bulk; returns the cell's new duration."""
        classes_text, names_text = "".join(classnames), "".join(names)
        if max(len(suite), len(classes_text), len(names_text)) > MAX_NAME_CHARS \
                and max(len(suite), max(map(len, classnames)), max(map(len, names))) > MAX_NAME_CHARS:
            suite, classnames, names = bounded_name(suite), list(map(bounded_name, classnames)), \
                list(map(bounded_name, names))
            classes_text, names_text = "".join(classnames), "".join(names)
        # One check for both writers: names neither would change (nearly all) are written as they are.
        plain = only_ascii_in(classes_text, _PLAIN_FOR_BOTH) and only_ascii_in(names_text, _PLAIN_FOR_BOTH)
        times = list(map(format, seconds, repeat(".3f")))
        writer.write_passed(suite, cell_id, classnames, names, times, plain)
        records.write_passed(suite, classnames, names, times, plain)
        self._dups.see_many(group, suite, classnames, names)
        return reduce(add, seconds, duration)  # the additions `duration += d` makes, in the same order

    def cells(self) -> list[CellResult]:
        ordered = [self._results.get(ref.id) or CellResult(ref=ref) for ref in self._planned]
        planned = {ref.id for ref in self._planned}
        ordered += [r for cid, r in self._results.items() if cid not in planned]
        return ordered

    def finish(self, incomplete: bool = False, reason: str = "") -> Path:
        """Write manifest, digests, attestation (and signature), then the archive. Returns its path."""
        if self._done:
            raise RuntimeError("bundle already written")
        try:
            duplicates, duplicate_total = self._dups.report(MAX_LISTED_DUPLICATES)
            manifest = build_manifest(
                subject=self.subject, pipeline=self.pipeline, profile=self.profile, parameters=self.parameters,
                producer=self.producer, cells=self.cells(), duplicates=duplicates, duplicate_total=duplicate_total,
                incomplete=incomplete, incomplete_reason=reason if incomplete else "",
            )
            problems = schema_problems(manifest)
            if problems:
                raise ValueError("refusing to write an invalid manifest:\n" + "\n".join(problems))
            manifest_bytes = dumps(manifest)
            (self.staging / MANIFEST).write_bytes(manifest_bytes)
            files = sorted(p.relative_to(self.staging).as_posix() for p in (self.staging / CELLS_DIR).rglob("*")
                           if p.is_file()) if (self.staging / CELLS_DIR).is_dir() else []
            lines = [f"{self._digests.get(name) or sha256_file(self.staging / name)}  {name}\n"
                     for name in [MANIFEST, *files]]
            digests_bytes = "".join(sorted(lines, key=lambda line: line.split("  ", 1)[1])).encode()
            (self.staging / DIGESTS).write_bytes(digests_bytes)
            stmt = attest.statement(manifest, sha256_bytes(manifest_bytes), sha256_bytes(digests_bytes))
            stmt_bytes = dumps(stmt)
            (self.staging / ATTESTATION).write_bytes(stmt_bytes)
            head = [MANIFEST, DIGESTS, ATTESTATION]
            if self.sign_key is not None:
                (self.staging / SIGNATURE).write_bytes(attest.sign(stmt_bytes, self.sign_key))
                head.append(SIGNATURE)
            sizes = {name: (self.staging / name).stat().st_size for name in head + files}
            problems = archive.limit_problems(sizes)
            if problems:  # e.g. 15,000 cells make a manifest over 8 MiB: refuse rather than write an unreadable bundle
                raise BundleTooLarge(f"refusing to write a bundle no reader would take: {'; '.join(problems[:5])}")
            archive.write_tar(self.out, self.staging, head + files)
            self.manifest = manifest
            self._done = True
            return self.out
        finally:
            self.close()

    def close(self) -> None:
        self._tmp.cleanup()


def write_bundle(out: Path, *, subject: Subject, parameters: Parameters | dict, producer: Producer,
                 results: Iterable[dict], cells: Sequence[Cell | CellRef] = (), pipeline: dict | None = None,
                 sign_key: Path | None = None, incomplete: bool = False, reason: str = "") -> Path:
    """One-call form: *results* are add_cell keyword dicts, each with a `cell` key."""
    writer = BundleWriter(out, subject=subject, parameters=parameters, producer=producer, cells=cells,
                          pipeline=pipeline, sign_key=sign_key)
    try:
        for item in results:
            item = dict(item)
            writer.add_cell(item.pop("cell"), **item)
    except BaseException:
        writer.close()
        raise
    return writer.finish(incomplete=incomplete, reason=reason)
