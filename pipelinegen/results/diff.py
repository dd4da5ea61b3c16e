"""Compare two bundles: new failures, fixed, still failing, flaky, and tests that disappeared."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelinegen.results.bundle_reader import Bundle

_RANK = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}
_FAILING = ("failed", "error")

# (group, suite, classname, name): a test moving between splits is still the same test.
Key = tuple[str, str, str, str]


@dataclass
class Diff:
    new_failures: list[Key] = field(default_factory=list)
    fixed: list[Key] = field(default_factory=list)
    still_failing: list[Key] = field(default_factory=list)
    flaky: list[Key] = field(default_factory=list)
    disappeared: list[Key] = field(default_factory=list)  # ran in base, absent in new
    added: int = 0


def _statuses(bundle: Bundle) -> tuple[dict[Key, str], set[Key]]:
    group = {cell["id"]: cell["group"] for cell in bundle.cells}
    status: dict[Key, str] = {}
    flaky: set[Key] = set()
    for case in bundle.iter_testcases():
        key = (group.get(case.cell_id, case.cell_id), case.suite, case.classname, case.name)
        previous = status.get(key)
        if previous is not None and (previous in _FAILING) != (case.status in _FAILING):
            flaky.add(key)  # both outcomes for the same test in one run
        if previous is None or _RANK[case.status] > _RANK[previous]:
            status[key] = case.status
        if case.flaky_reruns:
            flaky.add(key)
    return status, flaky


def diff_bundles(base: Bundle, new: Bundle) -> Diff:
    base_status, _ = _statuses(base)
    new_status, new_flaky = _statuses(new)
    result = Diff(flaky=sorted(new_flaky))
    for key, status in sorted(new_status.items()):
        before = base_status.get(key)
        if before is None:
            result.added += 1
        if status in _FAILING:
            (result.still_failing if before in _FAILING else result.new_failures).append(key)
        elif before in _FAILING and status == "passed":
            result.fixed.append(key)
    result.disappeared = sorted(k for k in base_status if k not in new_status)
    return result


def format_key(key: Key) -> str:
    group, _suite, classname, name = key
    return f"{classname}.{name} [{group}]" if classname else f"{name} [{group}]"


def text_diff(result: Diff) -> str:
    lines = []
    for title, keys in (("new failures", result.new_failures), ("fixed", result.fixed),
                        ("still failing", result.still_failing), ("flaky", result.flaky),
                        ("disappeared (ran in base, absent now)", result.disappeared)):
        lines.append(f"{title}: {len(keys)}")
        lines += [f"  {format_key(k)}" for k in keys]
    lines.append(f"new tests: {result.added}")
    return "\n".join(lines) + "\n"
