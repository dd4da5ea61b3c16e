"""tests/hostile/: pipelinegen attacked as a hostile pipeline.yaml, overlay or bundle author would.

Kept small on purpose: shared code lives in helper modules beside the tests (schema_fields.py, attack.py for the
input side; bundle_mutator.py for result bundles), each test file owns its generator."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hostile.attack import write_project


@pytest.fixture
def full_project(tmp_path: Path) -> Path:
    """A project whose pipeline.yaml sets every field of the schema once (schema_fields.FULL_PIPELINE_YAML)."""
    return write_project(tmp_path / "project")
