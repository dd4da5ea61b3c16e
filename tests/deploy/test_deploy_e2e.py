"""End to end without a server or a cluster: compile -> jobs -> test-on-clone against the Jenkins REST
test double, through the recording fake kubectl/helm (tests/fake_bin), to a result bundle."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parents[1]))  # the test double lives in tests/

from jenkins_double import BuildScript, JenkinsDouble  # noqa: E402

from pipelinegen.cli import main  # noqa: E402
from pipelinegen.load import load_pipeline  # noqa: E402
from pipelinegen.plan import build_plan  # noqa: E402
from pipelinegen.plan.cell import Parameters  # noqa: E402
from pipelinegen.results.bundle_reader import read_bundle  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "examples" / "sample-project"
FAKE_BIN = Path(__file__).parents[1] / "fake_bin"
PASSWORD = "clone-admin-password"
SHA = "0123456789abcdef0123456789abcdef01234567"


def junit(suite: str) -> bytes:
    return (f'<testsuite name="{suite}" tests="3" failures="0" errors="0" skipped="1" time="0.3">'
            f'<testcase classname="{suite}" name="a" time="0.1"/><testcase classname="{suite}" name="b" time="0.1"/>'
            f'<testcase classname="{suite}" name="c" time="0.1"><skipped/></testcase></testsuite>').encode()


def sample_build(chunks: int = 4) -> tuple[BuildScript, int]:
    """What the generated library archives for the sample's smoke plan: status records + JUnit per cell."""
    plan = build_plan(load_pipeline(SAMPLE / "pipeline.yaml"), Parameters(profile="smoke"))
    artifacts: dict[str, bytes] = {}
    test_cells = 0
    for cell in plan.cells:
        record = {"cell": cell.id, "name": cell.name, "step": cell.step, "status": "passed", "attempt": 1,
                  "node": "sample-amd64-small-abc", "started_ms": 1764000000000, "ended_ms": 1764000005000}
        artifacts[f"ci-results/{cell.id}/status-1.json"] = json.dumps(record).encode()
        if cell.kind == "test":
            test_cells += 1
            artifacts[f"ci-results/{cell.id}/build/test/output/unit/TEST-sample.{cell.id}.xml"] = junit(
                f"sample.{cell.id}")
    report = {"passCount": 2 * test_cells, "failCount": 0, "skipCount": test_cells, "suites": []}
    actions = [{"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": SHA},
                "remoteUrls": ["https://github.com/example/sample.git"]}]
    script = BuildScript(console_chunks=[f"[Pipeline] cell {i}\n" for i in range(chunks)], result="SUCCESS",
                         test_report=report, artifacts=artifacts, actions=actions)
    return script, test_cells


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A copy of the sample project's pipeline in a temp dir, compiled, with the fakes on PATH."""
    work = tmp_path / "project"
    work.mkdir()
    for name in ("pipeline.yaml", "build.xml"):
        shutil.copy(SAMPLE / name, work / name)
    monkeypatch.chdir(work)
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_KUBE_LOG", str(tmp_path / "kube.log"))
    monkeypatch.setenv("FAKE_KUBE_STATE", str(tmp_path / "kube-state"))
    monkeypatch.setenv("FAKE_KUBE_USER", "admin")
    monkeypatch.setenv("FAKE_KUBE_TOKEN", PASSWORD)
    for var in ("JENKINS_USER", "JENKINS_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(main, ["compile"])
    assert result.exit_code == 0, result.output
    return work


def kube_log(tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "kube.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def commands(log: list[list[str]]) -> list[str]:
    """The command sequence without arguments that vary (names, paths)."""
    return [" ".join(entry[:3]) for entry in log]


def test_compile_jobs_test_on_clone_writes_a_bundle_and_tears_down(project, tmp_path, monkeypatch):
    script, test_cells = sample_build()
    runner = CliRunner()
    jobs = runner.invoke(main, ["jobs", "-o", "jobs"])
    assert jobs.exit_code == 0, jobs.output
    with JenkinsDouble(users={"admin": PASSWORD}, script=script) as jd:
        monkeypatch.setenv("FAKE_KUBE_FORWARD_TO", f"127.0.0.1:{jd.port}")
        result = runner.invoke(main, ["test-on-clone", "--download-results", "out", "--poll", "0"])
        assert result.exit_code == 0, result.output + (result.stderr_bytes or b"").decode()
        assert jd.lint_requests == [(project / "generated/Jenkinsfile").read_text()]
        assert list(jd.jobs) == ["sample-main"]
        assert jd.builds[("sample-main", 1)].parameters == {
            "repository": "https://github.com/example/sample.git", "branch": "main", "profile": "smoke"}
    manifest = read_bundle(project / "out" / "results.tar.zst").manifest
    assert manifest["totals"]["tests"]["total"] == 3 * test_cells
    assert manifest["totals"]["tests"]["skipped"] == test_cells and manifest["subject"]["commit"] == SHA
    assert manifest["incomplete"] is False
    assert f"tests: {3 * test_cells} (0 failed, {test_cells} skipped)" in result.output
    verify = runner.invoke(main, ["results", "verify", "out/results.tar.zst", "--pipeline", "pipeline.yaml",
                                  "--commit", SHA, "--profile", "smoke"])
    assert verify.exit_code == 0, verify.output  # the bundle certifies the commit, every planned cell ran
    log = kube_log(tmp_path)
    seq = commands(log)
    # context, node-pool check, then the namespace with its cleanup labels, then the install
    assert seq[:6] == ["kubectl config current-context", "kubectl get nodes", "kubectl create namespace",
                       "kubectl label namespace", "kubectl annotate namespace", "helm upgrade --install"]
    install = next(e for e in log if e[:2] == ["helm", "upgrade"])
    assert install[install.index("--values") + 1].endswith("out/clone/helm/values.yaml")
    assert seq[-2:] == ["helm uninstall jenkins", "kubectl delete namespace"]
    assert not list((tmp_path / "kube-state").glob("ns-*.json"))  # nothing left behind
    assert all(PASSWORD not in " ".join(e) for e in log)  # the secret never reaches argv


def test_killed_mid_run_tears_down_and_keeps_partial_results(project, tmp_path):
    script, _ = sample_build(chunks=400)
    with JenkinsDouble(users={"admin": PASSWORD}, script=script) as jd:
        env = {**os.environ, "FAKE_KUBE_FORWARD_TO": f"127.0.0.1:{jd.port}"}
        proc = subprocess.Popen(
            [sys.executable, "-c", "from pipelinegen.cli import main; main()", "test-on-clone",
             "--download-results", "out", "--poll", "0.05"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        console = project / "out" / "console.log"
        deadline = time.monotonic() + 60
        while not (console.exists() and console.stat().st_size > 0):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "tearing the clone down" in err
    seq = commands(kube_log(tmp_path))
    assert "helm uninstall jenkins" in seq and seq[-1] == "kubectl delete namespace"
    assert not list((tmp_path / "kube-state").glob("ns-*.json"))
    kept = console.read_text()
    assert kept.startswith("[Pipeline] cell 0\n") and "[Pipeline] cell 399" not in kept
    summary = json.loads((project / "out" / "summary.json").read_text())
    assert summary["complete"] is False and summary["build"] == 1


def test_missing_kubectl_or_context_is_a_clear_error(project, tmp_path, monkeypatch):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = CliRunner().invoke(main, ["test-on-clone"])
    assert result.exit_code == 2 and "kubectl was not found on PATH" in result.output
    monkeypatch.setenv("PATH", f"{FAKE_BIN}{os.pathsep}{os.environ.get('PATH', '')}:/usr/bin:/bin")
    monkeypatch.setenv("FAKE_KUBE_CONTEXT", "")
    result = CliRunner().invoke(main, ["test-on-clone"])
    assert result.exit_code == 2 and "kubectl config use-context" in result.output
    assert "kubectl create namespace" not in commands(kube_log(tmp_path))


def test_nodes_too_small_refuse_before_anything_is_created(project, tmp_path, monkeypatch):
    nodes = tmp_path / "nodes.json"
    nodes.write_text(json.dumps({"items": [{"metadata": {"name": "tiny", "labels": {"kubernetes.io/arch": "amd64"}},
                                            "status": {"allocatable": {"cpu": "1", "memory": "1Gi",
                                                                       "ephemeral-storage": "10Gi"}}}]}))
    monkeypatch.setenv("FAKE_KUBE_NODES", str(nodes))
    result = CliRunner().invoke(main, ["test-on-clone", "--download-results", "out"])
    assert result.exit_code == 1
    assert "pod template sample-amd64-small: needs 1.25 cpu" in result.output
    assert "sample-arm64" not in result.output  # the smoke plan runs no arm64 cell: not required
    assert "kubectl create namespace" not in commands(kube_log(tmp_path))


def test_setup_only_keeps_the_clone_then_reuse_and_teardown_only(project, tmp_path, monkeypatch):
    script, _ = sample_build()
    runner = CliRunner()
    with JenkinsDouble(users={"admin": PASSWORD}, script=script) as jd:
        monkeypatch.setenv("FAKE_KUBE_FORWARD_TO", f"127.0.0.1:{jd.port}")
        setup = runner.invoke(main, ["test-on-clone", "--setup-only", "--download-results", "setup"])
        assert setup.exit_code == 0, setup.output
        names = [p.stem[3:] for p in (tmp_path / "kube-state").glob("ns-*.json")]
        assert len(names) == 1 and names[0].startswith("pipelinegen-sample-") and names[0] in setup.output
        listed = runner.invoke(main, ["clone", "list"])
        assert names[0] in listed.output and "helm" in listed.output
        before = len(kube_log(tmp_path))
        reuse = runner.invoke(main, ["test-on-clone", "--reuse", names[0], "--download-results", "out", "--poll", "0"])
        assert reuse.exit_code == 0, reuse.output
        seq = commands(kube_log(tmp_path)[before:])
        assert not any(c.startswith("helm") or c.startswith("kubectl create") for c in seq)
        assert "kubectl delete namespace" not in seq  # a reused clone is kept
    gone = runner.invoke(main, ["test-on-clone", "--teardown-only", names[0]])
    assert gone.exit_code == 0, gone.output
    assert not list((tmp_path / "kube-state").glob("ns-*.json"))


def test_clone_delete_refuses_namespaces_that_are_not_clones(project, tmp_path):
    state = tmp_path / "kube-state"
    state.mkdir()
    (state / "ns-production.json").write_text(json.dumps({"metadata": {"name": "production", "labels": {}}}))
    result = CliRunner().invoke(main, ["clone", "delete", "production"])
    assert result.exit_code == 1 and "not a pipelinegen clone" in result.output
    assert (state / "ns-production.json").exists()


def test_existing_jenkins_needs_no_cluster(project, tmp_path, monkeypatch):
    script, _ = sample_build()
    with JenkinsDouble(users={"bob": "tok"}, script=script) as jd:
        monkeypatch.setenv("JENKINS_USER", "bob")
        monkeypatch.setenv("JENKINS_TOKEN", "tok")
        result = CliRunner().invoke(main, ["test-on-clone", "--jenkins-url", jd.url, "--download-results", "out",
                                           "--poll", "0", "--branch", "feature", "--repository",
                                           "https://github.com/me/sample.git"])
        assert result.exit_code == 0, result.output
        assert jd.builds[("sample-feature", 1)].parameters["repository"] == "https://github.com/me/sample.git"
    assert kube_log(tmp_path) == []
    bad = CliRunner().invoke(main, ["test-on-clone", "--jenkins-url", "http://bob:tok@127.0.0.1:1/"])
    assert bad.exit_code == 2 and "no credentials in the URL" in bad.output


def test_operator_provider_applies_the_checked_custom_resource(project, tmp_path, monkeypatch):
    crd = Path("/work/shared/reference/jenkins-operator-crd.jenkins.io_jenkins.yaml")
    if not crd.exists():
        pytest.skip("the operator CRD reference file is not on this machine")
    script, _ = sample_build()
    runner = CliRunner()
    missing = runner.invoke(main, ["test-on-clone", "--provider", "operator"])
    assert missing.exit_code == 1 and "operator is not installed" in missing.output
    monkeypatch.setenv("FAKE_KUBE_CRD", str(crd))
    with JenkinsDouble(users={"admin": PASSWORD}, script=script) as jd:
        monkeypatch.setenv("FAKE_KUBE_FORWARD_TO", f"127.0.0.1:{jd.port}")
        result = runner.invoke(main, ["test-on-clone", "--provider", "operator", "--download-results", "out",
                                      "--poll", "0"])
        assert result.exit_code == 0, result.output
    log = [e for e in kube_log(tmp_path) if e[:2] != ["kubectl", "config"]]
    name = next(e[3] for e in log if e[1:3] == ["create", "namespace"])
    applied = [e[e.index("-f") + 1] for e in log if e[1] == "apply"]
    assert [Path(p).name for p in applied] == ["jcasc-configmap.yaml", "jenkins.yaml"]
    assert f"name: {name}" in Path(applied[1]).read_text()
    assert any(e[1:3] == ["get", "secret"] and e[3] == f"jenkins-operator-credentials-{name}" for e in log)
    assert any(e[1] == "port-forward" and f"svc/jenkins-operator-http-{name}" in e for e in log)
    assert not any(e[0] == "helm" for e in log)
    assert [" ".join(e[1:3]) for e in log[-2:]] == ["delete jenkins", "delete namespace"]


def test_jobs_are_created_then_updated_on_an_existing_jenkins(project, monkeypatch):
    monkeypatch.setenv("JENKINS_USER", "bob")
    monkeypatch.setenv("JENKINS_TOKEN", "tok")
    with JenkinsDouble(users={"bob": "tok"}) as jd:
        first = CliRunner().invoke(main, ["jobs", "--jenkins-url", jd.url])
        second = CliRunner().invoke(main, ["jobs", "--jenkins-url", jd.url, "--no-polling"])
        assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
        assert "sample-main: created" in first.output and "sample-main: updated" in second.output
        assert "SCMTrigger" not in jd.jobs["sample-main"]


def test_clone_render_validates_against_a_crd_file(project, tmp_path):
    crd = Path("/work/shared/reference/jenkins-operator-crd.jenkins.io_jenkins.yaml")
    if not crd.exists():
        pytest.skip("the operator CRD reference file is not on this machine")
    ok = CliRunner().invoke(main, ["clone", "render", "-o", "clone", "--crd", str(crd)])
    assert ok.exit_code == 0, ok.output
    assert (project / "clone" / "operator" / "jenkins.yaml").is_file()
    narrowed = tmp_path / "crd.yaml"
    # A CRD that no longer declares `plugins`: the rendered CR must now be refused, by key path.
    data = yaml.safe_load(crd.read_text())
    master = data["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["master"]
    master["properties"]["pluginsGone"] = master["properties"].pop("plugins")
    narrowed.write_text(yaml.safe_dump(data))
    bad = CliRunner().invoke(main, ["clone", "render", "-o", "clone2", "--crd", str(narrowed)])
    assert bad.exit_code == 2 and "unknown field 'plugins'" in bad.output
    assert not (project / "clone2").exists()


def test_controller_restart_mid_run_revives_the_port_forward(project, tmp_path, monkeypatch):
    script, test_cells = sample_build(chunks=30)
    with JenkinsDouble(users={"admin": PASSWORD}, script=script) as jd:
        monkeypatch.setenv("FAKE_KUBE_FORWARD_TO", f"127.0.0.1:{jd.port}")
        jd.restart_after(requests=25, down_s=0.5)  # while the console streams
        result = CliRunner().invoke(main, ["test-on-clone", "--download-results", "out", "--poll", "0"])
        assert result.exit_code == 0, result.output
        assert jd.restarts == 1
    forwards = [e for e in kube_log(tmp_path) if e[1:2] == ["port-forward"]]
    assert len(forwards) >= 2 and len({e[-1] for e in forwards}) == 1  # restarted on the same local port
    console = (project / "out" / "console.log").read_text()
    assert console == "".join(f"[Pipeline] cell {i}\n" for i in range(30))  # nothing lost, nothing twice
    assert read_bundle(project / "out" / "results.tar.zst").manifest["totals"]["tests"]["total"] == 3 * test_cells


def test_ingress_instead_of_port_forward(project, tmp_path):
    script, _ = sample_build()
    with JenkinsDouble(users={"admin": PASSWORD}, script=script) as jd:
        host = f"localhost:{jd.port}"  # e.g. a kind cluster's ingress mapped to a local port
        result = CliRunner().invoke(main, ["test-on-clone", "--ingress-host", host, "--download-results", "out",
                                           "--poll", "0"])
        assert result.exit_code == 0, result.output
        assert jd.builds
    values = yaml.safe_load((project / "out/clone/helm/values.yaml").read_text())
    assert values["controller"]["ingress"] == {"enabled": True, "hostName": "localhost"}
    assert values["controller"]["jenkinsUrl"] == f"http://{host}/"
    assert not any(e[1] == "port-forward" for e in kube_log(tmp_path))
    bad = CliRunner().invoke(main, ["test-on-clone", "--ingress-host", "ci.example.org", "--provider", "operator"])
    assert bad.exit_code == 2 and "helm provider" in bad.output


def test_an_existing_jenkins_that_does_not_answer_is_named_with_the_right_hint(project, monkeypatch):
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("JENKINS_USER", "bob")
    monkeypatch.setenv("JENKINS_TOKEN", "tok")
    result = CliRunner().invoke(main, ["test-on-clone", "--jenkins-url", f"http://127.0.0.1:{port}/",
                                       "--ready-timeout", "1"])
    assert result.exit_code == 1
    assert "did not become ready within 1s" in result.output
    assert "check the URL and that Jenkins is running there" in result.output
    assert "port-forward" not in result.output
