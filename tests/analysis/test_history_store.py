"""The history store: ingest, idempotency, durations for splits, schema versioning."""

from __future__ import annotations

import sqlite3

import pytest

from pipelinegen.analysis.history import (
    CellRun,
    HistoryStore,
    RunInfo,
    decode_testset,
    encode_testset,
    migrations,
)
from pipelinegen.errors import PipelineError
from pipelinegen.results.testcase import TestCaseResult as Result


def tc(cls, name, cell="test_jdk11_1of2", status="passed", seconds=1.0, **kw):
    return Result("suite", cls, name, cell, status, seconds, **kw)


CELLS = [
    CellRun("test_jdk11_1of2", "test", (("jdk", "11"),), node="n1", status="passed"),
    CellRun("test_jdk11_2of2", "test", (("jdk", "11"),), node="n2", status="failed"),
    CellRun("jvm-dtest_jdk11_1of1", "jvm-dtest", (("jdk", "11"),), node="n1", status="passed"),
]


def sample_run(i: int, branch="trunk"):
    run = RunInfo(f"digest-{i}", f"c{i}", branch, 1000.0 + i)
    cases = [
        tc("a.FooTest", "t1", seconds=1.0 + i),
        tc("a.FooTest", "t2", seconds=2.0),
        tc("a.BarTest", "t1", cell="test_jdk11_2of2", status="failed", seconds=4.0, message="boom"),
        tc("a.DistTest", "t1", cell="jvm-dtest_jdk11_1of1", seconds=10.0),
    ]
    return run, cases


def test_ingest_twice_changes_nothing(tmp_path):
    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        run, cases = sample_run(1)
        assert store.ingest_run(run, cases, CELLS) is True
        before = store.stats()
        dump_before = list(store.conn.iterdump())
        assert store.ingest_run(run, cases, CELLS) is False
        assert store.stats() == before
        assert list(store.conn.iterdump()) == dump_before
    assert before["runs"] == 1 and before["executions"] == 4 and before["non_passing"] == 1


def test_durations_mean_per_class_filtered_by_step_and_branch(tmp_path):
    with HistoryStore(tmp_path / "h.sqlite") as store:
        for i in (1, 2):
            store.ingest_run(*sample_run(i), CELLS)
        store.ingest_run(*sample_run(3, branch="cassandra-5.0"), CELLS)
        # FooTest per run = t1 (1 + i) + t2 (2): run 1 -> 4 s, run 2 -> 5 s on trunk
        assert store.durations("test", "trunk") == {"a.BarTest": 4.0, "a.FooTest": 4.5}
        assert store.durations("jvm-dtest") == {"a.DistTest": 10.0}
        assert store.durations(branch="cassandra-5.0")["a.FooTest"] == 6.0
        assert store.durations(recent_runs=1)["a.FooTest"] == 6.0  # only the newest run
        assert store.durations("no-such-step") == {}


def test_failed_ingest_leaves_no_trace(tmp_path):
    with HistoryStore(tmp_path / "h.sqlite") as store:
        run, cases = sample_run(1)

        def broken():
            yield cases[0]
            raise RuntimeError("reader died")

        with pytest.raises(RuntimeError):
            store.ingest_run(run, broken(), CELLS)
        assert store.stats()["runs"] == 0 and store.stats()["tests"] == 0
        assert store.ingest_run(run, cases, CELLS) is True
        assert store.stats()["tests"] == 4


def test_schema_is_versioned_and_reopen_keeps_data(tmp_path):
    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        store.ingest_run(*sample_run(1), CELLS)
    with HistoryStore(db) as store:
        assert store.stats()["runs"] == 1
        assert store.stats()["schema_version"] == migrations()[-1][0]
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_newer_schema_is_refused_with_a_fix(tmp_path):
    db = tmp_path / "h.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    with pytest.raises(PipelineError) as err:
        HistoryStore(db)
    assert "999" in str(err.value) and "upgrade pipelinegen" in str(err.value)


def test_not_a_database_is_a_clear_error(tmp_path):
    db = tmp_path / "h.sqlite"
    db.write_text("hello, I am a text file" * 100)
    with pytest.raises(PipelineError) as err:
        HistoryStore(db)
    assert str(db) in str(err.value) and "--db" in str(err.value)


def test_testset_round_trip_and_dedup(tmp_path):
    counts = {(3, 1): 2, (1, 1): 1, (1, 2): 500}
    digest, blob = encode_testset(counts)
    assert decode_testset(blob) == {1: {1: 1, 2: 500}, 3: {1: 2}}
    assert encode_testset(dict(reversed(list(counts.items()))))[0] == digest
    with HistoryStore(tmp_path / "h.sqlite") as store:
        for i in range(5):
            store.ingest_run(*sample_run(i), CELLS)
        assert store.stats()["test_sets"] == 1  # same tests every run: one stored set


def test_a_new_migration_is_applied_once_and_a_failing_one_changes_nothing(tmp_path, monkeypatch):
    from pipelinegen.analysis import history

    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        store.ingest_run(*sample_run(1), CELLS)
    shipped = history.migrations()
    good = (shipped[-1][0] + 1, "9998_note.sql", "CREATE TABLE notes (run INTEGER, text TEXT);\n-- done\n")
    monkeypatch.setattr(history, "migrations", lambda: [*shipped, good])
    with HistoryStore(db) as store:
        assert store.stats()["schema_version"] == good[0] and store.stats()["runs"] == 1
        store.conn.execute("INSERT INTO notes VALUES (1, 'kept')")
    with HistoryStore(db) as store:  # not applied a second time (it would fail: table exists)
        assert store.conn.execute("SELECT text FROM notes").fetchall() == [("kept",)]
    bad = (good[0] + 1, "9999_bad.sql", "CREATE TABLE extra (x INTEGER);\nCREATE TABLE runs (x INTEGER);\n")
    monkeypatch.setattr(history, "migrations", lambda: [*shipped, good, bad])
    with pytest.raises(PipelineError) as err:
        HistoryStore(db)
    assert "9999_bad.sql" in str(err.value)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == good[0]
    assert not conn.execute("SELECT name FROM sqlite_master WHERE name = 'extra'").fetchall()
    conn.close()


def test_splits_read_durations_through_the_timing_source(tmp_path):
    from pipelinegen.analysis.timings import read_history

    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        for i in (1, 2):
            store.ingest_run(*sample_run(i), CELLS)
    assert read_history(db, "test", "trunk") == {"a.BarTest": 4.0, "a.FooTest": 4.5}
    assert read_history(db, "jvm-dtest") == {"a.DistTest": 10.0}


def test_testset_encoding_is_the_same_from_tuples_and_from_packed_ids():
    """Ingest encodes {test << 32 | variant: n} (ints sort and split at C speed); the blob and digest are
    those of the (test, variant) form, so test sets stored before and after stay one and the same."""
    import random

    from pipelinegen.analysis import history

    rng = random.Random(16)
    counts = {(rng.randrange(1, 2**32), rng.randrange(1, 2**32)): rng.randrange(1, 1000) for _ in range(500)}
    counts[(1, 2**32 - 1)] = 3
    counts[(2**32 - 1, 1)] = 4
    packed = {t << 32 | v: n for (t, v), n in counts.items()}
    assert history._encode_packed(packed) == encode_testset(counts)
    decoded = decode_testset(encode_testset(counts)[1])
    assert {(t, v): n for t, per in decoded.items() for v, n in per.items()} == counts


def test_a_long_failure_text_is_stored_compressed_and_read_back_exactly(tmp_path):
    """Schema version 3: a stack trace is stored as zstd (the DB grows by a fraction of the text per failing
    test case) and every reader gets the exact text back; a short text stays TEXT."""
    from pipelinegen.analysis.history import PACK_FROM

    trace = "java.lang.AssertionError: é ≠ e\n" + "".join(
        f"\tat org.apache.cassandra.db.Frame{i}.apply(Frame.java:{300 + 7 * i})\n" for i in range(60))
    short = "x" * (PACK_FROM - 1)
    run = RunInfo("d-1", "c1", "trunk", 1000.0)
    cases = [tc("a.T", "long", status="failed", message="boom", details=trace),
             tc("a.T", "short", status="error", details=short), tc("a.T", "ok")]
    with HistoryStore(tmp_path / "h.sqlite") as store:
        assert store.ingest_run(run, cases, CELLS)
        stored = dict(store.conn.execute(
            "SELECT t.name, o.details FROM outcomes o JOIN tests t ON t.id = o.test"))
        history = store.history()
    assert isinstance(stored["long"], bytes) and len(stored["long"]) < len(trace.encode()) / 4
    assert stored["short"] == short
    texts = {name: [o.details_text() for _run, o in found] for name, found in history.outcomes.items()}
    assert texts == {"a.T.long": [trace], "a.T.short": [short]}


def test_the_garbage_collector_paused_while_a_run_is_read_is_on_again_after_it(tmp_path):
    """Ingest pauses Python's cyclic collector while it reads a run (nothing it builds forms cycles); it is
    on again afterwards, also when the run's reader fails, and stays off for a caller that had it off."""
    import gc

    seen = []

    def cases(fail: bool):
        seen.append(gc.isenabled())
        yield tc("a.T", "x")
        if fail:
            raise RuntimeError("reader died")

    with HistoryStore(tmp_path / "h.sqlite") as store:
        assert store.ingest_run(RunInfo("d-1", "c1", "trunk", 1.0), cases(False)) and gc.isenabled()
        with pytest.raises(RuntimeError):
            store.ingest_run(RunInfo("d-2", "c2", "trunk", 2.0), cases(True))
        assert gc.isenabled()
        gc.disable()
        try:
            assert store.ingest_run(RunInfo("d-3", "c3", "trunk", 3.0), cases(False))
            assert not gc.isenabled()
        finally:
            gc.enable()
    assert seen == [False, False, False]
