"""The JUnit reader's two ways of reading a file (a tree walk for small files, a streaming parser target
for the rest) must give the same records, in the same order, for every shape real tools write and every
oddity the streaming reader already handles: `results collect`'s output would otherwise depend on a
file's size."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinegen.results import junit
from pipelinegen.results.junit import TREE_MAX_BYTES, iter_record_batches, iter_records
from tests.conftest import benchmark_corpus
from tests.results.test_results_records import NASTY_JUNIT

FIXTURES = Path(__file__).parents[1] / "fixtures" / "junit"
_EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
_EVIL_ATTR = _EVIL.replace("<", "&lt;").replace('"', "&quot;")
_EVIL_TEXT = _EVIL.replace("<", "&lt;")

# name -> (file bytes, whether the tree reader reads it itself rather than handing it to the streaming one)
EDGE_CASES: dict[str, tuple[bytes, bool]] = {
    "ant": (b'<?xml version="1.0"?>\n<testsuite name="S" tests="3">\n  <properties><property name="a" value="b"/>'
            b'</properties>\n  <testcase classname="S" name="p" time="1.5"/>\n  <testcase classname="S" name="f" '
            b'time="2"><failure message="m" type="T">trace</failure><system-out>out</system-out></testcase>\n'
            b'  <system-out>suite out</system-out>\n  <system-err>suite err</system-err>\n</testsuite>\n', True),
    "testsuites, nested, same names twice": (
        b'<testsuites><testsuite name="outer"><testsuite name="inner"><testcase name="t"/>'
        b'<system-out>inner out</system-out></testsuite><testcase name="u"/><system-out>a</system-out>'
        b'<system-out>b</system-out></testsuite><testsuite name="outer"><testcase name="v"><error/></testcase>'
        b'</testsuite><testsuite><testcase name="nameless suite"/></testsuite></testsuites>', True),
    "root testcase": (b'<testcase classname="C" name="alone" time="3"/>', True),
    "root failing testcase": (b'<testcase classname="C" name="alone"><failure>x</failure></testcase>', True),
    "cases outside a suite": (b'<results><group><testcase classname="C" name="a"/></group>'
                              b'<testcase name="b"><skipped/></testcase><system-out>not suite output</system-out>'
                              b'</results>', True),
    "testcase inside properties": (b'<testsuite name="S"><properties><testcase name="odd"/></properties>'
                                   b'<testcase name="even"/></testsuite>', True),
    "suite inside a property": (b'<testsuite name="S"><properties><testsuite name="T"><system-out>t out'
                                b'</system-out></testsuite></properties></testsuite>', True),
    "namespaced elements": (b'<testsuite name="S" xmlns:q="urn:q"><q:testcase name="no"/><testcase name="yes" '
                            b'q:attempt="3"/><testcase xmlns="urn:d" name="default ns"/><q:system-out>x'
                            b'</q:system-out></testsuite>', True),
    "comments, PIs, CDATA": (b'<?xml version="1.0"?><!-- head --><?pi x?><testsuite name="S"><!-- c -->'
                             b'<testcase name="a"><!-- in case --></testcase><testcase name="b"><failure>one<!-- c -->'
                             b'two<![CDATA[<three>]]><?pi?>four</failure></testcase><system-out>x<!-- c -->y'
                             b'<![CDATA[ & z]]></system-out></testsuite>', True),
    "text inside plain cases": (b'<testsuite name="S"><testcase name="a">stray text</testcase>'
                                b'<testcase name="b">   </testcase></testsuite>', True),
    "attempt and flaky attributes": (
        b'<testsuite name="S"><testcase classname="C" name="a" time="1" attempt="2" flaky_reruns="1"/>'
        b'<testcase name="few" attempt="5"/><testcase classname="C" name="x" time="1" attempt="bad"/>'
        b'<testcase classname="C" name="y" time="1" flaky_reruns="-1"/><testcase classname="C" name="z" time="1"/>'
        b'</testsuite>', True),
    "class fallbacks": (b'<testsuite name="S"><testcase class="K" name="a"/><testcase classname="" class="K" '
                        b'name="b"/><testcase/><testcase classname="C" name=""/></testsuite>', True),
    "odd times": (b'<testsuite name="S">' + b"".join(
        f'<testcase name="t{i}" time="{t}"/>'.encode() for i, t in enumerate(
            ["", "1,234.5", "-1", "nan", "inf", "1e3", " 2.5 ", "1_000", "abc", "0.0005", "0.0015", "1.0005", "123456.7894999"]))
        + b'</testsuite>', True),
    # Plain passes read as columns (junit.PlainRun): attribute layouts, and times the C-speed path must hand back.
    "plain columns, odd times": (b'<testsuite name="S">' + b"".join(
        f'<testcase classname="C" name="t{i}" time="{t}"/>'.encode() for i, t in enumerate(
            ["1.5", "-1", "nan", "inf", "-inf", "1e3", " 2.5 ", "1_000", "-0.0", "7", "2e9"]))  # each a float()
        + b'<testcase classname="C" name="skip" time="1"><skipped/></testcase>' + b"".join(
        f'<testcase classname="C" name="u{i}" time="{t}"/>'.encode() for i, t in enumerate(
            ["", "1,234.5", "abc", "0.0005"]))  # not every one a float()
        + b'<testcase classname="C" name="ok1" time="0.25"/><testcase classname="C" name="ok2" time="3"/>'
        + b'</testsuite>', True),
    "plain columns, layouts": (
        b'<testsuite name="S"><testcase classname="C" name="a" time="1"/><testcase name="b" classname="C" time="2"/>'
        b'<testcase name="c" classname="C" time="3"/><testcase classname="P" name="d" time="4" file="p.py" line="7"/>'
        b'<testcase classname="C" name="e" time="5" attempt="2"/><testcase classname="C" name="f" time="6"/>'
        b'<testcase classname="" class="K" name="g" time="7"/><testcase classname="C" name="h" time="8"/>'
        b'<testcase classname="C" name="i" time="9"><skipped/></testcase><testcase classname="C" name="j" time="1"/>'
        b'<properties/><testcase classname="C" name="k" time="2"/><testcase classname="C" name="l" flaky_reruns="2" '
        b'time="1"/><testcase classname="C" name="m"/><testcase classname="C" name="" time="1"/></testsuite>', True),
    # Whitespace-only text in every place (the tree parser drops blank text between elements: nothing read).
    "blank text": (b'<testsuite name="S">\n  <testcase classname="C" name="a" time="1">\n    <failure message="m">\n'
                   b'      <stackTrace>  trace  </stackTrace>\n    </failure>\n    <system-out>  </system-out>\n'
                   b'    <system-err>\n</system-err>\n  </testcase>\n  <testcase classname="C" name="b" time="1">\n'
                   b'    <skipped>  </skipped>\n  </testcase>\n  <system-out>   </system-out>\n  <system-out> x '
                   b'</system-out>\n  <system-err>\n\n</system-err>\n</testsuite>\n', True),
    "escapes and unicode": (b'<testsuite name="S &amp; &lt;T&gt;"><testcase classname="C&quot;\xc3\xa9&#38;&amp;#38;" '
                            b'name="a&#9;b&#10;c&#13;d\\e"/><testcase name="\xe2\x98\x83"><failure message="&#10;m">'
                            b'x\r\ny</failure></testcase></testsuite>', True),
    "surefire": ((FIXTURES / "surefire-TEST-example.RetryTests.xml").read_bytes(), True),
    "system-out with a child element": (b'<testsuite name="S"><testcase name="a"/><system-out>before<b>in</b>after'
                                        b'</system-out></testsuite>', False),
    "testcase inside suite output": (b'<testsuite name="S"><system-out>log<testcase name="x"/>more</system-out>'
                                     b'</testsuite>', False),
    "doctype with entities": (b'<!DOCTYPE testsuite [<!ENTITY e "entity text">]><testsuite name="S">'
                              b'<testcase name="a"><failure>x &e; y</failure></testcase></testsuite>', False),
    "deep nesting": (b"<a>" * 100 + b'<testsuite name="deep"><testcase name="d"/></testsuite>' + b"</a>" * 100,
                     False),
    "utf-16": ('<?xml version="1.0" encoding="UTF-16"?><testsuite name="S"><testcase name="a" attempt="2" '
               'classname="C" time="1"/><testcase name="\u00e9"/></testsuite>'.encode("utf-16"), True),
    "bom and leading whitespace": (b"\xef\xbb\xbf  \n" + b'<testsuite name="S"><testcase name="a"/></testsuite>',
                                   True),
    "control characters": (b'<testsuite name="S"><testcase name="a"/><testcase name="b"><failure>\x1b[31m'
                           b'</failure></testcase><testcase name="c"/></testsuite>', False),
    "bad character reference": (b'<testsuite name="S"><testcase name="a"><failure>&#27;x</failure></testcase>'
                                b'</testsuite>', False),
    "truncated": (b'<testsuite name="S"><testcase name="a"/><testcase name="b"><failure>cut', False),
    "empty": (b"", False),
    "not xml": (b"Exception in thread main", False),
    # From tests/results/test_results_records.py and tests/hostile/test_hostile_bundles.py:
    "records' nasty names": (NASTY_JUNIT.encode(), True),
    "markup in names": ((f'<testsuites><testsuite name="S"><testcase classname="{_EVIL_ATTR}" name="t"><failure '
                         f'message="m">{_EVIL_TEXT}</failure></testcase><testcase classname="{_EVIL_ATTR}" name="p"/>'
                         f'</testsuite></testsuites>').encode(), True),
    "huge suite output": (b'<testsuite name="S"><testcase name="a"/><system-out>' + b"x" * (TREE_MAX_BYTES + 10)
                          + b"</system-out></testsuite>", False),
}


def _same_records(path: Path, expect_tree: bool | None) -> None:
    for cases_only in (False, True):
        tree = list(iter_records(path, "cell", attempt=2, cases_only=cases_only))
        stream = list(iter_records(path, "cell", attempt=2, cases_only=cases_only, use_tree=False))
        assert tree == stream, path.name
    if expect_tree is not None:
        took_tree = junit._tree_records(str(path), "cell", 2, path.stem, False) is not None
        assert took_tree == expect_tree, f"{path.name}: tree reader {'not ' if expect_tree else ''}expected"


@pytest.mark.parametrize("name", sorted(EDGE_CASES))
def test_tree_and_streaming_readers_agree_on_edge_cases(tmp_path: Path, name: str) -> None:
    data, expect_tree = EDGE_CASES[name]
    path = tmp_path / "TEST-edge.xml"
    path.write_bytes(data)
    _same_records(path, expect_tree)


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.glob("*.xml")))
def test_tree_and_streaming_readers_agree_on_fixtures(fixture: str) -> None:
    _same_records(FIXTURES / fixture, None)


def test_tree_and_streaming_readers_agree_on_every_corpus_shape(tmp_path: Path) -> None:
    corpus = benchmark_corpus()
    SHAPES, generate = corpus.SHAPES, corpus.generate
    for shape in SHAPES:
        # broken: ~66 KB per test case, files on both sides of TREE_MAX_BYTES
        files = generate(tmp_path / shape, 2.0 if shape == "broken" else 0.4, shape)
        assert sum(1 for path in files[:40] for _ in iter_records(path, "c")) > 20, shape
        for path in files[:40]:
            _same_records(path, path.stat().st_size <= TREE_MAX_BYTES)


def test_batches_hold_the_records_in_order(tmp_path: Path) -> None:
    path = tmp_path / "TEST-S.xml"
    path.write_bytes(EDGE_CASES["testsuites, nested, same names twice"][0])
    flat = [r for batch in iter_record_batches(path, "c") for r in batch]
    assert flat == list(iter_records(path, "c", use_tree=False))
    assert [getattr(r, "name", None) for r in flat][:2] == ["t", None]  # inner's case, then inner's output


def test_plain_passes_are_read_as_columns_with_the_records_of_every_other_path(tmp_path: Path) -> None:
    path = tmp_path / "TEST-S.xml"
    path.write_bytes(EDGE_CASES["plain columns, odd times"][0])
    batches = list(iter_record_batches(path, "c"))
    runs = [b for b in batches if isinstance(b, junit.PlainRun)]
    assert runs and sum(map(len, runs)) == 17  # every case of the file but the skipped one, as columns
    records = {r.name: r.duration_s for r in iter_records(path, "c")}
    # Times that are not a finite non-negative number are 0.0, as the record-by-record path gives them.
    assert [records[f"t{i}"] for i in range(8)] == [1.5, 0.0, 0.0, 0.0, 0.0, 1000.0, 2.5, 1000.0]
    assert [records[f"u{i}"] for i in range(4)] == [0.0, 1234.5, 0.0, 0.0005] and records["ok2"] == 3.0
    layouts = tmp_path / "TEST-L.xml"
    layouts.write_bytes(EDGE_CASES["plain columns, layouts"][0])
    by_name = {r.name: r for r in iter_records(layouts, "c")}
    assert by_name["e"].attempt == 2 and by_name["g"].classname == "K" and by_name["l"].flaky_reruns == 2
    assert by_name["d"].classname == "P" and by_name["b"].duration_s == 2.0
    assert any(isinstance(b, junit.PlainRun) for b in iter_record_batches(layouts, "c"))


def test_an_ampersand_in_a_name_is_read_as_itself_by_both_readers(tmp_path: Path) -> None:
    # libxml2 hands a parser target "&" in attribute values as "&#38;": the streaming reader (files over
    # TREE_MAX_BYTES) recorded the test "a & b" as "a &#38; b".
    small = tmp_path / "TEST-small.xml"
    small.write_bytes(b'<testsuite name="S &amp; T"><testcase classname="C" name="a &amp; b"/></testsuite>')
    large = tmp_path / "TEST-large.xml"
    large.write_bytes(small.read_bytes().replace(b"</testsuite>", b"<system-out>" + b"x" * TREE_MAX_BYTES
                                                 + b"</system-out></testsuite>"))
    for path in (small, large):
        [case] = list(iter_records(path, "c", cases_only=True))
        assert (case.suite, case.name) == ("S & T", "a & b"), path.name
