"""Turn any directory of JUnit files (Jenkins artifacts, a local build, another CI) into bundle cells."""

from __future__ import annotations

import fnmatch
import os
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from pipelinegen.plan.cell import Cell
from pipelinegen.results.manifest import CellRef, Producer, safe_id

DEFAULT_LOG_GLOBS = ("*.log", "*.log.xz", "*.log.gz", "*.log.zst", "*.txt")


@dataclass
class FoundCell:
    ref: CellRef
    junit: list[Path] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    duration_s: float = 0.0  # unknown from files alone; filled from the JUnit totals later


def discover_cells(root: Path, plan_cells: Sequence[Cell] = (),
                   log_globs: Sequence[str] = DEFAULT_LOG_GLOBS) -> list[FoundCell]:
    """Every directory holding *.xml files is one cell.

    Its id is the path-safe relative path; when that equals a plan cell id (the layout
    `pipelinegen run` and the Jenkins library write: one directory per cell id) it is that plan cell.
    """
    root = Path(root)
    by_id = {cell.id: cell for cell in plan_cells}
    found: list[FoundCell] = []
    for directory, _dirs, files in sorted(os.walk(root)):
        xml = sorted(f for f in files if f.endswith(".xml"))
        if not xml:
            continue
        rel = Path(directory).relative_to(root).as_posix()
        label = rel if rel != "." else root.resolve().name
        cell_id = safe_id(label)
        candidates = [cell_id, safe_id(Path(label).name)]
        plan_cell = next((by_id[c] for c in candidates if c in by_id), None)
        ref = CellRef.from_cell(plan_cell) if plan_cell else CellRef(id=cell_id, name=label, step="")
        logs = sorted(Path(directory) / f for f in files if any(fnmatch.fnmatch(f, g) for g in log_globs))
        found.append(FoundCell(ref=ref, junit=[Path(directory) / f for f in xml], logs=logs))
    return found


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def detect_producer(files: Sequence[Path], kind: str | None = None) -> Producer:
    """Jenkins when its environment variables are set, else the host; times from the files' mtimes."""
    env = os.environ
    if kind is None:
        kind = "jenkins" if env.get("BUILD_URL") or env.get("JENKINS_URL") else "other"
    mtimes = [p.stat().st_mtime for p in files if p.exists()]
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
    full = _git(["rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}"], cwd)
    tree = _git(["rev-parse", "--verify", "--quiet", f"{commit}^{{tree}}"], cwd) if full else ""
    origin = _git(["remote", "get-url", "origin"], cwd)
    return full, tree, origin
