"""`pipelinegen estimate`: text, JSON and HTML reports from a plan, timings and an agent pool."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from lxml import html as lxml_html

from pipelinegen.cli import main
from pipelinegen.plan.cell import Cell, Parameters, Plan

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sample-project"


def _cell(id_, step, resource, split=1, splits=1, deps=(), build_once=False, timeout=60):
    return Cell(
        id=id_,
        name=id_.replace("_", " "),
        step=step,
        kind="build" if build_once else "test",
        axes=(("arch", "amd64"), ("jdk", "11")),
        split=split,
        splits=splits,
        command="true",
        resource=resource,
        label=f"x-amd64-{resource}",
        cpu=1,
        memory_gb=1,
        timeout_minutes=timeout,
        attempts=2,
        depends_on=tuple(deps),
        build_once=build_once,
    )


def _plan_file(tmp_path: Path, splits: int = 4) -> Path:
    cells = [_cell("jar_jdk11", "jar", "small", build_once=True)] + [
        _cell(f"unit_jdk11_{k}of{splits}", "unit", "medium", k, splits, deps=["jar_jdk11"])
        for k in range(1, splits + 1)
    ]
    plan = Plan(Parameters(profile="smoke"), True, tuple(cells))
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json())
    return path


def _run(*args):
    return CliRunner().invoke(main, ["estimate", *map(str, args)])


def test_plan_json_round_trips():
    cells = (
        _cell("jar", "jar", "small", build_once=True),
        _cell("u_1of2", "unit", "medium", 1, 2, deps=["jar"]),
    )
    plan = Plan(Parameters(profile="smoke", jdk="11"), False, cells)
    assert Plan.from_dict(json.loads(plan.to_json())) == plan


def test_hand_computed_estimate_from_step_minutes(tmp_path):
    # jar 5 min on small, then 4 unit cells of 10 min on 2 medium agents: 5 + 10 + 10 = 25 minutes
    result = _run(
        "--plan-json",
        _plan_file(tmp_path),
        "--agents",
        "small=1,medium=2",
        "--price",
        "small=0.6,medium=1.2",
        "--step-minutes",
        "jar=5,unit=10",
        "--runs-per-year",
        "1000",
        "--splits-dir",
        tmp_path / "none",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["makespan_minutes"] == 25
    assert data["critical_path_minutes"] == 15
    # medium cannot start before the jar (5) and has 40 minutes of work for 2 agents: bound 25 = makespan
    assert data["lower_bound_minutes"] == 25
    assert data["ratio_to_bound"] == 1.0
    assert data["cost_per_run"] == round(5 / 60 * 0.6 + 40 / 60 * 1.2, 2)
    assert data["cost_per_year"] == round(data["cost_per_run"] * 1000, 2)
    assert data["duration_sources"] == {"step-default": 5}
    assert data["schedule_model"] == "jenkins"  # the generated Jenkinsfile's stage order by default
    assert {r["resource"] for r in data["sensitivity"]} == {"small", "medium", "*"}


def test_split_files_feed_the_estimate(tmp_path):
    splits_dir = tmp_path / "splits"
    junit = tmp_path / "junit"
    junit.mkdir()
    for cls, seconds in {"A": 1200, "B": 600, "C": 600, "D": 300, "E": 300}.items():
        (junit / f"TEST-{cls}.xml").write_text(
            f'<testsuite><testcase classname="{cls}" name="t" time="{seconds}"/></testsuite>'
        )
    made = CliRunner().invoke(
        main, ["splits", "--step", "unit", "--splits", "2", "--junit", str(junit), "-o", str(splits_dir)]
    )
    assert made.exit_code == 0, made.output
    result = _run(
        "--plan-json",
        _plan_file(tmp_path, splits=2),
        "--agents",
        "small=1,medium=2",
        "--splits-dir",
        splits_dir,
        "--setup-minutes",
        "1",
        "--step-minutes",
        "jar=5",
        "--json",
        "--no-sensitivity",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # LPT: {A, D} = 25 min, {B, C, E} = 25 min; + 1 min setup, after the 5-minute jar
    assert data["makespan_minutes"] == 31
    assert data["duration_sources"] == {"split-files": 2, "step-default": 1}
    # the plan now has 4 splits: the 2-split predictions no longer apply, and the report says so
    result = _run(
        "--plan-json",
        _plan_file(tmp_path, splits=4),
        "--agents",
        "small=1,medium=2",
        "--splits-dir",
        splits_dir,
        "--json",
        "--no-sensitivity",
    )
    data = json.loads(result.stdout)
    assert data["duration_sources"] == {"default": 5}
    assert any("has 2 splits but the plan has 4" in n for n in data["notes"])


def test_target_minutes_finds_agents_and_html_has_a_gantt_bar_per_attempt(tmp_path):
    page = tmp_path / "estimate.html"
    result = _run(
        "--plan-json",
        _plan_file(tmp_path, splits=8),
        "--target-minutes",
        "25",
        "--step-minutes",
        "jar=5,unit=10",
        "--html",
        page,
        "--splits-dir",
        tmp_path / "none",
    )
    assert result.exit_code == 0, result.output
    assert "target 25.0 min: reachable with medium=4, small=1" in result.output
    doc = lxml_html.parse(str(page))
    assert len(doc.xpath("//svg//rect")) == 9
    titles = doc.xpath("//svg//rect/title/text()")
    assert any(t.startswith("unit jdk11 8of8 (attempt 1)") for t in titles)
    assert len(doc.xpath("//svg//rect[@stroke]")) == 2  # the critical path: the jar, then one unit cell
    assert "give --price" in result.output  # no prices: no made-up cost of 0.00
    ticks = doc.xpath("//svg/text/text()")

    assert {"0 min", "5 min", "20 min"} <= set(ticks)  # a time axis in round minutes


def test_html_escapes_cell_names(tmp_path):
    cells = (_cell("x", "<script>alert(1)</script>", "small"),)
    path = tmp_path / "plan.json"
    path.write_text(Plan(Parameters(profile="p"), True, cells).to_json())
    page = tmp_path / "e.html"
    result = _run(
        "--plan-json", path, "--agents", "small=1", "--html", page, "--splits-dir", tmp_path / "none"
    )
    assert result.exit_code == 0, result.output
    assert "<script>" not in page.read_text()


def test_missing_agents_is_a_usage_error_naming_the_classes(tmp_path):
    result = _run("--plan-json", _plan_file(tmp_path), "--splits-dir", tmp_path / "none")
    assert result.exit_code == 2
    assert "medium=N" in result.output and "small=N" in result.output
    result = _run(
        "--plan-json", _plan_file(tmp_path), "--agents", "medium=2", "--splits-dir", tmp_path / "none"
    )
    assert result.exit_code == 2
    assert "--agents small=" in result.output
    result = _run("--plan-json", _plan_file(tmp_path), "--agents", "medium=lots")
    assert result.exit_code == 2 and "NAME=NUMBER" in result.output


def test_compare_with_a_bundle_manifest(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    cells = [{"id": "jar_jdk11", "step": "jar", "attempts": 1, "duration_s": 420.0, "junit": None}] + [
        {"id": f"unit_jdk11_{k}of4", "step": "unit", "attempts": 1, "duration_s": 600.0, "junit": None}
        for k in range(1, 5)
    ]
    (bundle / "manifest.json").write_text(json.dumps({"cells": cells}))
    result = _run(
        "--plan-json",
        _plan_file(tmp_path),
        "--agents",
        "small=1,medium=4",
        "--step-minutes",
        "jar=5,unit=12",
        "--compare",
        bundle,
        "--json",
        "--no-sensitivity",
        "--splits-dir",
        tmp_path / "none",
    )
    assert result.exit_code == 0, result.output
    comparison = json.loads(result.stdout)["comparison"]
    assert comparison["cells"] == 5
    assert comparison["estimated_total_minutes"] == 5 + 4 * 12
    assert comparison["actual_total_minutes"] == 7 + 4 * 10
    assert comparison["per_cell"][0] == {"cell": "jar_jdk11", "estimated": 5, "actual": 7, "error": -2}


def test_bundle_as_timing_source_uses_observed_build_time_and_retry_rate(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    cells = [{"id": "jar_jdk11", "step": "jar", "attempts": 1, "duration_s": 420.0, "junit": None}] + [
        {
            "id": f"unit_jdk11_{k}of4",
            "step": "unit",
            "attempts": 2 if k == 1 else 1,
            "duration_s": 600.0,
            "junit": None,
        }
        for k in range(1, 5)
    ]
    (bundle / "manifest.json").write_text(json.dumps({"cells": cells}))
    result = _run(
        "--plan-json",
        _plan_file(tmp_path),
        "--agents",
        "small=1,medium=4",
        "--bundle",
        bundle,
        "--step-minutes",
        "unit=10",
        "--json",
        "--no-sensitivity",
        "--splits-dir",
        tmp_path / "none",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duration_sources"]["observed"] >= 1
    # jar took 7 min; unit cells 10 min x (1 + 0.25) expected attempts
    assert data["makespan_minutes"] == 7 + 12.5


def test_real_pipeline_sample_project(tmp_path, monkeypatch):
    monkeypatch.chdir(SAMPLE)  # not -C: that would leave the whole test process in another directory
    result = _run(
        "--pipeline",
        "pipeline.yaml",
        "--profile",
        "full",
        "--agents",
        "small=2,medium=2",
        "--json",
        "--no-sensitivity",
        "--step-minutes",
        "jar=1,unit=3,pytest=2",
        "--splits-dir",
        tmp_path / "none",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    # both jars at 0-1 on the 2 small agents; then 5 medium cells (four 3-minute unit splits, one 2-minute
    # pytest cell) on 2 agents in plan order: 1-4, 1-4, 4-7, 4-7, 7-9
    assert [c["cell"] for c in data["schedule"]][:2] == ["jar_jdk11", "jar_jdk17"]
    assert data["makespan_minutes"] == 9
    assert data["critical_path_cells"][0].startswith("jar")


def test_setup_cost_is_learned_from_a_bundle_and_unrun_cells_are_not_compared(tmp_path):
    bundle = tmp_path / "bundle"
    (bundle / "junit").mkdir(parents=True)
    cells = [{"id": "jar_jdk11", "step": "jar", "attempts": 1, "duration_s": 300.0, "junit": None}]
    for k in range(1, 4):
        # each unit cell ran 8 minutes of tests in 10 minutes of wall time: 2 minutes of setup
        (bundle / "junit" / f"{k}.xml").write_text(
            f'<testsuite><testcase classname="org.T{k}" name="a" time="300"/>'
            f'<testcase classname="org.T{k}" name="b" time="180"/></testsuite>'
        )
        cells.append(
            {
                "id": f"unit_jdk11_{k}of4",
                "step": "unit",
                "attempts": 1,
                "duration_s": 600.0,
                "junit": f"junit/{k}.xml",
            }
        )
    cells.append({"id": "unit_jdk11_4of4", "step": "unit", "attempts": 0, "duration_s": 0.0, "junit": None})
    (bundle / "manifest.json").write_text(json.dumps({"cells": cells}))
    result = _run(
        "--plan-json",
        _plan_file(tmp_path),
        "--agents",
        "small=1,medium=4",
        "--bundle",
        bundle,
        "--compare",
        bundle,
        "--json",
        "--no-sensitivity",
        "--splits-dir",
        tmp_path / "none",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["duration_sources"] == {"observed": 1, "timings": 4}
    assert data["makespan_minutes"] == 5 + 10  # jar, then every unit cell 8 min of tests + 2 learned
    assert data["comparison"]["cells"] == 4  # unit_jdk11_4of4 never ran: nothing to compare
    assert data["comparison"]["mean_absolute_error_minutes"] == 0
    suggested = _run(
        "--plan-json",
        _plan_file(tmp_path),
        "--agents",
        "small=1,medium=4",
        "--bundle",
        bundle,
        "--suggest-splits",
        "10",
        "--json",
        "--no-sensitivity",
        "--splits-dir",
        tmp_path / "none",
    )
    (row,) = json.loads(suggested.stdout)["split_suggestions"]
    # three 8-minute classes + 2 minutes of setup: 3 splits of exactly 10 minutes, one setup saved
    assert row == {
        "step": "unit",
        "configured": 4,
        "suggested": 3,
        "slowest_cell_minutes_now": 10.0,
        "slowest_cell_minutes_suggested": 10.0,
        "agent_hours_now": 0.53,
        "agent_hours_suggested": 0.5,
        "feasible": True,
    }


def test_a_run_directory_is_not_a_bundle_and_the_error_says_how_to_make_one(tmp_path):
    (tmp_path / "run").mkdir()
    result = _run(
        "--plan-json", _plan_file(tmp_path), "--agents", "small=1,medium=1", "--compare", tmp_path / "run"
    )
    assert result.exit_code == 2
    assert "--compare" in result.output and "pipelinegen results collect" in result.output


def test_arch_is_spelled_as_in_plan_and_run(tmp_path, monkeypatch):
    # `plan`, `run`, `explain` and `test-on-clone` take --arch (alias --architecture); estimate must too.
    monkeypatch.chdir(SAMPLE)
    common = ("--profile", "smoke", "--agents", "small=2,medium=2", "--json", "--no-sensitivity",
              "--step-minutes", "jar=1,unit=3", "--splits-dir", tmp_path / "none")
    short = _run(*common, "--arch", "amd64")
    assert short.exit_code == 0, short.output
    long = _run(*common, "--architecture", "amd64")
    assert json.loads(short.stdout)["makespan_minutes"] == json.loads(long.stdout)["makespan_minutes"]
    assert _run(*common, "--arch", "sparc").exit_code == 2
