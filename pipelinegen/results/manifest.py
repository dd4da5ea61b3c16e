"""The bundle manifest: dataclasses producers fill in, and the JSON document they become."""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import jsonschema

from pipelinegen import __version__

if TYPE_CHECKING:
    from pipelinegen.plan.cell import Cell

FORMAT = "pipelinegen-result-bundle"
FORMAT_VERSION = 1
CELL_STATUSES = ("passed", "failed", "error", "skipped", "not-run")
TEST_STATUSES = ("passed", "failed", "error", "skipped")
PRODUCER_KINDS = ("jenkins", "local", "other")

MANIFEST = "manifest.json"
DIGESTS = "digests.sha256"
ATTESTATION = "attestation.intoto.json"
SIGNATURE = ATTESTATION + ".sig"
CELLS_DIR = "cells"
# A misconfigured split that runs every test in every split duplicates the whole suite: the manifest lists the
# first of them (sorted) and counts them all in totals.tests.duplicates, so it stays far below its 8 MiB limit.
MAX_LISTED_DUPLICATES = 1000

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Subject:
    """What is being certified: one commit of one repository."""

    repository: str
    commit: str
    branch: str = ""
    tree: str = ""  # git tree hash of the commit, "" when unknown

    def as_dict(self) -> dict:
        return {"repository": self.repository, "commit": self.commit.lower(), "branch": self.branch,
                "tree": self.tree.lower()}


@dataclass(frozen=True)
class Producer:
    """Who produced the results: CI kind, where, on which agents and images, when."""

    kind: str  # jenkins | local | other
    url: str = ""  # build URL for Jenkins
    host: str = ""
    agent_labels: tuple[str, ...] = ()
    images: tuple[tuple[str, str], ...] = ()  # (image name, digest), sorted
    started_at: str = ""  # ISO 8601 UTC
    finished_at: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "url": self.url, "host": self.host,
                "agent_labels": sorted(set(self.agent_labels)), "images": dict(sorted(self.images)),
                "started_at": self.started_at, "finished_at": self.finished_at,
                "pipelinegen_version": __version__}


@dataclass(frozen=True)
class CellRef:
    """The identity of a cell as recorded in a bundle (a plan Cell, or a directory of JUnit files)."""

    id: str
    name: str
    step: str
    axes: tuple[tuple[str, str], ...] = ()
    split: int = 1
    splits: int = 1

    @classmethod
    def from_cell(cls, cell: Cell) -> CellRef:
        return cls(cell.id, cell.name, cell.step, tuple(cell.axes), cell.split, cell.splits)

    @property
    def group(self) -> str:
        """The cell without its split: where a test may legitimately move between runs."""
        if not self.step:
            return self.id
        return " ".join([self.step, *(f"{k}={v}" for k, v in self.axes)])


# manifest.schema.json's bound on every duration_s (tests/hostile/test_hostile_junit_times.py holds them equal). A sum
# of test times can pass it only with input no run produces (each time is at most testcase.MAX_TEST_SECONDS): written
# as the bound, so a bundle is still written. A cell's own duration (what its producer reported) is not clamped: a
# doctored one is refused.
MAX_DURATION_S = 1e9


@dataclass
class TestCounts:
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    flaky: int = 0
    duration_s: float = 0.0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.skipped

    @property
    def recorded_duration_s(self) -> float:
        """The tests' total seconds as the manifest records them (3 decimals, at most MAX_DURATION_S)."""
        return round(min(self.duration_s, MAX_DURATION_S), 3)

    def add(self, status: str, duration_s: float, flaky: bool) -> None:
        setattr(self, status, getattr(self, status) + 1)
        self.duration_s += duration_s
        self.flaky += 1 if flaky else 0

    def merge(self, other: TestCounts) -> None:
        for name in ("passed", "failed", "error", "skipped", "flaky"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.duration_s += other.duration_s

    def as_dict(self) -> dict:
        return {"passed": self.passed, "failed": self.failed, "error": self.error, "skipped": self.skipped,
                "flaky": self.flaky, "total": self.total, "duration_s": self.recorded_duration_s}


@dataclass
class CellResult:
    """One cell's outcome as recorded in the manifest."""

    ref: CellRef
    reported_status: str = "not-run"  # what the producer said
    attempts: int = 0
    duration_s: float = 0.0
    node: str = ""
    junit: str | None = None  # path inside the bundle
    records: str | None = None  # the same test cases as compact lines (results/records.py), for bulk readers
    junit_files: list[str] = field(default_factory=list)  # source files ingested, for audit
    logs: list[str] = field(default_factory=list)  # paths inside the bundle
    tests: TestCounts = field(default_factory=TestCounts)
    usage: list[dict] = field(default_factory=list)  # per attempt: attempt, cpu_seconds, peak_memory_mb, method

    @property
    def status(self) -> str:
        """A cell whose tests failed has failed, whatever the CI said (Jenkins calls it UNSTABLE)."""
        if self.reported_status in ("passed", "skipped") and (self.tests.failed or self.tests.error):
            return "failed"
        return self.reported_status

    def as_dict(self) -> dict:
        return {"id": self.ref.id, "name": self.ref.name, "step": self.ref.step, "group": self.ref.group,
                "axes": dict(self.ref.axes), "split": self.ref.split, "splits": self.ref.splits,
                "status": self.status, "reported_status": self.reported_status, "attempts": self.attempts,
                "duration_s": round(self.duration_s, 3), "node": self.node, "junit": self.junit,
                **({"records": self.records} if self.records else {}), "junit_files": self.junit_files, "logs": self.logs, "tests": self.tests.as_dict(),
                **({"usage": self.usage} if self.usage else {})}


def safe_id(text: str) -> str:
    """A path-safe cell id from any label ("test/jdk_11/amd64" -> "test_jdk_11_amd64")."""
    return _UNSAFE.sub("_", text).strip("_.") or "cell"


def build_manifest(*, subject: Subject, pipeline: dict | None, profile: str, parameters: dict,
                   producer: Producer, cells: list[CellResult], duplicates: list[dict],
                   incomplete: bool, incomplete_reason: str, duplicate_total: int | None = None) -> dict:
    """*duplicates*: the tests seen more than once in a group, sorted (the first MAX_LISTED_DUPLICATES are listed);
    *duplicate_total*: how many there are (default: as many as given), written as totals.tests.duplicates."""
    cell_counts = {status: 0 for status in CELL_STATUSES}
    tests = TestCounts()
    for cell in cells:
        cell_counts[cell.status] += 1
        tests.merge(cell.tests)
    cell_counts["total"] = len(cells)
    test_totals = tests.as_dict()
    total = len(duplicates) if duplicate_total is None else duplicate_total
    if total:
        test_totals["duplicates"] = total
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "subject": subject.as_dict(),
        "pipeline": pipeline,
        "profile": profile,
        "parameters": parameters,
        "producer": producer.as_dict(),
        "incomplete": incomplete,
        "incomplete_reason": incomplete_reason,
        "cells": [cell.as_dict() for cell in cells],
        "totals": {"cells": cell_counts, "tests": test_totals},
        "duplicates": duplicates[:MAX_LISTED_DUPLICATES],
    }


def duplicate_count(manifest: dict) -> int:
    """How many tests ran more than once in a group: all of them, also those the manifest does not list (bundles
    written before the list was bounded list every one)."""
    return manifest["totals"]["tests"].get("duplicates", len(manifest["duplicates"]))


@cache
def manifest_schema() -> dict:
    text = resources.files("pipelinegen.results").joinpath("manifest.schema.json").read_text("utf-8")
    return json.loads(text)


def schema_problems(manifest: object, limit: int = 20) -> list[str]:
    """JSON Schema violations (the first *limit*), as 'manifest.json: <json path>: <message>' lines.

    Messages quote the offending value: each is cut short, or a hostile manifest would print megabytes."""
    validator = jsonschema.Draft202012Validator(manifest_schema())
    problems = []
    # Lazily, and only limit + 1 of them: a manifest of a million bad cells must not build a million errors.
    errors = list(itertools.islice(validator.iter_errors(manifest), limit + 1))
    for err in sorted(errors[:limit], key=lambda e: list(map(str, e.absolute_path))):
        where = "/".join(map(str, err.absolute_path))[:200] or "(top level)"
        message = err.message if len(err.message) <= 300 else err.message[:300] + "…"
        problems.append(f"{MANIFEST}: {where}: {message}")
    if len(errors) > limit:
        problems.append(f"{MANIFEST}: … and more schema violations")
    return problems


class ManifestError(ValueError):
    """manifest.json (or another JSON member of a bundle) cannot be trusted as a bundle's manifest."""


MAX_JSON_DEPTH = 32  # a manifest nests 5 levels deep; deeper is an attack on the parser, not data
MAX_JSON_OBJECTS = 1_000_000  # objects in one document (a cell is 3): past this, parsing stops


def _too_deep(value: object) -> bool:
    """Nesting deeper than MAX_JSON_DEPTH (the C parser already stopped anything near the recursion limit,
    so this walk is iterative and bounded; it visits containers only)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_JSON_DEPTH):
        if not level:
            return False
        level = [child for item in level for child in (item.values() if isinstance(item, dict) else item)
                 if isinstance(child, dict | list)]
    return bool(level)


def parse_json(data: bytes, what: str = MANIFEST) -> object:
    """json.loads, but refused as a ManifestError (never a RecursionError traceback, a validator descending
    a million levels, or gigabytes of objects): nesting deeper than MAX_JSON_DEPTH, more than
    MAX_JSON_OBJECTS objects, a key twice in one object, NaN/Infinity, invalid JSON or UTF-8."""
    budget = [MAX_JSON_OBJECTS]

    def unique_keys(pairs: list[tuple[str, object]]) -> dict:
        # A key given twice ('"incomplete": true, "incomplete": false') reads differently in different
        # JSON parsers: one document, one meaning, or it is refused.
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError(f"more than {MAX_JSON_OBJECTS} objects")
        found = dict(pairs)
        if len(found) != len(pairs):
            seen: set[str] = set()
            twice = next(key for key, _ in pairs if key in seen or seen.add(key))  # type: ignore[func-returns-value]
            raise ValueError(f"key {twice[:100]!r} appears twice in one object")
        return found

    try:
        value = json.loads(data, object_pairs_hook=unique_keys, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError as err:
        raise ManifestError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels") from err
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise ManifestError(f"{what} is not valid JSON: {str(err)[:200]}") from err
    if _too_deep(value):
        raise ManifestError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is out of range (it would read as infinity)")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON (NaN and Infinity are refused)")


def load_manifest(data: bytes) -> dict:
    """The manifest of a bundle, parsed and valid against the bundle schema, else a ManifestError naming
    every problem: readers (summary, diff, history ingest) never index into an unchecked document."""
    manifest = parse_json(data)
    problems = schema_problems(manifest)
    if problems:
        raise ManifestError(f"{MANIFEST} does not follow the bundle schema: " + "; ".join(problems))
    return manifest  # type: ignore[return-value]


def dumps(data: dict) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")
