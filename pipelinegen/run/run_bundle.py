"""Turn a finished run directory into the certified result bundle (pipelinegen.results.bundle).

The bundle certifies one commit, so it is written only when the project is a git checkout whose tracked
files under it have no uncommitted change; otherwise the run directory stays the result and can be bundled
later with `pipelinegen results collect`.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipelinegen.load import load_pipeline
from pipelinegen.plan.cell import Parameters
from pipelinegen.results.bundle import write_bundle
from pipelinegen.results.collect import git_subject_details, read_run_directory
from pipelinegen.results.identity import model_identity
from pipelinegen.results.manifest import Subject

BUNDLE_NAME = "bundle.tar.zst"


@dataclass(frozen=True)
class BundleOutcome:
    path: Path | None
    message: str


def uncommitted_changes(project: Path) -> list[str]:
    """Tracked files under *project* that differ from HEAD (untracked files are not part of the commit)."""
    done = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=project,
                          capture_output=True, text=True, check=False)
    return [line[3:] for line in done.stdout.splitlines() if line.strip()]


def write_run_bundle(out_dir: Path, project: Path, pipeline_path: Path, branch: str = "",
                     overlays: tuple[Path, ...] = ()) -> BundleOutcome:
    commit, tree, origin = git_subject_details("HEAD", project)
    if not branch:  # history filters by branch (`flaky --branch`, `splits --branch`): record the checkout's
        branch = subprocess.run(["git", "symbolic-ref", "--quiet", "--short", "HEAD"], cwd=project,
                                capture_output=True, text=True, check=False).stdout.strip()
    if not commit:
        return BundleOutcome(None, "no bundle: not a git checkout (a bundle certifies a commit)")
    changed = uncommitted_changes(project)
    if changed:
        return BundleOutcome(None, f"no bundle: {len(changed)} uncommitted change(s) (e.g. {changed[0]}); commit "
                                   f"and rerun, or `pipelinegen results collect {out_dir} --commit ...` knowingly")
    run_dir = read_run_directory(out_dir)
    if run_dir is None:
        return BundleOutcome(None, f"no bundle: {out_dir} has no plan.json/summary.json")
    output = out_dir / BUNDLE_NAME
    # No `origin` remote: the run's repository parameter (file://this checkout) beats an empty Repository row.
    origin = origin or str(run_dir.parameters.get("repository") or "")
    write_bundle(output, subject=Subject(repository=origin, commit=commit, branch=branch, tree=tree),
                 parameters=Parameters.from_dict(run_dir.parameters), producer=run_dir.producer,
                 results=run_dir.cells, cells=run_dir.planned,
                 pipeline=model_identity(load_pipeline(pipeline_path, overlays), pipeline_path),
                 incomplete=run_dir.incomplete, reason=run_dir.reason)
    state = "INCOMPLETE " if run_dir.incomplete else ""
    return BundleOutcome(output, f"{state}bundle for commit {commit[:12]}: {output}")
