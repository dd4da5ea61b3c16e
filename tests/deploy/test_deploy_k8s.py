"""kubectl/helm lifecycle details, against the recording fake binaries in tests/fake_bin."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from pipelinegen.deploy.errors import DeployError
from pipelinegen.deploy.k8s import Clone, Kube, new_clone_name

FAKE_BIN = Path(__file__).parents[1] / "fake_bin"


@pytest.fixture
def kube(tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KUBE_LOG", str(tmp_path / "kube.log"))
    monkeypatch.setenv("FAKE_KUBE_STATE", str(tmp_path / "state"))
    (tmp_path / "state").mkdir()
    messages: list[str] = []
    k = Kube(kubectl=str(FAKE_BIN / "kubectl"), helm=str(FAKE_BIN / "helm"), echo=messages.append, timeout_s=20,
             retry_s=0.05)
    k.messages = messages  # type: ignore[attr-defined]
    yield k
    k.stop_port_forwards()


def test_clone_names_are_unique_and_dns_safe():
    names = {new_clone_name("Cassandra CI/trunk") for _ in range(50)}
    assert len(names) == 50
    assert all(n.startswith("pipelinegen-cassandra-ci-trunk-") and n == n.lower() and len(n) <= 63 for n in names)


def test_port_forward_waits_for_the_service_then_forwards(kube, tmp_path, monkeypatch):
    with socket.socket() as upstream:
        upstream.bind(("127.0.0.1", 0))
        upstream.listen(1)
        monkeypatch.setenv("FAKE_KUBE_FORWARD_TO", f"127.0.0.1:{upstream.getsockname()[1]}")
        (tmp_path / "state" / "forward-fails").write_text("2")
        url = kube.port_forward(Clone("pipelinegen-x-1", "operator"))
        port = int(url.rsplit(":", 1)[1].strip("/"))
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            conn, _ = upstream.accept()  # the fake really forwarded the connection
            conn.close()
    calls = [json.loads(line) for line in (tmp_path / "kube.log").read_text().splitlines()]
    assert [c[1] for c in calls] == ["port-forward"] * 3
    assert "svc/jenkins-operator-http-pipelinegen-x-1" in calls[0]
    assert sum("waiting for svc/" in m for m in kube.messages) == 2


def test_port_forward_gives_up_with_the_error_after_the_deadline(kube, tmp_path):
    (tmp_path / "state" / "forward-fails").write_text("1000")
    with pytest.raises(DeployError, match='services "jenkins" not found'):
        kube.port_forward(Clone("c", "helm"), wait_s=0.2)


def test_teardown_is_safe_to_run_twice(kube, tmp_path):
    kube.spawn(Clone("pipelinegen-t-1", "helm", "t"), _clone_dir(tmp_path))
    clone = kube.find("pipelinegen-t-1")
    assert (clone.provider, clone.project) == ("helm", "t") and clone.created
    kube.teardown(clone)
    kube.teardown(clone)
    with pytest.raises(DeployError, match="no clone named"):
        kube.find("pipelinegen-t-1")


def test_helm_failure_is_reported_with_its_last_line(kube, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_HELM_FAIL", "1")
    with pytest.raises(DeployError, match="timed out waiting for the condition"):
        kube.spawn(Clone("pipelinegen-t-2", "helm", "t"), _clone_dir(tmp_path))


def _clone_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "clone"
    for rel in ("helm/values.yaml", "operator/jenkins.yaml", "operator/jcasc-configmap.yaml"):
        (directory / rel).parent.mkdir(parents=True, exist_ok=True)
        (directory / rel).write_text("{}\n")
    return directory


def test_fake_binaries_are_executable():
    for name in ("kubectl", "helm"):
        assert os.access(FAKE_BIN / name, os.X_OK)
    assert shutil.which("python3") and subprocess.run([str(FAKE_BIN / "helm"), "version"], env={
        **os.environ, "FAKE_KUBE_LOG": os.devnull}).returncode == 0
