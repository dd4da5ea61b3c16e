"""Result bundles: round trip, and every kind of tampering makes verify fail with the right line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipelinegen.fsutil import sha256_bytes
from pipelinegen.plan.cell import Parameters
from pipelinegen.results import archive, attest
from pipelinegen.results.bundle import BundleWriter, write_bundle
from pipelinegen.results.bundle_reader import read_bundle
from pipelinegen.results.junit import iter_testcases
from pipelinegen.results.manifest import CellRef, Producer, Subject, dumps
from pipelinegen.results.verify import load_allow_known, verify_bundle
from tests.signing_helpers import allowed_signers, keypair

FIXTURES = Path(__file__).parents[1] / "fixtures" / "junit"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
SPLITS = [CellRef(f"test_jdk11_{k}of2", f"test jdk11 {k}/2", "test", (("jdk", "11"),), k, 2) for k in (1, 2)]
JAR = CellRef("jar_jdk11", "jar jdk11", "jar", (("jdk", "11"),))
PLAN = [JAR, *SPLITS]


def _passing_junit(tmp: Path, name: str, classname: str, tests: int = 3) -> Path:
    cases = "".join(f'<testcase classname="{classname}" name="t{i}" time="0.5"/>' for i in range(tests))
    path = tmp / name / f"TEST-{classname}.xml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0"?><testsuite name="{classname}">{cases}</testsuite>')
    return path


def _writer(out: Path, **kw) -> BundleWriter:
    return BundleWriter(out, subject=Subject("https://github.com/apache/cassandra", COMMIT, "trunk"),
                        parameters=Parameters(profile="pre-commit"), producer=Producer("local", host="laptop"),
                        cells=PLAN, **kw)


def _green_bundle(tmp: Path, out_name: str = "green.tar.zst", **kw) -> Path:
    with _writer(tmp / out_name, **kw) as writer:
        writer.add_cell(JAR, status="passed", duration_s=30, node="n1")
        writer.add_cell(SPLITS[0], status="passed", junit=[_passing_junit(tmp, "s1", "org.A")], node="n2",
                        logs=[_log(tmp, "s1")])
        writer.add_cell(SPLITS[1], status="passed", junit=[_passing_junit(tmp, "s2", "org.B")], node="n3")
    return tmp / out_name


def _log(tmp: Path, name: str) -> Path:
    path = tmp / f"{name}.log"
    path.write_text("INFO starting\nINFO done\n")
    return path


def _members(path: Path) -> dict[str, bytes]:
    return {name: handle.read() for name, handle in archive.iter_members(path)}


def _rewrite(path: Path, members: dict[str, bytes], tmp: Path) -> None:
    staging = tmp / "rewrite"
    shutil.rmtree(staging, ignore_errors=True)
    for name, data in members.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    archive.write_tar(path, staging, list(members))


def _rehash(members: dict[str, bytes]) -> None:
    """What a careful forger does: recompute digests and the (unsigned) attestation."""
    names = sorted(n for n in members if n not in ("digests.sha256", "attestation.intoto.json",
                                                   "attestation.intoto.json.sig"))
    members["digests.sha256"] = "".join(f"{sha256_bytes(members[n])}  {n}\n" for n in names).encode()
    manifest = json.loads(members["manifest.json"])
    members["attestation.intoto.json"] = dumps(attest.statement(
        manifest, sha256_bytes(members["manifest.json"]), sha256_bytes(members["digests.sha256"])))


@pytest.mark.parametrize("suffix", [".tar.zst", ".tar.xz"])
def test_round_trip_keeps_every_test_case_and_the_plan(tmp_path, suffix):
    out = tmp_path / f"b{suffix}"
    sources = sorted(FIXTURES.glob("*.xml"))
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", attempts=2, duration_s=12.5, node="agent-1", junit=[FIXTURES])
    assert out.stat().st_mode & 0o777 == 0o644  # meant to be shared, unlike mkstemp's 0600
    bundle = read_bundle(out)
    expected = [c for f in sources for c in iter_testcases(f, SPLITS[0].id, attempt=2)]
    assert list(bundle.iter_testcases()) == expected
    cells = {c["id"]: c for c in bundle.manifest["cells"]}
    assert cells[SPLITS[0].id]["status"] == "failed"  # its tests failed, whatever the CI said
    assert cells[SPLITS[0].id]["attempts"] == 2 and cells[SPLITS[0].id]["node"] == "agent-1"
    assert cells[SPLITS[1].id]["status"] == "not-run" and cells[JAR.id]["status"] == "not-run"
    totals = bundle.manifest["totals"]["tests"]
    assert totals["total"] == len(expected)
    assert totals["failed"] == sum(c.status == "failed" for c in expected)
    assert totals["flaky"] == 1
    assert bundle.manifest["subject"]["commit"] == COMMIT


def test_green_bundle_is_certified_with_the_plan(tmp_path):
    report = verify_bundle(_green_bundle(tmp_path), commit=COMMIT, required_cells=PLAN)
    assert report.problems == []
    assert any("unsigned" in n for n in report.notes)


def test_one_byte_edited_inside_a_file_fails_digests(tmp_path):
    path = _green_bundle(tmp_path)
    members = _members(path)
    name = f"cells/{SPLITS[0].id}/junit.xml"
    members[name] = members[name].replace(b'name="t1"', b'name="t7"', 1)
    _rewrite(path, members, tmp_path)
    problems = verify_bundle(path, commit=COMMIT, required_cells=PLAN).problems
    assert f"digests: {name} does not match its sha256 (file modified)" in problems


def test_one_byte_flipped_in_the_archive_fails(tmp_path):
    path = _green_bundle(tmp_path, "g.tar.xz")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    problems = verify_bundle(path, commit=COMMIT).problems
    assert len(problems) == 1 and problems[0].startswith("archive:")


def test_dropped_cell_fails_even_when_the_forger_rehashes(tmp_path):
    path = _green_bundle(tmp_path)
    members = _members(path)
    manifest = json.loads(members["manifest.json"])
    manifest["cells"] = [c for c in manifest["cells"] if c["id"] != SPLITS[1].id]
    members["manifest.json"] = dumps(manifest)
    members = {n: d for n, d in members.items() if not n.startswith(f"cells/{SPLITS[1].id}/")}
    _rehash(members)
    _rewrite(path, members, tmp_path)
    problems = verify_bundle(path, commit=COMMIT, required_cells=PLAN).problems
    assert problems == ["cells: 'test jdk11 2/2' (test_jdk11_2of2) is required by the plan but missing from the bundle"]


def test_removed_file_is_reported(tmp_path):
    path = _green_bundle(tmp_path)
    members = _members(path)
    del members[f"cells/{SPLITS[1].id}/junit.xml"]
    _rewrite(path, members, tmp_path)
    problems = verify_bundle(path, required_cells=PLAN).problems
    assert f"digests: cells/{SPLITS[1].id}/junit.xml is listed but missing from the bundle (file removed)" in problems


def test_changed_commit_fails(tmp_path):
    path = _green_bundle(tmp_path)
    members = _members(path)
    manifest = json.loads(members["manifest.json"])
    manifest["subject"]["commit"] = "f" * 40
    members["manifest.json"] = dumps(manifest)
    _rewrite(path, dict(members), tmp_path)
    problems = verify_bundle(path, commit=COMMIT).problems
    assert "digests: manifest.json does not match its sha256 (file modified)" in problems
    assert f"commit: the bundle certifies {'f' * 40}, not {COMMIT}" in problems
    # Even a forger who recomputes every digest cannot make it certify the commit asked about.
    _rehash(members)
    _rewrite(path, members, tmp_path)
    assert verify_bundle(path, commit=COMMIT).problems == [f"commit: the bundle certifies {'f' * 40}, not {COMMIT}"]


def test_not_run_cell_and_failed_cell_without_tests(tmp_path):
    out = tmp_path / "b.tar.zst"
    with _writer(out) as writer:
        writer.add_cell(JAR, status="failed")
        writer.add_cell(SPLITS[0], status="passed", junit=[_passing_junit(tmp_path, "s1", "org.A")])
    problems = verify_bundle(out, required_cells=PLAN).problems
    assert problems == [
        "cells: 'jar jdk11' (jar_jdk11) failed with no failing test recorded (build error, timeout or crash; see its logs)",
        "cells: 'test jdk11 2/2' (test_jdk11_2of2) is not-run",
    ]


def test_interrupted_producer_writes_an_incomplete_bundle(tmp_path):
    out = tmp_path / "b.tar.xz"
    with pytest.raises(KeyboardInterrupt):
        with _writer(out) as writer:
            writer.add_cell(JAR, status="passed")
            raise KeyboardInterrupt
    bundle = read_bundle(out)
    assert bundle.manifest["incomplete"] is True
    problems = verify_bundle(out, commit=COMMIT).problems
    assert "incomplete: the run did not finish (interrupted by the user (Ctrl-C))" in problems


def test_failures_need_an_accepted_reason(tmp_path):
    out = tmp_path / "b.tar.zst"
    write_bundle(out, subject=Subject("r", COMMIT), parameters={"profile": "p"}, producer=Producer("other"),
                 cells=[SPLITS[0]], results=[{"cell": SPLITS[0], "status": "failed",
                                               "junit": [FIXTURES / "nosetests-cqlshlib.xml"]}])
    problems = verify_bundle(out).problems
    assert problems == ["test failed: cqlshlib.test.test_cqlsh_completion.TestCqlshCompletion."
                        "test_complete_in_create_table in 'test jdk11 1/2' — Lists differ: ['a'] != ['b']"]
    known = tmp_path / "known.txt"
    known.write_text("# accepted\ncqlshlib.test.test_cqlsh_completion.TestCqlshCompletion."
                     "test_complete_in_create_table CASSANDRA-99999 completion order\n")
    report = verify_bundle(out, allow_known=load_allow_known(known))
    assert report.certified
    assert any("CASSANDRA-99999" in n for n in report.notes)


def test_allow_known_without_reason_names_file_and_line(tmp_path):
    from pipelinegen.errors import PipelineError

    known = tmp_path / "known.txt"
    known.write_text("a.b ok\n\nc.d\n")
    with pytest.raises(PipelineError) as err:
        load_allow_known(known)
    assert f"{known}:3" in str(err.value) and "no reason" in str(err.value)


def test_duplicates_across_splits_are_reported_and_counted(tmp_path):
    out = tmp_path / "b.tar.zst"
    same = _passing_junit(tmp_path, "dup", "org.Dup", tests=2)
    with _writer(out) as writer:
        writer.add_cell(SPLITS[0], status="passed", junit=[same])
        writer.add_cell(SPLITS[1], status="passed", junit=[same])
    manifest = read_bundle(out).manifest
    assert manifest["totals"]["tests"]["total"] == 4  # never dropped
    assert [(d["name"], d["count"], d["cells"]) for d in manifest["duplicates"]] == [
        ("t0", 2, [SPLITS[0].id, SPLITS[1].id]), ("t1", 2, [SPLITS[0].id, SPLITS[1].id])]


_keypair = keypair
_allowed = allowed_signers


def test_signed_bundle_verifies_and_detects_forgery(tmp_path):
    key = _keypair(tmp_path, "ci_key")
    allowed = _allowed(tmp_path, "ci@cassandra.example", key)
    path = _green_bundle(tmp_path, sign_key=key)
    report = verify_bundle(path, commit=COMMIT, required_cells=PLAN, allowed_signers=allowed)
    assert report.certified, report.problems
    assert "signature: good, signed by ci@cassandra.example" in report.notes
    # A key that is not in the allowed signers is refused.
    other = _keypair(tmp_path, "other_key")
    assert verify_bundle(path, allowed_signers=_allowed(tmp_path, "someone", other)).problems == [
        f"signature: signed by a key that is not in {tmp_path / 'allowed_someone'}"]
    # A forger who rehashes everything after dropping a cell cannot re-sign.
    members = _members(path)
    manifest = json.loads(members["manifest.json"])
    manifest["cells"] = manifest["cells"][:-1]
    members["manifest.json"] = dumps(manifest)
    _rehash(members)
    _rewrite(path, members, tmp_path)
    problems = verify_bundle(path, allowed_signers=allowed).problems
    assert "signature: signature does not match the attestation (bundle modified after signing)" in problems


def test_unsigned_bundle_fails_when_a_signature_is_required(tmp_path):
    key = _keypair(tmp_path, "k")
    problems = verify_bundle(_green_bundle(tmp_path), allowed_signers=_allowed(tmp_path, "p", key)).problems
    assert problems == ["signature: the bundle is not signed but --allowed-signers was given"]


def test_bad_output_name_is_refused_before_any_work(tmp_path):
    from pipelinegen.errors import PipelineError

    with pytest.raises(PipelineError, match="unknown bundle file type"):
        _writer(tmp_path / "results.zip")


def test_manifest_counts_must_match_the_junit_even_after_rehashing(tmp_path):
    path = _green_bundle(tmp_path)
    members = _members(path)
    name = f"cells/{SPLITS[0].id}/junit.xml"
    members[name] = members[name].replace(b'name="t1" time="0.500"/>',
                                          b'name="t1" time="0.500"><failure message="m"/></testcase>', 1)
    _rehash(members)
    _rewrite(path, members, tmp_path)
    problems = verify_bundle(path, required_cells=PLAN).problems
    assert problems[0] == ("cells: 'test jdk11 1/2' (test_jdk11_1of2): the manifest counts "
                           "{'passed': 3, 'failed': 0, 'error': 0, 'skipped': 0} but its JUnit holds "
                           "{'passed': 2, 'failed': 1, 'error': 0, 'skipped': 0}")
    assert problems[1] == "test failed: org.A.t1 in 'test jdk11 1/2' — m"
