"""`results collect` takes two shortcuts (small files read as a tree; runs of plain passes written, counted and
hashed in bulk). Whatever the input, the bundle must hold byte for byte what the record-by-record path writes:
the normalised junit.xml, records.tsv (read by history ingest), the manifest (counts, durations, duplicates)
and the digests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelinegen.plan.cell import Parameters
from pipelinegen.results import archive, bundle, junit
from pipelinegen.results.bundle import BundleWriter
from pipelinegen.results.manifest import CellRef, Producer, Subject
from tests.conftest import benchmark_corpus
from tests.results.test_junit_readers import EDGE_CASES, FIXTURES

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _bundle(out: Path, cells: list[tuple[CellRef, list[Path]]], flaky: tuple[str, ...] = ()) -> dict[str, bytes]:
    with BundleWriter(out, subject=Subject("https://example.org/repo", COMMIT, "trunk"),
                      parameters=Parameters(profile="ci"), producer=Producer("local", host="h"),
                      cells=[ref for ref, _ in cells]) as writer:
        for ref, files in cells:
            writer.add_cell(ref, status="passed", junit=files, flaky_tests=flaky)
    return {name: handle.read() for name, handle in archive.iter_members(out)}


def _both_ways(tmp: Path, cells: list[tuple[CellRef, list[Path]]], monkeypatch: pytest.MonkeyPatch,
               flaky: tuple[str, ...] = ()) -> tuple[dict[str, bytes], dict[str, bytes]]:
    fast = _bundle(tmp / "fast.tar.zst", cells, flaky)
    with monkeypatch.context() as patch:
        patch.setattr(junit, "TREE_MAX_BYTES", -1)  # every file through the streaming reader
        patch.setattr(bundle, "_plain_pass", lambda record: False)  # every record written one by one
        slow = _bundle(tmp / "slow.tar.zst", cells, flaky)
    return fast, slow


def _assert_same(fast: dict[str, bytes], slow: dict[str, bytes]) -> None:
    assert sorted(fast) == sorted(slow)
    for name in sorted(fast):
        assert fast[name] == slow[name], name


def _split(step: str, index: int, splits: int) -> CellRef:
    return CellRef(f"{step}_{index}of{splits}", f"{step} {index}/{splits}", step, (("jdk", "17"),), index, splits)


def test_every_corpus_shape_gives_the_same_bundle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = benchmark_corpus()
    SHAPES, generate = corpus.SHAPES, corpus.generate
    cells = []
    for shape in SHAPES:
        files = generate(tmp_path / shape, 0.3, shape)
        cells.append((_split(shape, 1, 1), files))
    fast, slow = _both_ways(tmp_path, cells, monkeypatch)
    _assert_same(fast, slow)
    assert sum(len(v) for k, v in fast.items() if k.endswith("records.tsv")) > 100_000  # real content compared


def test_edge_cases_fixtures_and_duplicates_give_the_same_bundle(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    edge = tmp_path / "edge"
    edge.mkdir()
    files = []
    for number, (data, _tree) in enumerate(EDGE_CASES.values()):
        files.append(edge / f"TEST-{number:02d}.xml")
        files[-1].write_bytes(data)
    fixtures = sorted(FIXTURES.glob("*.xml"))
    # The same tests in two splits of one step, and twice in one cell: duplicates, reported and counted.
    twice = tmp_path / "TEST-twice.xml"
    twice.write_bytes(b'<testsuite name="D"><testcase classname="D" name="a" time="1"/><testcase classname="D" '
                      b'name="a" time="2"/><testcase classname="D" name="b" time="0.1"/></testsuite>')
    # Names over MAX_NAME_CHARS (suite, class, test; passed, failed, suite output) are bounded alike on both paths.
    long = tmp_path / "TEST-long.xml"
    big = "x" * 3000
    long.write_text(f'<testsuite name="S{big}"><testcase classname="C{big}" name="t{big}" time="1"/>'
                    f'<testcase classname="C" name="f{big}"><failure message="m">trace</failure></testcase>'
                    f'<system-out>out</system-out></testsuite>')
    cells = [(_split("edge", 1, 1), [*files, long]), (_split("test", 1, 2), [*fixtures, twice]),
             (_split("test", 2, 2), [twice])]
    fast, slow = _both_ways(tmp_path, cells, monkeypatch)
    _assert_same(fast, slow)
    assert b'"duplicates": [' in fast["manifest.json"] and b'"name": "a"' in fast["manifest.json"]
    # A local run's flaky tests (passed on the last attempt) take the record-by-record path: same bundle.
    fast, slow = _both_ways(tmp_path, cells, monkeypatch, flaky=("D.b",))
    _assert_same(fast, slow)
    assert b'flaky_reruns="1"' in b"".join(v for k, v in fast.items() if k.endswith("junit.xml"))


def test_duplicates_in_a_suite_of_many_classes_are_found_both_ways(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # pytest writes one suite holding many classes (modules), a class's cases not always together: the
    # duplicate tracker stores a class's keys together, and must still find every duplicate on both paths.
    def suite(path: Path, cases: list[tuple[str, str]]) -> Path:
        body = "".join(f'<testcase classname="{cls}" name="{name}" time="0.5"/>' for cls, name in cases)
        path.write_text(f'<testsuites><testsuite name="pytest">{body}</testsuite></testsuites>')
        return path

    first = suite(tmp_path / "TEST-1.xml", [("m.a", "t1"), ("m.b", "t1"), ("m.a", "t2"), ("m.a", "t1")])
    second = suite(tmp_path / "TEST-2.xml", [("m.c", "t1"), ("m.b", "t1"), ("m.b", "t9")])
    cells = [(_split("dtest", 1, 2), [first]), (_split("dtest", 2, 2), [second])]
    fast, slow = _both_ways(tmp_path, cells, monkeypatch)
    _assert_same(fast, slow)
    duplicates = json.loads(fast["manifest.json"])["duplicates"]
    # m.a.t1 twice in split 1; m.b.t1 in both splits; nothing else.
    assert [(d["classname"], d["name"], d["count"], d["cells"]) for d in duplicates] == [
        ("m.a", "t1", 2, ["dtest_1of2"]), ("m.b", "t1", 2, ["dtest_1of2", "dtest_2of2"])]
