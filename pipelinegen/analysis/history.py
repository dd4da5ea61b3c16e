"""The test-run history: every ingested run's outcomes, queried by test and time.

`HistoryStore(path)` is the SQLite implementation of the small `HistoryBackend` interface; a server
database could implement the same methods later. The schema lives in `history_schema/NNNN_*.sql`
migrations applied in order (the DB's `user_version` is the last applied one).

Passing executions are stored per run as a deduplicated *test set* (see 0001_initial.sql); only
non-passing executions get rows. That keeps ingest append-only (fast) and the flaky query small.
"""

from __future__ import annotations

import array
import functools
import gc
import hashlib
import json
import re
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import reduce
from importlib import resources
from itertools import groupby, repeat
from operator import add, itemgetter
from pathlib import Path
from typing import Protocol

import zstandard

from pipelinegen.errors import PipelineError
from pipelinegen.results.records import CaseBatch, case_batches
from pipelinegen.results.testcase import TestCaseResult

DEFAULT_DB = Path(".pipelinegen/history.sqlite")
DETAILS_LIMIT = 8000  # failure text kept per execution; the bundle keeps the full text
LOG_TAIL_LIMIT = 8000
NOT_PASSED = ("failed", "error", "skipped")
BUSY_TIMEOUT_S = 60  # how long a writer waits for another (parallel ingests take turns)
MAX_CELL_ATTEMPTS = 100_000  # cell attempts one bundle may record (cells x attempts)
QUICK_CHECK_MAX_BYTES = 64 << 20  # DBs up to this size get PRAGMA quick_check on every open
LOG_TAIL_MAX_INPUT = 256 << 20  # uncompressed log bytes read to find a tail; a bomb beyond is not read
FAILED = ("failed", "error")
READABLE_FROM_VERSION = 1  # the oldest schema the reading commands (flaky, splits, info) understand
PACK_FROM = 256  # characters: a failure text (details) this long is stored zstd-compressed (schema version 3)
PACK_LEVEL = -1
_PACKED_MAX_BYTES = 4 * DETAILS_LIMIT  # what a stored compressed text may unpack to: UTF-8 of DETAILS_LIMIT chars


@dataclass(frozen=True)
class RunInfo:
    """Metadata of one CI run (from a result bundle manifest, or synthetic in tests)."""

    run_id: str  # the bundle manifest digest: the same run ingested twice is recognised by it
    commit: str
    branch: str
    started_at: float  # unix seconds
    repository: str = ""
    profile: str = ""
    source: str = ""


@dataclass(frozen=True)
class CellRun:
    """One attempt of one plan cell in a run: where it ran and how it ended."""

    cell_id: str
    step: str
    axes: tuple[tuple[str, str], ...] = ()  # without the split
    attempt: int = 1
    node: str = ""  # agent / node name
    status: str = ""  # passed | failed | timeout | aborted | ""
    duration_s: float = 0.0
    log_tail: str = ""


@dataclass(frozen=True)
class RunRow:
    id: int
    run_id: str
    commit: str
    branch: str
    started_at: float
    testset: int
    executions: int
    failures: int


@dataclass(frozen=True)
class Variant:
    id: int
    step: str
    axes: tuple[tuple[str, str], ...]

    @functools.cached_property
    def label(self) -> str:
        values = " ".join(f"{k}={v}" for k, v in self.axes)
        return f"{self.step} {values}".strip() or "(unknown cell)"


@dataclass(frozen=True)
class Outcome:
    """A non-passing execution (or one that passed only after reruns)."""

    run: int
    cell_id: str
    attempt: int
    variant: int
    status: str
    duration_s: float
    flaky_reruns: int
    message: str
    details: str | bytes  # as stored: long texts zstd-compressed (pack_text); the text: details_text()

    def details_text(self) -> str:
        """The failure text (unpacked here, not when the history is read: a window's traces are ~300 MiB)."""
        return unpack_text(self.details)


@dataclass(frozen=True)
class CellRow:
    run: int
    cell_id: str
    attempt: int
    variant: int
    node: str
    status: str
    executions: int
    failures: int
    log_tail: str


@dataclass
class TestRun:
    """What one test did in one run: executions per variant and its non-passing outcomes."""

    run: RunRow
    executions: dict[int, int]  # variant id -> executions (any status)
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.executions.values())

    def failed(self, variant: int | None = None) -> int:
        return sum(1 for o in self.outcomes if o.status in FAILED and (variant is None or o.variant == variant))

    def skipped(self, variant: int | None = None) -> int:
        return sum(1 for o in self.outcomes if o.status == "skipped" and (variant is None or o.variant == variant))

    def passed(self, variant: int | None = None) -> int:
        total = self.total if variant is None else self.executions.get(variant, 0)
        return max(0, total - self.failed(variant) - self.skipped(variant))


@dataclass
class History:
    """A window of the history, the input of flaky analysis.

    Sparse on purpose: per test only its non-passing outcomes are materialised; how often it ran is
    derived from the few distinct test sets (per commit, per variant, or per run on demand).
    """

    runs: list[RunRow]
    test_ids: dict[str, int]  # test name (classname.name) -> id, for the tests of this window's question
    outcomes: dict[str, list[tuple[RunRow, Outcome]]]  # test name -> non-passing outcomes, in run order
    testsets: dict[int, dict[int, dict[int, int]]]  # testset id -> test id -> variant -> executions
    cells: dict[tuple[int, str, int], CellRow]  # (run, cell_id, attempt) -> cell, for the outcomes above
    node_cells: dict[str, int]  # node -> cells it ran in the window
    variants: dict[int, Variant]
    run_failures: dict[int, int]  # run id -> failing executions in that run (all tests)
    commit_order: dict[str, int] = field(default_factory=dict)  # commit -> position of its first run
    commit_testsets: dict[str, dict[int, int]] = field(default_factory=dict)  # commit -> testset -> runs

    def __post_init__(self) -> None:
        for run in self.runs:
            self.commit_order.setdefault(run.commit, len(self.commit_order))
            per = self.commit_testsets.setdefault(run.commit, {})
            per[run.testset] = per.get(run.testset, 0) + 1
        self._window_testsets: dict[int, int] = {}
        self._commits_cache: dict[frozenset[int], list[str]] = {}
        for per in self.commit_testsets.values():
            for testset, n in per.items():
                self._window_testsets[testset] = self._window_testsets.get(testset, 0) + n

    def executions(self, test: str, commit: str | None = None) -> dict[int, int]:
        """variant -> executions of *test* in the window (or on one commit)."""
        test_id = self.test_ids[test]
        source = self._window_testsets if commit is None else self.commit_testsets.get(commit, {})
        result: dict[int, int] = {}
        for testset, runs in source.items():
            for variant, n in self.testsets[testset].get(test_id, {}).items():
                result[variant] = result.get(variant, 0) + n * runs
        return result

    def _membership(self, test: str) -> frozenset[int]:
        """The window's test sets that contain *test*: tests with equal membership share runs and commits."""
        test_id = self.test_ids[test]
        return frozenset(t for t in self._window_testsets if test_id in self.testsets[t])

    def runs_of(self, test: str) -> int:
        """How many runs of the window ran *test*."""
        return sum(self._window_testsets[t] for t in self._membership(test))

    def commits_of(self, test: str) -> list[str]:
        """The commits *test* ran on, in window order (cached per test-set membership: usually one list)."""
        key = self._membership(test)
        found = self._commits_cache.get(key)
        if found is None:
            found = [c for c, per in self.commit_testsets.items() if not key.isdisjoint(per)]
            self._commits_cache[key] = found
        return found

    def timeline(self, test: str) -> list[TestRun]:
        """One entry per run *test* ran in (O(runs): for reports and explain, not for the list)."""
        test_id = self.test_ids[test]
        by_run: dict[int, list[Outcome]] = {}
        for run, outcome in self.outcomes.get(test, []):
            by_run.setdefault(run.id, []).append(outcome)
        result = []
        for run in self.runs:
            executions = self.testsets[run.testset].get(test_id)
            if executions is not None:
                result.append(TestRun(run, executions, by_run.get(run.id, [])))
        return result


class HistoryBackend(Protocol):
    """What the rest of pipelinegen needs from a history store (SQLite today, a server DB later)."""

    def has_run(self, run_id: str) -> bool: ...

    def ingest_run(self, run: RunInfo, testcases: Iterable[TestCaseResult], cells: Iterable[CellRun] = ()) -> bool: ...

    def ingest_batches(self, run: RunInfo, batches: Iterable[CaseBatch], cells: Iterable[CellRun] = ()) -> bool: ...

    def durations(self, step: str | None = None, branch: str | None = None) -> dict[str, float]: ...

    def runs(self, branch: str | None = None, since: float | None = None) -> list[RunRow]: ...

    def history(self, branch: str | None = None, since: float | None = None, tests: Sequence[str] | None = None) -> History: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- telling the real cause of a failure

_SQLITE_HEADER = b"SQLite format 3\x00"


def _file_kind(path: Path) -> str:
    """'missing', 'empty', 'sqlite' or 'other', from the file's first 16 bytes (no SQLite involved)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        return "missing"
    except IsADirectoryError:
        return "other"
    except OSError:
        return "sqlite"  # unreadable: let SQLite report the permission problem
    if not head:
        return "empty"
    return "sqlite" if head == _SQLITE_HEADER else "other"


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """Read without writing anything: mode=ro; a WAL DB on a read-only file system (its -shm cannot be
    made) is read as immutable."""
    uri = path.resolve().as_uri()
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S)
        conn.execute("PRAGMA user_version").fetchone()
        return conn
    except sqlite3.OperationalError:
        if not _read_only_fs(path):
            raise
    conn = sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)
    conn.execute("PRAGMA user_version").fetchone()
    return conn


def _read_only_fs(path: Path) -> bool:
    import os

    try:
        return bool(os.statvfs(path.parent if not path.exists() else path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _fs_full(path: Path) -> bool:
    import os

    try:
        stat = os.statvfs(path.parent)
    except OSError:
        return False
    return stat.f_bavail * stat.f_frsize < (256 << 10)


def pack_text(text: str, compressor: zstandard.ZstdCompressor) -> str | bytes:
    """A failure text as ingest stores it: a long one as zstd of its UTF-8 (a stack trace shrinks 5-15x, and
    writing it was most of an ingest's SQLite time), a short one as it is. See unpack_text."""
    if len(text) < PACK_FROM:
        return text
    return compressor.compress(text.encode("utf-8"))


def unpack_text(value: str | bytes) -> str:
    """The text pack_text stored (DBs before schema version 3 hold text only). A blob that is not what
    ingest writes raises sqlite3.DatabaseError: it is damage, reported as a corrupt DB."""
    if isinstance(value, str):
        return value
    try:
        size = zstandard.frame_content_size(value)
        if not 0 <= size <= _PACKED_MAX_BYTES:  # -1: unknown size; a forged size must not allocate gigabytes
            raise zstandard.ZstdError(f"declares {size} bytes")
        return zstandard.ZstdDecompressor().decompress(value).decode("utf-8")
    except (zstandard.ZstdError, UnicodeDecodeError, TypeError) as err:
        raise sqlite3.DatabaseError(f"database disk image is malformed (a stored failure text cannot be "
                                    f"read: {err})") from err


def describe(err: BaseException) -> str:
    name = getattr(err, "sqlite_errorname", "")
    return f"{err} ({name})" if name else str(err)


def store_error(path: Path, err: BaseException) -> PipelineError:
    """The history DB failed: say why in words a user can act on, and never advise moving a valid DB away."""
    import errno
    import os

    name = getattr(err, "sqlite_errorname", "") or ""
    text = str(err)
    where = str(path)
    if (name.startswith("SQLITE_FULL") or "disk is full" in text or getattr(err, "errno", None) == errno.ENOSPC
            or (name.startswith("SQLITE_IOERR") and _fs_full(path))):
        return PipelineError.single(where, None, f"the file system holding the history DB is full ({text}); "
                                    "nothing of this command was stored",
                                    hint="free some space and run it again; the DB itself is fine")
    if (name.startswith("SQLITE_READONLY") or "readonly" in text or "read-only" in text
            or getattr(err, "errno", None) in (errno.EROFS, errno.EACCES) or _read_only_fs(path)
            or (path.exists() and not os.access(path, os.W_OK))):
        return PipelineError.single(where, None, f"the history DB cannot be written: it or its directory is "
                                    f"read-only ({text})",
                                    hint="ingest needs write access to the DB file and its directory (SQLite "
                                         "writes -wal/-shm files next to it); reading commands work as they are")
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")) or "malformed" in text:
        return PipelineError.single(where, None, f"the history DB is corrupt ({text})",
                                    hint="restore a backup or salvage it with `sqlite3 DB .recover` (`pipelinegen "
                                         "history info` runs PRAGMA quick_check); pipelinegen did not change it")
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return PipelineError.single(where, None, f"the history DB stayed locked by another process for "
                                    f"{BUSY_TIMEOUT_S} s ({text})", hint="try again when the other ingest is done")
    if name.startswith("SQLITE_CANTOPEN") or isinstance(err, OSError):
        return PipelineError.single(where, None, f"cannot open the history DB ({text})",
                                    hint="check that the directory exists and is writable, or pass another --db")
    return PipelineError.single(where, None, f"history DB error: {describe(err)}")


@contextmanager
def store_errors(path: Path) -> Iterator[None]:
    """Turn any SQLite failure inside the block into store_error()."""
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        if isinstance(err, FileNotFoundError) and getattr(err, "filename", None) not in (None, str(path)):
            raise
        raise store_error(Path(path), err) from err


# ---------------------------------------------------------------- schema and migrations


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, sql) of every shipped migration, in order."""
    found = []
    for entry in resources.files("pipelinegen.analysis").joinpath("history_schema").iterdir():
        match = re.match(r"^(\d{4})_.*\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    """Bring the schema up to date. The version is read inside the write transaction: ten processes
    creating one new DB at once take turns, and each later one finds the schema already there."""
    known = migrations()
    latest = known[-1][0] if known else 0
    if conn.execute("PRAGMA user_version").fetchone()[0] == latest:
        return  # the usual case: no write lock taken
    conn.execute("BEGIN IMMEDIATE")  # waits (busy timeout) for a concurrent creator to finish
    try:
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current > latest:
            raise PipelineError.single(
                str(path), None,
                f"history DB schema version {current} is newer than this pipelinegen knows ({latest})",
                hint="upgrade pipelinegen, or use another --db file",
            )
        # All pending migrations in this one transaction: a failure leaves the DB at the version it had.
        for version, name, sql in known:
            if version <= current:
                continue
            try:
                for statement in _statements(sql):
                    conn.execute(statement)
            except sqlite3.Error as err:
                raise PipelineError.single(str(path), None, f"migration {name} failed: {describe(err)}") from err
            conn.execute(f"PRAGMA user_version = {version}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (sqlite3.complete_statement knows where one ends)."""
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement and not all(part.strip().startswith("--") or not part.strip() for part in statement.splitlines()):
                yield statement


# ---------------------------------------------------------------- test sets


def encode_testset(counts: dict[tuple[int, int], int]) -> tuple[str, bytes]:
    """(digest, blob) of {(test id, variant id): executions}; equal sets give equal digests."""
    return _encode_packed({test << 32 | variant: n for (test, variant), n in counts.items()})


_HIGH = 1 << 32


def _encode_packed(counts: dict[int, int]) -> tuple[str, bytes]:
    """encode_testset of {test id << 32 | variant id: executions}: sorting these ints sorts by (test, variant),
    and their 64-bit words split into the two uint32 columns at C speed."""
    keys = array.array("Q", sorted(counts))
    words = array.array("I", keys.tobytes())
    low, high = words[0::2], words[1::2]
    tests, variants = (high, low) if sys.byteorder == "little" else (low, high)
    numbers = array.array("I", map(counts.__getitem__, keys))
    raw = array.array("I", [len(keys)]).tobytes() + tests.tobytes() + variants.tobytes() + numbers.tobytes()
    return hashlib.sha256(raw).hexdigest(), zstandard.ZstdCompressor(level=3).compress(raw)


def decode_testset(blob: bytes) -> dict[int, dict[int, int]]:
    """test id -> {variant id: executions}."""
    raw = zstandard.ZstdDecompressor().decompress(blob)
    n = array.array("I", raw[:4])[0]
    width = 4 * n
    tests = array.array("I", raw[4 : 4 + width])
    variants = array.array("I", raw[4 + width : 4 + 2 * width])
    numbers = array.array("I", raw[4 + 2 * width : 4 + 3 * width])
    result: dict[int, dict[int, int]] = {}
    for test, variant, count in zip(tests, variants, numbers, strict=True):
        result.setdefault(test, {})[variant] = count
    return result


_KEPT = itemgetter(slice(DETAILS_LIMIT))  # the part of a message or failure text the DB keeps


def _with_class_id(row: tuple, class_ids: dict[str, int]) -> list:
    """An outcome row (run id, classname, name, ...) with the class's id in place of its name."""
    found = list(row)
    found[1] = class_ids[found[1]]
    return found


def _names_digest(classes: dict[tuple[int, str], list]) -> str:
    """sha256 of what a run ran: per (variant id, classname), in sorted order, the names of its test cases
    in input order (repeats included). Runs with equal digests have equal test sets (in one DB, where a
    variant id and a (classname, name) pair always mean the same); the order inside a class only decides
    whether a run of the same tests is recognised, never what is stored."""
    digest = hashlib.sha256(b"pipelinegen testset names 1\n")
    for key in sorted(classes):
        variant, classname = key
        slot = classes[key]
        names = slot[2][0] if len(slot[2]) == 1 else [name for block in slot[2] for name in block]
        joined = "\0".join(names)
        if "\0" in classname or joined.count("\0") != len(names) - 1:  # a NUL in a name: spell it unambiguously
            section = json.dumps([variant, classname, names])
            digest.update(f"J{len(section)}\0{section}".encode("utf-8", "surrogatepass"))
        else:
            digest.update(f"N{variant}\0{len(classname)}\0{classname}\0{len(names)}\0{joined}\0"
                          .encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block. Reading a run allocates tens of thousands of
    small containers that all live until the commit (column slices, outcome rows) and form no reference
    cycles: the collector would only re-scan them, and the large column lists with them, a hundred times
    per bundle (~10 ms of CPU on the dense benchmark) without freeing anything. Memory is unchanged."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# ---------------------------------------------------------------- the SQLite store


class HistoryStore:
    """SQLite history DB (WAL, versioned schema). Safe to open from several processes."""

    def __init__(self, path: Path | str = DEFAULT_DB, readonly: bool = False) -> None:
        """Open (creating and migrating unless *readonly*) the DB at *path*. Every failure is a
        PipelineError telling the real cause: not a SQLite file, corrupt, read-only, full, locked."""
        self.path = Path(path)
        self.readonly = readonly
        kind = _file_kind(self.path)
        if kind == "other":
            raise PipelineError.single(str(self.path), None, "is not a SQLite database, so not a history DB",
                                       hint="pass --db with a history DB (or a new file name to start one); "
                                            "pipelinegen does not touch this file")
        self.conn = None
        try:
            if readonly:
                if kind == "missing":
                    raise PipelineError.single(str(self.path), None, "no history DB here",
                                               hint="ingest result bundles first: `pipelinegen history ingest BUNDLE`")
                self.conn = _connect_readonly(self.path)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.conn = sqlite3.connect(str(self.path), isolation_level=None, timeout=BUSY_TIMEOUT_S)
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable at checkpoint
            self.conn.execute("PRAGMA foreign_keys=ON")
            # Readers (flaky over many runs) gain from a large page cache; ingest only appends, and a large
            # cache just holds its dirty pages in memory until the commit (-50 MiB peak, and the CPU of
            # faulting that memory in, on the dense benchmark).
            self.conn.execute("PRAGMA cache_size=-65536" if readonly else "PRAGMA cache_size=-8192")
            if readonly:
                current = self.conn.execute("PRAGMA user_version").fetchone()[0]
                known = migrations()
                # A DB that ingest has not upgraded yet is read as it is: later versions only add what
                # ingest uses (0002: testset_names).
                if known and not READABLE_FROM_VERSION <= current <= known[-1][0]:
                    raise PipelineError.single(str(self.path), None,
                                               f"history DB schema version {current}, this pipelinegen reads "
                                               f"{known[-1][0]}",
                                               hint="run `pipelinegen history ingest` once with write access to "
                                                    "upgrade it" if current < known[-1][0] else "upgrade pipelinegen")
            else:
                _migrate(self.conn, self.path)
            if kind == "sqlite" and self.path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
                # Cheap at this size (well under a second): never add to, or analyse, a damaged DB.
                damaged = self.integrity_problems()
                if damaged:
                    raise sqlite3.DatabaseError(f"database disk image is malformed ({damaged[0]})")
        except (sqlite3.Error, OSError) as err:
            self._close_quietly()
            raise store_error(self.path, err) from err
        except BaseException:
            self._close_quietly()
            raise
        self._tests: dict[str, dict[str, int]] | None = None  # classname -> test name -> test id
        self._classes: dict[str, int] | None = None
        self._variants: dict[tuple[str, str], int] | None = None
        self._data_version = -1  # PRAGMA data_version when the ids above were read
        self._testsets: dict[int, dict[int, dict[int, int]]] = {}

    def _close_quietly(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except sqlite3.Error:
                pass

    def integrity_problems(self, full: bool = False) -> list[str]:
        """PRAGMA quick_check (or integrity_check): [] when the DB file is sound."""
        rows = self.conn.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchall()
        found = [str(row[0]) for row in rows]
        return [] if found == ["ok"] else found

    def close(self) -> None:
        self.conn.close()

    def ingest_bundle(self, path: Path, allow_incomplete: bool = False) -> bool:
        """Ingest a result bundle (`pipelinegen.results`); False when it is already stored."""
        return ingest_bundle(self, path, allow_incomplete)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ ingest

    def has_run(self, run_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM runs WHERE run_key = ?", (run_id,)).fetchone() is not None

    def ingest_run(self, run: RunInfo, testcases: Iterable[TestCaseResult], cells: Iterable[CellRun] = ()) -> bool:
        """Store one run in one transaction. Returns False (and changes nothing) when it is already stored."""
        return self.ingest_batches(run, case_batches(testcases), cells)

    def ingest_batches(self, run: RunInfo, batches: Iterable[CaseBatch], cells: Iterable[CellRun] = ()) -> bool:
        """ingest_run for test cases read column by column (results.records.CaseBatch)."""
        conn = self.conn
        if self.readonly:
            raise PipelineError.single(str(self.path), None, "opened read-only: cannot ingest")
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("SELECT 1 FROM runs WHERE run_key = ?", (run.run_id,)).fetchone():
                conn.execute("ROLLBACK")
                return False
            # The ids remembered from this connection's last ingest hold unless another process has
            # written since (PRAGMA data_version counts the other connections' commits).
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if self._classes is None or version != self._data_version:
                self._tests = None
                self._classes = dict(conn.execute("SELECT name, id FROM classes"))
                self._variants = {(step, axes): i for i, step, axes in conn.execute("SELECT id, step, axes FROM variants")}
            with _collector_paused():
                self._ingest(run, batches, cells)
            conn.execute("COMMIT")
            self._data_version = version
        except BaseException:
            if conn.in_transaction:  # SQLite may already have rolled back (disk full, corruption)
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            # Interned ids may refer to rolled-back rows: reload them next time.
            self._tests = self._classes = self._variants = None
            raise
        return True

    def _tests_of(self, classnames: Iterable[str]) -> dict[str, dict[str, int]]:
        """classname -> {test name: test id}, holding the stored tests of *classnames* (read once per class while
        the ids hold): a run with a new test set reads its own classes' tests, not every test the DB has seen
        (every profile's, renamed and removed ones included)."""
        assert self._classes is not None
        if self._tests is None:
            self._tests = {}
        tests, classes = self._tests, self._classes
        unread = {classes[name]: name for name in set(classnames) if name not in tests and name in classes}
        loaded: dict[int, dict[str, int]] = {class_id: {} for class_id in unread}
        if 2 * len(unread) > len(classes):  # most of the DB's classes: one scan is cheaper than the look-ups
            for i, cls_id, name in self.conn.execute("SELECT id, class_id, name FROM tests"):
                names = loaded.get(cls_id)
                if names is not None:
                    names[name] = i
        else:
            ids = list(unread)
            for start in range(0, len(ids), 500):  # well under SQLite's bound on parameters
                chunk = ids[start : start + 500]
                for i, cls_id, name in self.conn.execute(
                        f"SELECT id, class_id, name FROM tests WHERE class_id IN ({','.join('?' * len(chunk))})", chunk):
                    loaded[cls_id][name] = i
        tests.update((unread[class_id], names) for class_id, names in loaded.items())
        return tests

    def _variant_id(self, step: str, axes: Sequence[tuple[str, str]]) -> int:
        assert self._variants is not None
        key = (step, json.dumps(dict(sorted(axes)), sort_keys=True))
        found = self._variants.get(key)
        if found is None:
            found = self.conn.execute("INSERT INTO variants(step, axes) VALUES (?, ?)", key).lastrowid
            self._variants[key] = found
        return found

    def _ingest(self, run: RunInfo, batches: Iterable[CaseBatch], cells: Iterable[CellRun]) -> None:
        conn = self.conn
        cell_rows: dict[tuple[str, int], list] = {}
        cell_variant: dict[str, int] = {}
        for cell in cells:
            variant = self._variant_id(cell.step, cell.axes)
            cell_variant.setdefault(cell.cell_id, variant)
            cell_rows[(cell.cell_id, cell.attempt)] = [
                cell.cell_id, cell.attempt, variant, cell.node, cell.status, cell.duration_s, 0, 0,
                cell.log_tail[-LOG_TAIL_LIMIT:],
            ]

        # Per run of one class in the input: (variant, classname, test names), in input order; per
        # (variant, classname): [seconds, cases, [test names of each run]]; every case not simply passed.
        blocks: list[tuple[int, str, list[str]]] = []
        classes: dict[tuple[int, str], list] = {}
        notable: list[tuple] = []  # rows of the outcomes table from the run id on, classname and name for the test
        failures = executions = 0
        compressor = zstandard.ZstdCompressor(level=PACK_LEVEL)
        # The id SQLite gives the run's row (max + 1; this transaction holds the write lock), known before the
        # cases are read so that each outcome row is built once, column by column, as executemany takes it.
        run_row = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM runs").fetchone()[0]
        for batch in batches:
            key = (batch.cell_id, batch.attempt)
            cell = cell_rows.get(key)
            if cell is None:
                variant = cell_variant.get(batch.cell_id)
                if variant is None:
                    variant = cell_variant[batch.cell_id] = self._variant_id("", ())
                cell = cell_rows[key] = [batch.cell_id, batch.attempt, variant, "", "", 0.0, 0, 0, ""]
            variant = cell[2]
            failing = batch.failing
            cell[6] += len(batch.names)
            cell[7] += failing
            executions += len(batch.names)
            failures += failing
            names, durations = batch.names, batch.durations
            start = 0
            for classname, run_of in groupby(batch.classnames):
                end = start + len(list(run_of))
                block = names[start:end]
                blocks.append((variant, classname, block))
                slot = classes.get((variant, classname))
                if slot is None:
                    slot = classes[(variant, classname)] = [0.0, 0, []]
                # Added one by one in input order, exactly as before (a float sum depends on the order).
                slot[0] = reduce(add, durations[start:end], slot[0])
                slot[1] += end - start
                slot[2].append(block)
                start = end
            if batch.notable:
                at, statuses, reruns, messages, details = zip(*batch.notable, strict=True)
                notable.extend(zip(
                    repeat(run_row), map(batch.classnames.__getitem__, at), map(names.__getitem__, at),
                    repeat(batch.cell_id), repeat(batch.attempt), repeat(variant), statuses,
                    map(durations.__getitem__, at), reruns, map(_KEPT, messages),
                    map(pack_text, map(_KEPT, details), repeat(compressor))))

        names_digest = _names_digest(classes)
        known = self._classes
        assert known is not None
        row = conn.execute("SELECT testset FROM testset_names WHERE digest = ?", (names_digest,)).fetchone()
        if row is not None and all(classname in known for _variant, classname in classes):
            # A test set seen before: every test exists, nothing is interned case by case.
            testset = row[0]
            # The test id is looked up by (class id, name) as each row is inserted.
            outcome_rows: Iterable[Sequence] = map(_with_class_id, notable, repeat(known))
            test_sql = "(SELECT id FROM tests WHERE class_id = ? AND name = ?)"
        else:
            testset = self._store_testset(blocks, names_digest)
            tests = self._tests
            assert tests is not None
            outcome_rows = ((run_id, tests[cls][name], *rest) for run_id, cls, name, *rest in notable)
            test_sql = "?"

        conn.execute(
            "INSERT INTO runs(id, run_key, commit_sha, branch, repository, profile, started_at, source, ingested_at,"
            " testset, executions, failures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_row, run.run_id, run.commit, run.branch, run.repository, run.profile, run.started_at, run.source,
             time.time(), testset, executions, failures),
        )
        conn.executemany(
            "INSERT INTO cells(run, cell_id, attempt, variant, node, status, duration_s, executions, failures, log_tail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            ((run_row, *cell) for cell in cell_rows.values()),
        )
        conn.executemany(
            "INSERT INTO outcomes(run, test, cell_id, attempt, variant, status, duration_s, flaky_reruns, message, details)"
            f" VALUES (?, {test_sql}, ?, ?, ?, ?, ?, ?, ?, ?)",
            outcome_rows,
        )
        conn.executemany(
            "INSERT INTO class_durations(run, variant, class_id, seconds, cases) VALUES (?, ?, ?, ?, ?)",
            sorted((run_row, variant, known[cls], s[0], s[1]) for (variant, cls), s in classes.items()),
        )

    def _store_testset(self, blocks: list[tuple[int, str, list[str]]], names_digest: str) -> int:
        """The id of the run's test set, mapping every test case to its test id (new classes and tests are
        added in input order); remembered under *names_digest* for the next run of the same tests."""
        conn = self.conn
        tests, classes = self._tests_of(classname for _variant, classname, _block in blocks), self._classes
        assert classes is not None
        new_tests: list[tuple[int, int, str]] = []
        next_test = (conn.execute("SELECT max(id) FROM tests").fetchone()[0] or 0) + 1
        by_variant: dict[int, list[int]] = {}
        for variant, classname, block in blocks:
            ids = tests.get(classname)
            if ids is None:
                classes[classname] = conn.execute("INSERT INTO classes(name) VALUES (?)", (classname,)).lastrowid
                ids = tests[classname] = {}
            found = list(map(ids.get, block))
            if None in found:  # its new names get the next ids, in input order
                new = list(dict.fromkeys(block)) if not ids else [n for n in dict.fromkeys(block) if n not in ids]
                numbers = range(next_test, next_test + len(new))
                ids.update(zip(new, numbers, strict=True))
                new_tests.extend(zip(numbers, repeat(classes[classname]), new))
                next_test += len(new)
                found = list(map(ids.__getitem__, block))
            by_variant.setdefault(variant, []).extend(found)
        if new_tests:
            conn.executemany("INSERT INTO tests(id, class_id, name) VALUES (?, ?, ?)", new_tests)
        counts: dict[int, int] = {}
        for variant, found in by_variant.items():
            executions = Counter(found)
            counts.update(zip(map(variant.__add__, map(_HIGH.__mul__, executions)), executions.values(), strict=True))
        digest, blob = _encode_packed(counts)
        row = conn.execute("SELECT id FROM testsets WHERE digest = ?", (digest,)).fetchone()
        testset = row[0] if row else conn.execute(
            "INSERT INTO testsets(digest, data) VALUES (?, ?)", (digest, blob)).lastrowid
        conn.execute("INSERT OR IGNORE INTO testset_names(digest, testset) VALUES (?, ?)", (names_digest, testset))
        return testset

    # ------------------------------------------------------------ queries

    def durations(self, step: str | None = None, branch: str | None = None, recent_runs: int = 50) -> dict[str, float]:
        """Mean seconds per test class (keyed by classname) over the newest *recent_runs* runs that ran it.

        One sample is one class in one run of one step/axes variant (a class run on jdk11 and jdk17 gives two).
        """
        sql = (
            "WITH recent AS (SELECT r.id FROM runs r"
            + (" WHERE r.branch = ?" if branch else "")
            + " ORDER BY r.started_at DESC, r.id DESC LIMIT ?)"
            " SELECT c.name, sum(d.seconds) / count(*) FROM recent JOIN class_durations d ON d.run = recent.id"
            " JOIN variants v ON v.id = d.variant JOIN classes c ON c.id = d.class_id"
            + (" WHERE v.step = ?" if step else "")
            + " GROUP BY c.name ORDER BY c.name"
        )
        args = ([branch] if branch else []) + [recent_runs] + ([step] if step else [])
        return {name: float(mean) for name, mean in self.conn.execute(sql, args)}

    def runs(self, branch: str | None = None, since: float | None = None) -> list[RunRow]:
        where, args = [], []
        if branch:
            where.append("branch = ?")
            args.append(branch)
        if since is not None:
            where.append("started_at >= ?")
            args.append(since)
        sql = "SELECT id, run_key, commit_sha, branch, started_at, testset, executions, failures FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at, id"
        return [RunRow(*row) for row in self.conn.execute(sql, args)]

    def variants(self) -> dict[int, Variant]:
        return {
            i: Variant(i, step, tuple(sorted(json.loads(axes).items())))
            for i, step, axes in self.conn.execute("SELECT id, step, axes FROM variants")
        }

    def _testset(self, testset: int) -> dict[int, dict[int, int]]:
        found = self._testsets.get(testset)
        if found is None:
            blob = self.conn.execute("SELECT data FROM testsets WHERE id = ?", (testset,)).fetchone()[0]
            found = decode_testset(blob)
            self._testsets[testset] = found
        return found

    def test_ids(self, patterns: Sequence[str]) -> dict[int, str]:
        """Test ids whose classname.name equals, or (for a pattern with *) matches, one of *patterns*."""
        found: dict[int, str] = {}
        for pattern in patterns:
            like = pattern.replace("*", "%")
            for i, cls, name in self.conn.execute(
                "SELECT t.id, c.name, t.name FROM tests t JOIN classes c ON c.id = t.class_id"
                " WHERE c.name || '.' || t.name LIKE ? OR c.name = ? OR t.name = ?", (like, pattern, pattern)):
                found[i] = f"{cls}.{name}" if cls else name
        return found

    def history(self, branch: str | None = None, since: float | None = None, tests: Sequence[str] | None = None) -> History:
        """The window's runs and the outcomes of every test that did not simply pass (or of *tests*)."""
        runs = self.runs(branch, since)
        by_id = {r.id: r for r in runs}
        conn = self.conn
        conn.execute("BEGIN")  # one consistent snapshot for all the reads below
        try:
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS q_runs(id INTEGER PRIMARY KEY)")
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS q_tests(id INTEGER PRIMARY KEY)")
            conn.execute("DELETE FROM q_runs")
            conn.execute("DELETE FROM q_tests")
            conn.executemany("INSERT INTO q_runs VALUES (?)", ((r.id,) for r in runs))
            if tests is None:
                conn.execute(
                    "INSERT INTO q_tests SELECT DISTINCT o.test FROM q_runs JOIN outcomes o ON o.run = q_runs.id"
                    " WHERE o.status IN ('failed', 'error') OR o.flaky_reruns > 0")
            else:
                conn.executemany("INSERT OR IGNORE INTO q_tests VALUES (?)", ((i,) for i in self.test_ids(tests)))
            names = {
                i: (f"{cls}.{name}" if cls else name)
                for i, cls, name in conn.execute(
                    "SELECT t.id, c.name, t.name FROM q_tests JOIN tests t ON t.id = q_tests.id"
                    " JOIN classes c ON c.id = t.class_id")
            }
            outcomes: dict[str, list[tuple[RunRow, Outcome]]] = {}
            for test, *rest in conn.execute(
                "SELECT o.test, o.run, o.cell_id, o.attempt, o.variant, o.status, o.duration_s, o.flaky_reruns,"
                " o.message, o.details FROM q_tests JOIN outcomes o ON o.test = q_tests.id"
                " WHERE o.run IN (SELECT id FROM q_runs)"):
                # details stay packed: only a signature search reads them (a window's traces unpacked: ~300 MiB)
                outcomes.setdefault(names[test], []).append((by_id[rest[0]], Outcome(*rest)))
            order = {r.id: i for i, r in enumerate(runs)}
            for found in outcomes.values():
                found.sort(key=lambda pair: order[pair[0].id])
            # Only the cells our outcomes ran in (every attempt, for retries); node shares by aggregate.
            cells = {
                (row[0], row[1], row[2]): CellRow(*row)
                for row in conn.execute(
                    "SELECT c.run, c.cell_id, c.attempt, c.variant, c.node, c.status, c.executions, c.failures,"
                    " c.log_tail FROM cells c WHERE (c.run, c.cell_id) IN (SELECT DISTINCT o.run, o.cell_id"
                    " FROM q_tests JOIN outcomes o ON o.test = q_tests.id WHERE o.run IN (SELECT id FROM q_runs))")
            }
            node_cells = dict(conn.execute(
                "SELECT c.node, count(*) FROM q_runs JOIN cells c ON c.run = q_runs.id WHERE c.node != ''"
                " GROUP BY c.node"))
            testsets = {r.testset: self._testset(r.testset) for r in runs}
        finally:
            conn.execute("COMMIT")
        return History(
            runs=runs,
            test_ids={name: i for i, name in names.items()},
            outcomes=outcomes,
            testsets=testsets,
            cells=cells,
            node_cells=node_cells,
            variants=self.variants(),
            run_failures={r.id: r.failures for r in runs},
        )

    def stats(self) -> dict[str, int]:
        """Counts for `pipelinegen history info`."""
        one = self.conn.execute
        return {
            "runs": one("SELECT count(*) FROM runs").fetchone()[0],
            "tests": one("SELECT count(*) FROM tests").fetchone()[0],
            "executions": one("SELECT coalesce(sum(executions), 0) FROM runs").fetchone()[0],
            "non_passing": one("SELECT count(*) FROM outcomes").fetchone()[0],
            "test_sets": one("SELECT count(*) FROM testsets").fetchone()[0],
            "schema_version": one("PRAGMA user_version").fetchone()[0],
        }


# ---------------------------------------------------------------- result bundles


def _log_tail(name: str, handle) -> str:
    """Last LOG_TAIL_LIMIT characters of a (possibly xz/zstd/gzip-compressed) console log.

    Streamed with a bounded window: a small log member that decompresses to gigabytes (a bomb) costs at
    most LOG_TAIL_MAX_INPUT bytes of reading and a few KB of memory, never the whole log at once."""
    import lzma
    import zlib

    keep = 4 * LOG_TAIL_LIMIT
    tail = b""
    produced = 0

    def chunks() -> Iterator[bytes]:
        if name.endswith(".zst"):
            reader = zstandard.ZstdDecompressor().stream_reader(handle, read_across_frames=True, closefd=False)
            while block := reader.read(1 << 16):
                yield block
            return
        obj = (lzma.LZMADecompressor(memlimit=256 << 20) if name.endswith(".xz") else
               zlib.decompressobj(wbits=47) if name.endswith(".gz") else None)
        while True:
            raw = handle.read(1 << 16)
            if obj is None:
                if not raw:
                    return
                yield raw
                continue
            data = raw
            while True:  # each call returns at most 64 KiB: a bomb is read piece by piece, never at once
                if isinstance(obj, lzma.LZMADecompressor):
                    out, data = obj.decompress(data, max_length=1 << 16), b""
                    more = not obj.needs_input
                else:
                    out = obj.decompress(data, 1 << 16)
                    data = obj.unconsumed_tail
                    more = bool(data)
                if out:
                    yield out
                if obj.eof:
                    return
                if not more:
                    break
            if not raw:
                return

    try:
        for block in chunks():
            produced += len(block)
            if produced > LOG_TAIL_MAX_INPUT:
                return ""  # not a log anyone reads to the end: skip the signature match for it
            tail = (tail + block)[-keep:]
    except (lzma.LZMAError, zstandard.ZstdError, zlib.error, OSError, EOFError):
        return ""  # an unreadable log only costs us the signature match, not the ingest
    return tail.decode("utf-8", errors="replace")[-LOG_TAIL_LIMIT:]


def open_bundle(path: Path) -> tuple[RunInfo, object]:
    """The run's identity and metadata (reads only the manifest) and the open Bundle."""
    from datetime import datetime

    from pipelinegen.results import archive
    from pipelinegen.results.bundle_reader import read_bundle

    path = Path(path)
    try:
        bundle = read_bundle(path)  # one strict reader: links, appended frames, bombs, bad manifests refused
    except archive.CorruptArchive as err:
        raise PipelineError.single(str(path), None, f"cannot read result bundle: {str(err).removeprefix(f'{path}: ')}",
                                   hint="check the file with `pipelinegen results verify`") from err
    manifest = bundle.manifest
    subject, producer = manifest.get("subject", {}), manifest.get("producer", {})
    try:
        started = datetime.fromisoformat(producer.get("started_at", "").replace("Z", "+00:00")).timestamp()
    except ValueError:
        started = path.stat().st_mtime  # a bundle without a start time: order it by when it was written
    run = RunInfo(
        run_id=bundle.manifest_sha256,
        commit=subject.get("commit", ""),
        branch=subject.get("branch", ""),
        started_at=started,
        repository=subject.get("repository", ""),
        profile=manifest.get("profile", ""),
        source=producer.get("url") or str(path),
    )
    return run, bundle


def bundle_cells(bundle) -> list[CellRun]:
    """One CellRun per attempt of every cell that ran, with the console-log tail of failed cells."""
    manifest = bundle.manifest
    wanted = {}
    for cell in manifest.get("cells", []):
        if cell.get("status") in ("failed", "error"):
            for log in cell.get("logs", []):
                wanted[log] = cell["id"]
    tails: dict[str, str] = {}
    if wanted:
        for name, handle in bundle.iter_files():
            if name in wanted:
                tails[wanted[name]] = (tails.get(wanted[name], "") + _log_tail(name, handle))[-LOG_TAIL_LIMIT:]
    cells = []
    total = sum(max(1, int(c.get("attempts") or 1)) for c in manifest.get("cells", []) if c.get("status") != "not-run")
    if total > MAX_CELL_ATTEMPTS:  # each becomes a row and an object: a forged count must not cost gigabytes
        raise PipelineError.single(str(getattr(bundle, "path", "bundle")), None,
                                   f"the manifest records {total:,} cell attempts (limit {MAX_CELL_ATTEMPTS:,})",
                                   hint="a real run has a few per cell; check it with `pipelinegen results verify`")
    for cell in manifest.get("cells", []):
        if cell.get("status") == "not-run":
            continue
        attempts = max(1, int(cell.get("attempts") or 1))
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            cells.append(CellRun(
                cell_id=cell["id"], step=cell.get("step", ""), axes=tuple(sorted(cell.get("axes", {}).items())),
                attempt=attempt, node=cell.get("node", ""), status=cell.get("status", "") if last else "failed",
                duration_s=float(cell.get("duration_s") or 0) if last else 0.0,
                log_tail=tails.get(cell["id"], "") if last else "",
            ))
    return cells


def ingest_bundle(store: HistoryBackend, path: Path, allow_incomplete: bool = False) -> bool:
    """Ingest one result bundle; False when the same bundle (manifest digest) is already stored."""
    with _collector_paused():  # also while the reader's modules are imported and the manifest is validated
        return _ingest_bundle(store, path, allow_incomplete)


def _ingest_bundle(store: HistoryBackend, path: Path, allow_incomplete: bool) -> bool:
    run, bundle = open_bundle(path)
    if store.has_run(run.run_id):
        return False  # before reading any log or JUnit member
    from pipelinegen.results import archive as archive_errors
    from pipelinegen.results.verify import AlteredBundle, verified_batches

    manifest = bundle.manifest  # type: ignore[attr-defined]
    if manifest.get("incomplete") and not allow_incomplete:
        raise PipelineError.single(str(path), None, f"bundle is incomplete: {manifest.get('incomplete_reason', '')}",
                                   hint="its missing cells would look like passing history; "
                                        "pass --allow-incomplete to ingest anyway")
    # Failing runs are welcome (that is what flaky needs), altered ones are not: flaky verdicts and split
    # timings would rest on edited results. One pass reads the test cases (from the compact records member)
    # and hashes every member; an altered bundle raises after the last test case, inside ingest_batches'
    # transaction, so nothing of it is stored.
    try:
        return store.ingest_batches(run, verified_batches(path, manifest, DETAILS_LIMIT), bundle_cells(bundle))
    except archive_errors.CorruptArchive as err:
        raise PipelineError.single(str(path), None, f"cannot read result bundle: {str(err).removeprefix(f'{path}: ')}",
                                   hint="check the file with `pipelinegen results verify`") from err
    except AlteredBundle as err:
        raise PipelineError.single(str(path), None, f"bundle was altered: {err}",
                                   hint="check it with `pipelinegen results verify`; ingest the original") from err
