"""The harness must catch what Jenkins would: each mutant of the generated code (a typo, a step outside a
node, a stage order that unstashes before stashing, a selection that drifted from Python's, a race between
parallel branches) is reported, with the Groovy file and line where it has one; the unmutated code passes
the same runs. One JVM for every mutant."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelinegen.plan.cell import Parameters
from pipelinegen.validate import differential
from pipelinegen.validate.execution import HarnessRun, run_harness
from tests.validate_helpers import REPO, compile_into, edit

pytestmark = pytest.mark.slow

PACKAGING = Parameters(profile="packaging")
CANONICAL = Parameters(profile="packaging", repository="https://GITHUB.com/apache/cassandra.git/")
UPGRADE_JARS = Parameters(profile="custom", custom_regexp="^jvm-dtest-upgrade$")

CELLS = "generated/library/vars/pipelinegenCells.groovy"
PLAN = "generated/library/vars/pipelinegenPlan.groovy"
SUMMARY = "generated/library/vars/pipelinegenSummary.groovy"

# name -> (file, old text, new text, parameters)
MUTANTS = {
    "typo in a library step": (CELLS, "        deleteDir()\n        commit = checkoutProject()", "        deleteDirr()\n        commit = checkoutProject()", PACKAGING),
    "typo in a Jenkinsfile step": ("generated/Jenkinsfile", "pipelinegenInit()", "pipelinegenInt()", PACKAGING),
    "workspace step outside node": (SUMMARY, "    node(summaryLabel(selection.cells)) {\n        deleteDir()",
                                    "    deleteDir()\n    node(summaryLabel(selection.cells)) {", PACKAGING),
    "tests stage before build stage": ("generated/Jenkinsfile", "pipelinegenCells('build')", "pipelinegenCells('tests')", PACKAGING),
    "command not passed to the cell": (PLAN, "env.add('PIPELINEGEN_COMMAND=' + cell.command)", "env.add('PIPELINEGEN_COMMAND=')", PACKAGING),
    "repository compared case-sensitively": (PLAN, "String text = (url ?: '').trim().toLowerCase()", "String text = (url ?: '').trim()", CANONICAL),
    "dependants in the same parallel wave": (CELLS, "if (waiting.contains(dependency)) {", "if (false) {", UPGRADE_JARS),
}


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    base = tmp_path_factory.mktemp("base")
    pipeline, jenkinsfile = compile_into(REPO / "pipeline.yaml", base)
    runs, expected = [], {}
    for name, (_, _, _, parameters) in MUTANTS.items():
        runs.append(HarnessRun(f"original: {name}", differential.job_params(pipeline, parameters)))
        expected[f"original: {name}"] = differential.python_plan(pipeline, parameters)
    for index, (name, (relative, old, new, parameters)) in enumerate(MUTANTS.items()):
        checkout = tmp_path_factory.mktemp(f"mutant{index}")
        shutil.copytree(base / "generated", checkout / "generated")
        edit(checkout / relative, old, new)
        runs.append(HarnessRun(name, differential.job_params(pipeline, parameters),
                               jenkinsfile=checkout / "generated/Jenkinsfile", workspace=checkout))
        expected[name] = differential.python_plan(pipeline, parameters)
    results = run_harness(runs, jenkinsfile, base)
    return {r.name: (r, differential.compare(r.name, expected[r.name], r, pipeline)) for r in results}


@pytest.mark.parametrize("name", list(MUTANTS))
def test_the_unmutated_pipeline_passes_the_same_run(outcomes, name):
    run, differences = outcomes[f"original: {name}"]
    assert run.ok and differences == [], [f.format() for f in differences]


@pytest.mark.parametrize("name", list(MUTANTS))
def test_every_mutant_is_reported(outcomes, name):
    run, differences = outcomes[name]
    assert differences, f"mutant '{name}' passed the harness"


def test_a_typo_is_reported_at_its_file_and_line(outcomes):
    run, _ = outcomes["typo in a library step"]
    [bug] = [b for b in run.bugs if "deleteDirr" in b["message"]][:1]
    assert bug["file"].endswith("generated/library/vars/pipelinegenCells.groovy")
    assert Path(bug["file"]).read_text().splitlines()[bug["line"] - 1].strip() == "deleteDirr()"
    run, _ = outcomes["typo in a Jenkinsfile step"]
    assert any(b["file"].endswith("generated/Jenkinsfile") and "pipelinegenInt" in b["message"] for b in run.bugs)


def test_a_differing_cell_points_at_the_step_in_pipeline_yaml(outcomes):
    _, differences = outcomes["command not passed to the cell"]
    jar = [f for f in differences if "cell jar_jdk11:" in f.message and "PIPELINEGEN_COMMAND" not in f.message]
    assert jar and jar[0].hint.startswith("step 'jar' is defined at pipeline.yaml:")
    line = int(jar[0].hint.rsplit(":", 1)[1])
    assert "name: jar" in (REPO / "pipeline.yaml").read_text().splitlines()[line - 1]


def test_a_workspace_step_outside_node_names_the_jenkins_error(outcomes):
    run, _ = outcomes["workspace step outside node"]
    assert any("needs a workspace" in b["message"] and b["file"].endswith("pipelinegenSummary.groovy") for b in run.bugs)


def test_unstash_before_stash_leaves_cells_unrun(outcomes):
    run, differences = outcomes["tests stage before build stage"]
    assert any("No such saved stash 'jar_jdk11'" in f.message for f in differences), differences


def test_a_race_between_parallel_branches_is_caught(outcomes):
    run, differences = outcomes["dependants in the same parallel wave"]
    failed = [e for e in run.events if e["type"] == "unstash" and e["name"] == "jar_jdk11"]
    assert failed and any("never ran" in f.message for f in differences)
