"""Timing source: how long each test class (or pytest node id) of a step takes.

Observations come from JUnit XML (a directory or a result bundle) or from the history DB. One test seen
in several runs counts with its median duration (a slow outlier run must not reshuffle every split);
a class's duration is the sum of its test cases. Tests without any observation get the median of their
step, so a new test class lands somewhere sensible instead of being ignored.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from pipelinegen.results import junit
from pipelinegen.results.formats import records_of, result_files

GRANULARITIES = ("class", "test", "pytest", "file")


@dataclass(frozen=True)
class Observation:
    classname: str
    name: str
    seconds: float
    cell_id: str = ""


def split_key(classname: str, name: str, granularity: str = "class") -> str:
    """The unit a split file lists: the JUnit class, the test id, a pytest node id or a pytest file."""
    if granularity == "class":
        return classname or name
    if granularity == "test":
        return f"{classname}.{name}" if classname else name
    if granularity == "pytest":
        return pytest_node_id(classname, name)
    if granularity == "file":
        return pytest_node_id(classname, name).split("::", 1)[0]
    raise ValueError(f"unknown granularity {granularity!r}; use one of {', '.join(GRANULARITIES)}")


def pytest_node_id(classname: str, name: str) -> str:
    """`auth_test.TestAuth` + `test_login` -> `auth_test.py::TestAuth::test_login`.

    pytest's JUnit classname is the dotted module path followed by the class, if any; the first
    capitalised segment starts the class part (modules are lower-case by PEP 8, and dtest follows it).
    """
    parts = classname.split(".") if classname else []
    cut = next((i for i, p in enumerate(parts) if p[:1].isupper()), len(parts))
    module, classes = parts[:cut], parts[cut:]
    if not module:
        return "::".join([*classes, name])
    return "::".join(["/".join(module) + ".py", *classes, name])


def aggregate(observations: Iterable[Observation], granularity: str = "class") -> dict[str, float]:
    """Median per test case over runs, then summed per split unit."""
    runs: dict[tuple[str, str], list[float]] = defaultdict(list)
    for obs in observations:
        runs[(obs.classname, obs.name)].append(max(0.0, obs.seconds))
    totals: dict[str, float] = defaultdict(float)
    for (classname, name), values in runs.items():
        totals[split_key(classname, name, granularity)] += statistics.median(values)
    return dict(totals)


def fill_unknown(
    known: Mapping[str, float], tests: Iterable[str] | None = None
) -> tuple[dict[str, float], list[str]]:
    """Durations for exactly `tests` (all known ones when None); unknowns get the step's median.

    Returns the durations and the sorted names that were filled in. With no known durations at all the
    result is empty, which callers take as "no timing data" (round-robin).
    """
    if tests is None:
        return dict(known), []
    wanted = list(dict.fromkeys(tests))
    if not known:
        return {}, sorted(wanted)
    median = statistics.median(known.values())
    unknown = sorted(t for t in wanted if t not in known)
    return {t: known.get(t, median) for t in wanted}, unknown


def read_junit(path: Path, cell_id: str = "") -> list[Observation]:
    """Every test case under a result file or directory (recursively; formats: pipelinegen/results/formats.py)."""
    path = Path(path)
    files = result_files([path])
    return [
        Observation(r.classname, r.name, r.duration_s, r.cell_id)
        for file in files
        for r in _iter_file(file, cell_id)
    ]


def _iter_file(file: Path, cell_id: str):
    unreadable = junit.PARSE_ERROR_CLASS
    for record in records_of(file, cell_id, cases_only=True):
        if record.classname != unreadable:  # a broken file says nothing about durations
            yield record


def read_history(db: Path, step: str, branch: str = "", granularity: str = "class") -> dict[str, float]:
    """Per-class (or per pytest file) durations of one step from the history DB.

    The history DB keeps one duration per test class and run (`HistoryStore.durations`, the mean over
    recent runs); finer units (single tests, pytest node ids) need JUnit or a result bundle.
    """
    from pipelinegen.analysis.history import HistoryStore

    if granularity not in ("class", "file"):
        raise ValueError(
            f"the history DB keeps per-class durations; --granularity {granularity} needs --junit or --bundle"
        )
    with HistoryStore(db) as store:
        per_class = store.durations(step, branch or None)
    if granularity == "class":
        return dict(per_class)
    per_file: dict[str, float] = defaultdict(float)
    for classname, seconds in per_class.items():
        per_file[split_key(classname, "", "file")] += seconds
    return dict(per_file)


# ---------------------------------------------------------------- result bundles


@dataclass(frozen=True)
class BundleCell:
    id: str
    step: str
    attempts: int
    seconds: float
    junit: str  # path inside the bundle ("" when the cell wrote none)
    peak_memory_mb: float | None = None  # the highest of its attempts (pipelinegen run's measurement)
    cpu_seconds: float | None = None  # of all attempts


def _usage_max(usage: object, key: str, combine) -> float | None:
    values = [u.get(key) for u in usage if isinstance(u, dict)] if isinstance(usage, list) else []
    numbers = [float(v) for v in values if isinstance(v, int | float) and v >= 0]
    return combine(numbers) if numbers else None


def read_bundle_cells(bundle: Path) -> list[BundleCell]:
    """The cells a result bundle reports (id, step, attempts, wall time of all attempts, JUnit member).

    `bundle` is a bundle archive (`pipelinegen results collect -o X.tar.zst`) or an unpacked one.
    """
    return [
        BundleCell(
            c["id"],
            c.get("step", ""),
            int(c.get("attempts", 1)),
            float(c.get("duration_s", 0)),
            c.get("junit") or "",
            _usage_max(c.get("usage"), "peak_memory_mb", max),
            _usage_max(c.get("usage"), "cpu_seconds", sum),
        )
        for c in _manifest(Path(bundle)).get("cells", [])
    ]


def _manifest(bundle: Path) -> dict:
    import json

    if bundle.is_dir():
        path = bundle / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(
                f"no manifest.json: not a result bundle (bundle a `pipelinegen run` directory first:"
                f" pipelinegen results collect {bundle} --commit SHA -o run.tar.zst)"
            )
        return json.loads(path.read_text(encoding="utf-8"))
    from pipelinegen.results.bundle_reader import read_bundle

    return read_bundle(bundle).manifest


def read_bundle_observations(bundle: Path) -> dict[str, list[Observation]]:
    """Test case durations of a result bundle, per step."""
    bundle = Path(bundle)
    step_of = {c.id: c.step for c in read_bundle_cells(bundle)}
    by_step: dict[str, list[Observation]] = defaultdict(list)
    if bundle.is_dir():
        for cell in read_bundle_cells(bundle):
            if cell.junit and (bundle / cell.junit).is_file():
                by_step[cell.step] += read_junit(bundle / cell.junit, cell.id)
        return dict(by_step)
    from pipelinegen.results.bundle_reader import read_bundle

    unreadable = junit.PARSE_ERROR_CLASS
    for r in read_bundle(bundle).iter_testcases():  # streamed: bundles of a full CI run are large
        if r.classname != unreadable:
            by_step[step_of.get(r.cell_id, "")].append(
                Observation(r.classname, r.name, r.duration_s, r.cell_id)
            )
    return dict(by_step)


def retry_rates(cells: Iterable[BundleCell]) -> dict[str, float]:
    """Per step, the share of cells that needed more than one attempt (an estimate of P(attempt fails))."""
    ran: dict[str, int] = defaultdict(int)
    retried: dict[str, int] = defaultdict(int)
    for cell in cells:
        if cell.attempts >= 1:
            ran[cell.step] += 1
            retried[cell.step] += cell.attempts > 1
    return {step: retried[step] / ran[step] for step in sorted(ran)}
