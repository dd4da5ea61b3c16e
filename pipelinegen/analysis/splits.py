"""Split assignment: which tests each of a step's N cells runs.

Cassandra sorts test classes and deals them round-robin, so a split's duration depends on luck.
Here each test goes, longest first, onto the currently least-loaded split (LPT; Graham's 4/3 bound),
then a local search moves or swaps tests out of the slowest split, and if round-robin still happens to
be better it is used instead: the written assignment is never worse than today's. The result is plain
data the CI scripts read: one file per split, `<out>/<step>/<k>of<n>.txt`, one test class (or pytest
node id / file) per line, '#' lines are comments, so that `run-tests.sh -c K/N` runs exactly the lines
of `KofN.txt`. With no timing data at all the tests are dealt round-robin by sorted name.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelinegen.fsutil import atomic_write_text

SPLIT_FILE = re.compile(r"^(\d+)of(\d+)\.txt$")


@dataclass(frozen=True)
class Split:
    index: int  # 1-based, as in `-c K/N`
    tests: tuple[str, ...]  # in the order they were assigned (longest first under LPT)
    seconds: float  # predicted sum of the tests' durations (0 when unknown)


@dataclass(frozen=True)
class Assignment:
    step: str
    method: str  # "lpt" | "round-robin"
    splits: tuple[Split, ...]

    @property
    def makespan(self) -> float:
        return max((s.seconds for s in self.splits), default=0.0)

    def as_dict(self) -> dict:
        return {
            "step": self.step,
            "method": self.method,
            "splits": len(self.splits),
            "makespan_seconds": round(self.makespan, 3),
            "split_seconds": [round(s.seconds, 3) for s in self.splits],
            "tests": [len(s.tests) for s in self.splits],
        }


def lower_bound(durations: Mapping[str, float], n: int) -> float:
    """No assignment of these tests onto n splits can finish sooner than this."""
    if not durations:
        return 0.0
    return max(max(durations.values()), sum(durations.values()) / n)


def lpt(durations: Mapping[str, float], n: int) -> list[Split]:
    """Longest processing time first; deterministic: ties between tests by name, between splits by index."""
    _check_n(n)
    heap = [(0.0, k) for k in range(n)]  # (load, split index 0-based)
    members: list[list[str]] = [[] for _ in range(n)]
    for name in sorted(durations, key=lambda t: (-durations[t], t)):
        load, k = heapq.heappop(heap)
        members[k].append(name)
        heapq.heappush(heap, (load + durations[name], k))
    loads = {k: load for load, k in heap}
    return [Split(k + 1, tuple(members[k]), loads[k]) for k in range(n)]


def round_robin(names: Sequence[str], n: int, durations: Mapping[str, float] | None = None) -> list[Split]:
    """Cassandra's current scheme: sort by name, deal test i to split i mod n."""
    _check_n(n)
    members: list[list[str]] = [[] for _ in range(n)]
    for i, name in enumerate(sorted(names)):
        members[i % n].append(name)
    durations = durations or {}
    return [Split(k + 1, tuple(m), sum(durations.get(t, 0.0) for t in m)) for k, m in enumerate(members)]


def improve(durations: Mapping[str, float], splits: Sequence[Split], max_rounds: int = 200) -> list[Split]:
    """Local search after LPT: move or swap tests between the slowest split and the others.

    LPT alone can lose to a lucky round-robin on some inputs (it is a 4/3-approximation, not optimal);
    a few moves/swaps that lower the slowest split fix most of those cases. Deterministic: candidates
    are tried in a fixed order and only strict improvements are taken.
    """
    members = [sorted(s.tests, key=lambda t: (durations[t], t)) for s in splits]
    loads = [sum(durations[t] for t in m) for m in members]
    bound = lower_bound(durations, len(loads))
    for _ in range(max_rounds):
        if max(loads) <= bound * (1 + 1e-4):  # optimal, or within 0.01 % (seconds out of hours)
            break
        h = max(range(len(loads)), key=lambda k: (loads[k], -k))
        best = None  # (new max of the pair, split lo, test out of h, test out of lo or None)
        for lo in sorted(range(len(loads)), key=lambda k: (loads[k], k)):
            gap = loads[h] - loads[lo]
            if lo == h or gap <= 0:
                continue
            l_sizes = [durations[u] for u in members[lo]]
            for t in members[h]:
                d = durations[t]
                # moving t alone, or swapping it for u of lo, shifts delta = d - d_u from h to lo;
                # any 0 < delta < gap lowers the pair's max; delta closest to gap / 2 lowers it most
                options = [(d, None)]
                i = bisect.bisect_left(l_sizes, d - gap / 2)
                for j in (i - 1, i):
                    if 0 <= j < len(l_sizes):
                        options.append((d - l_sizes[j], members[lo][j]))
                for delta, u in options:
                    if 0 < delta < gap:
                        pair_max = max(loads[h] - delta, loads[lo] + delta)
                        key = (pair_max, lo, t, u or "")
                        if best is None or key < best[0]:
                            best = (key, lo, t, u, delta)
        if best is None:
            break
        _, lo, t, u, delta = best
        members[h].remove(t)
        members[lo].append(t)
        if u is not None:
            members[lo].remove(u)
            members[h].append(u)
        loads[h] -= delta
        loads[lo] += delta
        for k in (h, lo):
            members[k].sort(key=lambda x: (durations[x], x))
    ordered = [tuple(sorted(m, key=lambda x: (-durations[x], x))) for m in members]
    return [Split(k + 1, tests, sum(durations[t] for t in tests)) for k, tests in enumerate(ordered)]


def balance(durations: Mapping[str, float], n: int) -> tuple[str, list[Split]]:
    """The best of LPT + local search and round-robin: never worse than today's round-robin."""
    improved = improve(durations, lpt(durations, n))
    dealt = round_robin(list(durations), n, durations)
    if max(s.seconds for s in dealt) < max(s.seconds for s in improved):
        return "round-robin", dealt
    return "lpt", improved


def assign(step: str, tests: Sequence[str], durations: Mapping[str, float] | None, n: int) -> Assignment:
    """Balanced by duration when there is timing data for these tests, round-robin by name otherwise."""
    if durations:
        subset = {t: durations[t] for t in tests if t in durations}
        if len(subset) != len(set(tests)):
            missing = sorted(set(tests) - set(subset))
            raise ValueError(
                f"no duration for {len(missing)} test(s), e.g. {missing[0]}; fill unknowns first"
            )
        method, splits = balance(subset, n)
        return Assignment(step, method, tuple(splits))
    return Assignment(step, "round-robin", tuple(round_robin(list(dict.fromkeys(tests)), n)))


@dataclass(frozen=True)
class SplitSuggestion:
    step: str
    splits: int
    makespan_seconds: float  # LPT makespan of the tests alone
    cell_seconds: float  # makespan + fixed per-cell setup: what the slowest cell is expected to take
    agent_seconds: float  # total agent time: every cell pays the setup once
    feasible: bool  # False when even the longest single test + setup exceeds the target

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def suggest_split_count(
    step: str,
    durations: Mapping[str, float],
    target_seconds: float,
    setup_seconds: float = 0.0,
    max_splits: int = 512,
) -> SplitSuggestion:
    """The fewest splits whose slowest cell (tests + setup) fits the target.

    Fewest, because every extra cell pays the setup again (docker pull, checkout, unstash), so more
    splits always cost more agent time even when they shorten the turnaround. When one test alone is
    longer than the target, the answer is the fewest splits that reach the best possible: that test.
    """
    if target_seconds <= setup_seconds:
        raise ValueError(f"target {target_seconds:g}s does not exceed the per-cell setup {setup_seconds:g}s")
    total = sum(durations.values())
    longest = max(durations.values(), default=0.0)
    limit = min(max_splits, max(1, len(durations)))
    feasible = longest <= target_seconds - setup_seconds
    budget = max(target_seconds - setup_seconds, longest)
    # Below total/budget no assignment fits; start there and walk up (LPT is not monotone in n).
    start = max(1, min(limit, math.ceil(total / budget - 1e-9) if budget > 0 else 1))
    n = start
    for n in range(start, limit + 1):
        if max((s.seconds for s in lpt(durations, n)), default=0.0) <= budget:
            break
    makespan = max((s.seconds for s in balance(durations, n)[1]), default=0.0) if durations else 0.0
    return SplitSuggestion(step, n, makespan, makespan + setup_seconds, total + n * setup_seconds, feasible)


def write_split_files(out_dir: Path, assignment: Assignment) -> list[Path]:
    """Write `<out>/<step>/<k>of<n>.txt` plus `splits.json`; remove split files of other counts.

    Stale `3of20.txt` next to a new `3of16.txt` would let an old job run the wrong share.
    """
    step_dir = Path(out_dir) / assignment.step
    n = len(assignment.splits)
    written = []
    for split in assignment.splits:
        path = step_dir / f"{split.index}of{n}.txt"
        # '#' lines are comments for run-tests.sh; the header tells a reader where the list came from.
        header = (
            f"# pipelinegen splits: {assignment.step} split {split.index} of {n} ({assignment.method}),"
            f" {len(split.tests)} entries, predicted {split.seconds:.0f} s\n"
        )
        atomic_write_text(path, header + "".join(f"{t}\n" for t in sorted(split.tests)))
        written.append(path)
    manifest = assignment.as_dict()
    manifest["files"] = [p.name for p in written]
    manifest["assignment"] = {str(s.index): sorted(s.tests) for s in assignment.splits}
    atomic_write_text(step_dir / "splits.json", json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for old in step_dir.iterdir():
        match = SPLIT_FILE.match(old.name)
        if match and int(match.group(2)) != n:
            old.unlink()
    return written


def read_split_manifest(out_dir: Path, step: str) -> dict | None:
    """The `splits.json` of a step, or None when the step has no split files."""
    path = Path(out_dir) / step / "splits.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _check_n(n: int) -> None:
    if n < 1:
        raise ValueError(f"split count must be at least 1, got {n}")
