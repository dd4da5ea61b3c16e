"""Pipeline identity: which pipeline definition and generated files produced a result bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

from pipelinegen import __version__
from pipelinegen.fsutil import sha256_file


def identity_files(pipeline: Path, overlays: Sequence[Path] = (), generated: Path | None = None) -> list[Path]:
    """pipeline.yaml, each overlay (in the order given), generated/Jenkinsfile, every generated/library file."""
    pipeline = Path(pipeline)
    generated = Path(generated) if generated is not None else pipeline.parent / "generated"
    files = [pipeline, *map(Path, overlays)]
    jenkinsfile = generated / "Jenkinsfile"
    if jenkinsfile.is_file():
        files.append(jenkinsfile)
    library = generated / "library"
    if library.is_dir():
        files.extend(sorted(p for p in library.rglob("*") if p.is_file()))
    return files


def pipeline_identity(pipeline: Path, overlays: Sequence[Path] = (), generated: Path | None = None,
                      version: str = __version__) -> dict:
    """The manifest's `pipeline` object: per-file sha256 (paths relative to pipeline.yaml's directory),
    the pipelinegen version, and one combined digest over both."""
    root = Path(pipeline).resolve().parent
    entries = []
    for path in identity_files(pipeline, overlays, generated):
        resolved = path.resolve()
        try:
            rel = resolved.relative_to(root).as_posix()
        except ValueError:
            rel = resolved.as_posix()
        entries.append({"path": rel, "sha256": sha256_file(resolved)})
    return {"sha256": combined_digest(entries, version), "files": entries, "pipelinegen_version": version}


def model_identity(model, pipeline: Path, generated: Path | None = None, version: str = __version__) -> dict:
    """The identity of a loaded pipeline: pipeline.yaml and every other file it was built from (overlays,
    given or declared in pipeline.yaml, the build.xml its axis values came from, repeats.yaml), plus generated/."""
    others = [Path(source.path) for source in model.sources if source.role != "pipeline"]
    return pipeline_identity(pipeline, others, generated, version)


def combined_digest(entries: Sequence[dict], version: str) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(f"{entry['sha256']}  {entry['path']}\n".encode())
    digest.update(f"pipelinegen {version}\n".encode())
    return digest.hexdigest()


def compare_identity(recorded: dict, actual: dict) -> list[str]:
    """One line per difference between the bundle's pipeline identity and the files on disk."""
    problems = []
    rec = {e["path"]: e["sha256"] for e in recorded.get("files", [])}
    act = {e["path"]: e["sha256"] for e in actual.get("files", [])}
    for path in sorted(set(rec) | set(act)):
        if path not in act:
            problems.append(f"pipeline identity: {path} was part of the run's pipeline but is missing here")
        elif path not in rec:
            problems.append(f"pipeline identity: {path} exists here but was not part of the run's pipeline")
        elif rec[path] != act[path]:
            problems.append(f"pipeline identity: {path} differs from the one the run used "
                            f"(sha256 {act[path][:12]} here, {rec[path][:12]} in the bundle)")
    return problems
