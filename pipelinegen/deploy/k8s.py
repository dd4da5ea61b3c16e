"""The clone's life on Kubernetes, through the real `kubectl` and `helm` binaries in the current context.

One namespace per clone, named `pipelinegen-<project>-<random>` and labelled so that orphans can be
listed and deleted by label. Secrets read from the cluster are returned, never printed or logged.
"""

from __future__ import annotations

import base64
import json
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelinegen.deploy.clone import LABEL_PREFIX
from pipelinegen.deploy.credentials import Credentials
from pipelinegen.deploy.errors import DeployError, MissingTool

CLONE_LABEL = f"{LABEL_PREFIX}/clone"
PROJECT_LABEL = f"{LABEL_PREFIX}/project"
PROVIDER_LABEL = f"{LABEL_PREFIX}/provider"
CREATED_ANNOTATION = f"{LABEL_PREFIX}/created"
HELM_CHART = "jenkins"
# The release is named like the chart, so the chart's fullname (service, admin secret) is just "jenkins";
# the namespace already makes each clone unique.
HELM_RELEASE = "jenkins"
HELM_REPO = "https://charts.jenkins.io"
PROVIDERS = ("helm", "operator")
CONTROLLER_PORT = 8080
INSTALL_DOCS = {"kubectl": "https://kubernetes.io/docs/tasks/tools/", "helm": "https://helm.sh/docs/intro/install/"}


@dataclass(frozen=True)
class Clone:
    name: str  # the namespace, and the Jenkins CR name
    provider: str
    project: str = ""
    created: str = ""

    @property
    def namespace(self) -> str:
        return self.name

    @property
    def service(self) -> str:
        # The chart names the service after the release; the operator prefixes it.
        return HELM_RELEASE if self.provider == "helm" else f"jenkins-operator-http-{self.name}"


def new_clone_name(project: str) -> str:
    safe = "".join(c if c.isalnum() else "-" for c in project.lower()).strip("-")[:30] or "project"
    return f"pipelinegen-{safe}-{secrets.token_hex(3)}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Kube:
    """Runs kubectl/helm; every command goes through `run` so tests can record the sequence."""

    kubectl: str = "kubectl"
    helm: str = "helm"
    echo: Callable[[str], None] = lambda _s: None
    timeout_s: float = 1200.0
    retry_s: float = 2.0  # between polls of things the cluster creates asynchronously
    port_forwards: list[subprocess.Popen] = field(default_factory=list)
    _forward: tuple[Clone, int] | None = None  # what `revive_port_forward` restarts

    @classmethod
    def from_path(cls, need_helm: bool, echo: Callable[[str], None] = lambda _s: None) -> Kube:
        found = {}
        for tool in ("kubectl", "helm") if need_helm else ("kubectl",):
            path = shutil.which(tool)
            if path is None:
                raise MissingTool(f"{tool} was not found on PATH: install it ({INSTALL_DOCS[tool]}) "
                                  "or pass --jenkins-url to use an existing Jenkins")
            found[tool] = path
        return cls(kubectl=found["kubectl"], helm=found.get("helm", "helm"), echo=echo)

    def require_helm(self) -> None:
        """For clones installed with helm, found after start-up (e.g. by --teardown-only NAME)."""
        path = shutil.which(self.helm)
        if path is None:
            raise MissingTool(f"helm was not found on PATH: install it ({INSTALL_DOCS['helm']})")
        self.helm = path

    def run(self, argv: Sequence[str], *, check: bool = True, capture: bool = True,
            input_text: str | None = None) -> subprocess.CompletedProcess:
        try:
            result = subprocess.run(list(argv), capture_output=capture, text=True, input=input_text,
                                    timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise DeployError(f"`{' '.join(argv[:4])} …` did not finish within {self.timeout_s:.0f}s") from None
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip().splitlines()
            raise DeployError(f"`{' '.join(argv[:4])} …` failed (exit {result.returncode}): "
                              f"{detail[-1] if detail else 'no output'}")
        return result

    def kc(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run([self.kubectl, *args], **kw)

    # ---- context and cluster ---------------------------------------------------------------------
    def current_context(self) -> str:
        result = self.kc("config", "current-context", check=False)
        context = result.stdout.strip()
        if result.returncode != 0 or not context:
            raise MissingTool("kubectl has no current context: choose a cluster with "
                              "`kubectl config use-context NAME`, or pass --jenkins-url to use an existing Jenkins")
        return context

    def nodes_json(self) -> dict:
        return json.loads(self.kc("get", "nodes", "-o", "json").stdout)

    # ---- lifecycle -------------------------------------------------------------------------------
    def spawn(self, clone: Clone, clone_dir: Path) -> None:
        """Create the namespace and install the controller; returns once the install command returns."""
        ns = clone.namespace
        self.echo(f"creating namespace {ns}")
        self.kc("create", "namespace", ns)
        self.kc("label", "namespace", ns, f"{CLONE_LABEL}=true", f"{PROJECT_LABEL}={clone.project}",
                f"{PROVIDER_LABEL}={clone.provider}")
        self.kc("annotate", "namespace", ns, f"{CREATED_ANNOTATION}={datetime.now(UTC).isoformat()}")
        if clone.provider == "helm":
            self.echo(f"installing chart {HELM_CHART} from {HELM_REPO} into namespace {ns}")
            self.run([self.helm, "upgrade", "--install", HELM_RELEASE, HELM_CHART, "--repo", HELM_REPO,
                      "--namespace", ns, "--values", str(clone_dir / "helm" / "values.yaml"),
                      "--wait", "--timeout", f"{int(self.timeout_s)}s"])
        else:
            self.echo("applying the Jenkins custom resource (the operator must be installed in the cluster)")
            self.kc("apply", "--namespace", ns, "-f", str(clone_dir / "operator" / "jcasc-configmap.yaml"))
            self.kc("apply", "--namespace", ns, "-f", str(clone_dir / "operator" / "jenkins.yaml"))

    def credentials(self, clone: Clone) -> Credentials:
        """The admin user and password the installer generated (read from its secret, never shown)."""
        if clone.provider == "helm":
            secret, user_key, token_key = HELM_RELEASE, "jenkins-admin-user", "jenkins-admin-password"
        else:
            secret, user_key, token_key = f"jenkins-operator-credentials-{clone.name}", "user", "token"
        deadline = time.monotonic() + self.timeout_s
        while True:
            result = self.kc("get", "secret", secret, "--namespace", clone.namespace, "-o", "json", check=False)
            if result.returncode == 0:
                data = json.loads(result.stdout).get("data", {})
                if user_key in data and token_key in data:
                    return Credentials(base64.b64decode(data[user_key]).decode(),
                                       base64.b64decode(data[token_key]).decode())
            if time.monotonic() > deadline:
                raise DeployError(f"secret {secret} in namespace {clone.namespace} did not appear; "
                                  f"check `kubectl -n {clone.namespace} get pods`")
            self.echo(f"waiting for the admin secret {secret} (the installer creates it)")
            time.sleep(self.retry_s)

    def port_forward(self, clone: Clone, local_port: int | None = None, wait_s: float | None = None) -> str:
        """Start `kubectl port-forward` to the controller service; returns the local URL.

        Retried until *wait_s* (default the command timeout): the operator creates the service and
        the pod some time after the CR is applied, and port-forward exits at once until they exist.
        """
        port = local_port or free_port()
        self._forward = (clone, port)
        deadline = time.monotonic() + (self.timeout_s if wait_s is None else wait_s)
        while True:
            proc = subprocess.Popen([self.kubectl, "port-forward", "--namespace", clone.namespace,
                                     f"svc/{clone.service}", f"{port}:{CONTROLLER_PORT}"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            if _wait_listening(proc, port):
                self.port_forwards.append(proc)
                return f"http://127.0.0.1:{port}/"
            error = (proc.stderr.read() if proc.stderr else "").strip()
            if time.monotonic() > deadline:
                raise DeployError(f"kubectl port-forward to svc/{clone.service} exited: {error}")
            self.echo(f"waiting for svc/{clone.service}: {error.splitlines()[-1] if error else 'port-forward exited'}")
            time.sleep(self.retry_s)

    def revive_port_forward(self) -> None:
        """Restart the port-forward on the same local port if it exited: `kubectl port-forward` is bound
        to one pod and ends when that pod restarts (e.g. Jenkins restarting after a plugin update)."""
        if self._forward is None or not self.port_forwards or self.port_forwards[-1].poll() is None:
            return
        clone, port = self._forward
        self.echo(f"port-forward to svc/{clone.service} ended; starting it again")
        self.port_forwards.pop()
        try:
            self.port_forward(clone, port, wait_s=0)
        except DeployError as err:
            self.echo(str(err))  # the driver's retries report the connection errors that follow

    def stop_port_forwards(self) -> None:
        for proc in self.port_forwards:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
        self.port_forwards.clear()

    def teardown(self, clone: Clone) -> None:
        """Uninstall and delete the namespace; tolerant of parts already gone (safe to call twice)."""
        self.echo(f"tearing down clone {clone.name}")
        if clone.provider == "helm":
            self.require_helm()
            self.run([self.helm, "uninstall", HELM_RELEASE, "--namespace", clone.namespace, "--wait"], check=False)
        else:
            self.kc("delete", "jenkins", clone.name, "--namespace", clone.namespace, "--ignore-not-found", check=False)
        self.kc("delete", "namespace", clone.namespace, "--ignore-not-found", "--wait=false")

    def find(self, name: str) -> Clone:
        result = self.kc("get", "namespace", name, "-o", "json", check=False)
        if result.returncode != 0:
            raise DeployError(f"no clone named {name} in context {self.current_context()}: "
                              "`pipelinegen clone list` shows the clones there")
        return _clone_from_namespace(json.loads(result.stdout), name)

    def list_clones(self) -> list[Clone]:
        data = json.loads(self.kc("get", "namespaces", "-l", f"{CLONE_LABEL}=true", "-o", "json").stdout)
        return [_clone_from_namespace(item, item["metadata"]["name"]) for item in data.get("items", [])]


def _wait_listening(proc: subprocess.Popen, port: int, wait_s: float = 15.0) -> bool:
    """True once the port-forward accepts connections; False when it exited first."""
    deadline = time.monotonic() + wait_s
    while proc.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            if time.monotonic() > deadline:
                return proc.poll() is None  # still running: let the driver's retries deal with it
            time.sleep(0.1)
    return False


def _clone_from_namespace(item: dict, name: str) -> Clone:
    meta = item.get("metadata", {})
    labels = meta.get("labels", {}) or {}
    if labels.get(CLONE_LABEL) != "true":
        raise DeployError(f"namespace {name} is not a pipelinegen clone (no {CLONE_LABEL}=true label); "
                          "refusing to touch it")
    return Clone(name=name, provider=labels.get(PROVIDER_LABEL, "helm"), project=labels.get(PROJECT_LABEL, ""),
                 created=(meta.get("annotations") or {}).get(CREATED_ANNOTATION, ""))
