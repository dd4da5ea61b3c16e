"""The python-jenkins driver against the Jenkins REST test double (no real Jenkins here)."""

from __future__ import annotations

import json
import socket
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1]))  # the test double lives in tests/

from jenkins_double import BuildScript, JenkinsDouble  # noqa: E402

from pipelinegen.deploy.credentials import Credentials, load_credentials  # noqa: E402
from pipelinegen.deploy.driver import JenkinsDriver, RetryPolicy  # noqa: E402
from pipelinegen.deploy.errors import AuthError, DeployError  # noqa: E402
from pipelinegen.deploy.testrun import RunRequest, run_on_jenkins  # noqa: E402
from pipelinegen.errors import PipelineError  # noqa: E402

TOKEN = "s3cret-token"
JOB_XML = "<flow-definition plugin='workflow-job'><description>x</description></flow-definition>"
JENKINSFILE = "pipeline {\n  agent none\n  stages { stage('a') { steps { echo 'a' } } }\n}\n"
REPORT = {"_class": "hudson.tasks.junit.TestResult", "passCount": 5, "failCount": 1, "skipCount": 2,
          "suites": [{"name": "s", "cases": [{"className": "a.B", "name": "t", "status": "FAILED"}]}]}


def script(chunks: int = 6) -> BuildScript:
    return BuildScript(console_chunks=[f"line {i}\n" for i in range(chunks)], result="UNSTABLE",
                       test_report=REPORT, artifacts={
                           "test/output/unit/TEST-a.B.xml": b"<testsuite name='a.B'/>",
                           "logs/unit.log": b"log text\n",
                           "build/big.jar": b"\0" * 10})


def driver(jd: JenkinsDouble, token: str = TOKEN, attempts: int = 8, progress=None) -> JenkinsDriver:
    return JenkinsDriver(jd.url, Credentials("alice", token), timeout_s=5,
                         retry=RetryPolicy(attempts=attempts, base_delay_s=0.05, max_delay_s=0.2),
                         progress=progress)


def request(tmp_path: Path, **kw) -> RunRequest:
    return RunRequest(job="sample-main", config_xml=JOB_XML, parameters={"profile": "smoke", "jdk": "11"},
                      out_dir=tmp_path / "results", jenkinsfile=JENKINSFILE, poll_s=0, **kw)


def test_full_run_downloads_console_report_and_junit_artifacts(tmp_path):
    with JenkinsDouble(script=script()) as jd:
        outcome = run_on_jenkins(driver(jd), request(tmp_path))
        assert jd.jobs["sample-main"] == JOB_XML
        assert jd.lint_requests == [JENKINSFILE]
        assert jd.builds[("sample-main", 1)].parameters == {"profile": "smoke", "jdk": "11"}
    out = tmp_path / "results"
    assert (out / "console.log").read_text() == "".join(f"line {i}\n" for i in range(6))
    assert outcome.result == "UNSTABLE" and outcome.complete
    assert outcome.totals == {"passed": 5, "failed": 1, "skipped": 2, "total": 8}
    assert json.loads((out / "testReport.json").read_text())["failCount"] == 1
    assert (out / "artifacts/test/output/unit/TEST-a.B.xml").read_bytes() == b"<testsuite name='a.B'/>"
    assert (out / "artifacts/logs/unit.log").exists()
    assert not (out / "artifacts/build/big.jar").exists()  # only JUnit/log artifacts are fetched
    summary = json.loads((out / "summary.json").read_text())
    assert summary["complete"] is True and summary["build"] == 1 and summary["totals"]["total"] == 8


def test_second_run_reconfigures_the_existing_job(tmp_path):
    with JenkinsDouble(script=script(2)) as jd:
        d = driver(jd)
        assert d.upsert_job("sample-main", JOB_XML) == "created"
        assert d.upsert_job("sample-main", JOB_XML.replace(">x<", ">y<")) == "updated"
        assert ">y<" in jd.jobs["sample-main"]


def test_restart_mid_build_loses_nothing_and_duplicates_nothing(tmp_path):
    messages: list[str] = []
    with JenkinsDouble(script=script(8)) as jd:
        jd.restart_after(requests=14, down_s=0.3)  # lands while the console is being streamed
        outcome = run_on_jenkins(driver(jd, progress=messages.append), request(tmp_path))
        assert jd.restarts == 1
    assert outcome.complete and outcome.totals["total"] == 8
    assert (tmp_path / "results/console.log").read_text() == "".join(f"line {i}\n" for i in range(8))
    assert any("retry" in m for m in messages)  # the user saw why it paused


@pytest.mark.parametrize("fragment", ["buildWithParameters", "queue/item", "progressiveText", "testReport",
                                      "artifact/", "createItem"])
@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retried(tmp_path, fragment, status):
    with JenkinsDouble(script=script(3)) as jd:
        jd.fail_next("POST" if fragment in ("buildWithParameters", "createItem") else "GET", fragment, status, 2)
        outcome = run_on_jenkins(driver(jd), request(tmp_path))
        assert outcome.complete and outcome.totals["total"] == 8
        assert len(jd.builds) == 1  # a retried trigger did not start a second build


def test_stale_crumb_is_fetched_again(tmp_path):
    with JenkinsDouble(script=script(2)) as jd:
        d = driver(jd)
        d.upsert_job("sample-main", JOB_XML)
        jd.crumb = "rotated"  # e.g. a new session after a restart
        assert d.upsert_job("sample-main", JOB_XML) == "updated"


def test_wrong_token_is_a_clear_error_that_never_shows_the_token(tmp_path):
    with JenkinsDouble(script=script(2)) as jd:
        with pytest.raises(AuthError) as err:
            run_on_jenkins(driver(jd, token="wrong-token-value"), request(tmp_path))
    assert "401" in str(err.value) and "JENKINS_TOKEN" in str(err.value)
    assert "wrong-token-value" not in str(err.value)
    assert json.loads((tmp_path / "results/summary.json").read_text())["complete"] is False


def test_forbidden_is_not_retried(tmp_path):
    with JenkinsDouble(script=script(2)) as jd:
        jd.fail_next("POST", "buildWithParameters", 403, 1)
        with pytest.raises(AuthError, match="403"):
            run_on_jenkins(driver(jd), request(tmp_path))
        assert not jd.builds


def test_missing_job_endpoint_404_is_fatal(tmp_path):
    with JenkinsDouble(script=script(2)) as jd:
        with pytest.raises(DeployError, match="cannot"):
            driver(jd).trigger("no-such-job", {"a": "b"})


def test_linter_rejection_stops_before_anything_is_triggered(tmp_path):
    with JenkinsDouble(script=script(2)) as jd:
        with pytest.raises(DeployError, match="WorkflowScript"):
            run_on_jenkins(driver(jd), replace(request(tmp_path), jenkinsfile="node { echo 'scripted' "))
        assert not jd.jobs and not jd.queue


def test_interrupt_mid_console_keeps_partial_results(tmp_path):
    seen: list[str] = []

    def echo(text: str) -> None:
        seen.append(text)
        if "line 2" in text:
            raise KeyboardInterrupt

    with JenkinsDouble(script=script(6)) as jd:
        with pytest.raises(KeyboardInterrupt):
            run_on_jenkins(driver(jd), request(tmp_path), echo=echo)
    console = (tmp_path / "results/console.log").read_text()
    assert console.startswith("line 0\nline 1\nline 2\n") and "line 5" not in console
    summary = json.loads((tmp_path / "results/summary.json").read_text())
    assert summary["complete"] is False and summary["build"] == 1 and summary["error"] == "KeyboardInterrupt"


def test_artifact_paths_escaping_the_results_directory_are_refused(tmp_path):
    bad = BuildScript(console_chunks=["x\n"], test_report=REPORT, artifacts={"../../evil.xml": b"x"})
    with JenkinsDouble(script=bad) as jd:
        with pytest.raises(DeployError, match="refusing artifact path"):
            run_on_jenkins(driver(jd), request(tmp_path))
    assert not (tmp_path / "evil.xml").exists()


def test_wait_ready_reports_progress_and_times_out_when_nothing_listens():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    ticks = iter(range(0, 1000, 5))
    messages: list[str] = []
    d = JenkinsDriver(f"http://127.0.0.1:{port}", Credentials("alice", TOKEN), timeout_s=1,
                      sleep=lambda _s: None, progress=messages.append)
    with pytest.raises(DeployError, match="did not become ready within 20s"):
        d.wait_ready(timeout_s=20, clock=lambda: next(ticks))
    assert messages and "waiting for Jenkins" in messages[0]


def test_wait_ready_returns_the_version_once_the_server_is_up():
    with JenkinsDouble() as jd:
        assert driver(jd).wait_ready(timeout_s=5) == "2.462.3"


def test_credentials_come_from_env_or_file_and_the_token_is_never_in_repr(tmp_path):
    creds = load_credentials(env={"JENKINS_USER": "bob", "JENKINS_TOKEN": "tok-123"})
    assert (creds.user, creds.token) == ("bob", "tok-123") and "tok-123" not in repr(creds)
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    assert load_credentials("carol", token_file, env={"JENKINS_TOKEN": "env"}).token == "from-file"
    with pytest.raises(PipelineError, match="without a user"):
        load_credentials(env={"JENKINS_TOKEN": "x"})
    with pytest.raises(PipelineError, match="empty"):
        (tmp_path / "empty").write_text("")
        load_credentials("u", tmp_path / "empty", env={})
    assert load_credentials(env={}).anonymous


def test_retry_progress_counts_only_the_retries_that_happen():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    messages: list[str] = []
    d = JenkinsDriver(f"http://127.0.0.1:{port}", Credentials("alice", TOKEN), timeout_s=1,
                      retry=RetryPolicy(attempts=3, base_delay_s=0.01, max_delay_s=0.01),
                      sleep=lambda _s: None, progress=messages.append)
    with pytest.raises(DeployError, match="no answer after 3 attempts"):
        d.upsert_job("j", "<flow-definition/>")
    retries = [m.split("; retry ")[1].split(" ")[0] for m in messages if "; retry " in m]
    assert retries == ["1/2", "2/2"], messages
