"""`history ingest` stores exactly what it stored before it was made fast (issue 16).

tests/fixtures/history_ingest_content.json is the DB content that the ingest of commit 58d27cd (the
reader before the columnar one) produced for the runs below; every later reader must store the same rows:
records.tsv bundles, bundles written before records.tsv existed (junit.xml), TestCaseResults handed to
ingest_run (Jenkins import), a run of a test set seen before and one that adds tests.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from pipelinegen.analysis.history import (
    CellRun,
    HistoryStore,
    RunInfo,
    decode_testset,
    migrations,
    unpack_text,
)
from pipelinegen.results import archive, attest
from pipelinegen.results.bundle import BundleWriter
from pipelinegen.results.manifest import CellRef, Producer, Subject
from pipelinegen.results.testcase import TestCaseResult as Case

FIXTURE = Path(__file__).parents[1] / "fixtures" / "history_ingest_content.json"
SPLITS = [CellRef(f"test_jdk11_{k}of2", f"test jdk11 {k}/2", "test", (("jdk", "11"),), k, 2) for k in (1, 2)]
OTHER_JDK = CellRef("test_jdk17_1of1", "test jdk17 1/1", "test", (("jdk", "17"),))
DTEST = CellRef("dtest_1of1", "dtest 1/1", "dtest", (("jdk", "11"), ("python", "3.11")))

NASTY = """<?xml version="1.0"?>
<testsuites><testsuite name="org.Nasty">
  <testcase classname="org.Nasty" name="tab&#9;and&#10;newline \\ back" time="1.25"/>
  <testcase classname="org.Nasty" name="fails" time="2"><failure message="expected &lt;1&gt;">trace\tline 1
\\n is not a newline\r\nline 2</failure><system-out>out</system-out></testcase>
  <testcase classname="org.Nasty" name="skip" time="0"><skipped message="why"/></testcase>
  <testcase classname="org.Nasty" name="flaky" time="3"><flakyFailure message="m" type="T">first run</flakyFailure></testcase>
  <testcase classname="org.Nasty" name="err" time="bad"><error type="java.io.IOError"/></testcase>
  <testcase classname="org.Nasty" name="fails" time="0.25"/>
  <system-out>suite output</system-out>
</testsuite></testsuites>
"""


def _suite(classname: str, cases: list[tuple[str, str]]) -> str:
    """cases: (name, '' to pass | 'F' to fail | 'S' to skip)."""
    body = []
    for i, (name, how) in enumerate(cases):
        inner = {"": "", "F": f'<failure message="m{i}">at {classname}.{name}\nline</failure>',
                 "S": "<skipped/>"}[how]
        body.append(f'<testcase classname="{classname}" name="{name}" time="{0.1 * (i + 1):.3f}">{inner}</testcase>')
    return f'<?xml version="1.0"?><testsuite name="{classname}">{"".join(body)}</testsuite>'


def _junit(tmp: Path, rel: str, text: str) -> Path:
    path = tmp / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _bundle(tmp: Path, n: int, *, commit: str, extra_test: bool = False, failing: str = "b",
            more: tuple[str, ...] = ()) -> Path:
    """A run of four cells; class org.A is split over two files of one cell (A, B, A blocks)."""
    work = tmp / f"src{n}"
    out = tmp / f"run{n}.tar.zst"
    a1 = _suite("org.A", [("a", ""), ("b", "F" if failing == "b" else ""), ("c", "S")])
    b = _suite("org.B", [("x", ""), ("y", "F" if failing == "y" else "")] + ([("z", "")] if extra_test else [])
               + [(name, "") for name in more])
    a2 = _suite("org.A", [("d", ""), ("a", "")])  # org.A.a twice in one cell
    with BundleWriter(out, subject=Subject("https://github.com/apache/cassandra", commit, "trunk"),
                      parameters={"profile": "pre-commit"},
                      producer=Producer("jenkins", url=f"https://ci/job/{n}", started_at=f"2026-01-0{n}T10:00:00Z"),
                      cells=[*SPLITS, OTHER_JDK, DTEST]) as writer:
        writer.add_cell(SPLITS[0], status="failed", node="agent-1",
                        junit=[_junit(work, "s1/TEST-1.xml", a1), _junit(work, "s1/TEST-2.xml", b),
                               _junit(work, "s1/TEST-3.xml", a2)])
        writer.add_cell(SPLITS[1], status="failed", attempts=2, node="agent-2", flaky_tests=["org.C.c1"],
                        junit=[_junit(work, "s2/TEST-1.xml", NASTY),
                               _junit(work, "s2/TEST-2.xml", _suite("org.C", [("c1", ""), ("c2", "")]))])
        writer.add_cell(OTHER_JDK, status="passed", node="agent-1",
                        junit=[_junit(work, "j17/TEST-1.xml", a1.replace('"F"', '""'))])
        writer.add_cell(DTEST, status="passed", node="agent-3",
                        junit=[_junit(work, "d/TEST-1.xml", _suite("dtest.Upgrade", [("u1", ""), ("u2", "S")]))])
    return out


def _without_records(bundle: Path, out: Path) -> Path:
    """The same run as a producer from before records.tsv wrote it (digests and attestation made again)."""
    from pipelinegen.fsutil import sha256_bytes

    members = {name: handle.read() for name, handle in archive.iter_members(bundle)}
    manifest = json.loads(members["manifest.json"])
    for cell in manifest["cells"]:
        members.pop(cell.pop("records", None) or "", None)
    members["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
    members["digests.sha256"] = "".join(
        f"{sha256_bytes(members[name])}  {name}\n" for name in sorted(members)
        if name not in ("digests.sha256", "attestation.intoto.json")).encode()
    members["attestation.intoto.json"] = json.dumps(attest.statement(
        manifest, sha256_bytes(members["manifest.json"]), sha256_bytes(members["digests.sha256"]))).encode()
    staging = out.parent / (out.name + ".d")
    for name, data in members.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    archive.write_tar(out, staging, list(members))
    return out


def _direct_run() -> tuple[RunInfo, list[Case], list[CellRun]]:
    """What the Jenkins import hands to ingest_run: test cases of cells the run has no CellRun for too."""
    def case(cls, name, cell, status="passed", seconds=1.0, **kw):
        return Case("suite", cls, name, cell, status, seconds, **kw)

    cases = [case("org.A", "a", "test_jdk11_1of2"), case("org.A", "new", "test_jdk11_1of2", "failed", 2.5,
                                                          message="x" * 9000, details="y" * 9000),
             case("org.Z", "z", "unplanned"), case("org.Z", "z", "unplanned", attempt=2, flaky_reruns=1),
             case("org.A", "a", "test_jdk11_1of2", "error", attempt=2)]
    cells = [CellRun("test_jdk11_1of2", "test", (("jdk", "11"),), attempt=1, node="n1", status="failed"),
             CellRun("test_jdk11_1of2", "test", (("jdk", "11"),), attempt=2, node="n1", status="failed",
                     log_tail="tail")]
    return RunInfo("direct", "c" * 40, "trunk", 1.0e9), cases, cells


def ingest_all(tmp: Path, db: Path) -> None:
    first = _bundle(tmp, 1, commit="1" * 40)
    same_tests = _bundle(tmp, 2, commit="2" * 40, failing="y")  # another run of exactly the same tests
    more_tests = _bundle(tmp, 3, commit="3" * 40, extra_test=True)
    old_style = _without_records(_bundle(tmp, 4, commit="4" * 40, extra_test=True), tmp / "old4.tar.zst")
    again = _bundle(tmp, 5, commit="5" * 40)
    with HistoryStore(db) as store:
        for bundle in (first, same_tests, more_tests, old_style):
            assert store.ingest_bundle(bundle)
        assert store.ingest_run(*_direct_run())
        assert store.ingest_bundle(again)
        assert not store.ingest_bundle(first)


def dump(db: Path) -> dict:
    """Every row of every table the history had before issue 16's ingest work, in storage order, with what
    differs between two ingests of the same bundles (ingest time, temp paths, manifest digests) replaced."""
    conn = sqlite3.connect(db)
    try:
        run_keys = {key: f"run-{i}" for i, (key,) in enumerate(conn.execute("SELECT run_key FROM runs ORDER BY id"))}
        tables = {
            "runs": "SELECT id, run_key, commit_sha, branch, repository, profile, started_at, source, testset,"
                    " executions, failures FROM runs ORDER BY id",
            "testsets": "SELECT id, digest, data FROM testsets ORDER BY id",
            "classes": "SELECT id, name FROM classes ORDER BY id",
            "tests": "SELECT id, class_id, name FROM tests ORDER BY id",
            "variants": "SELECT id, step, axes FROM variants ORDER BY id",
            "cells": "SELECT * FROM cells ORDER BY run, cell_id, attempt",
            "outcomes": "SELECT * FROM outcomes ORDER BY rowid",
            "class_durations": "SELECT * FROM class_durations ORDER BY run, variant, class_id",
        }
        result = {}
        for table, sql in tables.items():
            rows = []
            for row in conn.execute(sql):
                row = list(row)
                if table == "runs":
                    row[1] = run_keys[row[1]]
                    row[7] = Path(row[7]).name if row[7].startswith("/") else row[7]
                if table == "testsets":
                    row[2] = {str(t): {str(v): n for v, n in per.items()} for t, per in decode_testset(row[2]).items()}
                if table == "outcomes":
                    row[-1] = unpack_text(row[-1])  # schema version 3 stores a long failure text compressed
                rows.append(row)
            result[table] = rows
        return result
    finally:
        conn.close()


def test_ingest_stores_exactly_what_the_reader_before_it_stored(tmp_path):
    db = tmp_path / "h.sqlite"
    ingest_all(tmp_path, db)
    expected = json.loads(FIXTURE.read_text(encoding="utf-8"))
    actual = json.loads(json.dumps(dump(db)))  # tuples -> lists, as in the fixture
    for table in expected:
        assert actual[table] == expected[table], table
    assert actual.keys() == expected.keys()


def test_a_run_of_a_known_test_set_is_stored_without_reading_every_test(tmp_path):
    """The second run of the same tests is recognised by the names of its tests (schema version 2): its
    test set is reused as it is, so ingest never reads the whole tests table or maps each test case."""
    first, second = _bundle(tmp_path, 1, commit="1" * 40), _bundle(tmp_path, 2, commit="2" * 40, failing="y")
    grown = _bundle(tmp_path, 3, commit="3" * 40, extra_test=True)
    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        store.ingest_bundle(first)

    def ingest_tracing(bundle):
        statements: list[str] = []
        with HistoryStore(db) as store:  # a new process: nothing cached
            store.conn.set_trace_callback(statements.append)
            assert store.ingest_bundle(bundle)
        return statements

    assert not any("SELECT id, class_id, name FROM tests" in s for s in ingest_tracing(second))
    # A new test: the long way, and the new test set is remembered too.
    assert any("SELECT id, class_id, name FROM tests" in s for s in ingest_tracing(grown))
    with HistoryStore(db, readonly=True) as store:
        runs = store.runs()
        assert runs[0].testset == runs[1].testset != runs[2].testset
        assert store.conn.execute("SELECT count(*) FROM testset_names").fetchone()[0] == 2


def test_a_db_of_schema_version_1_is_read_as_it_is_and_upgraded_by_the_next_ingest(tmp_path):
    """History DBs in users' hands are at version 1: reading commands take them unchanged; ingest upgrades
    them (migration 0002) and stores exactly what a DB created by this version stores."""
    from pipelinegen.analysis.flaky import analyse

    old = tmp_path / "old.sqlite"
    first, second = _bundle(tmp_path, 1, commit="1" * 40), _bundle(tmp_path, 2, commit="2" * 40, failing="y")
    more = _bundle(tmp_path, 3, commit="3" * 40, extra_test=True)
    with HistoryStore(old) as store:
        store.ingest_bundle(first)
        store.conn.execute("DROP TABLE testset_names")  # what version 1 had: no such table
        store.conn.execute("PRAGMA user_version = 1")
    with HistoryStore(old, readonly=True) as store:
        assert store.stats()["schema_version"] == 1
        assert analyse(store).runs == 1
    for path in (old, tmp_path / "new.sqlite"):
        with HistoryStore(path) as store:
            for bundle in (first, second, more, second):
                store.ingest_bundle(bundle)
            assert store.stats()["schema_version"] == migrations()[-1][0]
    assert dump(old) == dump(tmp_path / "new.sqlite")


def test_two_processes_ingesting_into_one_db_never_reuse_ids_the_other_changed(tmp_path):
    """A long `history ingest a b c` keeps the ids it read between its bundles; another ingest into the same
    DB in between (CI jobs ingesting in parallel) must not make it assign a stored test a second id."""
    first = _bundle(tmp_path, 1, commit="1" * 40)
    theirs = _bundle(tmp_path, 2, commit="2" * 40, extra_test=True)
    ours = _bundle(tmp_path, 3, commit="3" * 40, extra_test=True, more=("w",))
    db, alone = tmp_path / "h.sqlite", tmp_path / "alone.sqlite"
    with HistoryStore(db) as mine, HistoryStore(db) as other:
        assert mine.ingest_bundle(first)
        assert other.ingest_bundle(theirs)  # adds org.B.z
        assert mine.ingest_bundle(ours)  # org.B.z again and a new org.B.w
    with HistoryStore(alone) as store:
        for bundle in (first, theirs, ours):
            assert store.ingest_bundle(bundle)
    assert dump(db) == dump(alone)


def test_the_names_digest_tells_apart_what_a_separator_could_confuse():
    from pipelinegen.analysis.history import _names_digest

    def digest(*keys):
        return _names_digest({(variant, cls): [0.0, len(names), [names]] for variant, cls, names in keys})

    assert digest((1, "C", ["a\0b"])) != digest((1, "C", ["a", "b"]))
    assert digest((1, "C\0a", ["b"])) != digest((1, "C", ["a\0b"]))
    assert digest((1, "C", ["a", "b"])) != digest((1, "C", ["b", "a"]))  # order decides recognition only
    assert digest((1, "C", ["a"]), (2, "C", ["a"])) != digest((1, "C", ["a", "a"]))
    assert digest((1, "C", ["a"]), (2, "D", ["b"])) == digest((2, "D", ["b"]), (1, "C", ["a"]))


def test_a_new_test_set_reads_only_the_tests_of_its_own_classes(tmp_path):
    """A history DB holds every profile's tests ever seen; a run that adds a test reads the stored tests of the
    classes it ran, not the whole tests table (its cost follows the run, not the DB). (When the run's classes
    are most of the DB's, one scan of the table is cheaper and is what ingest does.)"""
    first, grown = _bundle(tmp_path, 1, commit="1" * 40), _bundle(tmp_path, 3, commit="3" * 40, extra_test=True)
    other_profile = tmp_path / "other.tar.zst"
    cell = CellRef("jvm_1of1", "jvm 1/1", "jvm-dtest", (("jdk", "11"),))
    with BundleWriter(other_profile, subject=Subject("https://github.com/apache/cassandra", "9" * 40, "trunk"),
                      parameters={"profile": "post-commit"}, producer=Producer("jenkins", url="https://ci/job/9"),
                      cells=[cell]) as writer:
        writer.add_cell(cell, status="passed", node="agent-9", junit=[_junit(
            tmp_path / "other", f"TEST-{k}.xml", _suite(f"org.Other{k}", [(f"t{i}", "") for i in range(5)]))
            for k in range(10)])
    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        assert store.ingest_bundle(other_profile) and store.ingest_bundle(first)
        other_classes = {i for (i,) in store.conn.execute("SELECT id FROM classes WHERE name LIKE 'org.Other%'")}
    statements: list[str] = []
    with HistoryStore(db) as store:  # a new process: nothing cached
        store.conn.set_trace_callback(statements.append)
        assert store.ingest_bundle(grown)
    reads = [s for s in statements if "SELECT id, class_id, name FROM tests" in s]
    assert reads and all("class_id IN (" in s for s in reads)
    read_classes = {int(n) for s in reads for n in s.split("class_id IN (", 1)[1].split(")", 1)[0].split(",")}
    with HistoryStore(db, readonly=True) as store:
        own = {i for (i,) in store.conn.execute(
            "SELECT id FROM classes WHERE name IN ('org.A', 'org.B', 'org.C', 'org.Nasty', 'dtest.Upgrade')")}
    assert read_classes == own and len(other_classes) == 10 and not other_classes & read_classes
