"""Helpers for the validate tests: compile a pipeline into a scratch checkout the harness can run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pipelinegen import generate
from pipelinegen.load import load_pipeline
from pipelinegen.model.pipeline import Pipeline

REPO = Path(__file__).resolve().parents[1]


def compile_into(pipeline_yaml: Path, checkout: Path) -> tuple[Pipeline, Path]:
    """Copy *pipeline_yaml* (and a build.xml beside it) into *checkout*, compile there; the Jenkinsfile path."""
    checkout.mkdir(parents=True, exist_ok=True)
    target = checkout / "pipeline.yaml"
    if pipeline_yaml.resolve() != target.resolve():
        shutil.copyfile(pipeline_yaml, target)
    build_xml = pipeline_yaml.parent / "build.xml"
    if build_xml.is_file():
        shutil.copyfile(build_xml, checkout / "build.xml")
    cwd = Path.cwd()
    os.chdir(checkout)  # file names in generated headers are relative, as when compile runs in the checkout
    try:
        pipeline = load_pipeline(Path("pipeline.yaml"))
    finally:
        os.chdir(cwd)
    generate.write(generate.render_all(pipeline, checkout), checkout / generate.GENERATED_DIR)
    return pipeline, checkout / generate.GENERATED_DIR / "Jenkinsfile"


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact occurrence (a test that mutates generated code must fail loudly if the code moved)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")
