"""The bundle's records member (cells/<id>/records.tsv) and flat-memory duplicate detection (issue 16)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipelinegen.plan.cell import Parameters
from pipelinegen.results import archive, bundle
from pipelinegen.results.bundle import BundleWriter
from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.results.junit import iter_testcases
from pipelinegen.results.manifest import CellRef, Producer, Subject
from pipelinegen.results.records import HEADER, RecordsError, RecordsWriter, read_records
from pipelinegen.results.testcase import TestCaseResult as Case

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SPLITS = [CellRef(f"test_jdk11_{k}of2", f"test jdk11 {k}/2", "test", (("jdk", "11"),), k, 2) for k in (1, 2)]
OTHER_JDK = CellRef("test_jdk17_1of1", "test jdk17 1/1", "test", (("jdk", "17"),))

NASTY_JUNIT = """<?xml version="1.0"?>
<testsuites><testsuite name="org.Nasty">
  <testcase classname="org.Nasty" name="tab&#9;and&#10;newline \\ back" time="1.25"/>
  <testcase classname="org.Nasty" name="fails" time="2"><failure message="expected &lt;1&gt;">trace\tline 1
\\n is not a newline\r\nline 2</failure><system-out>out</system-out></testcase>
  <testcase classname="org.Nasty" name="skip" time="0"><skipped message="why"/></testcase>
  <testcase classname="org.Nasty" name="flaky" time="3"><flakyFailure message="m" type="T">first run</flakyFailure></testcase>
  <testcase classname="org.Nasty" name="err" time="bad"><error type="java.io.IOError"/></testcase>
  <system-out>suite output</system-out>
</testsuite></testsuites>
"""


def _writer(out: Path) -> BundleWriter:
    return BundleWriter(out, subject=Subject("https://github.com/apache/cassandra", COMMIT, "trunk"),
                        parameters=Parameters(profile="pre-commit"), producer=Producer("local", host="laptop"),
                        cells=[*SPLITS, OTHER_JDK])


def _junit(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name / "TEST-x.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _cases(classname: str, names: list[str]) -> str:
    cases = "".join(f'<testcase classname="{classname}" name="{n}" time="0.5"/>' for n in names)
    return f'<?xml version="1.0"?><testsuite name="{classname}">{cases}</testsuite>'


def test_records_member_holds_exactly_what_the_normalised_junit_holds(tmp_path):
    out = tmp_path / "b.tar.zst"
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[_junit(tmp_path, "s1", NASTY_JUNIT)])
    manifest = read_bundle(out).manifest
    cell = next(c for c in manifest["cells"] if c["id"] == SPLITS[0].id)
    assert cell["records"] == f"cells/{SPLITS[0].id}/records.tsv"
    members = {name: handle.read() for name, handle in archive.iter_members(out)}
    from_xml = list(iter_testcases(io.BytesIO(members[cell["junit"]]), SPLITS[0].id, repair=False))
    from_records = list(read_records(io.BytesIO(members[cell["records"]]), SPLITS[0].id))
    assert from_records == from_xml
    assert [r.status for r in from_records] == ["passed", "failed", "skipped", "passed", "error"]
    assert from_records[0].name == "tab\tand\nnewline \\ back"
    assert "\\n is not a newline" in from_records[1].details
    assert from_records[3].flaky_reruns == 1
    # ... and both are covered by the digests, like every member.
    assert f"  {cell['records']}\n" in members["digests.sha256"].decode()


def test_read_records_refuses_a_malformed_file_naming_the_line():
    good = HEADER + "s\tc\tn\tpassed\t0.500\t1\t0\t\t\n"
    assert len(list(read_records(io.BytesIO(good.encode()), "cell"))) == 1
    for bad, what in [("#something else\n", "line 1"),
                      (good + "s\tc\tn\tpassed\t0.5\t1\n", "line 3"),
                      (good + "s\tc\tn\twon\t0.5\t1\t0\t\t\n", "line 3"),
                      (good + "s\tc\tn\tpassed\t-1\t1\t0\t\t\n", "line 3"),
                      (good + "s\tc\tn\tpassed\tnan\t1\t0\t\t\n", "line 3"),
                      (good + "s\tc\tn\tpassed\t0.5\t0\t0\t\t\n", "line 3"),
                      (good + "s\tc\tn\\x\tpassed\t0.5\t1\t0\t\t\n", "line 3")]:
        with pytest.raises(RecordsError, match=what):
            list(read_records(io.BytesIO(bad.encode()), "cell"))


def test_records_round_trip_every_escape():
    records = [Case("s\\t", "c\\", "n\n\\n", "cell", "failed", 1.5, "m\t\\\\t", "d\r\n\\x", 2, 1),
               Case("s", "c", "n", "cell", "passed", 0.0)]
    buffer = io.BytesIO()
    writer = RecordsWriter(buffer)
    for record in records:
        writer.write(record)
    writer.flush()
    buffer.seek(0)
    assert list(read_records(buffer, "cell")) == records


def test_duplicates_found_within_a_group_only_and_never_dropped(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle._DuplicateTracker, "_SPILL", 2)  # exercise the on-disk buckets
    out = tmp_path / "b.tar.zst"
    names = [f"t{i}" for i in range(40)]
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[_junit(tmp_path, "a", _cases("org.Dup", names[:30]))])
        writer.add_cell(SPLITS[1], status="passed", junit=[_junit(tmp_path, "b", _cases("org.Dup", names[25:]))])
        # Same tests on another jdk: another group, so not duplicates.
        writer.add_cell(OTHER_JDK, status="passed", junit=[_junit(tmp_path, "c", _cases("org.Dup", names))])
    manifest = read_bundle(out).manifest
    assert manifest["totals"]["tests"]["total"] == 30 + 15 + 40
    assert [(d["name"], d["count"], d["cells"]) for d in manifest["duplicates"]] == [
        (n, 2, [SPLITS[0].id, SPLITS[1].id]) for n in sorted(names[25:30])]


def test_a_hash_collision_is_confirmed_exactly_not_reported(tmp_path, monkeypatch):
    # Every identity hashes alike: only the exact comparison can tell the one real duplicate apart.
    monkeypatch.setattr(bundle, "hash", lambda _identity: 42, raising=False)
    out = tmp_path / "b.tar.zst"
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[_junit(tmp_path, "a", _cases("org.A", ["x", "y", "x"]))])
        writer.add_cell(SPLITS[1], status="passed", junit=[_junit(tmp_path, "b", _cases("org.B", ["z"]))])
    duplicates = read_bundle(out).manifest["duplicates"]
    assert [(d["classname"], d["name"], d["count"], d["cells"]) for d in duplicates] == [
        ("org.A", "x", 2, [SPLITS[0].id])]


def _rewrite(bundle_path: Path, tmp: Path, change) -> Path:
    """The same bundle with change(members) applied (members: name -> bytes, in archive order)."""
    members = {name: handle.read() for name, handle in archive.iter_members(bundle_path)}
    change(members)
    staging = tmp / "staging"
    for name, data in members.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    out = tmp / "changed.tar.zst"
    archive.write_tar(out, staging, list(members))
    return out


def test_history_ingest_reads_records_and_refuses_edited_ones(tmp_path):
    from pipelinegen.analysis.history import HistoryStore
    from pipelinegen.errors import PipelineError
    from pipelinegen.fsutil import sha256_bytes

    out = tmp_path / "b.tar.zst"
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[_junit(tmp_path, "s1", NASTY_JUNIT)])
    records = f"cells/{SPLITS[0].id}/records.tsv"

    def flip_a_failure_to_a_pass(members, rehash=False):
        members[records] = members[records].replace(b"\tfailed\t", b"\tpassed\t")
        if rehash:  # a forger who also fixes digests.sha256 is caught by the manifest counts
            lines = [line for line in members["digests.sha256"].decode().splitlines() if not line.endswith(records)]
            lines.append(f"{sha256_bytes(members[records])}  {records}")
            members["digests.sha256"] = ("\n".join(sorted(lines, key=lambda x: x.split("  ")[1])) + "\n").encode()

    for rehash, why in [(False, "does not match its sha256"), (True, "the manifest counts")]:
        edited = _rewrite(out, tmp_path / f"e{rehash}", lambda m, r=rehash: flip_a_failure_to_a_pass(m, r))
        with HistoryStore(tmp_path / f"h{rehash}.sqlite") as store:
            with pytest.raises(PipelineError, match=why):
                store.ingest_bundle(edited)
            assert store.stats()["runs"] == 0  # rolled back: nothing of it stored
    with HistoryStore(tmp_path / "good.sqlite") as store:
        assert store.ingest_bundle(out)
        stats = store.stats()
        assert (stats["runs"], stats["executions"], stats["non_passing"]) == (1, 5, 4)


def test_history_ingest_reads_a_bundle_written_before_records_existed(tmp_path):
    import json

    from pipelinegen.analysis.history import HistoryStore
    from pipelinegen.fsutil import sha256_bytes
    from pipelinegen.results import attest

    out = tmp_path / "b.tar.zst"
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[_junit(tmp_path, "s1", NASTY_JUNIT)])
    records = f"cells/{SPLITS[0].id}/records.tsv"

    def as_an_old_producer_wrote_it(members):
        # No records member, no "records" key; digests and attestation made again, as that producer did.
        del members[records]
        manifest = json.loads(members["manifest.json"])
        for cell in manifest["cells"]:
            cell.pop("records", None)
        members["manifest.json"] = json.dumps(manifest, sort_keys=True).encode()
        members["digests.sha256"] = "".join(
            f"{sha256_bytes(members[name])}  {name}\n" for name in sorted(members)
            if name not in ("digests.sha256", "attestation.intoto.json")).encode()
        members["attestation.intoto.json"] = json.dumps(attest.statement(
            manifest, sha256_bytes(members["manifest.json"]), sha256_bytes(members["digests.sha256"]))).encode()

    old = _rewrite(out, tmp_path / "old", as_an_old_producer_wrote_it)
    assert records not in {name for name, _ in archive.iter_members(old)}
    with HistoryStore(tmp_path / "h.sqlite") as store:
        assert store.ingest_bundle(old)
        stats = store.stats()
        assert (stats["runs"], stats["executions"], stats["non_passing"]) == (1, 5, 4)


def test_one_class_too_large_for_memory_is_checked_on_disk_and_loses_no_duplicate(tmp_path, monkeypatch):
    # A bucket holds a class's keys; one class of millions of tests (here: over a lowered limit) is split again
    # on disk by other bits of the key, and the same duplicates come out.
    monkeypatch.setattr(bundle._DuplicateTracker, "_SPILL", 4)
    monkeypatch.setattr(bundle._DuplicateTracker, "_FIT", 16)
    out = tmp_path / "b.tar.zst"
    names = [f"t{i}" for i in range(300)]
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[_junit(tmp_path, "a", _cases("org.Big", names[:200]))])
        writer.add_cell(SPLITS[1], status="passed", junit=[_junit(tmp_path, "b", _cases("org.Big", names[190:]))])
    duplicates = read_bundle(out).manifest["duplicates"]
    assert sorted(d["name"] for d in duplicates) == sorted(names[190:200])
    assert all(d["cells"] == [SPLITS[0].id, SPLITS[1].id] for d in duplicates)
    assert not any(p.name.startswith(".bundle-") for p in tmp_path.iterdir())  # the split files are gone too


@pytest.mark.parametrize("writer_kind", ["junit.xml", "records.tsv"])
def test_failure_texts_reach_the_file_as_they_come_not_all_at_the_end(writer_kind):
    # A broken build: every failure carries 64 KiB of output. Both writers held 2,048 of them before writing
    # anything (collect of 8,000 such failures peaked at 567 MiB); now they flush every 64 Ki characters.
    from pipelinegen.results.normalise import JUnitStreamWriter
    from pipelinegen.results.records import RecordsWriter
    from pipelinegen.results.testcase import TestCaseResult

    class Sink:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        def write(self, data: bytes) -> int:
            self.sizes.append(len(data))
            return len(data)

    sink = Sink()
    writer = JUnitStreamWriter(sink) if writer_kind == "junit.xml" else RecordsWriter(sink)
    text = "at org.apache.cassandra.Some.frame(Some.java:1)\n" * 1300  # ~64 KiB
    for i in range(200):
        writer.write(TestCaseResult("S", "S", f"t{i}", "cell", "failed", 0.5, "boom", text))
    assert sum(sink.sizes) > 10 << 20, "200 failures of 64 KiB (12 MiB) were still held in memory"
    assert max(sink.sizes) < 1 << 20  # one text (64 KiB, escaped) and what came before it
