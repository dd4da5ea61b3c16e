"""Turnaround and cost estimates: a discrete-event simulation of a plan on an agent pool.

Model (deliberately simple, and stated in every report so nobody mistakes it for a measurement):
- one agent runs one cell at a time; each resource class (small/medium/large) is its own pool;
- a cell is ready when every cell it depends on (build-once cells) has finished; ready cells wait in a
  FIFO queue per class (Jenkins' queue), ties by plan order;
- a cell's attempt takes its estimated minutes (tests + per-cell setup), cut at its timeout; a failed
  attempt is assumed to run to the end, then the cell re-enters the queue (Cassandra retries on another
  node); in expected-value mode an attempt that fails with probability p makes the cell take
  (1 + p + ... + p^(attempts-1)) × its minutes, in sampled mode each attempt fails at random.
The lower bound max(critical path, earliest start + work/agents of the busiest class) is what no scheduler can beat, so
makespan / bound says how much is lost to queueing and dependencies rather than to the pool size.
"""

from __future__ import annotations

import functools
import heapq
import math
import random
import statistics
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from pipelinegen.analysis.splits import balance
from pipelinegen.plan.cell import Cell
from pipelinegen.step_kinds import BUILD_STAGE, PUBLISH_STAGE, TESTS_STAGE, stage_of

SENSITIVITY_FACTORS = (0.5, 0.75, 1.25, 1.5, 2.0)


# ---------------------------------------------------------------- per-cell durations


@dataclass(frozen=True)
class DurationModel:
    """Where each cell's minutes come from, best source first."""

    default_minutes: float = 10.0  # a cell we know nothing about (Cassandra aims splits at ~10 min)
    setup_minutes: float = 2.0  # fixed per-cell cost: agent start, checkout, docker pull, unstash
    step_minutes: Mapping[str, float] = field(default_factory=dict)  # per-step whole-cell minutes
    step_setup_minutes: Mapping[str, float] = field(default_factory=dict)
    test_seconds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # step -> test -> s
    split_seconds: Mapping[str, Sequence[float]] = field(
        default_factory=dict
    )  # step -> per split (splits.json)
    observed_minutes: Mapping[str, float] = field(default_factory=dict)  # cell id -> minutes of a real run
    retry_rate: Mapping[str, float] = field(default_factory=dict)  # step -> P(attempt fails); "*" = all

    def setup(self, step: str) -> float:
        return self.step_setup_minutes.get(step, self.setup_minutes)

    def failure_probability(self, step: str) -> float:
        return min(1.0, max(0.0, self.retry_rate.get(step, self.retry_rate.get("*", 0.0))))

    def cell_minutes(self, cell: Cell) -> tuple[float, str]:
        """Minutes for one attempt of the cell, and which source gave it."""
        if cell.id in self.observed_minutes:
            return self.observed_minutes[cell.id], "observed"
        per_split = self.split_seconds.get(cell.step)
        if per_split is not None and len(per_split) == cell.splits:
            return per_split[cell.split - 1] / 60 + self.setup(cell.step), "split-files"
        tests = self.test_seconds.get(cell.step)
        if tests:
            loads = _lpt_loads(tuple(sorted(tests.items())), cell.splits)
            return loads[cell.split - 1] / 60 + self.setup(cell.step), "timings"
        if cell.step in self.step_minutes:
            return self.step_minutes[cell.step], "step-default"
        return self.default_minutes, "default"


@functools.lru_cache(maxsize=64)
def _lpt_loads(items: tuple[tuple[str, float], ...], n: int) -> tuple[float, ...]:
    # Every split of a step asks for the same LPT; compute it once per (tests, n).
    return tuple(s.seconds for s in balance(dict(items), n)[1])


# ---------------------------------------------------------------- simulation input and output


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    step: str
    resource: str
    minutes: float  # one attempt, already cut at the timeout
    attempts: int  # attempts this simulated run makes (1 = passes first time)
    depends_on: tuple[str, ...] = ()
    source: str = "default"  # where the minutes came from
    timed_out: bool = False  # the estimate exceeded the cell's timeout


@dataclass(frozen=True)
class Bar:
    """One attempt of one cell on one agent: a bar of the Gantt chart."""

    task_id: str
    resource: str
    agent: int  # 0-based index within its class
    attempt: int
    ready: float
    start: float
    end: float


@dataclass(frozen=True)
class Schedule:
    bars: tuple[Bar, ...]
    makespan: float


def tasks_from_cells(
    cells: Sequence[Cell],
    model: DurationModel,
    sample: random.Random | None = None,
    label_pools: Collection[str] = (),
) -> list[Task]:
    """Cells -> tasks; attempts are expected values (no `sample`) or drawn at random (with one).

    A task's pool is its resource class, or its agent label when that label is in `label_pools`
    (arm64 and amd64 agents of one size are different machines: `--agents cassandra-arm64-large=8`).
    """
    tasks = []
    for cell in cells:
        minutes, source = model.cell_minutes(cell)
        limit = float(cell.timeout_minutes) if cell.timeout_minutes else math.inf
        timed_out = minutes > limit
        minutes = min(minutes, limit)
        # A cell estimated past its timeout is killed on every attempt: it uses them all.
        p = 1.0 if timed_out else model.failure_probability(cell.step)
        attempts_allowed = max(1, cell.attempts)
        if sample is None:
            minutes *= sum(p**i for i in range(attempts_allowed))
            attempts = 1
        else:
            attempts = 1
            while attempts < attempts_allowed and sample.random() < p:
                attempts += 1
        tasks.append(
            Task(
                cell.id,
                cell.name,
                cell.step,
                cell.label if cell.label in label_pools else cell.resource,
                minutes,
                attempts,
                cell.depends_on,
                source,
                timed_out,
            )
        )
    return tasks


SCHEDULES = ("jenkins", "dag")


def jenkins_stage(cell: Cell) -> str:
    """The stage of the generated Jenkinsfile a cell runs in (the plan data's `stage`, pipelinegen/step_kinds.py)."""
    return stage_of(cell.kind, cell.build_once)


def with_stage_barriers(tasks: Sequence[Task], cells: Sequence[Cell]) -> list[Task]:
    """Add the waits the generated Jenkinsfile imposes beyond the cells' own dependencies.

    Its 'build' stage runs the build-once cells in dependency waves (a wave starts when the whole
    previous wave has finished), 'tests' starts when every build-once cell is done, 'publish' after
    'tests'. A test cell therefore waits for the slowest jar, not only for its own.
    """
    stage = {c.id: jenkins_stage(c) for c in cells}
    waves: list[list[str]] = []
    remaining = [t for t in tasks if stage[t.id] == BUILD_STAGE]
    while remaining:
        waiting = {t.id for t in remaining}
        wave = [t for t in remaining if not any(d in waiting for d in t.depends_on)]
        if not wave:
            raise ValueError(f"build-once cells wait on each other, e.g. {remaining[0].id}")
        waves.append([t.id for t in wave])
        started = set(waves[-1])
        remaining = [t for t in remaining if t.id not in started]
    before: dict[str, list[str]] = {}  # task id -> the cells whose end it must wait for
    for k, wave in enumerate(waves[1:]):
        for tid in wave:
            before[tid] = waves[k]
    last_build = waves[-1] if waves else []
    tests = [t.id for t in tasks if stage[t.id] == TESTS_STAGE]
    for t in tasks:
        if stage[t.id] == TESTS_STAGE:
            before[t.id] = last_build
        elif stage[t.id] == PUBLISH_STAGE:
            before[t.id] = tests or last_build
    return [
        replace(t, depends_on=tuple(dict.fromkeys([*t.depends_on, *before.get(t.id, ())]))) for t in tasks
    ]


def simulate(tasks: Sequence[Task], agents: Mapping[str, int]) -> Schedule:
    """Event-driven list scheduling: FIFO per resource class, dependencies respected."""
    by_id = {t.id: t for t in tasks}
    _check_inputs(tasks, by_id, agents)
    order = {t.id: i for i, t in enumerate(tasks)}
    waiting_on = {t.id: len(set(t.depends_on)) for t in tasks}
    dependants: dict[str, list[str]] = defaultdict(list)
    for t in tasks:
        for dep in set(t.depends_on):
            dependants[dep].append(t.id)
    queues: dict[str, list] = defaultdict(list)  # resource -> heap of (ready, order, attempt, id)
    free = {res: list(range(count)) for res, count in agents.items()}  # heaps of free agent indices
    running: list = []  # heap of (end, order, id, attempt, agent, ready, start)
    bars: list[Bar] = []
    for t in tasks:
        if waiting_on[t.id] == 0:
            heapq.heappush(queues[t.resource], (0.0, order[t.id], 1, t.id))
    now = 0.0
    done = 0
    while True:
        for res, queue in queues.items():
            while queue and free[res]:
                ready, _, attempt, tid = heapq.heappop(queue)
                agent = heapq.heappop(free[res])
                heapq.heappush(
                    running, (now + by_id[tid].minutes, order[tid], tid, attempt, agent, ready, now)
                )
        if not running:
            break
        now = running[0][0]
        while running and running[0][0] == now:
            end, _, tid, attempt, agent, ready, start = heapq.heappop(running)
            task = by_id[tid]
            bars.append(Bar(tid, task.resource, agent, attempt, ready, start, end))
            heapq.heappush(free[task.resource], agent)
            if attempt < task.attempts:
                heapq.heappush(queues[task.resource], (now, order[tid], attempt + 1, tid))
                continue
            done += 1
            for child in dependants[tid]:
                waiting_on[child] -= 1
                if waiting_on[child] == 0:
                    heapq.heappush(queues[by_id[child].resource], (now, order[child], 1, child))
    if done != len(tasks):  # only a dependency cycle can get here: inputs were checked
        stuck = sorted(t for t, n in waiting_on.items() if n > 0)
        raise ValueError(f"dependency cycle: {len(stuck)} cells never become ready, e.g. {stuck[0]}")
    bars.sort(key=lambda b: (b.start, order[b.task_id], b.attempt))
    return Schedule(tuple(bars), max((b.end for b in bars), default=0.0))


def _check_inputs(tasks: Sequence[Task], by_id: Mapping[str, Task], agents: Mapping[str, int]) -> None:
    for t in tasks:
        if agents.get(t.resource, 0) < 1:
            raise ValueError(
                f"cell {t.id} needs a {t.resource!r} agent but the pool has none; add e.g. --agents {t.resource}=10"
            )
        for dep in t.depends_on:
            if dep not in by_id:
                raise ValueError(f"cell {t.id} depends on {dep!r}, which is not in the plan")


# ---------------------------------------------------------------- bounds and metrics


def earliest_finish(tasks: Sequence[Task]) -> tuple[dict[str, float], dict[str, str | None]]:
    """With unlimited agents: when each cell finishes, and which dependency held it back last."""
    by_id = {t.id: t for t in tasks}
    waiting = {t.id: len(set(t.depends_on)) for t in tasks}
    dependants: dict[str, list[str]] = defaultdict(list)
    for t in tasks:
        for dep in set(t.depends_on):
            dependants[dep].append(t.id)
    start: dict[str, float] = {t.id: 0.0 for t in tasks}
    via: dict[str, str | None] = {t.id: None for t in tasks}
    finish: dict[str, float] = {}
    ready = [t.id for t in tasks if waiting[t.id] == 0]
    while ready:  # Kahn's topological order: no recursion limit on long chains
        tid = ready.pop()
        task = by_id[tid]
        finish[tid] = start[tid] + task.minutes * task.attempts
        for child in dependants[tid]:
            if finish[tid] > start[child] or via[child] is None:
                start[child], via[child] = max(start[child], finish[tid]), tid
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    if len(finish) != len(by_id):
        stuck = sorted(set(by_id) - set(finish))
        raise ValueError(f"dependency cycle: {len(stuck)} cells never become ready, e.g. {stuck[0]}")
    return finish, via


def critical_path(tasks: Sequence[Task]) -> tuple[float, list[str]]:
    """Longest chain of dependent work (infinite agents), and the cells on it."""
    finish, via = earliest_finish(tasks)
    if not finish:
        return 0.0, []
    last = max(finish, key=lambda k: (finish[k], k))
    chain: list[str] = []
    node: str | None = last
    while node is not None:
        chain.append(node)
        node = via[node]
    return finish[last], chain[::-1]


def capacity_bound(tasks: Sequence[Task], agents: Mapping[str, int]) -> float:
    """max over classes of (earliest any of its cells can start + its work / its agents).

    Cassandra's test cells all wait for the jar, so this is tighter than plain work/agents and still a
    true bound: no cell of the class starts before that moment, and the class's agents must still do all
    of its work.
    """
    finish, _ = earliest_finish(tasks)
    first: dict[str, float] = {}
    work: dict[str, float] = defaultdict(float)
    for t in tasks:
        duration = t.minutes * t.attempts
        work[t.resource] += duration
        first[t.resource] = min(first.get(t.resource, math.inf), finish[t.id] - duration)
    return max((first[r] + work[r] / agents[r] for r in work), default=0.0)


@dataclass(frozen=True)
class ClassStats:
    resource: str
    agents: int
    cells: int
    work_minutes: float
    utilisation: float  # busy / (agents × makespan)
    peak_agents: int  # most agents of this class busy at once
    price_per_hour: float
    cost_busy: float  # agent-hours actually busy × price (an autoscaled pool)
    cost_pool: float  # agents × makespan × price (a fixed pool kept for the whole run)


@dataclass(frozen=True)
class Estimate:
    makespan: float
    critical_path: float
    critical_cells: tuple[str, ...]
    capacity_bound: float  # max over classes of earliest start + work / agents
    lower_bound: float
    ratio: float  # makespan / lower_bound (1.0 = nothing lost to scheduling)
    queue_total: float
    queue_mean: float
    queue_max: float
    classes: tuple[ClassStats, ...]
    cost_per_run: float  # busy agent-hours × price
    cost_per_year: float
    runs_per_year: int
    sources: Mapping[str, int]  # duration source -> number of cells
    timed_out: tuple[str, ...]  # cells whose estimate exceeds their timeout
    schedule: Schedule


def estimate(
    tasks: Sequence[Task],
    agents: Mapping[str, int],
    prices: Mapping[str, float] | None = None,
    runs_per_year: int = 0,
) -> Estimate:
    prices = prices or {}
    schedule = simulate(tasks, agents)
    cp, chain = critical_path(tasks)
    work: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for t in tasks:
        count[t.resource] += 1
    for bar in schedule.bars:
        work[bar.resource] += bar.end - bar.start
    capacity = capacity_bound(tasks, agents)
    bound = max(cp, capacity)
    makespan = schedule.makespan
    classes = []
    for res in sorted(set(count) | {r for r, n in agents.items() if n > 0}):
        n = agents.get(res, 0)
        price = prices.get(res, 0.0)
        classes.append(
            ClassStats(
                resource=res,
                agents=n,
                cells=count[res],
                work_minutes=work[res],
                utilisation=work[res] / (n * makespan) if n and makespan else 0.0,
                peak_agents=_peak([b for b in schedule.bars if b.resource == res]),
                price_per_hour=price,
                cost_busy=work[res] / 60 * price,
                cost_pool=n * makespan / 60 * price,
            )
        )
    queues = [b.start - b.ready for b in schedule.bars]
    sources: dict[str, int] = defaultdict(int)
    for t in tasks:
        sources[t.source] += 1
    per_run = sum(c.cost_busy for c in classes)
    return Estimate(
        makespan=makespan,
        critical_path=cp,
        critical_cells=tuple(chain),
        capacity_bound=capacity,
        lower_bound=bound,
        ratio=makespan / bound if bound else 1.0,
        queue_total=sum(queues),
        queue_mean=statistics.fmean(queues) if queues else 0.0,
        queue_max=max(queues, default=0.0),
        classes=tuple(classes),
        cost_per_run=per_run,
        cost_per_year=per_run * runs_per_year,
        runs_per_year=runs_per_year,
        sources=dict(sorted(sources.items())),
        timed_out=tuple(t.id for t in tasks if t.timed_out),
        schedule=schedule,
    )


def _peak(bars: Sequence[Bar]) -> int:
    events = sorted([(b.start, 1) for b in bars] + [(b.end, -1) for b in bars], key=lambda e: (e[0], e[1]))
    peak = level = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


# ---------------------------------------------------------------- what-if questions


@dataclass(frozen=True)
class SensitivityRow:
    resource: str  # the class whose count changed ("*" = every class)
    factor: float
    agents: Mapping[str, int]
    makespan: float
    cost_per_run: float
    cost_pool: float


def sensitivity(
    tasks: Sequence[Task],
    agents: Mapping[str, int],
    prices: Mapping[str, float] | None = None,
    factors: Sequence[float] = SENSITIVITY_FACTORS,
) -> list[SensitivityRow]:
    """Makespan and cost when one class (or all) has `factor` times its agents, the rest unchanged."""
    prices = prices or {}
    used = sorted({t.resource for t in tasks})
    rows = []
    for res in [*used, "*"]:
        seen = {tuple(sorted(agents.items()))}  # the baseline, and counts already tried
        for factor in factors:
            pool = dict(agents)
            for r in used if res == "*" else [res]:
                # round away from the baseline so that a small pool still changes (3 x 1.25 -> 4, not 3)
                scaled = agents[r] * factor
                pool[r] = max(1, math.ceil(scaled - 1e-9) if factor > 1 else math.floor(scaled + 1e-9))
            key = tuple(sorted(pool.items()))
            if key in seen:
                continue
            seen.add(key)
            sched = simulate(tasks, pool)
            busy = _busy_cost(sched, prices)
            pool_cost = sum(pool[r] * sched.makespan / 60 * prices.get(r, 0.0) for r in used)
            rows.append(SensitivityRow(res, factor, pool, sched.makespan, busy, pool_cost))
    return rows


def _busy_cost(schedule: Schedule, prices: Mapping[str, float]) -> float:
    return sum((b.end - b.start) / 60 * prices.get(b.resource, 0.0) for b in schedule.bars)


@dataclass(frozen=True)
class TargetResult:
    target_minutes: float
    feasible: bool  # False when the critical path alone exceeds the target
    agents: Mapping[str, int]
    makespan: float
    critical_path: float
    simulations: int


def agents_for_target(tasks: Sequence[Task], target_minutes: float, max_rounds: int = 200) -> TargetResult:
    """Fewest agents per class (roughly) whose simulated makespan fits the target.

    Per class, a binary search with every other class unlimited; then the combined pool is checked and,
    because list scheduling is not monotone (Graham's anomalies), the class with the most queueing gets
    more agents until the combination fits.
    """
    cp, _ = critical_path(tasks)
    cells: dict[str, int] = defaultdict(int)
    work: dict[str, float] = defaultdict(float)
    for t in tasks:
        cells[t.resource] += 1
        work[t.resource] += t.minutes * t.attempts
    unlimited = dict(cells)  # one agent per cell can never queue
    sims = 0
    if cp > target_minutes:
        sched = simulate(tasks, unlimited)
        return TargetResult(target_minutes, False, unlimited, sched.makespan, cp, 1)
    chosen: dict[str, int] = {}
    for res in sorted(cells):
        lo = max(1, math.ceil(work[res] / target_minutes))
        hi = cells[res]
        while lo < hi:
            mid = (lo + hi) // 2
            sims += 1
            if simulate(tasks, {**unlimited, res: mid}).makespan <= target_minutes:
                hi = mid
            else:
                lo = mid + 1
        chosen[res] = lo
    for _ in range(max_rounds):
        sims += 1
        sched = simulate(tasks, chosen)
        if sched.makespan <= target_minutes:
            break
        waits: dict[str, float] = defaultdict(float)
        for b in sched.bars:
            waits[b.resource] += b.start - b.ready
        worst = max((r for r in chosen if chosen[r] < cells[r]), key=lambda r: (waits[r], r), default=None)
        if worst is None:
            break
        chosen[worst] = min(cells[worst], chosen[worst] + max(1, chosen[worst] // 20))
    return TargetResult(target_minutes, sched.makespan <= target_minutes, chosen, sched.makespan, cp, sims)


def sampled_makespans(
    cells: Sequence[Cell],
    model: DurationModel,
    agents: Mapping[str, int],
    samples: int,
    seed: int = 0,
    schedule: str = "jenkins",
) -> list[float]:
    """Makespans of `samples` runs whose attempts fail at random with the observed retry rates."""
    rng = random.Random(seed)
    spans = []
    for _ in range(samples):
        tasks = tasks_from_cells(cells, model, rng, label_pools=set(agents))
        if schedule == "jenkins":
            tasks = with_stage_barriers(tasks, cells)
        spans.append(simulate(tasks, agents).makespan)
    return sorted(spans)


# ---------------------------------------------------------------- feedback


@dataclass(frozen=True)
class Comparison:
    cell_id: str
    estimated: float
    actual: float

    @property
    def error(self) -> float:
        return self.estimated - self.actual


def compare(tasks: Sequence[Task], actual_minutes: Mapping[str, float]) -> list[Comparison]:
    """Estimated vs actual minutes for every cell that a real run reported."""
    return [
        Comparison(t.id, t.minutes * t.attempts, actual_minutes[t.id])
        for t in tasks
        if t.id in actual_minutes
    ]
