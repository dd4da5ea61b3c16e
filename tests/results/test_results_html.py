"""The HTML summary opens offline in a real browser and shows the bundle's totals, every failure, working links."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from lxml import html

from pipelinegen.plan.cell import Parameters
from pipelinegen.results.bundle import BundleWriter
from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.results.manifest import CellRef, Producer, Subject
from pipelinegen.results.summary import summarise, text_summary, write_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CELLS = [CellRef(f"test_jdk17_{k}of3", f"test jdk17 {k}/3", "test", (("jdk", "17"),), k, 3) for k in (1, 2, 3)]


def _junit(path: Path, cell: int, failing: int, passing: int) -> Path:
    cases = [f'<testcase classname="org.apache.cassandra.C{cell}" name="fail_{i}" time="0.25">'
             f'<failure message="expected &lt;{i}&gt;">stack {i}</failure></testcase>' for i in range(failing)]
    cases += [f'<testcase classname="org.apache.cassandra.C{cell}" name="ok_{i}" time="0.5"/>' for i in range(passing)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<testsuite name="org.apache.cassandra.C{cell}">{"".join(cases)}'
                    f'<system-out>suite {cell} output</system-out></testsuite>')
    return path


def _render(path: Path, tmp: Path) -> html.HtmlElement:
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", f"--user-data-dir={tmp / 'chromium-profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return html.fromstring(proc.stdout)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (scripts/setup.sh installs it)")
def test_html_summary_in_headless_chromium(tmp_path):
    out = tmp_path / "pre-commit.tar.zst"
    # 250 failures: Cassandra's own summary stopped listing at 200.
    plan = [(0, 120, 40), (1, 130, 10), (2, 0, 25)]
    with BundleWriter(out, subject=Subject("https://github.com/apache/cassandra", "ab" * 20, "trunk"),
                      parameters=Parameters(profile="pre-commit"), producer=Producer("local", host="laptop"),
                      cells=[*CELLS, CellRef("jar_jdk17", "jar jdk17", "jar", (("jdk", "17"),))]) as writer:
        for (index, failing, passing), cell in zip(plan, CELLS, strict=True):
            log = tmp_path / f"{cell.id}.log"
            log.write_text(f"console of {cell.name}\n")
            writer.add_cell(cell, status="passed", duration_s=600 + index, node=f"agent-{index}",
                            junit=[_junit(tmp_path / cell.id / "TEST.xml", index, failing, passing)], logs=[log])
    bundle = read_bundle(out)
    page = tmp_path / "summary.html"
    write_html(summarise(bundle), bundle, page)

    dom = _render(page, tmp_path)
    totals = bundle.manifest["totals"]
    shown = {key: dom.get_element_by_id(f"total-{key}").text_content().strip()
             for key in ("tests", "passed", "failed", "errors", "skipped", "cells", "cells-not-run")}
    assert shown == {"tests": str(totals["tests"]["total"]), "passed": str(totals["tests"]["passed"]),
                     "failed": str(totals["tests"]["failed"]), "errors": str(totals["tests"]["error"]),
                     "skipped": str(totals["tests"]["skipped"]), "cells": str(totals["cells"]["total"]),
                     "cells-not-run": "1"}
    assert shown["tests"] == "325" and shown["failed"] == "250"
    rows = dom.xpath("//table[@id='failures']//tr[@class='failure']")
    assert len(rows) == 250
    assert dom.get_element_by_id("failure-count").text_content() == "250"
    assert "expected <7>" in rows[7].text_content()  # escaped by the template, shown as text

    # Every link from a failure (details, suite output, cell log) opens a file that exists, offline.
    hrefs = {a.get("href") for a in dom.xpath("//a[@href]")}
    local = [h for h in hrefs if not urlparse(h).scheme or urlparse(h).scheme == "file"]
    assert len(local) > 250
    for href in local:
        target = Path(unquote(urlparse(href).path)) if urlparse(href).scheme else page.parent / unquote(href)
        assert target.is_file(), href
    first_log = [h for h in local if h.endswith(f"{CELLS[0].id}.log")]
    assert first_log and (page.parent / unquote(first_log[0])).read_text() == f"console of {CELLS[0].name}\n"
    cell_rows = dom.xpath("//table[@id='cells']//tr[@class='cell']")
    assert [r.xpath("td")[1].text_content() for r in cell_rows] == ["failed", "failed", "passed", "not-run"]


def test_only_non_zero_problem_totals_are_highlighted(tmp_path):
    # A red bold "0 errors" reads as an alarm: colour is kept for counts that need a look.
    out = tmp_path / "b.tar.zst"
    with BundleWriter(out, subject=Subject("https://github.com/apache/cassandra", "cd" * 20, "trunk"),
                      parameters=Parameters(profile="pre-commit"), producer=Producer("local", host="laptop"),
                      cells=CELLS[:1]) as writer:
        writer.add_cell(CELLS[0], status="failed", duration_s=5, node="n",
                        junit=[_junit(tmp_path / "TEST.xml", 0, 1, 2)])
    bundle = read_bundle(out)
    page = tmp_path / "summary.html"
    write_html(summarise(bundle), bundle, page)
    dom = html.fromstring(page.read_text())

    def classes(key: str) -> set[str]:
        return set(dom.get_element_by_id(f"total-{key}").get("class").split())

    assert "failed" in classes("failed") and "failed" in classes("cells-failed")
    assert classes("errors") == {"num"} and classes("skipped") == {"num"} and classes("cells-not-run") == {"num"}


def test_a_build_that_fails_every_test_gives_a_page_of_its_causes_not_of_every_test(tmp_path):
    # A missing class fails every test: 1,200 failures, two causes. The page counts them by message, lists the
    # first 1,000 with a detail file each, and puts the rest in one file (50,000 files took 14 s to write).
    out = tmp_path / "b.tar.zst"
    cases = "".join(f'<testcase classname="org.apache.cassandra.C{i % 7}" name="t{i}" time="0.1"><error message="'
                    f'{"java.lang.NoClassDefFoundError: org/x/Y" if i % 10 else "timeout"}&#10;second line">'
                    f'trace {i}</error></testcase>' for i in range(1200))
    (tmp_path / "TEST.xml").write_text(f'<testsuite name="all">{cases}</testsuite>')
    with BundleWriter(out, subject=Subject("https://github.com/apache/cassandra", "cd" * 20, "trunk"),
                      parameters=Parameters(profile="pre-commit"), producer=Producer("local", host="laptop"),
                      cells=CELLS[:1]) as writer:
        writer.add_cell(CELLS[0], status="failed", duration_s=5, node="n", junit=[tmp_path / "TEST.xml"])
    bundle = read_bundle(out)
    summary = summarise(bundle)
    # Texts (up to 64 KiB each) are kept only for the listed failures: memory does not follow a broken build's output.
    assert summary.failures[999].details == "trace 999" and summary.failures[1000].details == ""
    page = tmp_path / "summary.html"
    files = write_html(summary, bundle, page)
    dom = html.fromstring(page.read_text())
    assert dom.get_element_by_id("failure-count").text_content() == "1200"
    groups = [[td.text_content() for td in row.xpath("td")] for row in dom.xpath("//tr[@class='message']")]
    assert groups == [["1080", "1", "java.lang.NoClassDefFoundError: org/x/Y", "org.apache.cassandra.C1.t1"],
                      ["120", "1", "timeout", "org.apache.cassandra.C0.t0"]]
    assert len(dom.xpath("//table[@id='failures']//tr[@class='failure']")) == 1000
    assert len(list((files / "failures").iterdir())) == 1001
    more = dom.get_element_by_id("more-failures")
    assert more.text_content().startswith("200 more failures")
    rest = (page.parent / more.xpath(".//a")[0].get("href")).read_text()
    assert rest.count("\nstatus: error\n") == 200 and "org.apache.cassandra.C2.t1199\n" in rest and "trace 1199" in rest
    text = text_summary(summarise(bundle))  # the terminal gets the same count by message before the full list
    assert "failures by message (first line; the most frequent first):\n" \
           "     1080 in 1 cell  java.lang.NoClassDefFoundError: org/x/Y\n      120 in 1 cell  timeout\n" in text
