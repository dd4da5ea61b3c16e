"""False CERTIFIED through the commit, and hostile inputs to `results collect`.

- collect resolves a short --commit to the full sha with git in the checkout, or refuses it;
- verify compares full commits only: no prefix, in either direction, certifies anything;
- a doctored run directory (summary.json) cannot pull files from outside it, or write outside the staging
  directory, and deeply nested JSON is exit 2, not a RecursionError traceback.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinegen.cli import main
from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.results.verify import verify_bundle
from tests.hostile import bundle_mutator as bm

FIXTURES = Path(__file__).parents[1] / "fixtures" / "junit"


def _cli(*args, cwd: Path | None = None) -> tuple[int, str]:
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, [str(a) for a in args])
    finally:
        os.chdir(old)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result.exit_code, result.output


def _git_checkout(tmp: Path) -> tuple[Path, str]:
    repo = tmp / "checkout"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git + ["init", "-q"], cwd=repo, check=True)
    (repo / "f").write_text("x\n")
    subprocess.run(git + ["add", "f"], cwd=repo, check=True)
    subprocess.run(git + ["commit", "-q", "-m", "one"], cwd=repo, check=True)
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                         check=True).stdout.strip()
    return repo, sha


def test_collect_resolves_a_short_commit_in_the_checkout(tmp_path):
    repo, sha = _git_checkout(tmp_path)
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", FIXTURES, "--commit", sha[:7], "--profile", "p", "-o", out, cwd=repo)
    assert code == 0, text
    assert read_bundle(out).manifest["subject"]["commit"] == sha
    code, _ = _cli("results", "collect", FIXTURES, "--commit", "HEAD", "--profile", "p", "-o", out, cwd=repo)
    assert code == 0 and read_bundle(out).manifest["subject"]["commit"] == sha


@pytest.mark.parametrize("commit", ["0123456", "0123456789ab", "01234567890123456789012345678901234567",
                                    "0123456789abcdef0123456789abcdef0123456789", "HEAD", "zzzzzzz", "",
                                    "0123456789abcdef0123456789abcdef0123456g"])
def test_collect_refuses_a_commit_it_cannot_make_full(commit, tmp_path):
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", FIXTURES, "--commit", commit, "--profile", "p", "-o", out, cwd=tmp_path)
    assert code == 2, text
    assert "not a full 40/64-hex commit" in text
    assert not out.exists()


def test_a_full_sha256_commit_is_accepted(tmp_path):
    commit = "ab" * 32
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", FIXTURES, "--commit", commit.upper(), "--profile", "p", "-o", out,
                      cwd=tmp_path)
    assert code == 0, text
    assert read_bundle(out).manifest["subject"]["commit"] == commit


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(min_value=0, max_value=39), tail=st.text(alphabet="0123456789abcdef", min_size=0, max_size=30))
def test_verify_never_certifies_a_prefix_or_an_extension_of_the_commit(cut, tail, tmp_path_factory):
    """Any string that is not exactly the recorded commit fails, short, long or sharing a prefix."""
    tmp = tmp_path_factory.getbasetemp() / "prefix"
    tmp.mkdir(exist_ok=True)
    bundle = tmp / "good.tar.zst"
    if not bundle.exists():
        bm.good_bundle(tmp)
    wanted = bm.COMMIT[:cut] + tail
    report = verify_bundle(bundle, commit=wanted)
    assert report.certified == (wanted == bm.COMMIT)


def test_verify_cli_refuses_an_abbreviation_it_cannot_resolve_and_never_matches_by_prefix(tmp_path):
    bundle = bm.good_bundle(tmp_path)
    code, text = _cli("results", "verify", bundle, "--commit", bm.COMMIT[:7], cwd=tmp_path)
    assert code == 2 and "not a full 40/64-hex commit" in text and "CERTIFIED: " not in text
    other = bm.COMMIT[:7] + "f" * 33
    code, text = _cli("results", "verify", bundle, "--commit", other, cwd=tmp_path)
    assert code == 1 and f"the bundle certifies {bm.COMMIT}, not {other}" in text
    code, text = _cli("results", "verify", bundle, "--commit", bm.COMMIT.upper(), cwd=tmp_path)
    assert code == 0, text


def test_a_bundle_recording_an_abbreviated_commit_certifies_nothing(tmp_path):
    """Bundles written before collect refused short commits (or by hand) carry one: never CERTIFIED."""
    members = bm.members_of(bm.good_bundle(tmp_path))
    manifest = json.loads(dict(members)["manifest.json"])
    manifest["subject"]["commit"] = bm.COMMIT[:7]
    forged = bm.redigest([(n, json.dumps(manifest).encode() if n == "manifest.json" else d) for n, d in members])
    bad = tmp_path / "short.tar.zst"
    bad.write_bytes(bm.zstd(bm.tar_bytes(forged)))
    assert not verify_bundle(bad).certified
    assert not verify_bundle(bad, commit=bm.COMMIT).certified


# ---- doctored `pipelinegen run` directories -----------------------------------------------------------------

def _run_dir(tmp: Path, cell: dict) -> Path:
    root = tmp / "run"
    (root / "cells" / "c").mkdir(parents=True)
    (root / "cells" / "c" / "attempt-1.log").write_text("log\n")
    (root / "plan.json").write_text(json.dumps({"cells": [{"id": "c", "name": "c", "step": "s"}],
                                                "parameters": {"profile": "p"}}))
    (root / "summary.json").write_text(json.dumps({"complete": True, "status": "passed", "cells": [cell],
                                                   "parameters": {"profile": "p"}}))
    return root


@pytest.mark.parametrize("log", ["../../secret.txt", "/etc/passwd", "cells/c/link.log"])
def test_collect_never_bundles_a_file_from_outside_the_run_directory(log, tmp_path):
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    root = _run_dir(tmp_path, {"id": "c", "status": "passed", "attempts": [
        {"log": log, "junit": [], "archived": [log], "started": 1, "ended": 2}]})
    (root / "cells" / "c" / "link.log").symlink_to(tmp_path / "secret.txt")
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", root, "--commit", bm.COMMIT, "-o", out)
    assert code == 0, text
    for _name, handle in read_bundle(out).iter_files():
        data = handle.read()
        assert b"TOP SECRET" not in data and b"root:" not in data


@pytest.mark.parametrize("cell_id", ["../../escape", "..", "a/b", "/abs", "x\ny"])
def test_collect_refuses_a_cell_id_that_is_a_path(cell_id, tmp_path):
    root = _run_dir(tmp_path, {"id": cell_id, "status": "passed", "attempts": [
        {"log": "cells/c/attempt-1.log", "junit": [], "archived": [], "started": 1, "ended": 2}]})
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", root, "--commit", bm.COMMIT, "-o", out)
    assert code == 2 and "not a plain name" in text, text
    assert not (tmp_path / "escape").exists() and not out.exists()


@pytest.mark.parametrize("which", ["plan.json", "summary.json"])
def test_collect_of_deeply_nested_or_broken_run_json_is_exit_2(which, tmp_path):
    root = _run_dir(tmp_path, {"id": "c", "status": "passed", "attempts": []})
    for content in (b"[" * 100_000 + b"]" * 100_000, b"[1, 2", b'{"cells": 5}'):
        (root / which).write_bytes(content)
        code, text = _cli("results", "collect", root, "--commit", bm.COMMIT, "-o", tmp_path / "b.tar.zst")
        assert code == 2, text
        assert "Traceback" not in text


@pytest.mark.parametrize("status", [
    '{"status": "passed", "started_ms": 1, "ended_ms": 99999999999999999999}',
    '{"status": "passed", "started_ms": 1, "ended_ms": 9e999}',
    '[1, 2]',
    '{"status": "passed", "status": "failed"}',
])
def test_collect_of_a_doctored_jenkins_results_directory_is_exit_2(status, tmp_path):
    root = tmp_path / "ci-results"
    (root / "c").mkdir(parents=True)
    (root / "plan.json").write_text(json.dumps({"format": "pipelinegen-jenkins-results", "complete": True,
                                                "parameters": {"profile": "p"},
                                                "cells": [{"id": "c", "name": "c", "step": "s"}]}))
    (root / "c" / "status-1.json").write_text(status)
    code, text = _cli("results", "collect", root, "--commit", bm.COMMIT, "-o", tmp_path / "b.tar.zst")
    assert code == 2, text
    assert not (tmp_path / "b.tar.zst").exists()


def test_collect_of_a_plain_junit_directory_never_follows_a_symlink(tmp_path):
    # Artifacts from another CI: a planted link named like a result file or a log must not carry its target in.
    (tmp_path / "secret.txt").write_text("TOP SECRET\n")
    (tmp_path / "secret.xml").write_text('<testsuite name="s"><testcase classname="TOP SECRET" name="x"/></testsuite>')
    cell = tmp_path / "in" / "unit"
    cell.mkdir(parents=True)
    (cell / "TEST-a.xml").write_text('<testsuite name="a"><testcase classname="a" name="t" time="1"/></testsuite>')
    (cell / "console.log").write_text("ok\n")
    (cell / "TEST-stolen.xml").symlink_to(tmp_path / "secret.xml")
    (cell / "stolen.log").symlink_to(tmp_path / "secret.txt")
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", tmp_path / "in", "--commit", bm.COMMIT, "--profile", "p", "-o", out)
    assert code == 0, text
    names = []
    for name, handle in read_bundle(out).iter_files():
        names.append(name)
        assert b"TOP SECRET" not in handle.read()
    assert "cells/unit/logs/console.log" in names and not any("stolen" in name for name in names)


def test_a_split_that_ran_every_test_gives_a_readable_bundle_that_counts_every_duplicate(tmp_path):
    # A misconfigured split runs the whole suite twice (or in each split): every test is a duplicate. Listing each
    # one made a manifest over the readers' 8 MiB limit (60,000 duplicates: ~9 MiB): nothing could read the bundle.
    cases = "".join(f'<testcase classname="org.apache.cassandra.db.SomeLongerClassNameTest" name="test{i}" '
                    f'time="0.1"/>' for i in range(60_000))
    (tmp_path / "in" / "test").mkdir(parents=True)
    for copy in ("TEST-all.xml", "TEST-all-again.xml"):  # without a plan, a directory is one cell: twice in it
        (tmp_path / "in" / "test" / copy).write_text(f'<testsuite name="all">{cases}</testsuite>')
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", tmp_path / "in", "--commit", bm.COMMIT, "--profile", "p", "-o", out)
    assert code == 0, text
    assert "120000 tests (0 failing), 60000 duplicates" in text
    manifest = read_bundle(out).manifest  # readable: under every member limit
    assert manifest["totals"]["tests"]["duplicates"] == 60_000
    assert len(manifest["duplicates"]) == 1000
    assert manifest["duplicates"][0]["name"] == "test0" and manifest["duplicates"][-1]["name"] == "test10897"
    code, text = _cli("results", "verify", out)
    assert code == 0 and "duplicates: 60000 test(s) ran more than once" in text, text
    code, text = _cli("results", "summary", out, "--html", tmp_path / "summary.html")
    assert code == 0 and "duplicates (60000)" in text and "... and 59000 more (the bundle lists the first 1000)" in text
    html = (tmp_path / "summary.html").read_text()
    assert "<h2>Duplicates: 60000</h2>" in html and "The bundle lists the first 1000." in html


@pytest.mark.parametrize("member, limit", [("manifest.json", "SMALL_MEMBER_LIMITS"), ("cells/big/logs/run.log",
                                                                                     "MAX_MEMBER_BYTES")])
def test_collect_refuses_to_write_a_bundle_no_reader_would_take(member, limit, tmp_path, monkeypatch):
    # 15,000 cells made an 8.7 MiB manifest (limit 8 MiB) and collect wrote a bundle every reader refused; a
    # log over 1 GiB would do the same. The limits are lowered here so the inputs stay small.
    from pipelinegen.results import archive

    if limit == "SMALL_MEMBER_LIMITS":
        monkeypatch.setitem(archive.SMALL_MEMBER_LIMITS, "manifest.json", 16 << 10)
    else:
        monkeypatch.setattr(archive, "MAX_MEMBER_BYTES", 1 << 20)
    for i in range(40):
        (tmp_path / "in" / f"cell{i:02d}").mkdir(parents=True)
        (tmp_path / "in" / f"cell{i:02d}" / "TEST-a.xml").write_text(
            '<testsuite name="a"><testcase classname="a" name="t" time="1"/></testsuite>')
    (tmp_path / "in" / "big").mkdir()
    (tmp_path / "in" / "big" / "TEST-b.xml").write_text('<testsuite name="b"><testcase classname="b" name="t"/></testsuite>')
    (tmp_path / "in" / "big" / "run.log").write_bytes(b"x" * (2 << 20))
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", tmp_path / "in", "--commit", bm.COMMIT, "--profile", "p", "-o", out)
    assert code == 2, text
    assert f"refusing to write a bundle no reader would take: {member} would be" in text
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["in"]  # nothing half-written, no staging


def test_a_test_name_of_megabytes_is_bounded_and_still_tells_tests_apart(tmp_path):
    # A 5 MB test name made a records.tsv line over the readers' 4 MiB limit: verify said CERTIFIED and history
    # ingest called the same bundle altered. Names are cut at 2,048 characters, ending in a digest of the whole.
    long = "n" * (5 << 20)
    cases = (f'<testcase classname="c" name="{long}a" time="1"/><testcase classname="c" name="{long}b" time="1"/>'
             f'<testcase classname="c" name="{long}a" time="1"><failure message="m">trace</failure></testcase>')
    (tmp_path / "in" / "u").mkdir(parents=True)
    (tmp_path / "in" / "u" / "TEST-a.xml").write_text(f'<testsuite name="s{long}">{cases}</testsuite>')
    out = tmp_path / "b.tar.zst"
    code, text = _cli("results", "collect", tmp_path / "in", "--commit", bm.COMMIT, "--profile", "p", "-o", out)
    assert code == 0 and "3 tests (1 failing), 1 duplicates" in text, text  # ...a twice: one duplicate, b apart
    names = [case.name for case in read_bundle(out).iter_testcases()]
    assert all(len(name) == 2048 for name in names) and names[0] == names[2] != names[1]
    code, text = _cli("history", "ingest", out, "--db", tmp_path / "h.sqlite")
    assert code == 0 and "1 added" in text, text
