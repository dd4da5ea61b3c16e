"""The `pipelinegen results` commands as a user runs them: collect, verify, summary, diff."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from pipelinegen.cli import main
from pipelinegen.load import load_pipeline
from pipelinegen.plan import Parameters, build_plan
from pipelinegen.results.bundle_reader import read_bundle

FIXTURES = Path(__file__).parents[1] / "fixtures" / "junit"
SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-project" / "pipeline.yaml"
COMMIT = "89abcdef0123456789abcdef0123456789abcdef"


def run(*args: str, code: int | None = 0) -> str:
    result = CliRunner().invoke(main, ["results", *map(str, args)], catch_exceptions=False)
    if code is not None:
        assert result.exit_code == code, result.output
    return result.output


def _cell_dirs(root: Path, cells, skip: str = "", failing: str = "") -> Path:
    """What a producer leaves behind: one directory per plan cell id, JUnit for test cells, a log for all."""
    for cell in cells:
        if cell.id == skip:
            continue
        d = root / cell.id
        d.mkdir(parents=True)
        (d / "console.log").write_text(f"{cell.name}: ok\n")
        if cell.kind == "test":
            status = '<failure message="boom">trace</failure>' if cell.id == failing else ""
            (d / f"TEST-{cell.step}.xml").write_text(
                f'<testsuite name="org.{cell.step}.Suite"><testcase classname="org.{cell.step}.Suite" '
                f'name="t_{cell.split}" time="1.5">{status}</testcase></testsuite>')
    return root


@pytest.fixture(scope="module")
def smoke_plan():
    return build_plan(load_pipeline(SAMPLE), Parameters(profile="smoke"))


def test_collect_any_junit_directory_then_summary_lists_every_failure(tmp_path):
    out = tmp_path / "r.tar.xz"
    text = run("collect", FIXTURES, "--commit", COMMIT, "--profile", "pre-commit", "-o", out)
    assert f"wrote {out}: 1 cells (0 not run), 23 tests (9 failing), 0 duplicates, unsigned" in text
    summary = run("summary", out, "--junit", tmp_path / "merged.xml")
    assert "tests    23 total, 10 passed, 5 failed, 4 errors, 4 skipped, 1 flaky" in summary
    assert "failures (9):" in summary
    assert "pipelinegen.junit.truncated-TEST-org.apache.cassandra.KilledTest.xml" in summary
    assert "org.apache.cassandra.db.CellTest.testExpiringCellReconile" in summary
    merged = etree.parse(str(tmp_path / "merged.xml"))
    assert len(merged.findall(".//testcase")) == 23
    assert len(merged.findall(".//failure")) + len(merged.findall(".//error")) == 9


def test_verify_with_pipeline_certifies_a_complete_green_run(tmp_path, smoke_plan):
    results = _cell_dirs(tmp_path / "out", smoke_plan.cells)
    bundle = tmp_path / "r.tar.zst"
    run("collect", results, "--commit", COMMIT, "--profile", "smoke", "--pipeline", SAMPLE, "-o", bundle)
    text = run("verify", bundle, "--pipeline", SAMPLE, "--commit", COMMIT, "--profile", "smoke")
    assert text.strip().endswith(f"CERTIFIED: {COMMIT} (smoke)")
    manifest = read_bundle(bundle).manifest
    assert manifest["pipeline"]["files"][0]["path"] == "pipeline.yaml"
    assert {c["id"] for c in manifest["cells"]} == {c.id for c in smoke_plan.cells}


def test_verify_names_the_missing_split_and_the_failing_test(tmp_path, smoke_plan):
    tests = [c for c in smoke_plan.cells if c.kind == "test"]
    missing, failing = tests[-1], tests[0]
    results = _cell_dirs(tmp_path / "out", smoke_plan.cells, skip=missing.id, failing=failing.id)
    bundle = tmp_path / "r.tar.zst"
    run("collect", results, "--commit", COMMIT, "--profile", "smoke", "--pipeline", SAMPLE, "-o", bundle)
    text = run("verify", bundle, "--pipeline", SAMPLE, "--commit", COMMIT, code=1)
    assert f"FAIL: cells: '{missing.name}' ({missing.id}) is not-run" in text
    assert f"FAIL: test failed: org.{failing.step}.Suite.t_{failing.split} in '{failing.name}' — boom" in text
    assert "NOT CERTIFIED: 2 problems" in text
    other = "1234567" + "0" * 33
    wrong = run("verify", bundle, "--commit", other, "--profile", "full", code=1)
    assert f"FAIL: commit: the bundle certifies {COMMIT}, not {other}" in wrong
    assert "FAIL: profile: the bundle is for profile 'smoke', not 'full'" in wrong


def test_verify_detects_a_changed_pipeline(tmp_path, smoke_plan):
    project = tmp_path / "project"
    shutil.copytree(SAMPLE.parent, project, ignore=shutil.ignore_patterns("build", "output"))
    pipeline = project / "pipeline.yaml"
    results = _cell_dirs(tmp_path / "out", smoke_plan.cells)
    bundle = tmp_path / "r.tar.zst"
    run("collect", results, "--commit", COMMIT, "--profile", "smoke", "--pipeline", pipeline, "-o", bundle)
    pipeline.write_text(pipeline.read_text() + "\n# edited after the run\n")
    text = run("verify", bundle, "--pipeline", pipeline, code=1)
    assert "FAIL: pipeline identity: pipeline.yaml differs from the one the run used" in text


def test_diff_reports_new_fixed_still_failing_flaky_and_disappeared(tmp_path):
    def bundle(name: str, cases: dict[str, str]) -> Path:
        d = tmp_path / name / "unit"
        d.mkdir(parents=True)
        body = "".join(
            f'<testcase classname="org.T" name="{n}">'
            + {"pass": "", "fail": "<failure message='x'/>", "flaky": "<flakyFailure message='x'/>"}[s]
            + "</testcase>" for n, s in cases.items())
        (d / "TEST-org.T.xml").write_text(f'<testsuite name="org.T">{body}</testsuite>')
        out = tmp_path / f"{name}.tar.zst"
        run("collect", tmp_path / name, "--commit", COMMIT, "--profile", "p", "-o", out)
        return out

    base = bundle("base", {"a": "pass", "b": "fail", "c": "fail", "gone": "pass", "f": "pass"})
    new = bundle("new", {"a": "fail", "b": "pass", "c": "fail", "f": "flaky", "added": "pass"})
    text = run("diff", base, new, code=1)
    assert "new failures: 1\n  org.T.a [unit]" in text
    assert "fixed: 1\n  org.T.b [unit]" in text
    assert "still failing: 1\n  org.T.c [unit]" in text
    assert "flaky: 1\n  org.T.f [unit]" in text
    assert "disappeared (ran in base, absent now): 1\n  org.T.gone [unit]" in text
    # Against itself nothing is new: exit 0, and a still failing while already failing before.
    assert run("diff", new, new, code=0).startswith("new failures: 0")


def test_collect_a_pipelinegen_run_directory(tmp_path, smoke_plan):
    # Written with the local runner's own classes, so a change of its format breaks this test.
    from pipelinegen.run.output import ResultDirectory
    from pipelinegen.run.records import AttemptResult, CellResult, RunSummary

    root = tmp_path / "run"
    unit = next(c for c in smoke_plan.cells if c.kind == "test")
    junit_rel = f"cells/{unit.id}/attempt-2/junit/TEST-bom.xml"
    (root / junit_rel).parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "bom-TEST-org.apache.cassandra.utils.BomTest.xml", root / junit_rel)
    attempts = []
    for number, status in ((1, "failed"), (2, "passed")):
        log = f"cells/{unit.id}/attempt-{number}.log"
        (root / log).write_text(f"attempt {number}\n")
        attempts.append(AttemptResult(attempt=number, status=status, returncode=0, started=100.0 * number,
                                      ended=100.0 * number + 30, log=log, junit=[junit_rel] if number == 2 else []))
    cells = [CellResult(id=unit.id, name=unit.name, step=unit.step, status="passed", attempts=attempts,
                        flaky_tests=["org.apache.cassandra.utils.BomTest.testB"])]
    cells += [CellResult(id=c.id, name=c.name, step=c.step, status="not_run") for c in smoke_plan.cells if c != unit]
    directory = ResultDirectory(root)
    directory.write_plan(smoke_plan, list(smoke_plan.cells))
    directory.write_summary(RunSummary(run_id="r1", started=100.0, ended=None, complete=False, status="interrupted",
                                       exit_code=None, jobs=2, docker=False,
                                       parameters=smoke_plan.parameters.as_dict(), cells=cells))
    out = tmp_path / "r.tar.zst"
    text = run("collect", root, "--commit", COMMIT, "-o", out)
    assert "INCOMPLETE: local run status interrupted" in text
    manifest = read_bundle(out).manifest
    by_id = {c["id"]: c for c in manifest["cells"]}
    first = by_id[unit.id]
    assert (first["status"], first["attempts"], first["duration_s"]) == ("passed", 2, 60)
    assert (first["tests"]["passed"], first["tests"]["flaky"]) == (2, 1)  # testB failed on attempt 1
    assert len(first["logs"]) == 2
    assert all(by_id[c.id]["status"] == "not-run" for c in smoke_plan.cells if c != unit)
    assert manifest["profile"] == "smoke" and manifest["producer"]["kind"] == "local"
    verdict = run("verify", out, code=1)
    assert "FAIL: incomplete: the run did not finish (local run status interrupted)" in verdict


def test_bad_inputs_exit_2_with_a_hint(tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["results", "collect", str(tmp_path / "empty"), "--commit", COMMIT,
                                       "--profile", "p", "-o", str(tmp_path / "x.tar.zst")])
    assert result.exit_code == 2 and "no JUnit *.xml files found" in result.output
    junk = tmp_path / "junk.tar.zst"
    junk.write_bytes(b"not a bundle")
    result = CliRunner().invoke(main, ["results", "summary", str(junk)])
    assert result.exit_code == 2 and "is this a result bundle?" in result.output
    assert "FAIL: archive:" in run("verify", junk, code=1)


def test_collect_refuses_a_commit_that_is_not_a_sha(tmp_path):
    result = CliRunner().invoke(main, ["results", "collect", str(FIXTURES), "--commit", "not-a-sha",
                                       "--profile", "p", "-o", str(tmp_path / "x.tar.zst")])
    assert result.exit_code == 2 and "'not-a-sha' is not a full 40/64-hex commit" in result.output
    assert not (tmp_path / "x.tar.zst").exists()


def test_collect_signs_with_a_key_from_the_environment_and_verify_checks_it(tmp_path, monkeypatch):
    import subprocess

    key = tmp_path / "ci_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"ci@example {key.with_suffix('.pub').read_text()}")
    monkeypatch.setenv("PIPELINEGEN_SIGN_KEY", str(key))
    out = tmp_path / "r.tar.xz"
    assert "signed" in run("collect", FIXTURES, "--commit", COMMIT, "--profile", "p", "-o", out)
    known = tmp_path / "known"
    cases = [c for c in read_bundle(out).iter_testcases() if c.status in ("failed", "error")]
    known.write_text("".join(f"{c.test_id} accepted for this test\n" for c in cases))
    text = run("verify", out, "--allowed-signers", allowed, "--allow-known", known, "--commit", COMMIT)
    assert "note: signature: good, signed by ci@example" in text and "CERTIFIED" in text


def test_verify_against_a_plan_json_from_pipelinegen_plan(tmp_path, smoke_plan):
    tests = [c for c in smoke_plan.cells if c.kind == "test"]
    results = _cell_dirs(tmp_path / "out", smoke_plan.cells, skip=tests[1].id)
    bundle = tmp_path / "r.tar.zst"
    plan_json = tmp_path / "plan.json"
    plan_json.write_text(smoke_plan.to_json())
    run("collect", results, "--commit", COMMIT, "--profile", "smoke", "--plan", plan_json, "-o", bundle)
    text = run("verify", bundle, "--plan", plan_json, code=1)
    assert f"FAIL: cells: '{tests[1].name}' ({tests[1].id}) is not-run" in text
    assert "NOT CERTIFIED: 1 problem\n" in text
    # Collected without the plan, the missing split is simply absent: verify still finds the hole.
    loose = tmp_path / "loose.tar.zst"
    run("collect", results, "--commit", COMMIT, "--profile", "smoke", "-o", loose)
    text = run("verify", loose, "--plan", plan_json, code=1)
    assert f"FAIL: cells: '{tests[1].name}' ({tests[1].id}) is required by the plan but missing from the bundle" in text


def test_certified_names_the_jdk_a_narrowed_run_was_limited_to(tmp_path):
    from pipelinegen.results.bundle import BundleWriter
    from pipelinegen.results.manifest import CellRef, Producer, Subject

    plan = build_plan(load_pipeline(SAMPLE), Parameters(profile="smoke", jdk="17"))
    results = _cell_dirs(tmp_path / "out", plan.cells)
    bundle = tmp_path / "r.tar.zst"
    with BundleWriter(bundle, subject=Subject("", COMMIT, ""), parameters=plan.parameters,
                      producer=Producer("local", host="h"), cells=[CellRef.from_cell(c) for c in plan.cells]) as writer:
        for cell in plan.cells:
            writer.add_cell(CellRef.from_cell(cell), status="passed", duration_s=1, node="n",
                            junit=sorted((results / cell.id).glob("*.xml")))
    text = run("verify", bundle, "--commit", COMMIT)
    assert text.strip().endswith(f"CERTIFIED: {COMMIT} (smoke, jdk=17)")
    assert "profile  smoke, jdk=17   producer" in run("summary", bundle, "--html", tmp_path / "s.html")
    page = etree.parse(str(tmp_path / "s.html"), etree.HTMLParser())
    assert page.xpath("string(//td[@id='profile'])") == "smoke, jdk=17"


def test_a_file_that_is_not_a_bundle_is_named_once_in_the_error(tmp_path):
    junk = tmp_path / "console.log"
    junk.write_text("not an archive\n")
    text = run("summary", junk, code=2)
    assert text.count(str(junk)) == 1 and "is this a result bundle?" in text


def test_collect_says_on_a_terminal_which_cell_it_reads(tmp_path, monkeypatch):
    # A whole CI run's JUnit takes collect a minute: on a terminal, the status line names the cell it is at.
    from contextlib import contextmanager

    import pipelinegen.cli.results as results_cli

    shown: list[str] = []

    @contextmanager
    def recording_status(label):
        yield lambda text: shown.append(f"{label}: {text}")

    monkeypatch.setattr(results_cli, "terminal_status", recording_status)
    for cell in ("unit", "dtest"):
        shutil.copytree(FIXTURES, tmp_path / "in" / cell)
    out = tmp_path / "r.tar.zst"
    run("collect", tmp_path / "in", "--commit", COMMIT, "--profile", "pre-commit", "-o", out)
    assert shown == ["collect: cell 1 of 2: dtest", "collect: cell 2 of 2: unit", f"collect: writing {out}"]


def test_the_status_line_stays_off_a_pipe(monkeypatch, capsys):
    # CI logs and pipes get no spinner (and no escape codes): only the command's own last line.
    from pipelinegen.cli.status import terminal_status

    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    with terminal_status("collect") as update:
        update("cell 1 of 1: x")
    assert capsys.readouterr().err == ""


def test_the_status_line_shows_on_a_terminal(tmp_path):
    # Through a real pseudo-terminal, as a user at a shell sees it.
    import os
    import pty
    import subprocess
    import sys

    script = ("import time\nfrom pipelinegen.cli.status import terminal_status\n"
              "with terminal_status('collect') as update:\n    update('cell 1 of 1: unit')\n    time.sleep(0.5)\n")
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=follower, env=dict(os.environ, TERM="xterm", COLUMNS="80"))
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    assert proc.wait(timeout=30) == 0
    assert b"collect: cell 1 of 1: unit" in seen
