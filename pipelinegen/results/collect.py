"""Turn any directory of JUnit files (Jenkins artifacts, a local build, another CI) into bundle cells."""

from __future__ import annotations

import fnmatch
import os
import re
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelinegen.errors import PipelineError
from pipelinegen.plan.cell import Cell
from pipelinegen.results.formats import is_result_file
from pipelinegen.results.manifest import CELL_STATUSES, CellRef, ManifestError, Producer, parse_json, safe_id

DEFAULT_LOG_GLOBS = ("*.log", "*.log.xz", "*.log.gz", "*.log.zst", "*.txt")


@dataclass
class FoundCell:
    ref: CellRef
    junit: list[Path] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    duration_s: float = 0.0  # unknown from files alone; filled from the JUnit totals later


def discover_cells(root: Path, plan_cells: Sequence[Cell | CellRef] = (),
                   log_globs: Sequence[str] = DEFAULT_LOG_GLOBS) -> list[FoundCell]:
    """Every directory holding result files (JUnit *.xml, results/formats.py) is one cell.

    Its id is the path-safe relative path; when that (or the directory name) equals a plan cell id it
    is that plan cell, and then it counts even without XML (build cells write only logs).
    """
    root = Path(root)
    by_id = {cell.id: cell for cell in plan_cells}
    is_log = _glob_matcher(log_globs)
    found: list[FoundCell] = []
    for directory, _dirs, files in sorted(os.walk(root)):
        xml = sorted(f for f in files if is_result_file(f))
        rel = Path(directory).relative_to(root).as_posix()
        label = rel if rel != "." else root.resolve().name
        cell_id = safe_id(label)
        candidates = [cell_id, safe_id(Path(label).name)]
        plan_cell = next((by_id[c] for c in candidates if c in by_id), None)
        # A build cell writes no JUnit: its directory (holding its log) is the evidence it ran.
        if not xml and plan_cell is None:
            continue
        ref = (plan_cell if isinstance(plan_cell, CellRef) else CellRef.from_cell(plan_cell)) if plan_cell else CellRef(id=cell_id, name=label, step="")
        # A symlink among the artifacts would put its target (a key, /etc/shadow) into the bundle.
        links = _symlinks(directory, files)
        base = Path(directory)
        found.append(FoundCell(ref=ref, junit=[base / f for f in xml if f not in links],
                               logs=[base / f for f in sorted(files) if is_log(f) and f not in links]))
    return found


def _symlinks(directory: str, files: list[str]) -> set[str]:
    """The names of the symbolic links in *directory* (one directory read, not one lstat per file); all of
    *files* when it cannot be read again (then none of them can be told apart from a link)."""
    try:
        with os.scandir(directory) as entries:
            return {entry.name for entry in entries if entry.is_symlink()}
    except OSError:
        return set(files)


def _glob_matcher(globs: Sequence[str]):
    """fnmatch.fnmatch(name, g) for any g of *globs*, as one compiled pattern (one match per file, not one per glob)."""
    return re.compile("|".join(f"(?:{fnmatch.translate(g)})" for g in globs) or "(?!)").match


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def detect_producer(files: Sequence[Path], kind: str | None = None) -> Producer:
    """Jenkins when its environment variables are set, else the host; times from the files' mtimes."""
    env = os.environ
    if kind is None:
        kind = "jenkins" if env.get("BUILD_URL") or env.get("JENKINS_URL") else "other"
    mtimes = []
    for path in files:
        try:
            mtimes.append(os.stat(path).st_mtime)
        except FileNotFoundError:
            continue
    return Producer(
        kind=kind,
        url=env.get("BUILD_URL", ""),
        host=env.get("NODE_NAME") or socket.gethostname(),
        agent_labels=tuple(env.get("NODE_LABELS", "").split()),
        started_at=_iso(min(mtimes)) if mtimes else "",
        finished_at=_iso(max(mtimes)) if mtimes else "",
    )


def _git(args: Sequence[str], cwd: Path) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def git_subject_details(commit: str, cwd: Path) -> tuple[str, str, str]:
    """(full commit sha, tree hash, origin URL) from the git checkout at *cwd*, "" where unknown."""
    if not commit or commit.startswith("-") or any(ord(c) < 33 for c in commit):
        full = ""  # an option-looking or control-character revision never reaches git's command line
    else:
        full = _git(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], cwd)
    if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", full):
        full = ""
    tree = _git(["rev-parse", "--verify", "--quiet", f"{full}^{{tree}}"], cwd) if full else ""
    origin = _git(["remote", "get-url", "origin"], cwd)
    return full, tree, origin


# `pipelinegen run` cell statuses -> bundle cell statuses.
_RUN_STATUS = {"passed": "passed", "failed": "failed", "timeout": "error", "error": "error",
               "skipped": "skipped", "interrupted": "not-run", "not_run": "not-run"}


@dataclass
class RunDirectory:
    """A `pipelinegen run` result directory (plan.json + summary.json + cells/), read for bundling."""

    parameters: dict
    planned: list[CellRef]
    cells: list[dict]  # BundleWriter.add_cell keyword arguments, each with `cell`
    producer: Producer
    incomplete: bool
    reason: str


def _ref_from_dict(data: dict) -> CellRef:
    axes = data.get("axes") or {}
    return CellRef(id=data["id"], name=data.get("name", data["id"]), step=data.get("step", ""),
                   axes=tuple(axes.items()) if isinstance(axes, dict) else tuple(map(tuple, axes)),
                   split=int(data.get("split", 1)), splits=int(data.get("splits", 1)))


def _image_pairs(images: object) -> tuple[tuple[str, str], ...]:
    """summary.json's {image: id} of a `run --docker` (anything else in that place is ignored)."""
    if not isinstance(images, dict):
        return ()
    return tuple(sorted((k, v) for k, v in images.items() if isinstance(k, str) and isinstance(v, str)))


def read_run_directory(root: Path) -> RunDirectory | None:
    """None unless *root* holds plan.json and summary.json written by `pipelinegen run`."""
    root = Path(root)
    plan_path, summary_path = root / "plan.json", root / "summary.json"
    if not (plan_path.is_file() and summary_path.is_file()):
        return None
    try:
        plan = parse_json(plan_path.read_bytes(), "plan.json")
        summary = parse_json(summary_path.read_bytes(), "summary.json")
        if not isinstance(plan, dict) or not isinstance(summary, dict):
            raise ManifestError("plan.json and summary.json must each hold a JSON object")
        return _run_directory(root, plan, summary)
    except (ManifestError, KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
        raise PipelineError.single(str(root), None, f"not a readable `pipelinegen run` directory: {err}",
                                   hint="collect the directory `pipelinegen run -o DIR` wrote, unmodified") from err


def _inside(root: Path, rel: object) -> Path | None:
    """root/rel for a path recorded in summary.json, or None when it leaves *root* or is a symlink: a
    doctored summary must not pull /etc/shadow or ~/.ssh into a bundle."""
    if not isinstance(rel, str) or not rel or "\x00" in rel:
        return None
    parts = Path(rel).parts
    if Path(rel).is_absolute() or ".." in parts:
        return None
    path = root / rel
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            return None
    return path


def _usage(attempts: list[dict]) -> list[dict]:
    """Per attempt, what its process tree used (numbers checked: summary.json is input like any other)."""
    out = []
    for number, attempt in enumerate(attempts, 1):
        usage = attempt.get("usage") if isinstance(attempt, dict) else None
        if not isinstance(usage, dict):
            continue
        row: dict = {"attempt": number, "method": str(usage.get("usage_method") or "")[:200]}
        for key in ("cpu_seconds", "peak_memory_mb"):
            value = usage.get(key)
            row[key] = float(value) if isinstance(value, int | float) and 0 <= value < 1e9 else None
        out.append(row)
    return out


def _run_directory(root: Path, plan: dict, summary: dict) -> RunDirectory:
    planned = [_ref_from_dict(c) for c in plan.get("cells", [])]
    refs = {ref.id: ref for ref in planned}
    cells = []
    for cell in summary.get("cells", []):
        attempts = cell.get("attempts") or []
        if not attempts and cell.get("status") in ("not_run", "interrupted"):
            continue  # recorded as not-run from the plan
        last = attempts[-1] if attempts else {}
        cells.append({
            "cell": refs.get(cell["id"]) or _ref_from_dict(cell),
            "status": _RUN_STATUS.get(cell.get("status", ""), "error"),
            "attempts": len(attempts),
            "duration_s": sum(max(0.0, (a.get("ended") or 0) - (a.get("started") or 0)) for a in attempts),
            "node": socket.gethostname(),
            # Only the last attempt's results count; earlier attempts are what made it flaky.
            "junit": [p for p in (_inside(root, rel) for rel in last.get("junit", [])) if p is not None],
            "logs": [p for p in (_inside(root, rel) for rel in [a.get("log") for a in attempts]
                                 + list(last.get("archived", []))) if p is not None],
            "flaky_tests": list(cell.get("flaky_tests") or []),
            "usage": _usage(attempts),
        })
    started, ended = summary.get("started"), summary.get("ended")
    producer = Producer(kind="local", host=socket.gethostname(),
                        images=_image_pairs(summary.get("docker_images")),
                        started_at=_iso(started) if started else "", finished_at=_iso(ended) if ended else "")
    complete = bool(summary.get("complete"))
    reason = "" if complete else (summary.get("reason") or f"local run status {summary.get('status', 'unknown')}")
    return RunDirectory(parameters=summary.get("parameters") or plan.get("parameters") or {}, planned=planned,
                        cells=cells, producer=producer, incomplete=not complete, reason=reason)


# ---- a Jenkins build's results, as the generated library's summary stage lays them out -------------------------
JENKINS_RESULTS_FORMAT = "pipelinegen-jenkins-results"
_STATUS_FILE = re.compile(r"status-(\d+)\.json$")


def jenkins_cell_items(root: Path, refs: Sequence[CellRef], log_globs: Sequence[str] = DEFAULT_LOG_GLOBS) -> list[dict]:
    """BundleWriter.add_cell keyword dicts for every cell of *refs* that left files under *root*/<cell id>/:
    one status-<attempt>.json per attempt (the last one decides; status-0 = recorded not-run without an agent),
    its JUnit files and its logs. Symlinks are never followed: a doctored directory cannot pull files in."""
    items = []
    is_log = _glob_matcher(log_globs)
    for ref in refs:
        if ref.id != safe_id(ref.id):
            raise ManifestError(f"cell id {ref.id!r} is not a plain name")
        directory = Path(root) / ref.id
        if directory.is_symlink() or not directory.is_dir():
            continue
        files = [p for p in _files_below(directory)]
        records = sorted(((int(m.group(1)), p) for p in files if p.parent == directory
                          and (m := _STATUS_FILE.fullmatch(p.name))), key=lambda pair: pair[0])
        last = parse_json(records[-1][1].read_bytes(), records[-1][1].name) if records else {}
        if not isinstance(last, dict):
            raise ManifestError(f"{records[-1][1]}: a status record must be a JSON object")
        status = last.get("status", "")
        started, ended = last.get("started_ms"), last.get("ended_ms")
        items.append({
            "cell": ref,
            # No status record (an interrupted download): the JUnit decides, the reported status is unknown.
            "status": status if status in CELL_STATUSES else "error",
            "attempts": sum(1 for number, _ in records if number > 0),
            "duration_s": (int(ended) - int(started)) / 1000 if started and ended else 0.0,
            "node": str(last.get("node", "")),
            "junit": sorted(p for p in files if is_result_file(p.name)),
            "logs": sorted(p for p in files if is_log(p.name)),
        })
    return items


def _files_below(directory: Path) -> list[Path]:
    """Regular files under *directory*, not through symlinks."""
    out = []
    for current, dirs, names in os.walk(directory):  # os.walk does not descend into symlinked directories
        dirs[:] = [d for d in dirs if not (Path(current) / d).is_symlink()]
        out.extend(Path(current) / n for n in names if (Path(current) / n).is_file() and not (Path(current) / n).is_symlink())
    return out


def read_jenkins_results(root: Path) -> RunDirectory | None:
    """None unless *root*/plan.json was written by the library's summary stage (format JENKINS_RESULTS_FORMAT)."""
    plan_path = Path(root) / "plan.json"
    if not plan_path.is_file() or plan_path.is_symlink():
        return None
    try:
        plan = parse_json(plan_path.read_bytes(), "plan.json")
        if not isinstance(plan, dict) or plan.get("format") != JENKINS_RESULTS_FORMAT:
            return None
        planned = [_ref_from_dict(c) for c in plan.get("cells", [])]
        complete = bool(plan.get("complete"))
        producer = Producer(kind="jenkins", url=str(plan.get("build_url", "")),
                            agent_labels=tuple(sorted({str(label) for label in plan.get("labels") or []})),
                            started_at=_iso(int(plan["started_ms"]) / 1000) if plan.get("started_ms") else "",
                            finished_at=_iso(int(plan["ended_ms"]) / 1000) if plan.get("ended_ms") else "")
        return RunDirectory(parameters=plan.get("parameters") or {}, planned=planned,
                            cells=jenkins_cell_items(Path(root), planned), producer=producer, incomplete=not complete,
                            reason="" if complete else str(plan.get("reason") or "the build did not finish"))
    except (ManifestError, KeyError, TypeError, ValueError, AttributeError, OverflowError) as err:
        raise PipelineError.single(str(root), None, f"not a readable Jenkins results directory: {err}",
                                   hint="collect the ci-results/ directory the summary stage assembled, unmodified") from err
