"""The differential test on the project's own pipeline.yaml: the generated Jenkinsfile + library, run under
Groovy 2.4 by the harness, must run exactly the cells and commands `build_plan` lists — for every profile and
the parameter sets validate checks — and behave as the library promises when cells fail. One JVM."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinegen.lint.groovy import cached_script_command, groovy_environment
from pipelinegen.plan.cell import Parameters
from pipelinegen.validate import differential
from pipelinegen.validate.execution import HARNESS_SCRIPT, HarnessRun, run_harness
from tests.validate_helpers import REPO, compile_into

pytestmark = pytest.mark.slow
# Refused by plan/repeat.py and by the library alike: the Jenkins job must not accept what `plan` refuses.
BAD_REPEAT_COUNTS = ("-5", "0", "20000", "abc", "1e3", "\u0663", "1234567890123")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    checkout = tmp_path_factory.mktemp("cassandra")
    pipeline, jenkinsfile = compile_into(REPO / "pipeline.yaml", checkout)
    cases = differential.default_cases(pipeline)
    extra = [
        HarnessRun("jar jdk11 fails twice", {"profile": "packaging", "repository": ""}, fail={"jar_jdk11": 2}),
        HarnessRun("lint jdk17 fails once", {"profile": "packaging", "repository": ""}, fail={"lint_jdk17": 1},
                   node_name='agent "{n}" x'),
        HarnessRun("test split fails its tests", {"profile": "skinny", "jdk": "11"},
                   test_failures={"cqlsh-test_jdk11_python3.8": 5}),
        HarnessRun("bad jdk", differential.job_params(pipeline, Parameters(profile="packaging", jdk="8"))),
        HarnessRun("undeclared parameter", {"profile": "packaging", "no_such_parameter": "x"}),
        HarnessRun("unknown profile choice", {"profile": "nightly"}),
        *[HarnessRun(f"repeat count {count!r}", differential.job_params(pipeline, Parameters(
            profile="skinny", jdk="11", extra=(("repeat_test_regex", "CompactionTest"),
                                               ("repeated_tests_count", count)))))
          for count in BAD_REPEAT_COUNTS],
    ]
    results = run_harness(differential.harness_runs(pipeline, cases) + extra, jenkinsfile, checkout)
    by_name = {r.name: r for r in results}
    return pipeline, cases, by_name


def test_every_profile_is_among_the_cases(project):
    pipeline, cases, _ = project
    checked = {c.parameters.profile for c in cases}
    assert {p.name for p in pipeline.profiles} <= checked


def test_jenkinsfile_runs_exactly_the_python_plan_for_every_case(project):
    pipeline, cases, results = project
    for case in cases:
        plan = differential.python_plan(pipeline, case.parameters)
        run = results[case.name]
        assert run.ok, run.bug_findings()
        assert not isinstance(plan, Exception), plan
        assert differential.compare(case.name, plan, run, pipeline, case.exhaust_retries) == []
        recorded = run.cells()
        assert sorted((c.id, c.command) for c in recorded) == sorted((c.id, c.command) for c in plan.cells)
        assert len(recorded) == len(plan.cells) > 0


def test_post_commit_only_cells_run_only_for_the_canonical_repository(project):
    _, _, results = project
    canonical = {c.step for c in results["canonical repository (post-commit)"].cells()}
    fork = {c.step for c in results["fork with a branch"].cells()}
    assert {"notify", "nightly-upload"} <= canonical
    assert not {"notify", "nightly-upload"} & fork


def test_a_fork_build_checks_out_the_fork_at_its_branch(project):
    _, _, results = project
    run = results["fork with a branch"]
    checkouts = [e for e in run.events if e["type"] == "checkout" and not e.get("dir")]
    assert checkouts and all(e["url"] == differential.NON_CANONICAL_REPOSITORY and e["ref"] == "feature/x"
                             for e in checkouts)


def test_cells_run_after_the_build_once_cells_they_unstash(project):
    _, _, results = project
    order = [c.id for c in results["profile pre-commit"].cells()]
    position = {cell_id: i for i, cell_id in enumerate(order)}
    for cell in results["profile pre-commit"].cells():
        assert all(position[dep] < position[cell.id] for dep in cell.unstashed), cell


def test_a_build_once_cell_that_keeps_failing_stops_its_dependants_only(project):
    pipeline, _, results = project
    run = results["jar jdk11 fails twice"]
    ran = {c.id: c for c in run.cells()}
    assert run.ok and run.result == "FAILURE"
    assert ran["jar_jdk11"].attempts == 2
    assert not [c for c in ran if c.endswith("_jdk11") and c != "jar_jdk11"]
    assert {"artifacts_jdk17", "lint_jdk21"} <= set(ran)
    not_run = [e["json"]["cell"] for e in run.events
               if isinstance(e.get("json"), dict) and e["json"].get("status") == "not-run"]
    assert sorted(not_run) == ["artifacts_jdk11", "debian_jdk11", "lint_jdk11", "redhat_jdk11"]


def test_jar_fails_0_agents_for_not_run_cells(project):
    """A failed build-once cell's dependants take no agent: they are recorded not-run by the summary stage,
    on the one node it takes anyway (before: one medium/large node per dependant, ~200 pods for nothing)."""
    _, _, results = project
    run = results["jar jdk11 fails twice"]
    not_run = {"artifacts_jdk11", "debian_jdk11", "lint_jdk11", "redhat_jdk11"}
    nodes = [e for e in run.events if e["type"] == "node"]
    by_stage = {stage: sum(1 for e in nodes if e.get("stage") == stage) for stage in ("build", "tests", "summary")}
    ran = {c.id for c in run.cells()}
    assert by_stage == {"build": 3 + 1, "tests": len(ran) - 3, "summary": 1}  # jar x3 jdks + 1 retry; 1 per cell
    recorded = [e for e in run.events if isinstance(e.get("json"), dict) and e["json"].get("status") == "not-run"]
    assert {e["json"]["cell"] for e in recorded} == not_run
    assert {e["stage"] for e in recorded} == {"summary"}
    assert not [e for e in run.events if e.get("cell") in not_run and e["type"] == "sh"]


def test_failing_tests_make_the_build_unstable_without_a_retry(project):
    """Three-valued outcome: a split whose tests fail is UNSTABLE (Jenkins's junit convention) and, with the
    default retry_on: infra, not re-run on another agent; its status record says tests-failed."""
    _, _, results = project
    run = results["test split fails its tests"]
    assert run.ok and run.result == "UNSTABLE"
    attempts = [e for e in run.events if e["type"] == "sh" and e.get("cell") == "cqlsh-test_jdk11_python3.8" and "run-cell" in e["script"]]
    assert len(attempts) == 1
    records = [e["json"] for e in run.events if isinstance(e.get("json"), dict) and e["json"].get("cell") == "cqlsh-test_jdk11_python3.8"]
    assert records and records[-1]["outcome"] == "tests-failed" and records[-1]["status"] == "failed"
    assert any(e["type"] == "unstable" for e in run.events)


def test_a_failed_attempt_is_retried_on_another_node(project):
    _, _, results = project
    run = results["lint jdk17 fails once"]
    attempts = [e for e in run.events if e["type"] == "sh" and e.get("cell") == "lint_jdk17" and "run-cell" in e["script"]]
    assert run.result == "SUCCESS"
    assert [e["status"] for e in attempts] == [1, 0]
    assert attempts[0]["node"] != attempts[1]["node"]
    # the failed node is excluded by a quoted label that Jenkins's label parser reads back as its exact name
    assert attempts[0]["node"].startswith('agent "')
    retry_node = next(e for e in run.events if e["type"] == "node" and e["name"] == attempts[1]["node"])
    assert retry_node["atoms"] == ["cassandra-amd64-medium", attempts[0]["node"]]


def test_parameters_pipelinegen_rejects_fail_the_build_in_init(project):
    pipeline, _, results = project
    run = results["bad jdk"]
    plan = differential.python_plan(pipeline, Parameters(profile="packaging", jdk="8"))
    assert isinstance(plan, Exception)
    assert run.cells() == [] and run.result == "FAILURE"
    assert differential.compare("bad jdk", plan, run) == []
    assert any("jdk='8' is not one of" in (e.get("text") or "") for e in run.events if e["type"] == "error")


@pytest.mark.parametrize("count", BAD_REPEAT_COUNTS)
def test_a_bad_repeat_count_fails_the_build_as_plan_refuses_it(project, count):
    pipeline, _, results = project
    run = results[f"repeat count {count!r}"]
    plan = differential.python_plan(pipeline, Parameters(profile="skinny", jdk="11", extra=(
        ("repeat_test_regex", "CompactionTest"), ("repeated_tests_count", count))))
    assert isinstance(plan, Exception), count
    assert run.cells() == [] and run.result == "FAILURE"
    assert any("is not a repeat count" in (e.get("text") or "") for e in run.events if e["type"] == "error")


def test_undeclared_parameters_and_illegal_choices_are_reported(project):
    _, _, results = project
    assert not results["undeclared parameter"].ok
    assert "no_such_parameter" in results["undeclared parameter"].bugs[0]["message"]
    assert results["unknown profile choice"].result == "FAILURE"
    assert "Illegal choice" in results["unknown profile choice"].error


def test_explain_prints_the_cells_from_the_harness(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # -C changes the working directory; monkeypatch restores it
    from click.testing import CliRunner

    from pipelinegen.cli import main

    compile_into(REPO / "pipeline.yaml", tmp_path)
    result = CliRunner().invoke(main, ["-C", str(tmp_path), "explain", "--profile", "packaging", "--branch", "feature/x",
                                       "--jdk", "17"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "  lint jdk17" in "\n".join(lines)
    assert any(line.startswith("stage build: 1 cell") for line in lines)
    assert "$ .build/docker/check-code.sh 17  after jar_jdk17" in result.output
    assert "branch='feature/x'" in lines[0]
    # no --repository: the job's own SCM, a fork's, as `plan` takes it: pre-commit, no publish cells
    assert lines[1].startswith("pre-commit run")
    assert lines[-1].startswith("5 cells")  # 4 packaging steps + jar
    plan = CliRunner().invoke(main, ["-C", str(tmp_path), "plan", "--profile", "packaging", "--jdk", "17"])
    assert plan.output.splitlines()[-1].startswith("5 cells")  # plan and explain agree on a default build
    canonical = ["--profile", "packaging", "--jdk", "17", "--repository", "https://github.com/apache/cassandra"]
    post = CliRunner().invoke(main, ["-C", str(tmp_path), "explain", *canonical])
    assert post.output.splitlines()[1].startswith("post-commit run")
    assert post.output.splitlines()[-1].startswith("7 cells")  # + the 2 post-commit publish cells
    plan = CliRunner().invoke(main, ["-C", str(tmp_path), "plan", *canonical])
    assert plan.output.splitlines()[-1].startswith("7 cells")


def test_an_empty_repository_is_the_jobs_own_scm(project, tmp_path: Path):
    """params.repository ?: scm.userRemoteConfigs[0].url: a default build of a job whose SCM is the canonical
    repository is post-commit; on a fork's job, or on a throwaway clone (its marker env), it is not."""
    pipeline, _, _ = project
    workspace = compile_into(REPO / "pipeline.yaml", tmp_path)[1].parent.parent
    canonical = pipeline.canonical_repository
    runs = [HarnessRun(name="canonical job", params={"profile": "packaging"}, scm_url=canonical),
            HarnessRun(name="fork job", params={"profile": "packaging"}, scm_url=differential.NON_CANONICAL_REPOSITORY),
            HarnessRun(name="clone", params={"profile": "packaging"}, scm_url=canonical,
                       env={"PIPELINEGEN_THROWAWAY_CLONE": "pipelinegen-x"})]
    results = {r.name: r for r in run_harness(runs, workspace / "generated" / "Jenkinsfile", workspace)}
    assert all(r.ok for r in results.values()), [r.bugs for r in results.values()]
    publish = {name: [c.id for c in r.cells() if c.stage == "summary"] for name, r in results.items()}
    assert publish["canonical job"] and not publish["fork job"] and not publish["clone"]


def test_an_unticked_stop_on_failure_box_reaches_the_repeat_cells(project):
    # a booleanParam arrives in Groovy as Boolean false; it once turned into 'true' through `?:`
    _, _, results = project
    run = results["repeat run"]
    repeat_cells = [c for c in run.cells() if "PIPELINEGEN_REPEAT_TESTS" in c.env]
    assert run.job_params["repeated_tests_stop_on_failure"] is False
    assert repeat_cells and {c.env["PIPELINEGEN_REPEAT_STOP_ON_FAILURE"] for c in repeat_cells} == {"false"}
    assert {c.env["PIPELINEGEN_REPEAT_COUNT"] for c in repeat_cells} <= {str(n) for n in range(1, 8)}


def test_every_cell_is_retried_exactly_as_often_as_the_plan_allows(project):
    pipeline, cases, results = project
    case = next(c for c in cases if c.exhaust_retries)
    plan = differential.python_plan(pipeline, case.parameters)
    ran = {c.id: c.attempts for c in results[case.name].cells()}
    assert results[case.name].result == "SUCCESS"
    assert ran == {c.id: c.attempts for c in plan.cells} and max(ran.values()) > 1


def test_the_harness_runs_from_a_cached_compiled_copy_with_the_same_results(project, tmp_path: Path, monkeypatch):
    """validate starts `java` on a compiled copy of the harness (keyed by its content hash) instead of compiling
    the 2,000-line script on every run: the first run compiles it into the cache, later runs start from there."""
    pipeline, cases, _ = project
    monkeypatch.setenv("PIPELINEGEN_CACHE", str(tmp_path / "cache"))
    workspace = compile_into(REPO / "pipeline.yaml", tmp_path / "checkout")[1].parent.parent
    runs = differential.harness_runs(pipeline, cases[:2])
    groovy_bin, env = groovy_environment()

    def command() -> str:
        return Path(cached_script_command(HARNESS_SCRIPT, "RunPipeline", groovy_bin, dict(env), "validate-harness",
                                          modules=("json", "xml"))[0]).name

    assert command() == "groovy"  # cold cache: the launcher compiles the script into the cache
    cold = run_harness(runs, workspace / "generated" / "Jenkinsfile", workspace)
    assert len(list((tmp_path / "cache").glob("validate-harness-*/RunPipeline.class"))) == 1
    assert command() == "java"  # warm cache: the JVM starts on the classes
    warm = run_harness(runs, workspace / "generated" / "Jenkinsfile", workspace)
    assert [(r.name, r.ok, r.result, r.cells()) for r in warm] == [(r.name, r.ok, r.result, r.cells()) for r in cold]
    assert all(r.ok for r in warm) and sum(len(r.cells()) for r in warm) > 10
