"""The harness's stub declarative DSL behaves as Jenkins does on the points the generated pipeline relies on
(when, environment, parameters, agents, post conditions, stage failure, catchError) and refuses what Jenkins
refuses. Hand-written Jenkinsfiles, one JVM for all of them."""

from __future__ import annotations

import pytest

from pipelinegen.validate.execution import HarnessRun, run_harness

pytestmark = pytest.mark.slow

LIBRARY_VAR = """
void call(String what) {
    node('lib-label') {
        withEnv(['PIPELINEGEN_CELL=c-' + what, 'PIPELINEGEN_COMMAND=run ' + what]) {
            sh(label: what, script: 'bash .pipelinegen/run-cell.sh')
        }
    }
}
"""

HEADER = "library(identifier: 'lib@x', retriever: legacySCM(libraryPath: 'lib/', scm: scm))\n"

GOOD = HEADER + """
pipeline {
    agent none
    options { timestamps() }
    parameters {
        string(name: 'who', defaultValue: 'world', description: 'd')
        booleanParam(name: 'loud', defaultValue: false, description: 'd')
        choice(name: 'size', choices: ['s', 'm'], description: 'd')
    }
    environment { GREETING = "hello ${params.who}" }
    stages {
        stage('only on main') {
            when { branch 'main' }
            steps { echo('main only') }
        }
        stage('when loud') {
            when { expression { params.loud } }
            steps { echo("LOUD ${env.GREETING}") }
        }
        stage('on an agent') {
            agent { label 'builder' }
            steps { sh(script: 'make', label: 'make') }
        }
        stage('fan out') {
            parallel {
                stage('a') { steps { runIt('a') } }
                stage('b') { steps { runIt('b') } }
            }
        }
        stage('soft failure') {
            steps {
                catchError(buildResult: 'UNSTABLE', stageResult: 'FAILURE') { error('soft') }
            }
        }
        stage('after soft failure') { steps { echo("size ${params.size}") } }
    }
    post {
        always { echo('always') }
        unstable { echo('unstable') }
        success { echo('success') }
    }
}
"""

MATRIX = HEADER + """
pipeline {
    agent none
    stages {
        stage('matrix') {
            matrix {
                agent { label 'matrix-agent' }
                axes {
                    axis { name 'OS'; values 'linux', 'windows' }
                    axis { name 'JDK'; values '11', '17' }
                }
                excludes {
                    exclude {
                        axis { name 'OS'; values 'windows' }
                        axis { name 'JDK'; notValues '17' }
                    }
                }
                stages { stage('build') { steps { sh(script: "build ${env.OS} ${JDK}".toString()) } } }
            }
        }
    }
}
"""

HARD_FAILURE = HEADER + """
pipeline {
    agent none
    stages {
        stage('breaks') { steps { error('hard') } }
        stage('skipped') { steps { echo('never') } }
    }
    post { failure { echo('failed') } }
}
"""

BROKEN = {
    "unknown option": ("options { timestampz() }", "unknown option 'timestampz'"),
    "unknown post condition": ("post { sometimes { echo('x') } }", "unknown post condition 'sometimes'"),
    "undefined step": ("stages { stage('s') { steps { ech('x') } } }", "undefined step or method 'ech'"),
    "sh outside node": ("stages { stage('s') { steps { sh('x') } } }", "needs a workspace"),
    "unknown step argument": ("stages { stage('s') { steps { echo(mesage: 'x') } } }", "unknown argument 'mesage'"),
    "stage with two kinds": ("stages { stage('s') { steps { echo('x') }\n stages { stage('t') { steps { echo('y') } } } } }",
                             "exactly one of steps, stages, parallel or matrix"),
    "duplicate stage": ("stages { stage('s') { steps { echo('x') } }\n stage('s') { steps { echo('y') } } }",
                        "duplicate stage name 's'"),
    "typo as a bare name": ("stages { stage('s') { steps { echo(paramz.x) } } }", "undefined name 'paramz'"),
    "step inside @NonCPS": ("stages { stage('s') { steps { nonCps.helper() } } }", "inside @NonCPS method"),
    "bad label expression": ("stages { stage('s') { steps { node('a && (b') { echo('x') } } } }", "missing )"),
    "endless loop of steps": ("stages { stage('s') { steps { script { while (true) { parallel([:]) } } } } }",
                              "a loop that never ends"),
    # a .json file the library writes must be JSON as the strict parser reads it (a lax one takes `1.`)
    "a .json file that is not JSON": ("""stages { stage('s') { steps { node('x') { writeFile(file: 'r.json', text: '{"a": 1.}') } } } }""",
                                      "trying to match a number"),
}

NON_CPS_VAR = """
@NonCPS
String helper() {
    echo('from NonCPS')
    return 'x'
}
"""


def _broken(section: str) -> str:
    stages = "" if section.startswith("stages") else "stages { stage('ok') { steps { echo('ok') } } }\n"
    return HEADER + f"pipeline {{\n    agent none\n    {section}\n    {stages}}}\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    root = tmp_path_factory.mktemp("dsl")
    (root / "lib/vars").mkdir(parents=True)
    (root / "lib/vars/runIt.groovy").write_text(LIBRARY_VAR)
    (root / "lib/vars/nonCps.groovy").write_text(NON_CPS_VAR)
    files = {"good": GOOD, "hard": HARD_FAILURE, "matrix": MATRIX, **{name: _broken(section) for name, (section, _) in BROKEN.items()}}
    for name, text in files.items():
        (root / f"{name}.Jenkinsfile").write_text(text)
    runs = [
        HarnessRun("good on main", {"loud": "true"}, env={"BRANCH_NAME": "main"}, jenkinsfile=root / "good.Jenkinsfile"),
        HarnessRun("good on a branch", {"size": "m"}, env={"BRANCH_NAME": "feature"}, jenkinsfile=root / "good.Jenkinsfile"),
        HarnessRun("hard", {}, jenkinsfile=root / "hard.Jenkinsfile"),
        HarnessRun("matrix", {}, jenkinsfile=root / "matrix.Jenkinsfile"),
        *[HarnessRun(name, {}, jenkinsfile=root / f"{name}.Jenkinsfile", step_budget=5000) for name in BROKEN],
    ]
    return {r.name: r for r in run_harness(runs, root / "good.Jenkinsfile", root)}


def _echoes(run) -> list[str]:
    return [e["text"] for e in run.events if e["type"] == "echo"]


def test_when_parameters_and_environment_are_honoured(results):
    main, branch = results["good on main"], results["good on a branch"]
    assert main.ok and branch.ok
    assert _echoes(main)[:2] == ["main only", "LOUD hello world"]
    assert "main only" not in _echoes(branch) and not any(e.startswith("LOUD") for e in _echoes(branch))
    assert "size s" in _echoes(main) and "size m" in _echoes(branch)
    assert main.job_params == {"who": "world", "loud": True, "size": "s"}


def test_stage_agents_and_library_steps_run_on_nodes(results):
    run = results["good on main"]
    make = next(e for e in run.events if e["type"] == "sh" and e["script"] == "make")
    assert make["node_label"] == "builder" and make["stage"] == "on an agent"
    cells = run.cells()
    assert [(c.id, c.command, c.label, c.stage) for c in cells] == [
        ("c-a", "run a", "lib-label", "a"), ("c-b", "run b", "lib-label", "b")]
    assert {e["branch"] for e in run.events if e.get("cell")} == {"a", "b"}


def test_catch_error_sets_the_result_and_later_stages_still_run(results):
    run = results["good on main"]
    assert run.result == "UNSTABLE"
    assert _echoes(run)[-2:] == ["always", "unstable"]


def test_a_failing_stage_skips_the_rest_and_runs_failure_post(results):
    run = results["hard"]
    assert run.ok and run.result == "FAILURE"
    assert "never" not in _echoes(run) and _echoes(run) == ["failed"]
    assert any(e["type"] == "stage-skipped" and e["name"] == "skipped" for e in run.events)


@pytest.mark.parametrize("name", list(BROKEN))
def test_what_jenkins_refuses_the_harness_refuses(results, name):
    run = results[name]
    assert not run.ok
    assert any(BROKEN[name][1] in bug["message"] for bug in run.bugs), run.bugs


def test_a_matrix_runs_every_combination_not_excluded_with_its_axis_values(results):
    run = results["matrix"]
    assert run.ok, run.bugs
    builds = sorted(e["script"] for e in run.events if e["type"] == "sh")
    assert builds == ["build linux 11", "build linux 17", "build windows 17"]
    assert {e["node_label"] for e in run.events if e["type"] == "sh"} == {"matrix-agent"}
