"""The commands a user runs: history ingest (real result bundles), flaky, flaky explain, --html/--json."""

from __future__ import annotations

import json
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree
from lxml import html as lxml_html

from pipelinegen.analysis.history import HistoryStore
from pipelinegen.cli import main
from pipelinegen.cli.history import parse_since
from pipelinegen.results.bundle import write_bundle
from pipelinegen.results.manifest import CellRef, Producer, Subject

SPLITS = [CellRef(f"test_jdk11_{k}of2", f"test jdk11 {k}/2", "test", (("jdk", "11"),), k, 2) for k in (1, 2)]


def junit(tmp: Path, name: str, cases: dict[str, str]) -> Path:
    """A JUnit file; cases: test name -> '' (pass) or failure message."""
    suite = etree.Element("testsuite", name="org.Flaky")
    for test, failure in cases.items():
        case = etree.SubElement(suite, "testcase", classname="org.Flaky", name=test, time="1.5")
        if failure:
            etree.SubElement(case, "failure", message=failure).text = f"{failure}\n\tat org.Flaky.{test}"
    path = tmp / name / "TEST-org.Flaky.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(etree.tostring(suite, xml_declaration=True, encoding="utf-8"))
    return path


def bundle(tmp: Path, i: int, commit: str, flaky_fails: bool, log_text: str = "") -> Path:
    """Run i: org.Flaky.stable always passes; org.Flaky.sometimes fails when flaky_fails."""
    out = tmp / f"run{i}.tar.zst"
    logs = []
    if log_text:
        log = tmp / f"log{i}.log.xz"
        log.write_bytes(lzma.compress(log_text.encode()))
        logs = [log]
    write_bundle(
        out, subject=Subject("https://github.com/apache/cassandra", commit, "trunk"),
        parameters={"profile": "pre-commit"},
        producer=Producer("jenkins", url=f"https://ci/job/{i}", started_at=f"2026-01-{i + 1:02d}T10:00:00Z"),
        cells=SPLITS,
        results=[
            {"cell": SPLITS[0], "status": "failed" if flaky_fails else "passed", "node": f"agent-{i % 3}",
             "junit": [junit(tmp / f"r{i}", "a", {"sometimes": "expected:<1> but was:<2>" if flaky_fails else "",
                                                   "stable": ""})], "logs": logs},
            {"cell": SPLITS[1], "status": "passed", "node": "agent-9",
             "junit": [junit(tmp / f"r{i}", "b", {"other": ""})]},
        ],
    )
    return out


@pytest.fixture
def bundles(tmp_path):
    # Same commit for runs 0-3 (mixed outcomes of `sometimes`), a new commit for 4-5.
    commits = ["a" * 40] * 4 + ["b" * 40] * 2
    return [bundle(tmp_path, i, c, flaky_fails=i in (1, 4)) for i, c in enumerate(commits)]


def run(*args, env=None):
    result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
    return result


def test_ingest_bundles_then_find_the_flaky_test(tmp_path, bundles):
    db = tmp_path / "h.sqlite"
    result = run("history", "ingest", *map(str, bundles), "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "6 added, 0 already present" in result.output
    again = run("history", "ingest", str(bundles[0]), str(bundles[1]), "--db", str(db))
    assert "0 added, 2 already present" in again.output
    with HistoryStore(db) as store:
        assert store.stats()["runs"] == 6
        # durations for timing-based splits come from the same DB
        # org.Flaky ran 2 tests x 1.5 s in split 1 and 1 test in split 2: 4.5 s per run of step test
        assert store.durations("test") == {"org.Flaky": 4.5}

    result = run("flaky", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "org.Flaky.sometimes" in result.output and "test (confirmed)" in result.output
    assert "org.Flaky.stable" not in result.output
    assert "passed and failed on the same commit aaaaaaaaaaaa" in result.output

    explain = run("flaky", "--db", str(db), "explain", "org.Flaky.sometimes")
    assert explain.exit_code == 0, explain.output
    assert "2 of 6 executions" in explain.output
    assert "runs with failures (2 of 6)" in explain.output

    data = json.loads(run("flaky", "--db", str(db), "--json").output)
    assert data["runs"] == 6 and data["counts"] == {"test": 1, "code": 0, "infra": 0}
    flake = data["tests"][0]
    assert flake["test"] == "org.Flaky.sometimes" and flake["rate"]["failures"] == 2
    assert len(flake["timeline"]) == 6


def test_html_report_lists_the_flake_with_a_plot(tmp_path, bundles):
    db = tmp_path / "h.sqlite"
    run("history", "ingest", *map(str, bundles), "--db", str(db))
    out = tmp_path / "report.html"
    result = run("flaky", "--db", str(db), "--html", str(out))
    assert result.exit_code == 0, result.output
    page = lxml_html.fromstring(out.read_text())
    row = page.get_element_by_id("org.Flaky.sometimes")
    assert "33.33 %" in row.text_content()  # 2 of 6
    assert row.xpath(".//*[local-name()='svg']//*[local-name()='polyline']")
    assert len(row.xpath(".//div[@class='strip']/span[@class='fail']")) == 2


def test_infra_signature_in_the_console_log_makes_it_infra(tmp_path):
    paths = [bundle(tmp_path, i, "c" * 40, flaky_fails=i == 2,
                    log_text="...\nERROR: No space left on device\n" if i == 2 else "") for i in range(5)]
    db = tmp_path / "h.sqlite"
    run("history", "ingest", *map(str, paths), "--db", str(db))
    data = json.loads(run("flaky", "--db", str(db), "--json").output)
    (t,) = data["tests"]
    assert t["kind"] == "infra" and "no-space-left" in t["evidence"][0]


def test_user_signatures_file_extends_the_shipped_ones(tmp_path, bundles):
    db = tmp_path / "h.sqlite"
    run("history", "ingest", *map(str, bundles), "--db", str(db))
    sig = tmp_path / "sig.yaml"
    sig.write_text("signatures:\n  - name: our-flaky-assert\n    pattern: 'but was:<2>'\n    description: lab quirk\n")
    data = json.loads(run("flaky", "--db", str(db), "--json", "--signatures", str(sig)).output)
    assert data["tests"][0]["kind"] == "infra" and "our-flaky-assert" in data["tests"][0]["evidence"][0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("signatures:\n  - name: x\n  - name: y\n    pattern: '(('\n")
    result = run("flaky", "--db", str(db), "--signatures", str(bad))
    assert result.exit_code == 2
    assert f"{bad}:2" in result.output and "pattern" in result.output


def test_missing_db_and_bad_since_are_clear_errors(tmp_path):
    result = run("flaky", "--db", str(tmp_path / "none.sqlite"))
    assert result.exit_code == 2 and "history ingest" in result.output
    assert not (tmp_path / "none.sqlite").exists()
    result = run("history", "info", "--db", str(tmp_path / "none.sqlite"))
    assert result.exit_code == 2
    assert parse_since("30d", now=100 * 86400) == 70 * 86400
    assert parse_since("2026-01-02") == parse_since("2026-01-02T00:00:00+00:00")
    result = run("flaky", "--db", str(tmp_path / "none.sqlite"), "--since", "lastweek")
    assert result.exit_code == 2 and "30d" in result.output


def test_repeats_command_prints_requests_for_changed_tests(tmp_path):
    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=tmp_path, check=True,
                       capture_output=True)

    root = Path(__file__).resolve().parents[2] / "examples/sample-project"
    (tmp_path / "pipeline.yaml").write_text((root / "pipeline.yaml").read_text())
    (tmp_path / "build.xml").write_text((root / "build.xml").read_text())
    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    (tmp_path / "test/unit/org/example").mkdir(parents=True)
    (tmp_path / "test/unit/org/example/NewTest.java").write_text("class NewTest {}")
    git("add", ".")
    git("commit", "-q", "-m", "new test")
    result = run("-C", str(tmp_path), "flaky", "repeats", "--base", "HEAD~1", "--json", "--count", "unit=40")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["changed_files"] == ["test/unit/org/example/NewTest.java"]
    (req,) = data["repeats"]
    assert req["step"] == "unit" and req["count"] == 40 and req["per_split"] == [20, 20]
    assert req["test_regex"] == "NewTest" and req["stop_on_failure"] is True


def test_incomplete_bundle_is_refused_unless_allowed(tmp_path):
    out = tmp_path / "cut.tar.zst"
    write_bundle(out, subject=Subject("r", "d" * 40, "trunk"), parameters={"profile": "p"},
                 producer=Producer("local", started_at="2026-01-01T00:00:00Z"), cells=SPLITS,
                 results=[{"cell": SPLITS[0], "status": "passed", "junit": [junit(tmp_path, "a", {"t": ""})]}],
                 incomplete=True, reason="interrupted by the user (Ctrl-C)")
    db = tmp_path / "h.sqlite"
    result = run("history", "ingest", str(out), "--db", str(db))
    assert result.exit_code == 2 and "incomplete" in result.output and "--allow-incomplete" in result.output
    with HistoryStore(db) as store:
        assert store.stats()["runs"] == 0
    result = run("history", "ingest", str(out), "--db", str(db), "--allow-incomplete")
    assert result.exit_code == 0 and "1 added" in result.output


def test_a_file_that_is_not_a_bundle_is_named_once_in_the_error(tmp_path):
    junk = tmp_path / "console.log"
    junk.write_text("not an archive\n")
    result = run("history", "ingest", "--db", str(tmp_path / "h.sqlite"), str(junk))
    assert result.exit_code == 2
    assert result.output.count(str(junk)) == 1, result.output


def test_an_altered_bundle_is_refused_so_flaky_never_rests_on_edited_results(tmp_path):
    import io
    import tarfile

    import zstandard

    original = bundle(tmp_path, 1, "a" * 40, flaky_fails=True)
    # Erase the failure from the JUnit member, keep manifest and digests: what a hand "fix" of results looks like.
    members = []
    with zstandard.ZstdDecompressor().stream_reader(original.open("rb")) as raw, \
            tarfile.open(fileobj=raw, mode="r|") as tar:
        for member in tar:
            data = tar.extractfile(member).read() if member.isfile() else b""
            if member.name.endswith("junit.xml"):
                data = data.replace(b"<failure", b"<!-- <failure").replace(b"</failure>", b"</failure> -->")
                member.size = len(data)
            members.append((member, data))
    altered = tmp_path / "altered.tar.zst"
    with altered.open("wb") as fh, zstandard.ZstdCompressor().stream_writer(fh) as raw, \
            tarfile.open(fileobj=raw, mode="w|") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data))
    db = tmp_path / "h.sqlite"
    result = run("history", "ingest", "--db", str(db), str(altered))
    assert result.exit_code == 2
    assert "bundle was altered" in result.output and "junit.xml does not match its sha256" in result.output
    assert run("history", "ingest", "--db", str(db), str(original)).exit_code == 0
    assert "runs: 1" in run("history", "info", "--db", str(db)).output


def test_an_error_after_some_bundles_says_which_were_kept(tmp_path, bundles):
    junk = tmp_path / "console.log"
    junk.write_text("not an archive\n")
    db = tmp_path / "h.sqlite"
    result = run("history", "ingest", "--db", str(db), str(bundles[0]), str(junk), str(bundles[1]))
    assert result.exit_code == 2
    assert "1 bundle added before this error" in result.output and "nothing was written" not in result.output
    assert "runs: 1" in run("history", "info", "--db", str(db)).output


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium is not installed")
def test_the_timeline_of_a_short_history_is_visible_in_a_browser(tmp_path, bundles):
    # 1-pixel bars suit 200 runs; with 6 a person saw nothing. Measure the laid-out bars in headless Chromium.
    db = tmp_path / "h.sqlite"
    run("history", "ingest", *map(str, bundles), "--db", str(db))
    assert run("flaky", "--db", str(db), "--html", str(tmp_path / "report.html")).exit_code == 0
    (tmp_path / "wrap.html").write_text(
        '<iframe id="f" src="report.html" width="1200" height="800"></iframe><pre id="out"></pre><script>'
        "document.getElementById('f').onload = function () { document.getElementById('out').textContent ="
        " Array.from(this.contentDocument.querySelectorAll('.strip span'))"
        ".map(function (s) { return s.getBoundingClientRect().width; }).join(','); };</script>")
    proc = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--allow-file-access-from-files", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "wrap.html").as_uri()],
        capture_output=True, text=True, timeout=120)
    widths = [float(w) for w in lxml_html.fromstring(proc.stdout).get_element_by_id("out").text_content().split(",")]
    assert len(widths) >= 6 and min(widths) >= 4, widths


def test_counts_of_one_read_in_the_singular(tmp_path, bundles):
    db = tmp_path / "one.sqlite"
    assert run("history", "ingest", "--db", str(db), str(bundles[1])).exit_code == 0
    report = run("flaky", "--db", str(db))
    assert report.output.startswith("1 run ")
    explain = run("flaky", "--db", str(db), "explain", "org.Flaky.sometimes")
    assert "(1 of 1 execution, 1 run, 1 commit)" in explain.output


def test_ingest_loads_no_junit_parser_or_signing_code(tmp_path, bundles):
    """`history ingest` reads the records members of a bundle: the JUnit parser (lxml), the bundle writer and the
    signing code are not imported (their import was a tenth of the command's CPU on a large bundle)."""
    import sys

    code = ("import sys; from pipelinegen.cli import main; sys.argv[0] = 'pipelinegen'\n"
            "try:\n    main()\nexcept SystemExit as end:\n    assert not end.code, end.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'lxml' or m in ("
            "'pipelinegen.results.junit', 'pipelinegen.results.bundle', 'pipelinegen.results.attest')))")
    done = subprocess.run([sys.executable, "-c", code, "history", "ingest", str(bundles[0]), "--db",
                           str(tmp_path / "h.sqlite")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout and done.stdout.rstrip().endswith("[]"), done.stdout
