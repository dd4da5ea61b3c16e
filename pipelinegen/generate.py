"""Everything `pipelinegen compile` writes under generated/, computed in memory first.

Writing is atomic per file; files compile wrote before and no longer produces are removed, using the
list it keeps in generated/.pipelinegen-files (so files other commands put under generated/, such as
split lists, are never touched). `check` compares without writing.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from pipelinegen.errors import PipelineError
from pipelinegen.escape import shell_quote
from pipelinegen.fsutil import atomic_write_bytes, inside
from pipelinegen.load.discovery import (
    GENERATED_DIR,
    OVERLAYS_FILE,
    RECORDED_OVERLAYS_FILE,
    describe_overlays,
    recorded_overlays,
    render_record,
)
from pipelinegen.model.pipeline import Pipeline
from pipelinegen.render.jenkinsfile import render_jenkinsfile
from pipelinegen.render.library import library_sources, missing_library_parts, render_library

__all__ = ["GENERATED_DIR", "FILE_LIST", "render_all", "check", "write"]
FILE_LIST = ".pipelinegen-files"


def render_all(pipeline: Pipeline, project_dir: Path) -> dict[str, bytes]:
    """Relative path under generated/ -> content, for every generated file.

    PipelineError when the library lacks a step or resource that the Jenkinsfile or the library calls."""
    jenkinsfile = render_jenkinsfile(pipeline)
    files = {"Jenkinsfile": jenkinsfile.encode("ascii")}
    library = render_library(pipeline, project_dir)
    missing = missing_library_parts(jenkinsfile, library, source=str(library_sources(project_dir)))
    if missing:
        raise PipelineError(missing)
    for relative, content in library.items():
        files[f"library/{relative}"] = content
    files.update(_clone_files(pipeline))
    files[RECORDED_OVERLAYS_FILE] = render_record(pipeline.overlays, pipeline.upstream_names)
    files[FILE_LIST] = ("".join(f"{name}\n" for name in sorted(files)) + f"{FILE_LIST}\n").encode("utf-8")
    return dict(sorted(files.items()))


def _clone_files(pipeline: Pipeline) -> dict[str, bytes]:
    """generated/clone/: the Jenkins clone definition.

    A broken installation (a dependency missing) is a loud error, never a generated/ silently lacking clone/."""
    try:
        from pipelinegen.deploy.clone import render_clone  # noqa: PLC0415 - deploy loads jenkins-job-builder: only here
    except ImportError as err:
        raise PipelineError.single(
            "generated/clone/", None, f"cannot render the Jenkins clone definition: {err}",
            hint="this installation of pipelinegen lacks a dependency: reinstall it (pip install --force-reinstall pipelinegen)",
        ) from err
    return {f"clone/{path}": text.encode("utf-8") for path, text in sorted(render_clone(pipeline).items())}


@dataclass(frozen=True)
class Staleness:
    changed: list[str]  # differ from what compile would write
    missing: list[str]  # compile would write them, they do not exist
    extra: list[str]  # compile wrote them before, it would not now
    diff: str  # unified diff of the changed and missing files (truncated)

    @property
    def stale(self) -> bool:
        return bool(self.changed or self.missing or self.extra)


def _previous_files(out_dir: Path) -> list[str]:
    listing = out_dir / FILE_LIST
    if not listing.is_file():
        return []
    # The list is committed, so any branch can edit it: only plain relative names that stay inside out_dir
    # (no absolute path, no '..', no symlink out) are ever deleted.
    text = listing.read_bytes()[: 1 << 20].decode("utf-8", "replace")
    return [line for line in text.splitlines()
            if line and ".." not in line and not line.startswith("/") and inside(out_dir, line) is not None]


def check(files: dict[str, bytes], out_dir: Path, max_diff_lines: int = 200) -> Staleness:
    changed, missing, diff_lines = [], [], []
    for relative, content in files.items():
        path = out_dir / relative
        if not path.is_file():
            missing.append(relative)
            old = b""
        else:
            old = path.read_bytes()
            if old == content:
                continue
            changed.append(relative)
        if len(diff_lines) < max_diff_lines:
            diff_lines.extend(
                difflib.unified_diff(
                    old.decode("utf-8", "replace").splitlines(),
                    content.decode("utf-8", "replace").splitlines(),
                    f"a/{GENERATED_DIR}/{relative}",
                    f"b/{GENERATED_DIR}/{relative}",
                    lineterm="",
                    n=1,
                )
            )
    extra = [name for name in _previous_files(out_dir) if name not in files and (out_dir / name).exists()]
    text = "\n".join(diff_lines[:max_diff_lines])
    if len(diff_lines) > max_diff_lines:
        text += f"\n... diff cut at {max_diff_lines} lines"
    return Staleness(changed=changed, missing=missing, extra=extra, diff=text)


def write(files: dict[str, bytes], out_dir: Path) -> list[str]:
    """Write what changed (atomically), remove what compile no longer produces; the paths touched."""
    if out_dir.is_symlink():  # a branch could commit generated -> $HOME and list files there for removal
        raise PipelineError.single(str(out_dir), None, "is a symlink: compile writes and removes files only in a real directory",
                                   hint=f"remove the symlink {out_dir} (or give --output a real directory)")
    escaping = [relative for relative in files if inside(out_dir, relative) is None]
    if escaping:  # e.g. a committed generated/library that is a symlink to another directory
        raise PipelineError.single(str(out_dir / escaping[0]), None, "leads outside the output directory (a symlink?)",
                                   hint=f"remove the symlink in {out_dir}; compile writes only real files under it")
    touched = []
    for name in _previous_files(out_dir):
        if name not in files and (out_dir / name).is_file():
            (out_dir / name).unlink()
            touched.append(name)
    for relative, content in files.items():
        path = out_dir / relative
        if path.is_file() and path.read_bytes() == content:
            continue
        atomic_write_bytes(path, content)
        touched.append(relative)
    return touched


def compile_advice(overlays: tuple[Path, ...] = (), output_dir: Path | str = GENERATED_DIR) -> str:
    """The compile command line with the same inputs: a fork following the advice keeps its overlays."""
    again = "".join(f" --overlay {shell_quote(str(o))}" for o in overlays)
    if Path(output_dir) != Path(GENERATED_DIR):
        again += f" --output {shell_quote(str(output_dir))}"
    return f"pipelinegen compile{again}"


def stale_advice(overlays: tuple[str, ...], given: tuple[Path, ...] = (), output_dir: Path | str = GENERATED_DIR) -> str:
    """What to run when *output_dir* is stale. When it was compiled with overlays this run lacks (a fork's
    checkout without its pipelinegen.overlays.yaml, a forgotten --overlay), recompiling as-is would drop
    them: name both ways out."""
    recorded = recorded_overlays(Path(output_dir))
    now = compile_advice(given, output_dir)
    if recorded is None or set(recorded) <= set(overlays):  # same set, or overlays added on purpose
        return f"run `{now}` and commit the result"
    keep = compile_advice(tuple(Path(name) for name in recorded), output_dir)
    return (f"to keep the overlays {output_dir}/ was compiled with, list them in {OVERLAYS_FILE} (or run `{keep}`); "
            f"`{now}` compiles with {describe_overlays(overlays)} instead")
