"""Turn what the driver downloaded from a Jenkins build into a result bundle (pipelinegen.results).

The generated library archives each cell's files under ci-results/<cell id>/ with one
status-<attempt>.json per attempt; those, the plan and the build JSON are all this needs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from pipelinegen.plan.cell import Parameters, Plan
from pipelinegen.render.plan_data import RESULTS_ROOT
from pipelinegen.results.bundle import write_bundle
from pipelinegen.results.collect import jenkins_cell_items
from pipelinegen.results.manifest import CellRef, Producer, Subject


def built_revision(build_info: dict) -> tuple[str, str]:
    """(commit sha, repository url) the build checked out, from the git plugin's BuildData action."""
    for action in build_info.get("actions", []) or []:
        if not isinstance(action, dict):
            continue
        sha = (action.get("lastBuiltRevision") or {}).get("SHA1")
        if sha:
            urls = action.get("remoteUrls") or [""]
            return sha.lower(), urls[0]
    return "", ""


def _iso_ms(value) -> str:
    return datetime.fromtimestamp(int(value) / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def cell_items(artifacts_dir: Path, plan: Plan) -> list[dict]:
    """BundleWriter.add_cell keyword dicts for every plan cell that left files in the download."""
    return jenkins_cell_items(artifacts_dir / RESULTS_ROOT, [CellRef.from_cell(c) for c in plan.cells])


def write_build_bundle(out: Path, download_dir: Path, plan: Plan, parameters: Parameters, build_info: dict,
                       repository: str, branch: str, *, incomplete: bool = False, reason: str = "",
                       labels: tuple[str, ...] = (), pipeline_id: dict | None = None) -> Path:
    sha, url = built_revision(build_info)
    subject = Subject(repository=repository or url, commit=sha or "0000000", branch=branch)
    if not sha:
        incomplete, reason = True, reason or "the build recorded no git revision (no checkout ran)"
    started = build_info.get("timestamp")
    finished = int(started) + int(build_info.get("duration", 0)) if started else None
    producer = Producer(kind="jenkins", url=build_info.get("url", ""), agent_labels=labels,
                        started_at=_iso_ms(started), finished_at=_iso_ms(finished))
    return write_bundle(out, subject=subject, parameters=parameters, producer=producer,
                        results=cell_items(download_dir / "artifacts", plan), cells=plan.cells, pipeline=pipeline_id,
                        incomplete=incomplete, reason=reason)
