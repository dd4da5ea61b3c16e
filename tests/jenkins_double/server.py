"""Test double of the Jenkins REST API — for tests only, never shipped, never a real Jenkins.

A small HTTP server on 127.0.0.1 answering the endpoints pipelinegen's driver uses, shaped as
Jenkins documents them (Remote Access API, crumbIssuer, progressive console, junit's testReport,
pipeline-model-definition's linter). Builds advance one step per poll instead of by wall-clock so
tests are deterministic and fast. Failure modes are injected explicitly:

* ``fail_next(method, path_fragment, status, times)`` answers ``status`` (401/403/404/500/503...)
* ``restart_after(requests, down_s)`` closes the listening socket (connection refused), then comes
  back on the same port answering 503 "getting ready" a few times, with a new crumb — like a
  controller restart. Jobs and builds survive (Jenkins persists them to disk).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from lxml import etree

VERSION = "2.462.3"
CRUMB_FIELD = "Jenkins-Crumb"


@dataclass
class BuildScript:
    """What every build of a job does: console chunks (one per poll), then a result and reports."""

    console_chunks: list[str] = field(default_factory=lambda: ["Started\n", "Running\n", "Finished: SUCCESS\n"])
    result: str = "SUCCESS"
    test_report: dict | None = None  # junit's testReport JSON; None = 404 (no test report)
    artifacts: dict[str, bytes] = field(default_factory=dict)  # relativePath -> content
    queue_polls: int = 1  # polls of the queue item before it gets an executable
    actions: list[dict] = field(default_factory=list)  # extra build actions, e.g. the git plugin's BuildData


@dataclass
class _Build:
    job: str
    number: int
    parameters: dict[str, str]
    script: BuildScript
    emitted: int = 0  # console chunks written so far
    aborted: bool = False
    text: bytearray = field(default_factory=bytearray)  # the console so far (appended, never rebuilt)
    running: bool = False  # an executing build (JenkinsDouble.builder) still running in its thread

    @property
    def building(self) -> bool:
        return self.running or (not self.aborted and self.emitted < len(self.script.console_chunks))

    def advance(self) -> None:
        if self.building and self.emitted < len(self.script.console_chunks):
            self.text += self.script.console_chunks[self.emitted].encode()
            self.emitted += 1

    def console(self) -> bytes:
        return bytes(self.text) + (b"Aborted by user\nFinished: ABORTED\n" if self.aborted else b"")


@dataclass
class _QueueItem:
    id: int
    job: str
    parameters: dict[str, str]
    polls: int = 0
    build: _Build | None = None


class JenkinsDouble:
    """Start with ``with JenkinsDouble() as jd:``; ``jd.url`` is the base URL."""

    def __init__(self, users: dict[str, str] | None = None, require_crumb: bool = True,
                 script: BuildScript | None = None):
        self.users = users if users is not None else {"alice": "s3cret-token"}
        self.require_crumb = require_crumb
        self.script = script or BuildScript()
        self.jobs: dict[str, str] = {}  # name -> config.xml
        self.builds: dict[tuple[str, int], _Build] = {}
        self.queue: dict[int, _QueueItem] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) log, for assertions
        self.lint_requests: list[str] = []
        # Extra read-only endpoints: (method, path, query) -> (status, body, content type) or None.
        self.extra_routes: list = []
        # The script console (POST /scriptText): a test gives the callable that "runs" a script; only these
        # users hold Overall/Administer.
        self.script_console: Callable[[str], str] | None = None
        self.admins: set[str] = set()
        self.script_requests: list[str] = []
        # Executing builds: given, each triggered build is (job, config.xml, parameters, number) -> BuildScript,
        # run in a thread (tests/jenkins_double/executing.py runs the job's Jenkinsfile through the harness).
        self.builder: Callable[[str, str, dict[str, str], int], BuildScript] | None = None
        self.crumb = secrets.token_hex(8)
        self._faults: list[list] = []  # [method, fragment, status, remaining]
        self._restart_at: int | None = None
        self._restart_down_s = 0.0
        self._getting_ready = 0
        self.restarts = 0
        self._lock = threading.RLock()
        self._next_queue = 100
        self._httpd: ThreadingHTTPServer | None = None
        self.port = 0

    # ---- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> JenkinsDouble:
        self._bind()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> JenkinsDouble:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _bind(self) -> None:
        double = self

        class Handler(_Handler):
            jd = double

        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, daemon=True).start()

    def _restart(self) -> None:
        old = self._httpd
        self._httpd = None
        if old is not None:
            old.shutdown()
            old.server_close()
        time.sleep(self._restart_down_s)
        with self._lock:
            self.crumb = secrets.token_hex(8)  # a restarted controller issues new crumbs
            self._getting_ready = 2
            self.restarts += 1
        self._bind()

    # ---- fault injection ---------------------------------------------------------------------
    def fail_next(self, method: str, fragment: str, status: int, times: int = 1) -> None:
        self._faults.append([method, fragment, status, times])

    def restart_after(self, requests: int, down_s: float = 0.3) -> None:
        self._restart_at = len(self.requests) + requests
        self._restart_down_s = down_s

    # ---- state helpers -----------------------------------------------------------------------
    def take_fault(self, method: str, path: str) -> int | None:
        with self._lock:
            for fault in self._faults:
                if fault[0] == method and fault[1] in path and fault[3] > 0:
                    fault[3] -= 1
                    return fault[2]
        return None

    def note_request(self, method: str, path: str) -> bool:
        """Log the request; True when this request triggers the scheduled restart."""
        with self._lock:
            self.requests.append((method, path))
            if self._restart_at is not None and len(self.requests) >= self._restart_at:
                self._restart_at = None
                return True
        return False


_JOB = r"((?:job/[^/]+/)*job/[^/]+)"


def _job_name(path_part: str) -> str:
    return "/".join(unquote(p) for p in path_part.split("/")[1::2])


class _Handler(BaseHTTPRequestHandler):
    jd: JenkinsDouble
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid the 40 ms delayed-ACK stall

    def log_message(self, *args) -> None:  # keep test output quiet
        pass

    # ---- plumbing ----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes | str = b"", ctype: str = "text/plain;charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Jenkins", VERSION)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data), "application/json;charset=utf-8", headers)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _auth_status(self) -> int | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return 403 if self.jd.users else None  # anonymous has no Overall/Read
        user, _, token = base64.b64decode(header[6:]).decode().partition(":")
        return None if self.jd.users.get(user) == token else 401

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        jd = self.jd
        split = urlsplit(self.path)
        path, query = split.path.lstrip("/"), parse_qs(split.query)
        body = self._body() if method == "POST" else b""
        if jd.note_request(method, path):
            threading.Thread(target=jd._restart, daemon=True).start()
            self.close_connection = True
            return  # the connection drops mid-request, as it does when the JVM stops
        if jd._getting_ready > 0:
            with jd._lock:
                jd._getting_ready -= 1
            return self._send(503, "<html>Please wait while Jenkins is getting ready to work</html>",
                              "text/html")
        status = self._auth_status()
        if status == 401:
            return self._send(401, "Invalid password/token for user")
        if status == 403:
            return self._send(403, "Authentication required")
        fault = jd.take_fault(method, path)
        if fault is not None:
            return self._send(fault, f"injected HTTP {fault}")
        if method == "POST" and jd.require_crumb and self.headers.get(CRUMB_FIELD) != jd.crumb:
            return self._send(403, "No valid crumb was included in the request")
        try:
            self._route(method, path, query, body)
        except KeyError:
            self._send(404, "Not Found")

    # ---- routes ------------------------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: bytes) -> None:  # noqa: C901
        jd = self.jd
        for route in jd.extra_routes:  # e.g. an archived job's build history (jenkins_double.history)
            answer = route(method, path, query)
            if answer is not None:
                return self._send(*answer)
        if path in ("", "api/json") and method == "GET":
            return self._json({"_class": "hudson.model.Hudson", "mode": "NORMAL", "quietingDown": False,
                               "jobs": [{"name": n, "url": f"{jd.url}job/{n}/"} for n in jd.jobs]})
        if path == "me/api/json":
            user = base64.b64decode(self.headers.get("Authorization", "Basic Og==")[6:]).decode().partition(":")[0]
            return self._json({"_class": "hudson.model.User", "id": user or "anonymous", "fullName": user})
        if path == "crumbIssuer/api/json":
            return self._json({"_class": "hudson.security.csrf.DefaultCrumbIssuer",
                               "crumb": jd.crumb, "crumbRequestField": CRUMB_FIELD})
        if path == "createItem" and method == "POST":
            name = query["name"][0]
            if name in jd.jobs:
                return self._send(400, f"A job already exists with the name ‘{name}’")
            if not _well_formed(body):
                return self._send(500, "java.io.IOException: Unable to read config.xml")
            jd.jobs[name] = body.decode()
            return self._send(200)
        if path == "scriptText" and method == "POST":
            # Jenkins: the script console needs Overall/Administer; it answers the script's printed output.
            user = base64.b64decode(self.headers.get("Authorization", "Basic Og==")[6:]).decode().partition(":")[0]
            if jd.script_console is None or user not in jd.admins:
                return self._send(403, f"{user or 'anonymous'} is missing the Overall/Administer permission")
            script = parse_qs(body.decode())["script"][0]
            jd.script_requests.append(script)
            return self._send(200, jd.script_console(script), "text/plain;charset=utf-8")
        if path == "pipeline-model-converter/validate" and method == "POST":
            text = parse_qs(body.decode())["jenkinsfile"][0]
            jd.lint_requests.append(text)
            errors = _lint(text)
            if not errors:
                return self._send(200, "Jenkinsfile successfully validated.\n")
            return self._send(200, "Errors encountered validating Jenkinsfile:\n" + "\n".join(errors) + "\n")
        match = re.fullmatch(r"queue/item/(\d+)/api/json", path)
        if match:
            return self._queue_item(int(match.group(1)))
        match = re.fullmatch(_JOB + r"/(.*)", path)
        if not match:
            raise KeyError(path)
        name, rest = _job_name(match.group(1)), match.group(2)
        if name not in jd.jobs:
            raise KeyError(name)
        if rest == "api/json":
            numbers = sorted((n for (j, n) in jd.builds if j == name), reverse=True)
            return self._json({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": name.split("/")[-1],
                               "nextBuildNumber": (numbers[0] + 1) if numbers else 1,
                               "builds": [{"number": n} for n in numbers]})
        if rest == "config.xml":
            if method == "GET":
                return self._send(200, jd.jobs[name], "application/xml")
            if not _well_formed(body):
                return self._send(500, "java.io.IOException: Unable to read config.xml")
            jd.jobs[name] = body.decode()
            return self._send(200)
        if rest in ("build", "buildWithParameters") and method == "POST":
            params = {k: v[-1] for k, v in query.items()}
            params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
            with jd._lock:
                qid = jd._next_queue
                jd._next_queue += 1
                jd.queue[qid] = _QueueItem(qid, name, params)
            return self._send(201, headers={"Location": f"{jd.url}queue/item/{qid}/"})
        match = re.fullmatch(r"(\d+)/(.*)", rest)
        if not match:
            raise KeyError(rest)
        build = jd.builds[(name, int(match.group(1)))]
        return self._build_route(method, build, match.group(2), query)

    def _queue_item(self, qid: int) -> None:
        jd = self.jd
        with jd._lock:
            item = jd.queue[qid]
            item.polls += 1
            if item.build is None and item.polls > jd.script.queue_polls:
                number = 1 + max((n for (j, n) in jd.builds if j == item.job), default=0)
                item.build = _Build(item.job, number, item.parameters, jd.script)
                jd.builds[(item.job, number)] = item.build
                if jd.builder is not None:
                    item.build.running = True
                    item.build.script = BuildScript(console_chunks=[], result="")
                    threading.Thread(target=_execute, args=(jd, item.build), daemon=True).start()
        data = {"_class": "hudson.model.Queue$WaitingItem", "id": qid, "blocked": False, "buildable": True,
                "task": {"name": item.job}, "why": "Waiting for next available executor"}
        if item.build is not None:
            data.update({"_class": "hudson.model.Queue$LeftItem", "why": None, "executable": {
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": item.build.number,
                "url": f"{jd.url}job/{item.job}/{item.build.number}/"}})
        self._json(data)

    def _build_route(self, method: str, build: _Build, rest: str, query: dict) -> None:
        jd = self.jd
        if rest == "api/json":
            self._advance(build)
            done = not build.building
            return self._json({
                "_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": build.number,
                "building": not done, "result": ("ABORTED" if build.aborted else build.script.result) if done else None,
                "url": f"{jd.url}job/{build.job}/{build.number}/",
                "timestamp": 1764000000000, "duration": 61000 if done else 0,
                "actions": [{"_class": "hudson.model.ParametersAction", "parameters": [
                    {"name": k, "value": v} for k, v in sorted(build.parameters.items())]}, *build.script.actions],
                "artifacts": [{"fileName": p.rsplit("/", 1)[-1], "relativePath": p, "displayPath": p}
                              for p in build.script.artifacts] if done else []})
        if rest == "logText/progressiveText":
            start = int(query.get("start", ["0"])[0])
            self._advance(build)
            data = build.console()
            headers = {"X-Text-Size": str(len(data))}
            if build.building:
                headers["X-More-Data"] = "true"
            return self._send(200, data[start:], headers=headers)
        if rest == "consoleText":
            return self._send(200, build.console())
        if rest == "testReport/api/json":
            if build.building or build.script.test_report is None:
                raise KeyError(rest)
            return self._json(build.script.test_report)
        if rest.startswith("artifact/"):
            rel = unquote(rest[len("artifact/"):])
            if build.building:
                raise KeyError(rel)
            return self._send(200, build.script.artifacts[rel], "application/octet-stream")
        if rest == "stop" and method == "POST":
            build.aborted = True
            return self._send(200)
        raise KeyError(rest)

    def _advance(self, build: _Build) -> None:
        with self.jd._lock:
            build.advance()


def _execute(jd: JenkinsDouble, build: _Build) -> None:
    try:
        script = jd.builder(build.job, jd.jobs[build.job], dict(build.parameters), build.number)
    except Exception as err:  # noqa: BLE001 - a broken double must show as a failed build, not hang the test
        script = BuildScript(console_chunks=[f"the Jenkins double could not run the build: {err}\n",
                                             "Finished: FAILURE\n"], result="FAILURE")
    with jd._lock:
        build.script = script
        build.running = False


def _well_formed(body: bytes) -> bool:
    try:
        etree.fromstring(body)
    except etree.XMLSyntaxError:
        return False
    return True


def _lint(text: str) -> list[str]:
    """A stand-in for the declarative linter's verdict: only the response *format* is Jenkins's."""
    errors = []
    if not re.search(r"^\s*pipeline\s*\{", text, re.M):
        errors.append('WorkflowScript: 1: Missing required section "pipeline" @ line 1, column 1.')
    if text.count("{") != text.count("}"):
        errors.append("WorkflowScript: 1: unexpected token: } @ line 1, column 1.")
    return errors
