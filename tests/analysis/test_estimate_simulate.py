"""The plan simulator reproduces hand-computed makespans; bounds, costs and agent search are consistent."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinegen.analysis.estimate import (
    DurationModel,
    Task,
    agents_for_target,
    compare,
    critical_path,
    estimate,
    sampled_makespans,
    sensitivity,
    simulate,
    tasks_from_cells,
    with_stage_barriers,
)
from pipelinegen.plan.cell import Cell


def cell(
    id_, step="unit", resource="medium", split=1, splits=1, deps=(), attempts=1, timeout=60, build_once=False
):
    return Cell(
        id=id_,
        name=id_.replace("_", " "),
        step=step,
        kind="build" if build_once else "test",
        axes=(("jdk", "11"),),
        split=split,
        splits=splits,
        command="true",
        resource=resource,
        label=f"x-amd64-{resource}",
        cpu=1,
        memory_gb=1,
        timeout_minutes=timeout,
        attempts=attempts,
        depends_on=tuple(deps),
        build_once=build_once,
    )


def task(id_, minutes, resource="medium", deps=(), attempts=1):
    return Task(id_, id_, "s", resource, float(minutes), attempts, tuple(deps))


def test_hand_computed_makespan_with_build_once_dependency():
    # jar (5 min, small) then four 10-minute test cells on 2 medium agents: 5 + 10 + 10 = 25
    tasks = [task("jar", 5, "small")] + [task(f"t{i}", 10, deps=["jar"]) for i in range(4)]
    sched = simulate(tasks, {"small": 1, "medium": 2})
    assert sched.makespan == 25
    starts = {b.task_id: b.start for b in sched.bars}
    assert starts == {"jar": 0, "t0": 5, "t1": 5, "t2": 15, "t3": 15}


def test_fifo_queue_in_plan_order_and_queue_time():
    # one agent, three cells of 3, 1, 2 minutes in plan order: ends at 3, 4, 6; waits 0, 3, 4
    tasks = [task("a", 3), task("b", 1), task("c", 2)]
    result = estimate(tasks, {"medium": 1})
    assert result.makespan == 6
    assert [(b.task_id, b.start, b.end) for b in result.schedule.bars] == [
        ("a", 0, 3),
        ("b", 3, 4),
        ("c", 4, 6),
    ]
    assert result.queue_total == 7
    assert result.queue_max == 4
    assert result.lower_bound == 6 and result.ratio == 1.0


def test_independent_classes_run_in_parallel_and_bound_is_the_busiest_class():
    tasks = [task("s1", 4, "small"), task("s2", 4, "small"), task("l1", 30, "large")]
    result = estimate(tasks, {"small": 1, "large": 1}, prices={"small": 0.1, "large": 1.2}, runs_per_year=100)
    assert result.makespan == 30
    assert result.critical_path == 30
    assert result.capacity_bound == 30
    by_class = {c.resource: c for c in result.classes}
    assert by_class["small"].utilisation == pytest.approx(8 / 30)
    # busy agent-hours x price: small 8 min at 0.1/h, large 30 min at 1.2/h
    assert result.cost_per_run == pytest.approx(8 / 60 * 0.1 + 30 / 60 * 1.2)
    assert result.cost_per_year == pytest.approx(result.cost_per_run * 100)
    assert by_class["small"].cost_pool == pytest.approx(30 / 60 * 0.1)


def test_retry_requeues_the_cell_behind_waiting_work():
    # a fails once: attempt 1 [0,4), b [4,6), a's retry [6,10) on the single agent
    tasks = [task("a", 4, attempts=2), task("b", 2)]
    sched = simulate(tasks, {"medium": 1})
    assert [(b.task_id, b.attempt, b.start, b.end) for b in sched.bars] == [
        ("a", 1, 0, 4),
        ("b", 1, 4, 6),
        ("a", 2, 6, 10),
    ]
    # a dependant waits for the final attempt only
    tasks = [task("a", 4, attempts=2), task("d", 1, deps=["a"])]
    assert simulate(tasks, {"medium": 2}).makespan == 9


def test_critical_path_follows_dependencies():
    tasks = [task("jar", 5), task("long", 20, deps=["jar"]), task("other", 22)]
    length, chain = critical_path(tasks)
    assert length == 25 and chain == ["jar", "long"]


def test_missing_agents_and_unknown_dependencies_are_clear_errors():
    with pytest.raises(ValueError, match="--agents large="):
        simulate([task("a", 1, "large")], {"medium": 3})
    with pytest.raises(ValueError, match="not in the plan"):
        simulate([task("a", 1, deps=["ghost"])], {"medium": 1})


def test_duration_sources_in_priority_order():
    model = DurationModel(
        default_minutes=7,
        setup_minutes=1,
        step_minutes={"lint": 3},
        test_seconds={"unit": {"A": 600.0, "B": 300.0, "C": 300.0}},
        split_seconds={"long": [120.0, 60.0]},
        observed_minutes={"unit_2of2": 42.0},
    )
    cells = [
        cell("unit_1of2", split=1, splits=2),
        cell("unit_2of2", split=2, splits=2),
        cell("long_2of2", step="long", split=2, splits=2),
        cell("lint", step="lint"),
        cell("other", step="other"),
    ]
    got = {t.id: (t.minutes, t.source) for t in tasks_from_cells(cells, model)}
    assert got == {
        "unit_1of2": (11.0, "timings"),  # LPT: A alone (600 s) + 1 min setup
        "unit_2of2": (42.0, "observed"),
        "long_2of2": (2.0, "split-files"),  # 60 s + setup
        "lint": (3.0, "step-default"),
        "other": (7.0, "default"),
    }


def test_expected_attempts_and_timeout_cap():
    model = DurationModel(default_minutes=10, retry_rate={"unit": 0.5})
    (t,) = tasks_from_cells([cell("u", attempts=2)], model)
    assert t.minutes == pytest.approx(15.0)  # 10 + 0.5 * 10
    (t,) = tasks_from_cells([cell("u", timeout=6)], DurationModel(default_minutes=10))
    assert t.minutes == 6 and t.timed_out
    # killed at the timeout on every attempt: both attempts are spent, whatever the retry rate
    (t,) = tasks_from_cells([cell("u", timeout=6, attempts=2)], DurationModel(default_minutes=10))
    assert t.minutes == 12 and t.timed_out
    (t,) = tasks_from_cells(
        [cell("u", timeout=6, attempts=2)], DurationModel(default_minutes=10), random.Random(1)
    )
    assert (t.minutes, t.attempts) == (6, 2)


def test_sampled_runs_are_reproducible_and_bracket_the_no_failure_case():
    cells = [cell(f"u{i}", attempts=2) for i in range(10)]
    model = DurationModel(default_minutes=10, retry_rate={"*": 0.3})
    first = sampled_makespans(cells, model, {"medium": 10}, samples=20, seed=1)
    assert first == sampled_makespans(cells, model, {"medium": 10}, samples=20, seed=1)
    assert min(first) >= 10 and max(first) <= 20
    assert max(first) == 20  # with 10 cells at 30 % some run retries
    no_retry = tasks_from_cells(cells, DurationModel(default_minutes=10), random.Random(0))
    assert all(t.attempts == 1 for t in no_retry)


def test_sensitivity_more_agents_never_slower_here():
    tasks = [task(f"t{i}", 10 + i % 3) for i in range(12)]
    rows = sensitivity(tasks, {"medium": 4}, prices={"medium": 1.0}, factors=(0.5, 2.0, 3.0))
    spans = {r.factor: r.makespan for r in rows if r.resource == "medium"}
    assert spans[0.5] >= 132 / 2  # 2 agents share 132 minutes of work
    assert spans[2.0] == 23  # 8 agents: t11 (12 min) starts when t1 ends at 11
    assert spans[3.0] == 12  # 12 agents: every cell alone, the longest is 12
    costs = {r.factor: r.cost_per_run for r in rows if r.resource == "medium"}
    assert costs[0.5] == pytest.approx(costs[3.0])  # busy agent-hours do not depend on the pool
    assert {r.resource for r in rows} == {"medium", "*"}


def test_agents_for_target_meets_it_and_reports_infeasible():
    tasks = [task("jar", 5, "small")] + [task(f"t{i}", 10, deps=["jar"]) for i in range(20)]
    result = agents_for_target(tasks, 25)
    assert result.feasible
    assert result.makespan <= 25
    assert result.agents == {"small": 1, "medium": 10}  # 2 rounds of 10 after the jar
    assert simulate(tasks, result.agents).makespan <= 25
    assert not agents_for_target(tasks, 14).feasible  # jar + one test = 15 > 14


def test_compare_estimated_vs_actual():
    tasks = [task("a", 10), task("b", 5)]
    rows = compare(tasks, {"a": 12.0})
    assert [(r.cell_id, r.error) for r in rows] == [("a", -2.0)]


@st.composite
def random_plans(draw):
    n = draw(st.integers(min_value=1, max_value=25))
    tasks = []
    for i in range(n):
        deps = draw(st.lists(st.integers(min_value=0, max_value=i - 1), max_size=2, unique=True)) if i else []
        tasks.append(
            task(
                f"c{i}",
                draw(st.integers(min_value=1, max_value=30)),
                draw(st.sampled_from(["small", "large"])),
                deps=[f"c{d}" for d in deps],
                attempts=draw(st.integers(min_value=1, max_value=2)),
            )
        )
    agents = {"small": draw(st.integers(1, 4)), "large": draw(st.integers(1, 4))}
    return tasks, agents


@settings(max_examples=60, deadline=None)
@given(random_plans())
def test_no_schedule_beats_the_lower_bound_and_dependencies_hold(plan):
    tasks, agents = plan
    result = estimate(tasks, agents)
    assert result.lower_bound <= result.makespan + 1e-9
    ends = {}
    for b in result.schedule.bars:
        ends[b.task_id] = max(ends.get(b.task_id, 0), b.end)
    starts = {}
    for b in result.schedule.bars:
        starts.setdefault(b.task_id, b.start)
    for t in tasks:
        for dep in t.depends_on:
            assert starts[t.id] >= ends[dep]
    # never more agents of a class busy than it has
    for c in result.classes:
        assert c.peak_agents <= agents.get(c.resource, 0)


def test_dependency_cycle_is_reported():
    with pytest.raises(ValueError, match="cycle"):
        critical_path([task("a", 1, deps=["b"]), task("b", 1, deps=["a"])])


def test_agents_named_by_label_form_their_own_pool():
    arm = cell("u_arm", resource="medium")
    arm = Cell(**{**arm.__dict__, "label": "x-arm64-medium"})
    cells = [cell("u1"), cell("u2"), arm]
    model = DurationModel(default_minutes=10)
    shared = simulate(tasks_from_cells(cells, model), {"medium": 1})
    assert shared.makespan == 30  # one medium agent for all three
    tasks = tasks_from_cells(cells, model, label_pools={"x-arm64-medium"})
    split = simulate(tasks, {"medium": 1, "x-arm64-medium": 1})
    assert split.makespan == 20  # the arm64 cell runs on its own machine
    assert {t.resource for t in tasks} == {"medium", "x-arm64-medium"}


def test_sensitivity_rows_change_small_pools_and_skip_duplicates():
    tasks = [task(f"t{i}", 10) for i in range(6)]
    rows = sensitivity(tasks, {"medium": 2})
    counts = [r.agents["medium"] for r in rows if r.resource == "medium"]
    assert counts == [1, 3, 4]  # x0.5 -> 1, x0.75 -> 1 (dup), x1.25 -> 3, x1.5 -> 3 (dup), x2 -> 4
    assert {r.makespan for r in rows if r.resource == "medium"} == {60, 20}


def test_jenkins_stage_barriers_vs_dependency_driven():
    # jar jdk11 5 min, jar jdk17 10 min, dtest-jars jdk11 (build-once, after jar jdk11) 5 min,
    # unit jdk11 20 min (after jar jdk11), unit jdk17 10 min (after jar jdk17); plenty of agents
    cells = [
        cell("jar11", step="jar", resource="small", build_once=True),
        cell("jar17", step="jar", resource="small", build_once=True),
        cell("dj11", step="dtest-jars", resource="small", deps=["jar11"], build_once=True),
        cell("unit11", deps=["jar11"]),
        cell("unit17", deps=["jar17"]),
    ]
    model = DurationModel(observed_minutes={"jar11": 5, "jar17": 10, "dj11": 5, "unit11": 20, "unit17": 10})
    agents = {"small": 3, "medium": 2}
    dag = simulate(tasks_from_cells(cells, model), agents)
    # dag: dj11 5-10, unit11 5-25, unit17 10-20
    assert dag.makespan == 25
    staged = simulate(with_stage_barriers(tasks_from_cells(cells, model), cells), agents)
    starts = {b.task_id: b.start for b in staged.bars}
    # Jenkinsfile: wave 1 = both jars (0-10); wave 2 = dj11 starts at 10 (15); tests start at 15
    assert starts == {"jar11": 0, "jar17": 0, "dj11": 10, "unit11": 15, "unit17": 15}
    assert staged.makespan == 35


def test_publish_cells_wait_for_every_test_cell():
    cells = [cell("t1"), cell("t2"), Cell(**{**cell("pub").__dict__, "kind": "publish"})]
    model = DurationModel(observed_minutes={"t1": 3, "t2": 7, "pub": 1})
    staged = simulate(with_stage_barriers(tasks_from_cells(cells, model), cells), {"medium": 3})
    assert {b.task_id: b.start for b in staged.bars}["pub"] == 7
