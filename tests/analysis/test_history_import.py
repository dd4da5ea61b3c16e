"""`pipelinegen history import`: a Jenkins job's past builds into the history, against the Jenkins test double.

The double (tests/jenkins_double/history.py) serves an archived job in the shapes Jenkins documents:
allBuilds, build api/json with parameters and the git plugin's BuildData, junit's testReport with
enclosingBlockNames, pipeline-rest-api's wfapi/describe, and JUnit archived in Cassandra's layout.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.analysis.jenkins_history import map_archive_path, parse_cell_name
from pipelinegen.cli import main
from tests.jenkins_double import JenkinsDouble
from tests.jenkins_double.history import ArchivedJob, serve_archived_job

ROOT = Path(__file__).resolve().parents[2]
CELLS = ["test jdk11 1/20", "test jdk11 2/20", "test jdk17 1/20", "jvm-dtest jdk17 3/16",
         "cqlsh-test jdk11 python3.11 cython"]
FLAKY = "org.apache.cassandra.c1.Test0.test3"


@pytest.fixture()
def jenkins(monkeypatch):
    with JenkinsDouble(users={"reader": "r-token"}) as jd:
        monkeypatch.setenv("JENKINS_USER", "reader")
        monkeypatch.setenv("JENKINS_TOKEN", "r-token")
        yield jd


def run_import(db: Path, jd, *extra: str):
    return CliRunner().invoke(main, ["-C", str(ROOT), "history", "import", "--jenkins-url", jd.url,
                                     "--job", "Cassandra-trunk", "--db", str(db), *extra])


def test_import_maps_suites_to_plan_cells_and_keeps_nodes_and_commits(jenkins, tmp_path):
    job = serve_archived_job(jenkins, ArchivedJob("Cassandra-trunk", builds=30, cells=CELLS, tests_per_cell=100,
                                                  flaky={FLAKY: 0.3}, running={30}))
    db = tmp_path / "h.sqlite"
    result = run_import(db, jenkins)
    assert result.exit_code == 0, result.output
    assert "29 builds imported (14500 test results; 145 cells matched to the plan, 0 step-level)" in result.output
    assert "1 still running" in result.output
    assert "r-token" not in result.output
    conn = sqlite3.connect(db)
    runs = conn.execute("SELECT run_key, commit_sha, branch, profile, repository FROM runs ORDER BY started_at").fetchall()
    assert len(runs) == 29
    assert runs[0] == (f"jenkins:{jenkins.url}job/Cassandra-trunk/1/", job.commit(1), "trunk", "pre-commit",
                       "https://github.com/apache/cassandra.git")
    cells = dict(conn.execute("SELECT cell_id, node FROM cells WHERE run = 1"))
    assert cells == {"cqlsh-test_jdk11_python3.11_cython": "cassandra-amd64-medium-4", "jvm-dtest_jdk17_3of16":
                     "cassandra-amd64-medium-3", "test_jdk11_1of20": "cassandra-amd64-medium-0",
                     "test_jdk11_2of20": "cassandra-amd64-medium-1", "test_jdk17_1of20": "cassandra-amd64-medium-2"}
    # `flaky` works from the imported history: the injected flaky test is found, with its failing runs.
    flaky = CliRunner().invoke(main, ["flaky", "--db", str(db), "--json"])
    assert flaky.exit_code == 0, flaky.output
    assert FLAKY in flaky.output


def test_import_is_incremental_and_resumes_after_an_error(jenkins, tmp_path):
    job = serve_archived_job(jenkins, ArchivedJob("Cassandra-trunk", builds=12, cells=CELLS[:2], tests_per_cell=20))
    db = tmp_path / "h.sqlite"
    jenkins.fail_next("GET", "job/Cassandra-trunk/8/testReport", 500, times=50)  # a server that keeps failing
    broken = run_import(db, jenkins)
    assert broken.exit_code == 1
    assert "run the same command again to resume" in broken.output
    assert sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0] == 7  # builds 1-7 kept
    jenkins._faults.clear()
    resumed = run_import(db, jenkins)
    assert resumed.exit_code == 0, resumed.output
    assert "5 builds imported" in resumed.output and "7 already in the history" in resumed.output
    job.builds = 15
    more = run_import(db, jenkins, "--max-builds", "2")
    assert "2 builds imported" in more.output and "12 already in the history" in more.output
    assert sqlite3.connect(db).execute("SELECT count(*) FROM runs").fetchone()[0] == 14


def test_builds_without_a_test_report_use_cassandras_archive_layout_as_step_level_history(jenkins, tmp_path):
    serve_archived_job(jenkins, ArchivedJob("Cassandra-trunk", builds=4, cells=CELLS[:3], tests_per_cell=10,
                                            archived_only={2, 4}))
    db = tmp_path / "h.sqlite"
    result = run_import(db, jenkins)
    assert result.exit_code == 0, result.output
    assert "4 builds imported (120 test results; 6 cells matched to the plan, 4 step-level)" in result.output
    conn = sqlite3.connect(db)
    step_level = sorted(r[0] for r in conn.execute(
        "SELECT DISTINCT c.cell_id FROM cells c JOIN runs r ON r.id = c.run WHERE r.run_key LIKE '%/2/'"))
    assert step_level == ["test_jdk11", "test_jdk17"]  # splits merged in the archive: step x jdk


def test_credentials_in_the_url_are_refused(tmp_path):
    result = CliRunner().invoke(main, ["history", "import", "--jenkins-url", "https://u:secret@ci.example/",
                                       "--job", "x", "--db", str(tmp_path / "h.sqlite")])
    assert result.exit_code == 2 and "credentials" in result.output and "secret" not in result.output


def test_cell_names_and_archive_paths_parse_as_cassandra_writes_them():
    key = parse_cell_name("cqlsh-test arm64 jdk11 python3.11 cython 2/4")
    assert (key.step, key.axes) == ("cqlsh-test", (("arch", "arm64"), ("jdk", "11"), ("python", "3.11"),
                                                    ("cython", "yes")))
    assert parse_cell_name("Declarative: Post Actions") is None
    archived = map_archive_path("build/test/output/jvm-dtest/jdk_17/arm64/TEST-org.x.y.xml")
    assert (archived.cell_id, archived.step) == ("jvm-dtest_arm64_jdk17", "jvm-dtest")
    assert map_archive_path("test/output/../../etc/jdk_17/amd64/x.xml") is None


def test_a_hostile_report_is_bounded_and_typed(jenkins, tmp_path):
    job = serve_archived_job(jenkins, ArchivedJob("Cassandra-trunk", builds=1, cells=CELLS[:1], tests_per_cell=1))
    hostile = {"suites": [{"name": None, "enclosingBlockNames": [7, "test jdk11 1/20"], "cases": [
        {"className": "c", "name": "n" * 10, "status": "FAILED", "duration": "1e309",
         "errorDetails": "x" * 100000, "errorStackTrace": ["not", "text"]},
        "not a case", {"status": "WEIRD", "duration": -5}]}, "not a suite"]}
    job.test_report = lambda number: hostile
    db = tmp_path / "h.sqlite"
    result = run_import(db, jenkins)
    assert result.exit_code == 0, result.output
    rows = sqlite3.connect(db).execute("SELECT duration_s, length(message) FROM outcomes").fetchall()
    assert rows == [(0.0, 1000)]
    assert json.loads(json.dumps(hostile))  # the document itself was not altered


def test_estimate_and_splits_work_from_imported_history(jenkins, tmp_path):
    serve_archived_job(jenkins, ArchivedJob("Cassandra-trunk", builds=3, cells=CELLS[:3], tests_per_cell=200))
    db = tmp_path / "h.sqlite"
    assert run_import(db, jenkins).exit_code == 0
    estimate = CliRunner().invoke(main, ["-C", str(ROOT), "estimate", "--profile", "skinny", "--jdk", "11",
                                         "--no-sensitivity", "--history", str(db), "--json"])
    assert estimate.exit_code == 0, estimate.output
    sources = json.loads(estimate.stdout)["duration_sources"]
    assert sources.get("timings", 0) >= 20, sources  # the test step's cells are timed from the imported tests
    splits = CliRunner().invoke(main, ["-C", str(ROOT), "splits", "--step", "test", "--history", str(db),
                                       "--output", str(tmp_path / "splits")])
    assert splits.exit_code == 0, splits.output
    assert list((tmp_path / "splits").rglob("*.txt"))
