"""Repeat runs: job parameters replace a step's splits by repeat cells; repeats.yaml adds them."""

from __future__ import annotations

import json
import subprocess

import pytest

from pipelinegen.cli import main
from pipelinegen.errors import PipelineError
from pipelinegen.load import load_pipeline
from pipelinegen.plan import Parameters, build_plan
from pipelinegen.plan.repeat import spread


def test_spread_is_even_and_complete():
    assert spread(500, 20) == (25,) * 20
    assert spread(7, 3) == (3, 2, 2)
    assert spread(2, 16) == (1, 1)
    assert sum(spread(1001, 16)) == 1001


def test_job_parameters_turn_test_steps_into_repeat_cells(project):
    pipeline = load_pipeline(project / "pipeline.yaml")
    extra = (("repeat_test_regex", "FooTest"), ("repeated_tests_count", "5"), ("repeated_tests_stop_on_failure", "false"))
    plan = build_plan(pipeline, Parameters(profile="smoke", jdk="17", extra=extra))
    names = [c.name for c in plan.cells]
    assert names == ["jar jdk17", "unit jdk17 repeat FooTest 1/2", "unit jdk17 repeat FooTest 2/2"]
    envs = [dict(c.env) for c in plan.cells[1:]]
    assert [e["PIPELINEGEN_REPEAT_COUNT"] for e in envs] == ["3", "2"]
    assert all(e["PIPELINEGEN_REPEAT_TESTS"] == "FooTest" and e["PIPELINEGEN_REPEAT_STOP_ON_FAILURE"] == "false" for e in envs)
    assert all(c.depends_on == ("jar_jdk17",) for c in plan.cells[1:])


def test_repeats_file_adds_cells_beside_the_normal_ones(project):
    (project / "repeats.yaml").write_text("version: 1\nrepeats:\n  - {step: unit, tests: BarTest, count: 4}\n")
    pipeline = load_pipeline(project / "pipeline.yaml")
    plan = build_plan(pipeline, Parameters(profile="smoke", jdk="11"))
    assert [c.name for c in plan.cells] == [
        "jar jdk11", "unit jdk11 1/2", "unit jdk11 2/2", "unit jdk11 repeat BarTest 1/2", "unit jdk11 repeat BarTest 2/2",
    ]  # fmt: skip
    assert any(s.role == "repeats" for s in pipeline.sources)  # part of the pipeline identity


def test_repeats_file_naming_an_unknown_step_is_an_error(project):
    (project / "repeats.yaml").write_text("version: 1\nrepeats:\n  - {step: unti, tests: BarTest, count: 4}\n")
    with pytest.raises(PipelineError, match=r"repeats.yaml:3: .*'unti' is not a test step.*did you mean 'unit'"):
        load_pipeline(project / "pipeline.yaml")


def _git(directory, *args):
    subprocess.run(["git", "-C", str(directory), *args], check=True, capture_output=True)


def test_compile_repeat_changed_writes_repeats_for_changed_tests(project, runner):
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "base")
    _git(project, "checkout", "-q", "-b", "feature")
    test_file = project / "test" / "unit" / "org" / "example" / "FooTest.java"
    test_file.parent.mkdir(parents=True)
    test_file.write_text("class FooTest {}\n")
    (project / "pipeline.yaml").write_text((project / "pipeline.yaml").read_text().replace("unit", "test"))
    _git(project, "add", "-A")
    _git(project, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-q", "-m", "add FooTest")
    result = runner.invoke(main, ["-C", str(project), "compile", "--repeat-changed", "--base", "main"])
    assert result.exit_code == 0, result.output
    text = (project / "repeats.yaml").read_text()
    assert 'step: "test"' in text and "FooTest" in text
    plan_json = (project / "generated" / "library" / "resources" / "pipelinegen" / "plan.json").read_text()
    repeats = json.loads(plan_json)["repeats"]
    assert repeats and repeats[0]["count"] == 500 and repeats[0]["tests"] == "FooTest"
    assert runner.invoke(main, ["-C", str(project), "compile", "--check"]).exit_code == 0
    assert runner.invoke(main, ["-C", str(project), "compile", "--no-repeats"]).exit_code == 0
    assert not (project / "repeats.yaml").exists()


@pytest.mark.parametrize("args", [["--base", "main"], ["--repeat-changed", "--base", "main", "--no-repeats"]])
def test_compile_refuses_repeat_options_it_would_ignore(project, runner, args):
    result = runner.invoke(main, ["-C", str(project), "compile", *args])
    assert result.exit_code == 2
    assert "--base goes with --repeat-changed" in result.output
    assert not (project / "generated").exists()
