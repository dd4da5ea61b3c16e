"""Load pipeline.yaml and its overlays into the typed model: the entry point of the data flow."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.fsutil import display_path, sha256_file
from pipelinegen.load.discovery import (
    GENERATED_DIR,
    checkout_name,
    confined_overlay,
    overlay_set,
    read_record,
)
from pipelinegen.load.repeats import REPEATS_FILE, load_repeats
from pipelinegen.load.version_pin import PIN_KEY, version_pin_findings
from pipelinegen.merge.overlay import merge_overlays
from pipelinegen.model.build import build_pipeline
from pipelinegen.model.pipeline import Pipeline, SourceFile
from pipelinegen.schema import validate_against_schema
from pipelinegen.step_kinds import repeatable
from pipelinegen.yamlsource import LocatedDict, LocatedList, load_located

DEFAULT_PIPELINE = Path("pipeline.yaml")


def upstream_names(base: dict) -> tuple[tuple[str, str], ...]:
    """(section, name) of every named item pipeline.yaml itself defines, before any overlay."""
    from pipelinegen.merge.overlay import NEW_ITEM_KEYS

    return tuple(
        (section, str(item["name"]))
        for section in NEW_ITEM_KEYS
        if isinstance(base.get(section), list)
        for item in base[section]
        if isinstance(item, dict) and isinstance(item.get("name"), str | int)
    )


def load_pipeline(path: Path = DEFAULT_PIPELINE, overlays: Sequence[Path] = ()) -> Pipeline:
    """Read, merge, validate and model pipeline.yaml plus overlays.

    Overlays apply in this order: pipeline.yaml's own `overlays:`, the checkout's pipelinegen.overlays.yaml
    (a fork's declared list, see load/discovery.py), then *overlays* (--overlay); a file already applied
    is not applied again.
    """
    path = Path(path)
    display = display_path(path)
    base = load_located(path, display)
    if not isinstance(base, dict):
        raise PipelineError.single(display, 1, "pipeline.yaml must be a mapping at top level")
    sources = [SourceFile(path=display, sha256=sha256_file(path), role="pipeline")]
    listed = _listed_overlays(base, path, display)
    chosen = overlay_set(path, listed, overlays)
    if chosen.declared_file is not None:
        sources.append(SourceFile(path=display_path(chosen.declared_file), sha256=sha256_file(chosen.declared_file),
                                  role="overlay-list"))
    overlay_docs = []
    for overlay_path in chosen.paths:
        overlay_display = display_path(overlay_path)
        overlay = load_located(overlay_path, overlay_display)
        if not isinstance(overlay, dict):  # a bare scalar carries no location of its own: name the file here
            raise PipelineError.single(overlay_display, 1, "an overlay must be a mapping at top level",
                                       hint="write keys of pipeline.yaml, e.g. `steps: [...]`")
        overlay_docs.append(overlay)
        sources.append(SourceFile(path=overlay_display, sha256=sha256_file(overlay_path), role="overlay"))
    upstream = upstream_names(base)
    record = read_record(path.parent / GENERATED_DIR)  # explains an overlay naming what upstream renamed since
    merged = merge_overlays(base, overlay_docs, record.upstream if record else None)
    data = merged.data
    data.pop("overlays", None)
    findings = validate_against_schema(data, display) or version_pin_findings(data, display)
    if findings:
        raise PipelineError(findings)
    data.pop(PIN_KEY, None)
    pipeline = build_pipeline(data, display, path.parent, sources, merged.notes)
    pipeline = replace(pipeline, overlays=tuple(checkout_name(path.parent, p) for p in chosen.paths),
                       upstream_names=upstream)
    repeats_path = path.parent / REPEATS_FILE
    if repeats_path.is_file():
        repeats_display = display_path(repeats_path)
        test_steps = {s.name: s.splits for s in pipeline.steps if repeatable(s.kind)}
        specs = load_repeats(repeats_path, repeats_display, test_steps)
        repeats_source = SourceFile(path=repeats_display, sha256=sha256_file(repeats_path), role="repeats")
        pipeline = replace(pipeline, repeats=specs, sources=(*pipeline.sources, repeats_source))
    return pipeline


def _listed_overlays(base: LocatedDict, path: Path, display: str) -> list[Path]:
    """The overlays pipeline.yaml lists itself, confined like the fork's overlay list (discovery rules)."""
    listed = base.get("overlays") or []
    if not isinstance(listed, list):
        raise PipelineError.single(display, base.location_of("overlays").line, "overlays: expected a list of file names")
    findings: list[Finding] = []
    paths = []
    for index, name in enumerate(listed):
        where = listed.location_of(index) if isinstance(listed, LocatedList) else base.location_of("overlays")
        confined = confined_overlay(path.parent, name if isinstance(name, str) else "", where, findings)
        if confined is not None:
            paths.append(confined)
    if findings:
        raise PipelineError(findings)
    return paths
