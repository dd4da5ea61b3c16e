"""Import an existing Jenkins job's past builds into the run history (`pipelinegen history import`).

Each build becomes one history run (id `jenkins:<job URL><number>/`, so a second import skips it and an
interrupted one resumes), with:
- its parameters, result, start time, commit (the git plugin's BuildData) and node names (pipeline-rest-api
  `wfapi/describe` stages, else the build's `builtOn`);
- per-test results with durations from junit's testReport API; each suite is mapped to a plan cell by the
  stage/branch names Jenkins records around its `junit` step (`enclosingBlockNames`, e.g. `test jdk17 3/20`),
  which is Cassandra's cell naming;
- when a build has no test report: the JUnit files archived in Cassandra's layout
  (`test/output/STEP/jdk_JDK/ARCH/*.xml`, splits merged), kept as step-level history.

Memory is bounded by one build: builds are fetched, mapped and stored one at a time (testReport with a
`tree=` filter, archived files streamed through the JUnit parser).
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pipelinegen.analysis.history import CellRun, HistoryStore, RunInfo
from pipelinegen.deploy.driver import BuildRef, JenkinsDriver, job_url_path
from pipelinegen.plan.cell import Cell
from pipelinegen.plan.expand import cell_id_from_name
from pipelinegen.results.junit import iter_testcases
from pipelinegen.results.testcase import TestCaseResult

TREE_BUILDS = "allBuilds[number,building]"
TREE_BUILD = ("number,result,building,timestamp,duration,builtOn,url,"
              "actions[parameters[name,value],lastBuiltRevision[SHA1,branch[name]],remoteUrls],"
              "artifacts[relativePath]")
TREE_REPORT = ("suites[name,enclosingBlockNames,"
               "cases[className,name,status,duration,errorDetails,errorStackTrace,skipped]]")
MAX_DETAILS = 8000
# junit's CaseResult.Status -> ours (the REST API does not tell a failure from an error).
STATUS = {"PASSED": "passed", "FIXED": "passed", "FAILED": "failed", "REGRESSION": "failed", "SKIPPED": "skipped"}
# Cassandra's archive layout: test/output/STEP/jdk_JDK/ARCH/<file>.xml (splits merged by the summary stage).
ARCHIVE_LAYOUT = re.compile(r"^(?:.*/)?test/output/(?P<step>[A-Za-z0-9._-]+)/jdk_(?P<jdk>[0-9]+)/"
                            r"(?P<arch>[A-Za-z0-9_-]+)/[^/]+\.xml$")
# Cassandra's cell naming: STEP[ ARCH] jdkJDK[ pythonPY][ cython][ K/N]
CELL_NAME = re.compile(r"^(?P<step>[A-Za-z0-9._-]+)(?: (?P<arch>arm64|amd64|[a-z0-9_]+(?=\s+jdk)))? "
                       r"jdk(?P<jdk>[0-9]+)(?: python(?P<python>[0-9.]+))?(?P<cython> cython)?"
                       r"(?: (?P<split>[0-9]+)/(?P<splits>[0-9]+))?$")


@dataclass(frozen=True)
class CellKey:
    """Where a test ran, as precisely as the build tells: a plan cell, or a step with axes (splits merged)."""

    cell_id: str
    step: str
    axes: tuple[tuple[str, str], ...] = ()
    exact: bool = False  # True: a cell of the plan; False: step-level (no plan match, or splits merged)


@dataclass
class ImportReport:
    job: str
    builds_seen: int = 0
    imported: int = 0
    skipped_existing: int = 0
    skipped_running: int = 0
    testcases: int = 0
    cells_exact: int = 0
    cells_step_level: int = 0
    without_tests: list[int] = field(default_factory=list)


def parse_cell_name(name: str) -> CellKey | None:
    """`test jdk17 3/20` -> step test, jdk 17 (split 3 of 20): a stage name in Cassandra's naming."""
    match = CELL_NAME.match(name.strip())
    if not match:
        return None
    axes = [("jdk", match["jdk"])]
    if match["arch"]:
        axes.insert(0, ("arch", match["arch"]))
    if match["python"]:
        axes.append(("python", match["python"]))
    if match["cython"]:
        axes.append(("cython", "yes"))
    return CellKey(cell_id=cell_id_from_name(name.strip()), step=match["step"], axes=tuple(axes))


def map_blocks(block_names: Sequence[str], cells_by_name: Mapping[str, Cell]) -> CellKey | None:
    """The cell of a test suite from the stage/branch names around its `junit` step (innermost first)."""
    for name in block_names:
        cell = cells_by_name.get(name)
        if cell is not None:
            return CellKey(cell_id=cell.id, step=cell.step,
                           axes=tuple((k, v) for k, v in cell.axes), exact=True)
    for name in block_names:
        key = parse_cell_name(name)
        if key is not None:
            return key
    return None


def map_archive_path(relative_path: str) -> CellKey | None:
    """`test/output/test/jdk_17/amd64/TEST-x.xml` -> step-level key `test jdk17` (arch kept unless amd64)."""
    match = ARCHIVE_LAYOUT.match(relative_path)
    if not match:
        return None
    arch = match["arch"]
    name = f"{match['step']}{'' if arch == 'amd64' else ' ' + arch} jdk{match['jdk']}"
    return CellKey(cell_id=cell_id_from_name(name), step=match["step"],
                   axes=(("arch", arch), ("jdk", match["jdk"])))


def _clip(text: object, limit: int = MAX_DETAILS) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[:limit] + "\n[... truncated by pipelinegen history import]"


def _duration(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return seconds if 0.0 <= seconds < 1e7 else 0.0


def report_testcases(report: Mapping, cells_by_name: Mapping[str, Cell]) -> Iterator[tuple[CellKey | None, TestCaseResult]]:
    """Every case of a testReport document with the cell its suite ran in (None when nothing tells)."""
    suites = report.get("suites") if isinstance(report, Mapping) else None
    for suite in suites if isinstance(suites, list) else []:
        if not isinstance(suite, Mapping):
            continue
        blocks = [b for b in suite.get("enclosingBlockNames") or [] if isinstance(b, str)]
        key = map_blocks(blocks, cells_by_name)
        suite_name = str(suite.get("name") or "")
        for case in suite.get("cases") or []:
            if not isinstance(case, Mapping):
                continue
            status = STATUS.get(str(case.get("status") or ""), "skipped" if case.get("skipped") else "passed")
            failed = status == "failed"
            yield key, TestCaseResult(
                suite=suite_name, classname=str(case.get("className") or ""), name=str(case.get("name") or ""),
                cell_id=key.cell_id if key else "", status=status, duration_s=_duration(case.get("duration")),
                message=_clip(case.get("errorDetails"), 1000).splitlines()[0] if failed and case.get("errorDetails")
                else "",
                details=_clip(case.get("errorStackTrace")) if failed else "")


@dataclass(frozen=True)
class BuildFacts:
    number: int
    result: str
    started_at: float
    duration_s: float
    parameters: dict[str, str]
    commit: str
    branch: str
    repository: str
    node: str
    artifacts: tuple[str, ...]


def build_facts(doc: Mapping) -> BuildFacts:
    """The fields of a build's api/json (tree=TREE_BUILD) that history keeps."""
    params: dict[str, str] = {}
    commit = branch = repository = ""
    for action in doc.get("actions") or []:
        if not isinstance(action, Mapping):
            continue
        for p in action.get("parameters") or []:
            if isinstance(p, Mapping) and isinstance(p.get("name"), str):
                params[p["name"]] = "" if p.get("value") is None else str(p.get("value"))[:2000]
        revision = action.get("lastBuiltRevision")
        if isinstance(revision, Mapping) and not commit:
            commit = str(revision.get("SHA1") or "")
            names = [b.get("name") for b in revision.get("branch") or [] if isinstance(b, Mapping)]
            branch = str(names[0]) if names and names[0] else ""
            urls = action.get("remoteUrls") or []
            repository = str(urls[0]) if urls else ""
    artifacts = tuple(str(a.get("relativePath")) for a in doc.get("artifacts") or []
                      if isinstance(a, Mapping) and a.get("relativePath"))
    return BuildFacts(
        number=int(doc.get("number") or 0), result=str(doc.get("result") or ""),
        started_at=float(doc.get("timestamp") or 0) / 1000.0, duration_s=float(doc.get("duration") or 0) / 1000.0,
        parameters=params, commit=params.get("commit") or commit,
        branch=params.get("branch") or branch.removeprefix("origin/").removeprefix("refs/remotes/origin/"),
        repository=params.get("repository") or repository, node=str(doc.get("builtOn") or ""),
        artifacts=artifacts)


def stage_nodes(describe: Mapping | None) -> dict[str, str]:
    """Stage name -> node from pipeline-rest-api's wfapi/describe (absent plugin: empty)."""
    out: dict[str, str] = {}
    for stage in (describe or {}).get("stages") or []:
        if isinstance(stage, Mapping) and isinstance(stage.get("name"), str) and stage.get("execNode"):
            out[stage["name"]] = str(stage["execNode"])
    return out


class JenkinsJob:
    """The REST calls an import makes, on one job (python-jenkins through JenkinsDriver's retry policy)."""

    def __init__(self, driver: JenkinsDriver, job: str):
        self.driver = driver
        self.job = job
        self.path = job_url_path(job)

    @property
    def url(self) -> str:
        return self.driver.url + self.path

    def builds(self) -> list[tuple[int, bool]]:
        doc = self.driver.get_json(f"list the builds of {self.job}", self.path + "api/json", {"tree": TREE_BUILDS})
        return sorted((int(b["number"]), bool(b.get("building"))) for b in doc.get("allBuilds") or []
                      if isinstance(b, Mapping) and isinstance(b.get("number"), int))

    def build(self, number: int) -> Mapping:
        return self.driver.get_json(f"read {self.job} #{number}", f"{self.path}{number}/api/json",
                                    {"tree": TREE_BUILD})

    def test_report(self, number: int) -> Mapping | None:
        return self.driver.get_json(f"read the test report of {self.job} #{number}",
                                    f"{self.path}{number}/testReport/api/json", {"tree": TREE_REPORT},
                                    absent_ok=True)

    def describe(self, number: int) -> Mapping | None:
        return self.driver.get_json(f"read the stages of {self.job} #{number}",
                                    f"{self.path}{number}/wfapi/describe", absent_ok=True)

    def artifact(self, number: int, relative_path: str, target: Path) -> None:
        target.write_bytes(self.driver.download_artifact(BuildRef(self.job, number, ""), relative_path))


def _archived_testcases(job: JenkinsJob, facts: BuildFacts) -> Iterator[tuple[CellKey, TestCaseResult]]:
    with tempfile.TemporaryDirectory(prefix="pipelinegen-import-") as tmp:
        target = Path(tmp) / "junit.xml"
        for rel in facts.artifacts:
            key = map_archive_path(rel)
            if key is None:
                continue
            job.artifact(facts.number, rel, target)
            for case in iter_testcases(target, key.cell_id):
                yield key, case


def _cell_runs(keys: set[CellKey], statuses: Mapping[str, str], nodes: Mapping[str, str],
               cells_by_id: Mapping[str, Cell], durations: Mapping[str, float], fallback_node: str) -> list[CellRun]:
    runs = []
    for key in sorted(keys, key=lambda k: k.cell_id):
        name = cells_by_id[key.cell_id].name if key.cell_id in cells_by_id else key.cell_id
        runs.append(CellRun(cell_id=key.cell_id, step=key.step,
                            axes=tuple((k, v) for k, v in key.axes if k != "split"),
                            node=nodes.get(name, fallback_node), status=statuses.get(key.cell_id, "passed"),
                            duration_s=round(durations.get(key.cell_id, 0.0), 3)))
    return runs


def import_job(driver: JenkinsDriver, store: HistoryStore, job: str, cells: Sequence[Cell] = (), *,
               since: int = 0, max_builds: int | None = None, profile_param: str = "profile",
               progress: Callable[[str], None] = lambda _m: None) -> ImportReport:
    """Import the finished builds of *job* newer than *since* that the history does not have yet."""
    source = JenkinsJob(driver, job)
    cells_by_name = {c.name: c for c in cells}
    cells_by_id = {c.id: c for c in cells}
    report = ImportReport(job=job)
    todo = []
    for number, building in source.builds():
        report.builds_seen += 1
        if number <= since:
            continue
        if building:
            report.skipped_running += 1
            continue
        if store.has_run(run_id(source.url, number)):
            report.skipped_existing += 1
            continue
        todo.append(number)
    if max_builds is not None:
        todo = todo[:max_builds]
    for i, number in enumerate(todo, 1):
        facts = build_facts(source.build(number))
        info = RunInfo(run_id=run_id(source.url, number), commit=facts.commit, branch=facts.branch,
                       started_at=facts.started_at, repository=facts.repository,
                       profile=facts.parameters.get(profile_param, ""), source=f"jenkins {source.url}")
        test_report = source.test_report(number)
        pairs: Iterable[tuple[CellKey | None, TestCaseResult]]
        pairs = report_testcases(test_report, cells_by_name) if test_report is not None else \
            _archived_testcases(source, facts)
        # One build's cases are held at a time: the cell rows are known only once its tests are read.
        cases: list[TestCaseResult] = []
        keys: set[CellKey] = set()
        statuses: dict[str, str] = {}
        durations: dict[str, float] = {}
        for key, case in pairs:
            cases.append(case)
            if key is not None:
                keys.add(key)
                durations[key.cell_id] = durations.get(key.cell_id, 0.0) + case.duration_s
                if case.status in ("failed", "error"):
                    statuses[key.cell_id] = "failed"
        nodes = stage_nodes(source.describe(number))
        cell_runs = _cell_runs(keys, statuses, nodes, cells_by_id, durations, facts.node)
        store.ingest_run(info, cases, cell_runs)
        report.imported += 1
        report.testcases += len(cases)
        report.cells_exact += sum(1 for k in keys if k.exact)
        report.cells_step_level += sum(1 for k in keys if not k.exact)
        if not cases:
            report.without_tests.append(number)
        progress(f"{job} #{number}: {len(cases)} tests in {len(cell_runs)} cells ({i}/{len(todo)})")
    return report


def run_id(job_url: str, number: int) -> str:
    return f"jenkins:{job_url}{number}/"
