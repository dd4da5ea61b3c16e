"""The history DB under attack and under faults: parallel creation, corruption, read-only and full disks.

Each failure names its real cause; a valid DB is never called "not a history DB", and no advice would
make a user move a good DB away.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from pipelinegen.analysis.flaky import analyse
from pipelinegen.analysis.history import HistoryStore, RunInfo, store_errors
from pipelinegen.cli import main
from pipelinegen.errors import PipelineError
from pipelinegen.results.testcase import TestCaseResult as Result
from tests.hostile import bundle_mutator as bm
from tests.run_helpers import REPO


def _cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> list[Path]:
    """Ten distinct bundles (one per profile name: distinct manifests, distinct runs)."""
    tmp = tmp_path_factory.mktemp("bundles")
    made = []
    for k in range(10):
        out = tmp / f"b{k}.tar.zst"
        code, text = _cli("results", "collect", Path(__file__).parents[1] / "fixtures" / "junit", "--commit",
                          bm.COMMIT, "--profile", f"p{k}", "-o", out)
        assert code == 0, text
        made.append(out)
    return made


def _pipelinegen(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "from pipelinegen.cli import main; main()", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.slow
def test_ten_parallel_ingests_into_a_new_db_all_succeed(bundles, tmp_path):
    db = tmp_path / "new.sqlite"
    procs = [_pipelinegen("history", "ingest", "--db", str(db), str(b)) for b in bundles]
    results = [(p.wait(timeout=120), p.stdout.read()) for p in procs]
    assert [code for code, _ in results] == [0] * 10, [out for code, out in results if code]
    code, text = _cli("history", "info", "--db", db)
    assert code == 0 and "runs: 10" in text and "integrity: ok" in text


def _stored(bundles: list[Path], tmp_path: Path, n: int = 3) -> Path:
    db = tmp_path / "h.sqlite"
    code, text = _cli("history", "ingest", "--db", db, *bundles[:n])
    assert code == 0, text
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


def _corrupt_page(db: Path, table: str) -> None:
    """Overwrite the b-tree page of *table* (its root page) with garbage."""
    conn = sqlite3.connect(db)
    root, page_size = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0], \
        conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\x0d\xff\xff\xff" * 64)


@pytest.mark.parametrize("table", ["runs", "outcomes", "tests"])
def test_a_corrupt_page_is_a_clear_error_everywhere_and_info_tells_the_truth(table, bundles, tmp_path):
    db = _stored(bundles, tmp_path)
    _corrupt_page(db, table)
    before = db.read_bytes()
    code, text = _cli("history", "info", "--db", db)
    assert code == 2 and "corrupt" in text and "integrity: ok" not in text, text
    for command in (["flaky", "--db", db], ["flaky", "--db", db, "explain", "org.x.T.t"],
                    ["history", "ingest", "--db", db, bundles[5]]):
        code, text = _cli(*command)
        assert code == 2 and "corrupt" in text, (command, text)  # quick_check on open: small DBs are checked
        assert "move this file away" not in text and "not a SQLite" not in text
    assert db.read_bytes() == before  # pipelinegen did not touch the damaged DB


def test_a_file_that_is_not_sqlite_is_named_as_such_and_left_alone(bundles, tmp_path):
    db = tmp_path / "notes.sqlite"
    db.write_text("my notes, not a database\n")
    for command in (["history", "info", "--db", db], ["history", "ingest", "--db", db, bundles[0]],
                    ["flaky", "--db", db]):
        code, text = _cli(*command)
        assert code == 2 and "is not a SQLite database" in text, text
    assert db.read_text() == "my notes, not a database\n"


def _private_mounts() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tempfile.gettempdir()}"],
        capture_output=True).returncode == 0


needs_mounts = pytest.mark.skipif(not _private_mounts(), reason="needs unshare -rm to mount a file system")


def _in_namespace(setup: str, *commands: list[str]) -> list[tuple[int, str]]:
    """Run pipelinegen commands inside a private mount namespace prepared by *setup*."""
    script = [setup]
    for k, command in enumerate(commands):
        quoted = " ".join(f"'{c}'" for c in command)
        script.append(f'"$PY" -c "from pipelinegen.cli import main; main()" {quoted} > "$OUT_DIR/{k}.txt" 2>&1; '
                      f'echo $? > "$OUT_DIR/{k}.rc"')
    out_dir = Path(tempfile.mkdtemp())
    subprocess.run(["unshare", "-rm", "sh", "-c", "\n".join(script)], timeout=120, check=False,
                   env={**os.environ, "PY": sys.executable, "OUT_DIR": str(out_dir), "PYTHONPATH": str(REPO)})
    results = [(int((out_dir / f"{k}.rc").read_text()), (out_dir / f"{k}.txt").read_text())
               for k in range(len(commands))]
    shutil.rmtree(out_dir)
    return results


@needs_mounts
def test_a_valid_db_on_a_read_only_file_system_reads_and_refuses_writes_with_the_real_cause(bundles, tmp_path):
    db = _stored(bundles, tmp_path / "ro", n=2)
    ro = db.parent
    info, flaky, ingest = _in_namespace(f"mount --bind {ro} {ro} && mount -o remount,bind,ro {ro}",
                                        ["history", "info", "--db", str(db)], ["flaky", "--db", str(db)],
                                        ["history", "ingest", "--db", str(db), str(bundles[4])])
    assert info[0] == 0 and "runs: 2" in info[1] and "integrity: ok" in info[1], info
    assert flaky[0] == 0, flaky
    assert ingest[0] == 2 and "read-only" in ingest[1] and "not a history DB" not in ingest[1], ingest
    assert "move this file away" not in ingest[1]


@needs_mounts
def test_a_full_file_system_says_full_and_keeps_the_db_valid(bundles, tmp_path):
    mount = tmp_path / "full"
    mount.mkdir()
    db = mount / "h.sqlite"
    filler = mount / "filler"
    # now fill the disk and ingest more
    script = (f"mount -t tmpfs -o size=400k tmpfs {mount} && "
              f'"$PY" -c "from pipelinegen.cli import main; main()" history ingest --db {db} {bundles[0]} >/dev/null && '
              f"(head -c 10000000 /dev/zero > {filler} 2>/dev/null; true) && "
              f'"$PY" -c "from pipelinegen.cli import main; main()" history ingest --db {db} '
              + " ".join(str(b) for b in bundles[1:]) + f' > "$OUT_DIR/ingest.txt" 2>&1; echo $? > "$OUT_DIR/ingest.rc"; '
              f'rm -f {filler}; "$PY" -c "from pipelinegen.cli import main; main()" history info --db {db} '
              f'> "$OUT_DIR/info.txt" 2>&1; echo $? > "$OUT_DIR/info.rc"')
    out_dir = tmp_path / "o"
    out_dir.mkdir()
    subprocess.run(["unshare", "-rm", "sh", "-c", script], timeout=120, check=False,
                   env={**os.environ, "PY": sys.executable, "OUT_DIR": str(out_dir), "PYTHONPATH": str(REPO)})
    ingest_text = (out_dir / "ingest.txt").read_text()
    assert (out_dir / "ingest.rc").read_text().strip() == "2", ingest_text
    assert "full" in ingest_text and "Traceback" not in ingest_text and "move this file away" not in ingest_text
    info_text = (out_dir / "info.txt").read_text()
    assert (out_dir / "info.rc").read_text().strip() == "0" and "integrity: ok" in info_text, info_text


ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


@pytest.mark.parametrize("blob", [
    b"not zstd at all",
    zstandard.ZstdCompressor().compress(b"\xff\xfe"),  # not UTF-8
    ZSTD_MAGIC + b"\x00" * 20,  # no content size
    ZSTD_MAGIC + b"\xe0" + (1 << 30).to_bytes(8, "little") + b"\x01\x00\x00",  # 1 GiB: refused, never allocated
])
def test_a_damaged_compressed_failure_text_is_reported_as_a_corrupt_db(tmp_path, blob):
    """History DB schema 3 stores long failure texts as zstd: a forged or damaged one (a size bomb too) is a
    corrupt DB, refused before anything is allocated."""
    db = tmp_path / "h.sqlite"
    with HistoryStore(db) as store:
        store.ingest_run(RunInfo("d-1", "c1", "trunk", 1000.0), [
            Result("a.T", "a.T", "x", "cell", "failed", 1.0, details="y" * 999)])
        store.conn.execute("UPDATE outcomes SET details = ?", (blob,))
    # The text is unpacked when the analysis searches it (flaky reads a window's texts packed): same refusal.
    with HistoryStore(db, readonly=True) as store, pytest.raises(PipelineError) as caught, store_errors(db):
        analyse(store)
    assert "corrupt" in str(caught.value) and "failure text" in str(caught.value)
