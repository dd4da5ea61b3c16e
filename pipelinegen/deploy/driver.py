"""Talks to one Jenkins controller through python-jenkins, surviving restarts and flaky networks.

Every call goes through `JenkinsDriver._call`, which retries with exponential backoff on what a
restarting or overloaded controller produces (connection refused/reset, timeouts, 502/503/504,
500, a crumb that went stale) and turns 401/403 into an `AuthError` that says how to fix it.
Results already fetched are written to disk as they arrive, so an interrupted run keeps them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import jenkins
import requests

from pipelinegen.deploy.credentials import TOKEN_ENV, USER_ENV, Credentials
from pipelinegen.deploy.errors import AuthError, DeployError
from pipelinegen.fsutil import atomic_write_bytes, atomic_write_text

LINT_ENDPOINT = "pipeline-model-converter/validate"
LINT_OK = "Jenkinsfile successfully validated."
TRANSIENT_HTTP = {500, 502, 503, 504}

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 15.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay_s, self.base_delay_s * (2**attempt))


def classify(err: BaseException, known_to_exist: bool = False) -> str:
    """One of: transient, crumb, auth, forbidden, fatal.

    python-jenkins wraps HTTP errors inconsistently (401/403/500 become JenkinsException with the
    code in the text; some getters turn any HTTP error into "does not exist"), so this reads both.
    `known_to_exist`: the item was seen before, so "does not exist" can only be a server hiccup.
    """
    if isinstance(err, (requests.ConnectionError, requests.Timeout, jenkins.TimeoutException,
                        jenkins.BadHTTPException, jenkins.EmptyResponseException)):
        return "transient"
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return "transient" if err.response.status_code in TRANSIENT_HTTP else "fatal"
    if isinstance(err, jenkins.NotFoundException):
        return "transient" if known_to_exist else "fatal"
    if isinstance(err, jenkins.JenkinsException):
        text = str(err)
        if "[401]" in text:
            return "auth"
        if "[403]" in text:
            return "crumb" if "crumb" in text.lower() else "forbidden"
        if "[500]" in text:
            return "transient"
        if known_to_exist and "does not exist" in text:
            return "transient"
    return "fatal"


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else type(err).__name__


def job_url_path(name: str) -> str:
    """'folder/job' -> 'job/folder/job/job/' (the Jenkins URL layout for folders)."""
    return "".join(f"job/{quote(part, safe='')}/" for part in name.split("/"))


def safe_relative(path: str) -> PurePosixPath:
    """An artifact path from the server, refused if it could escape the download directory."""
    rel = PurePosixPath(path)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise DeployError(f"refusing artifact path {path!r} from the server: it leaves the results directory")
    return rel


@dataclass(frozen=True)
class BuildRef:
    job: str
    number: int
    url: str


class JenkinsDriver:
    def __init__(self, url: str, creds: Credentials, *, timeout_s: float = 30.0,
                 retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 progress: Progress | None = None, reconnect: Callable[[], None] | None = None):
        self.url = url if url.endswith("/") else url + "/"
        self.server = jenkins.Jenkins(self.url, username=creds.user, password=creds.token, timeout=timeout_s)
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.progress = progress or (lambda _msg: None)
        # Called before each retry of a failed connection: e.g. restarts a `kubectl port-forward` that
        # died with the controller pod it was bound to.
        self.reconnect = reconnect or (lambda: None)

    # ---- the one retry loop --------------------------------------------------------------------
    def _call(self, what: str, fn: Callable, *args, known_to_exist: bool = False,
              permissions: str = "Overall/Read, Job/Create, Job/Configure and Job/Build", **kwargs):
        last: BaseException | None = None
        for attempt in range(self.retry.attempts):
            try:
                return fn(*args, **kwargs)
            except Exception as err:  # classified below; anything unknown is re-raised as fatal
                kind = classify(err, known_to_exist)
                if kind == "auth":
                    raise AuthError(f"Jenkins at {self.url} refused the credentials (HTTP 401) while trying to "
                                    f"{what}: set {USER_ENV} and {TOKEN_ENV}, or pass --user and --token-file") from None
                if kind == "forbidden":
                    raise AuthError(f"Jenkins at {self.url} forbids this user to {what} (HTTP 403): give the user "
                                    f"{permissions}, or check the token") from None
                if kind == "fatal":
                    raise DeployError(f"cannot {what} on {self.url}: {_first_line(err)}") from None
                if kind == "crumb":
                    self.server.crumb = None  # a restarted controller issues new crumbs; fetch one again
                last = err
                delay = self.retry.delay(attempt)
                if attempt + 1 < self.retry.attempts:  # after the last attempt there is no retry to announce
                    self.progress(f"{what}: {_first_line(err)}; retry {attempt + 1}/{self.retry.attempts - 1} "
                                  f"in {delay:.1f}s")
                    self.sleep(delay)
                    self.reconnect()
        raise DeployError(f"cannot {what} on {self.url}: no answer after {self.retry.attempts} attempts "
                          f"({_first_line(last) if last else 'no error'})")

    def _raw(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.server.jenkins_request(requests.Request(method, self.url + path, **kwargs))

    # ---- operations ----------------------------------------------------------------------------
    def wait_ready(self, timeout_s: float = 600.0, poll_s: float = 1.0,
                   clock: Callable[[], float] = time.monotonic,
                   hint: str = "check the pod and the port-forward") -> str:
        """Poll until the controller answers an authenticated request; returns its version."""
        start = clock()
        while True:
            try:
                self.server.get_whoami()
                return self.server.get_version()
            except Exception as err:
                kind = classify(err)
                if kind in ("auth", "forbidden"):
                    self._call("authenticate", self.server.get_whoami)  # raises the AuthError with its hint
                if kind == "fatal" and not isinstance(err, jenkins.JenkinsException):
                    raise DeployError(f"Jenkins at {self.url} answered unexpectedly: {_first_line(err)}") from None
                waited = clock() - start
                if waited >= timeout_s:
                    raise DeployError(f"Jenkins at {self.url} did not become ready within {timeout_s:.0f}s "
                                      f"(last: {_first_line(err)}); {hint}") from None
                self.progress(f"waiting for Jenkins at {self.url} ({waited:.0f}s/{timeout_s:.0f}s): "
                              f"{_first_line(err)}")
                self.sleep(poll_s)
                self.reconnect()

    def upsert_job(self, name: str, config_xml: str) -> str:
        """Create the job, or reconfigure it when it exists; returns 'created' or 'updated'."""

        def upsert() -> str:
            # Checked inside the retried function: after a restart mid-create the job may exist.
            if self.server.job_exists(name):
                self.server.reconfig_job(name, config_xml)
                return "updated"
            self.server.create_job(name, config_xml)
            return "created"

        return self._call(f"create or reconfigure job {name}", upsert)

    def validate_jenkinsfile(self, text: str) -> list[str]:
        """The server's declarative linter verdict: [] when valid, else its error lines."""
        try:
            response = self._call("validate the Jenkinsfile", self._raw, "POST", LINT_ENDPOINT,
                                  data={"jenkinsfile": text})
        except DeployError as err:
            if "could not be found" in str(err):
                raise DeployError(f"{self.url} has no declarative linter ({LINT_ENDPOINT}): install the "
                                  "pipeline-model-definition plugin (workflow-aggregator)") from None
            raise
        body = response.text.strip()
        if body.startswith(LINT_OK):
            return []
        lines = [line for line in body.splitlines()[1:] if line.strip()]
        return lines or [body]

    def run_script(self, script: str) -> str:
        """Run Groovy in the controller's script console (POST /scriptText) and return what it printed."""
        return self._call("run a script in the script console", self.server.run_script, script,
                          permissions="Overall/Administer (the script console needs it)")

    def trigger(self, name: str, parameters: dict[str, str]) -> int:
        """Queue a build with parameters; returns the queue item id (from the Location header)."""
        return self._call(f"trigger job {name}", self.server.build_job, name, parameters or None)

    def wait_for_build(self, name: str, queue_id: int, timeout_s: float = 3600.0, poll_s: float = 2.0,
                       clock: Callable[[], float] = time.monotonic) -> BuildRef:
        """Follow the queue item until it has an executable (the build)."""
        start = clock()
        while True:
            item = self._call(f"read queue item {queue_id}", self.server.get_queue_item, queue_id,
                              known_to_exist=True)
            if item.get("cancelled"):
                raise DeployError(f"queue item {queue_id} of job {name} was cancelled on {self.url}")
            executable = item.get("executable")
            if executable:
                return BuildRef(name, int(executable["number"]), executable.get("url", ""))
            if clock() - start >= timeout_s:
                raise DeployError(f"job {name} stayed in the queue for {timeout_s:.0f}s: {item.get('why')}")
            self.progress(f"queued: {item.get('why') or 'waiting'}")
            self.sleep(poll_s)

    def stream_console(self, build: BuildRef, sink: Path, poll_s: float = 2.0,
                       on_text: Callable[[str], None] | None = None) -> None:
        """Append the console to *sink* as it grows (progressiveText), until the server has no more.

        The file is appended to, not atomically replaced: a run killed half-way keeps every line
        already received, and the offset (X-Text-Size) makes retries never duplicate text.
        """
        path = f"{job_url_path(build.job)}{build.number}/logText/progressiveText"
        offset = 0
        sink.parent.mkdir(parents=True, exist_ok=True)
        with open(sink, "ab") as handle:
            while True:
                response = self._call(f"read the console of {build.job} #{build.number}", self._raw, "GET",
                                      path, params={"start": offset}, known_to_exist=True)
                chunk = response.content
                if chunk:
                    handle.write(chunk)
                    handle.flush()
                    if on_text is not None:
                        on_text(chunk.decode("utf-8", "replace"))
                offset = int(response.headers.get("X-Text-Size", offset + len(chunk)))
                if response.headers.get("X-More-Data", "").lower() != "true":
                    return
                self.sleep(poll_s)

    def wait_result(self, build: BuildRef, timeout_s: float = 86400.0, poll_s: float = 2.0,
                    clock: Callable[[], float] = time.monotonic) -> dict:
        """Poll the build JSON until `building` is false; returns it (with `result`)."""
        start = clock()
        while True:
            info = self._call(f"read build {build.job} #{build.number}", self.server.get_build_info,
                              build.job, build.number, known_to_exist=True)
            if not info.get("building"):
                return info
            if clock() - start >= timeout_s:
                raise DeployError(f"build {build.job} #{build.number} still running after {timeout_s:.0f}s")
            self.progress(f"{build.job} #{build.number} running ({clock() - start:.0f}s)")
            self.sleep(poll_s)

    def get_json(self, what: str, path: str, params: dict[str, str] | None = None, *,
                 absent_ok: bool = False, max_bytes: int = 512 << 20):
        """GET a Remote Access API document (with `tree=` in *params* to bound it); None for a 404 when
        *absent_ok* (e.g. a build without a test report), else the one retry policy of every call."""

        def fetch():
            try:
                response = self._raw("GET", path, params=params or {})
            except jenkins.NotFoundException:
                if absent_ok:
                    return None
                raise
            if len(response.content) > max_bytes:
                raise DeployError(f"{self.url}{path} answered {len(response.content) >> 20} MiB, more than "
                                  f"the {max_bytes >> 20} MiB read from one document")
            return response.json()

        return self._call(what, fetch)

    def test_report(self, build: BuildRef) -> dict | None:
        """junit's testReport JSON, or None when the build published none (Jenkins answers 404)."""
        return self._call(f"read the test report of {build.job} #{build.number}",
                          self.server.get_build_test_report, build.job, build.number, known_to_exist=True)

    def download_artifact(self, build: BuildRef, relative_path: str) -> bytes:
        safe_relative(relative_path)
        return self._call(f"download {relative_path}", self.server.get_build_artifact_as_bytes,
                          build.job, build.number, relative_path, known_to_exist=True)

    def stop(self, build: BuildRef) -> None:
        self._call(f"abort {build.job} #{build.number}", self.server.stop_build, build.job, build.number)


def write_json(path: Path, data) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write_bytes(path, data)
