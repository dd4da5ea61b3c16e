"""An archived Jenkins job for the test double: thousands of finished builds, generated on request.

Serves what `pipelinegen history import` reads, in the shapes the Jenkins documentation gives:
- `job/NAME/api/json?tree=allBuilds[...]` (the job's builds, newest first),
- `job/NAME/N/api/json` (parameters, git plugin BuildData, builtOn, timestamp, duration, artifacts),
- `job/NAME/N/testReport/api/json` (junit's TestResult: suites with enclosingBlockNames and cases),
- `job/NAME/N/wfapi/describe` (pipeline-rest-api stages with execNode),
- `job/NAME/N/artifact/PATH` (archived JUnit in Cassandra's test/output/STEP/jdk_JDK/ARCH layout).
Builds are deterministic functions of their number, so a 2,000-build job costs no memory until asked.
Test-only; the `tree=` filter is accepted and ignored (the documents are already the filtered shape).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote

STAGE_NODE = "cassandra-amd64-medium-{}"


@dataclass
class ArchivedJob:
    name: str
    builds: int  # numbers 1..builds
    cells: list[str]  # stage names (Cassandra cell names) whose parallel branches ran tests
    tests_per_cell: int
    flaky: dict[str, float] = field(default_factory=dict)  # "Class.test" -> failure probability
    # build numbers whose report is missing: they archive JUnit in Cassandra's layout instead
    archived_only: set[int] = field(default_factory=set)
    running: set[int] = field(default_factory=set)
    commit_every: int = 3  # a new commit every N builds

    def commit(self, number: int) -> str:
        return f"{(number - 1) // self.commit_every + 1:040x}"

    def _failed(self, number: int, test_id: str) -> bool:
        p = self.flaky.get(test_id, 0.0)
        return p > 0 and random.Random(f"{number}:{test_id}").random() < p

    def _cases(self, number: int, cell_index: int) -> list[dict]:
        cases = []
        for t in range(self.tests_per_cell):
            cls = f"org.apache.cassandra.c{cell_index}.Test{t // 20}"
            name = f"test{t % 20}"
            failed = self._failed(number, f"{cls}.{name}")
            cases.append({"className": cls, "name": name, "duration": 0.5 + (t % 7) * 0.25,
                          "status": "FAILED" if failed else "PASSED", "skipped": False,
                          "errorDetails": "expected:<1> but was:<2>" if failed else None,
                          "errorStackTrace": "java.lang.AssertionError: expected:<1> but was:<2>\\n\\tat x" if failed
                          else None})
        return cases

    def build_json(self, number: int, base: str) -> dict:
        artifacts = []
        if number in self.archived_only:
            artifacts = [{"relativePath": f"test/output/{cell.split(' ')[0]}/jdk_{cell.split('jdk')[1].split(' ')[0]}"
                                          f"/amd64/TEST-{i}.xml"} for i, cell in enumerate(self.cells)]
        return {"_class": "org.jenkinsci.plugins.workflow.job.WorkflowRun", "number": number,
                "building": number in self.running, "result": None if number in self.running else "UNSTABLE",
                "timestamp": 1_700_000_000_000 + number * 3_600_000, "duration": 5_400_000, "builtOn": "",
                "url": f"{base}job/{self.name}/{number}/",
                "actions": [{"_class": "hudson.model.ParametersAction", "parameters": [
                                {"name": "profile", "value": "pre-commit"}, {"name": "branch", "value": "trunk"},
                                {"name": "repository", "value": "https://github.com/apache/cassandra.git"}]},
                            {"_class": "hudson.plugins.git.util.BuildData",
                             "lastBuiltRevision": {"SHA1": self.commit(number), "branch": [{"name": "origin/trunk"}]},
                             "remoteUrls": ["https://github.com/apache/cassandra.git"]}],
                "artifacts": artifacts}

    def test_report(self, number: int) -> dict | None:
        if number in self.archived_only:
            return None
        return {"_class": "hudson.tasks.junit.TestResult", "suites": [
            {"name": f"suite-{i}", "enclosingBlockNames": [cell, "tests"], "cases": self._cases(number, i)}
            for i, cell in enumerate(self.cells)]}

    def describe(self, number: int) -> dict:
        return {"id": str(number), "stages": [{"name": cell, "status": "SUCCESS", "execNode": STAGE_NODE.format(i % 5)}
                                              for i, cell in enumerate(self.cells)]}

    def junit_xml(self, number: int, cell_index: int) -> bytes:
        rows = []
        for case in self._cases(number, cell_index):
            inner = (f'<failure message="{case["errorDetails"]}">trace</failure>' if case["status"] == "FAILED" else "")
            rows.append(f'<testcase classname="{case["className"]}" name="{case["name"]}" '
                        f'time="{case["duration"]}">{inner}</testcase>')
        return ("<testsuite name=\"s\">" + "".join(rows) + "</testsuite>").encode()

    def route(self, base: Callable[[], str]) -> Callable[[str, str, dict], tuple | None]:
        prefix = f"job/{self.name}/"

        def answer(method: str, path: str, query: dict) -> tuple | None:
            if method != "GET" or not path.startswith(prefix):
                return None
            rest = path[len(prefix):]
            if rest == "api/json":
                return 200, json.dumps({"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": self.name,
                                        "allBuilds": [{"number": n, "building": n in self.running}
                                                      for n in range(self.builds, 0, -1)]}), "application/json"
            number_text, _, sub = rest.partition("/")
            if not number_text.isdigit() or not 1 <= int(number_text) <= self.builds:
                return 404, "Not Found", "text/plain"
            number = int(number_text)
            if sub == "api/json":
                return 200, json.dumps(self.build_json(number, base())), "application/json"
            if sub == "testReport/api/json":
                report = self.test_report(number)
                return (404, "Not Found", "text/plain") if report is None else \
                    (200, json.dumps(report), "application/json")
            if sub == "wfapi/describe":
                return 200, json.dumps(self.describe(number)), "application/json"
            if sub.startswith("artifact/") and number in self.archived_only:
                rel = unquote(sub[len("artifact/"):])
                index = int(rel.rsplit("TEST-", 1)[1].removesuffix(".xml"))
                return 200, self.junit_xml(number, index), "application/octet-stream"
            return 404, "Not Found", "text/plain"

        return answer


def serve_archived_job(jd, job: ArchivedJob) -> ArchivedJob:
    jd.extra_routes.append(job.route(lambda: jd.url))
    return job
