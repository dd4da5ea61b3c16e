"""Hostile result bundles: a bundle is exactly its listed regular files in one frame, nothing else.

Every shape of bundle_mutator.SHAPES is refused by verify (even with --allowed-signers and a forger's
fresh digests and signature), by history ingest, summary and diff: exit 1/2 with a message, no traceback.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinegen.cli import main
from pipelinegen.results import archive
from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.results.manifest import MANIFEST, SIGNATURE, dumps
from pipelinegen.results.verify import verify_bundle
from tests.hostile import bundle_mutator as bm


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    """(bundle, members, key, allowed-signers file) of a good signed bundle."""
    tmp = tmp_path_factory.mktemp("signed")
    key = bm.sign_key(tmp)
    path = bm.good_bundle(tmp, sign_key=key)
    return path, bm.members_of(path), key, bm.allowed_signers(tmp, "ci@example", key)


def _cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_the_good_bundle_is_certified_so_refusals_below_mean_something(signed):
    path, _members, _key, allowed = signed
    report = verify_bundle(path, commit=bm.COMMIT, allowed_signers=allowed)
    assert report.certified, report.problems
    code, out = _cli("results", "verify", path, "--commit", bm.COMMIT, "--allowed-signers", allowed)
    assert code == 0 and "CERTIFIED" in out


@pytest.mark.parametrize("shape", sorted(bm.SHAPES))
def test_every_malformed_archive_shape_is_refused_everywhere(shape, signed, tmp_path):
    _path, members, _key, allowed = signed
    bad = tmp_path / "bad.tar.zst"
    bad.write_bytes(bm.SHAPES[shape](members, tmp_path))
    report = verify_bundle(bad, commit=bm.COMMIT, allowed_signers=allowed)
    assert not report.certified
    assert report.problems[0].startswith("archive: "), report.problems
    code, out = _cli("results", "verify", bad, "--commit", bm.COMMIT, "--allowed-signers", allowed)
    assert code == 1 and "NOT CERTIFIED" in out and "CERTIFIED: " not in out.replace("NOT CERTIFIED", "")
    code, out = _cli("history", "ingest", "--db", tmp_path / "h.sqlite", bad)
    assert code == 2 and "cannot read result bundle" in out
    with pytest.raises(archive.CorruptArchive):
        for _name, handle in archive.iter_members(bad):
            handle.read()
    code, out = _cli("results", "summary", bad)
    assert code == 2, out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.binary(min_size=1, max_size=64))
def test_any_bytes_after_the_frame_are_refused(garbage, signed, tmp_path):
    path, _members, _key, allowed = signed
    bad = tmp_path / "trailing.tar.zst"
    bad.write_bytes(path.read_bytes() + garbage)
    assert not verify_bundle(bad, allowed_signers=allowed).certified


_PART = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/"), min_size=0, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(st.sampled_from(["", ".", "..", "a\\b", "x\x00y", "\n", "\x7f"]), _PART),
                      min_size=1, max_size=4))
def test_member_names_are_plain_relative_paths(parts, signed, tmp_path):
    """Whatever name a forger stores, the reader either refuses the bundle or yields only names that are
    safe to use as file names under an output directory (`results summary --html` writes them)."""
    _path, members, _key, _allowed = signed
    name = "/".join(parts)
    if "\x00" in name:  # tar cannot even store it
        return
    bad = tmp_path / "name.tar.zst"
    bad.write_bytes(bm.zstd(bm.tar_bytes(bm.with_member(members, name, b"x"))))
    try:
        names = [n for n, _ in archive.iter_members(bad)]
    except archive.CorruptArchive:
        return
    for found in names:
        assert found and not found.startswith("/")
        assert all(part not in ("", ".", "..") for part in found.split("/")), found
        assert not any(ord(c) < 32 or c in "\\\x7f" for c in found), found
        assert (tmp_path / "out" / found).resolve().is_relative_to((tmp_path / "out").resolve())


def test_a_signature_that_does_not_verify_fails_even_without_allowed_signers(signed, tmp_path):
    """Edit, re-digest, keep the stale signature (or put garbage, or another file's signature)."""
    _path, members, key, _allowed = signed
    manifest = json.loads(dict(members)[MANIFEST])
    manifest["producer"]["host"] = "forged"
    edited = bm.redigest([(n, dumps(manifest) if n == MANIFEST else d) for n, d in members])
    other = tmp_path / "other.txt"
    other.write_bytes(b"some other file")
    foreign = bm.sign_key(tmp_path, "other")
    for label, signature in [("stale", dict(edited)[SIGNATURE]), ("garbage", b"not a signature\n"),
                             ("empty", b""),
                             ("foreign", __import__("pipelinegen.results.attest", fromlist=["sign"]).sign(
                                 b"some other file", foreign))]:
        bad = tmp_path / f"{label}.tar.zst"
        bad.write_bytes(bm.zstd(bm.tar_bytes([(n, signature if n == SIGNATURE else d) for n, d in edited])))
        report = verify_bundle(bad, commit=bm.COMMIT)
        assert any(p.startswith("signature: ") for p in report.problems), (label, report.problems)
        code, out = _cli("results", "verify", bad, "--commit", bm.COMMIT)
        assert code == 1, (label, out)
    # re-signed with the forger's own key: valid for that key, so only --allowed-signers can refuse it
    resigned = tmp_path / "resigned.tar.zst"
    resigned.write_bytes(bm.zstd(bm.tar_bytes(bm.redigest(edited, sign_key=foreign))))
    assert verify_bundle(resigned, commit=bm.COMMIT).certified
    assert not verify_bundle(resigned, commit=bm.COMMIT, allowed_signers=_allowed_for(tmp_path, key)).certified
    del key


def _allowed_for(tmp: Path, key: Path) -> Path:
    return bm.allowed_signers(tmp, "ci@example", key)


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


@pytest.mark.parametrize("label, edit", [
    ("deeply nested parameters", lambda m: {**m, "parameters": {"x": json.loads(_deep(200))}}),
    ("nesting past the parser's recursion limit", None),
    ("cells is a string", lambda m: {**m, "cells": "all of them"}),
    ("subject missing", lambda m: {k: v for k, v in m.items() if k != "subject"}),
    ("manifest is a list", lambda m: [m]),
    ("totals of the wrong type", lambda m: {**m, "totals": {"cells": "x", "tests": []}}),
    ("a cell without an id", lambda m: {**m, "cells": [{k: v for k, v in m["cells"][0].items() if k != "id"}]}),
    ("not JSON", lambda m: b"{\"format\": "),
    ("a key twice: incomplete true, then false", lambda m: json.dumps({**m, "incomplete": True}).encode()[:-1]
     + b', "incomplete": false}'),
    ("NaN duration", lambda m: json.dumps({**m, "cells": [{**m["cells"][0], "duration_s": float("nan")}]}).encode()),
    ("two million empty objects", lambda m: b'{"cells": [' + b"{}," * 2_000_000 + b"{}]}"),
    ("a billion attempts (history would expand each)", lambda m: {**m, "cells": [{**m["cells"][0],
                                                                                  "attempts": 10**9}]}),
    ("a duration that overflows to infinity", lambda m: json.dumps(m).encode().replace(
        b'"duration_s": 0.0', b'"duration_s": 1e400', 1)),
    ("not UTF-8", lambda m: b"\xff\xfe{}"),
])
def test_manifests_that_break_the_schema_are_exit_2_in_every_reader(label, edit, signed, tmp_path):
    _path, members, _key, _allowed = signed
    manifest = json.loads(dict(members)[MANIFEST])
    if edit is None:
        data = _deep(100_000)
    else:
        value = edit(manifest)
        data = value if isinstance(value, bytes) else json.dumps(value).encode()
    bad = tmp_path / "schema.tar.zst"
    forged = bm.redigest([(n, data if n == MANIFEST else d) for n, d in members if n != SIGNATURE])
    bad.write_bytes(bm.zstd(bm.tar_bytes(forged)))
    assert not verify_bundle(bad).certified
    for command in (["results", "summary", bad], ["results", "diff", bad, bad],
                    ["history", "ingest", "--db", tmp_path / "h.sqlite", bad]):
        code, out = _cli(*command)
        assert code == 2, (label, command, out)
        assert str(bad) in out or "schema.tar.zst" in out
    code, out = _cli("results", "verify", bad)
    assert code == 1 and "NOT CERTIFIED" in out
    with pytest.raises(archive.CorruptArchive):
        read_bundle(bad)


def _child(args: list[str], timeout: float = 60) -> tuple[int, str, float, int]:
    """(exit code, output, seconds, peak RSS in MiB) of a pipelinegen subprocess."""
    code = ("import resource, subprocess, sys, time; t = time.monotonic(); "
            "p = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "print(p.returncode, round(time.monotonic() - t, 2), "
            "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024); print(p.stdout + p.stderr)")
    cli = [sys.executable, "-c", "from pipelinegen.cli import main; main()"]
    done = subprocess.run([sys.executable, "-c", code, *cli, *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    head, _, output = done.stdout.partition("\n")
    rc, seconds, rss = head.split()
    return int(rc), output, float(seconds), int(rss)


@pytest.mark.slow
@pytest.mark.parametrize("member", [MANIFEST, "cells/unit_1of1/junit.xml", "cells/unit_1of1/logs/huge.log"])
def test_a_small_bundle_holding_3_gib_is_refused_in_seconds_and_little_memory(member, signed, tmp_path):
    _path, members, _key, _allowed = signed
    bomb = bm.zero_member_bundle(tmp_path / "bomb.tar.zst", members, member, 3 << 30)
    assert bomb.stat().st_size < 1 << 20
    for args, expected in ((["results", "verify", str(bomb)], 1),
                           (["history", "ingest", "--db", str(tmp_path / "h.sqlite"), str(bomb)], 2),
                           (["results", "summary", str(bomb)], 2)):
        code, out, seconds, rss = _child(args)
        assert code == expected, out
        assert "3 GiB" in out and "limit" in out and "Traceback" not in out
        assert seconds < 20 and rss < 1024, (seconds, rss)


def test_a_compressed_log_bomb_in_a_failed_cell_is_ingested_with_bounded_memory(signed, tmp_path):
    """A failed cell's log.zst that decompresses to 3 GiB: the tail reader stops at its bound."""
    import zstandard

    _path, members, _key, _allowed = signed
    cctx = zstandard.ZstdCompressor(level=19)
    chunk = cctx.compress(b"\0" * (128 << 20))  # one frame; repeated frames decompress to 3 GiB in total
    log = chunk * 24
    manifest = json.loads(dict(members)[MANIFEST])
    name = "cells/unit_1of1/logs/console.log.zst"
    manifest["cells"][0]["logs"] = [name]
    manifest["cells"][0]["status"] = manifest["cells"][0]["reported_status"] = "failed"
    manifest["totals"]["cells"]["passed"], manifest["totals"]["cells"]["failed"] = 0, 1
    edited = bm.redigest([(n, dumps(manifest) if n == MANIFEST else d) for n, d in members
                          if not n.endswith(".log") and n != SIGNATURE] + [(name, log)])
    bundle = tmp_path / "logbomb.tar.zst"
    bundle.write_bytes(bm.zstd(bm.tar_bytes(edited)))
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out = _cli("history", "ingest", "--db", tmp_path / "h.sqlite", bundle)
    assert code == 0, out
    assert time.monotonic() - start < 30
    assert (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024 < 512


@pytest.mark.slow
def test_a_junit_member_with_a_300_mb_text_node_costs_megabytes_not_gigabytes(signed, tmp_path):
    _path, members, _key, _allowed = signed
    bomb = bm.text_node_bomb(tmp_path / "text.tar.zst", members, 300 << 20)
    for args in (["results", "verify", str(bomb)], ["results", "summary", str(bomb)]):
        code, out, seconds, rss = _child(args)
        assert code in (1, 0), out
        assert "Traceback" not in out
        assert rss < 256 and seconds < 30, (args, rss, seconds)


@pytest.mark.parametrize("label, data", [
    ("xz header claiming a 1.5 GiB dictionary", "xz-dict"),
    ("empty file", b""),
    ("random bytes", bytes(range(256)) * 4),
    ("a zstd frame holding no tar", "zstd-not-tar"),
])
def test_streams_that_are_no_bundle_are_refused_cheaply(label, data, tmp_path):
    import lzma

    if data == "xz-dict":
        data = lzma.compress(b"x" * 100, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": 1536 << 20}])
    elif data == "zstd-not-tar":
        data = bm.zstd(b"hello, not a tar archive\n" * 100)
    bad = tmp_path / "x.tar.zst"
    bad.write_bytes(data)
    with pytest.raises(archive.CorruptArchive):
        list(archive.iter_members(bad))
    code, out = _cli("results", "verify", bad)
    assert code == 1 and "FAIL: archive:" in out, (label, out)
    code, out = _cli("history", "ingest", "--db", tmp_path / "h.sqlite", bad)
    assert code == 2, (label, out)


def test_the_html_summary_of_a_hostile_bundle_runs_no_script(signed, tmp_path):
    """Producer URL, cell names and test names are the producer's: escaped, and a URL links only if http(s)."""
    _path, members, _key, _allowed = signed
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    manifest = json.loads(dict(members)[MANIFEST])
    manifest["producer"]["url"] = "javascript:alert(document.cookie)"
    manifest["cells"][0]["name"] = evil
    junit = (f'<testsuites><testsuite name="S"><testcase classname="{evil.replace("<", "&lt;").replace(chr(34), "&quot;")}"'
             f' name="t"><failure message="m">{evil.replace("<", "&lt;")}</failure></testcase></testsuite>'
             f'</testsuites>').encode()
    forged = bm.redigest([(n, dumps(manifest) if n == MANIFEST else junit if n.endswith("junit.xml") else d)
                          for n, d in members if n != SIGNATURE])
    bad = tmp_path / "xss.tar.zst"
    bad.write_bytes(bm.zstd(bm.tar_bytes(forged)))
    html = tmp_path / "s.html"
    code, out = _cli("results", "summary", bad, "--html", html)
    assert code == 0, out
    text = html.read_text()
    assert "<script" not in text and "<img" not in text and "&lt;script&gt;" in text
    assert 'href="javascript:' not in text
    assert "Content-Security-Policy" in text


def test_history_refuses_a_bundle_that_forges_millions_of_cell_attempts(signed, tmp_path):
    """Each attempt becomes an object and a row: 3,000 cells x 100 attempts must not be expanded."""
    _path, members, _key, _allowed = signed
    manifest = json.loads(dict(members)[MANIFEST])
    template = {**manifest["cells"][0], "junit": None, "attempts": 100, "status": "failed",
                "reported_status": "failed", "logs": []}
    template.pop("records", None)
    manifest["cells"] = [{**template, "id": f"c{k}", "name": f"c {k}"} for k in range(3000)]
    forged = bm.redigest([(n, dumps(manifest) if n == MANIFEST else d) for n, d in members
                          if n != SIGNATURE and not n.startswith("cells/")])
    bad = tmp_path / "attempts.tar.zst"
    bad.write_bytes(bm.zstd(bm.tar_bytes(forged)))
    code, out = _cli("history", "ingest", "--db", tmp_path / "h.sqlite", bad)
    assert code == 2 and "cell attempts" in out, out
