"""Shared test helpers: the repository root, a CLI runner, and a minimal valid pipeline.yaml."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"


def benchmark_corpus() -> ModuleType:
    """benchmarks/corpus.py (SHAPES, generate): the Cassandra-shaped JUnit corpora, loaded from its file (the
    benchmarks directory is not a package and is not put on sys.path)."""
    spec = importlib.util.spec_from_file_location("benchmark_corpus", REPO / "benchmarks" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

MINIMAL_PIPELINE = """\
version: 1
project: mini
canonical_repository: https://example.org/mini.git
axes:
  - name: arch
    values: [amd64, arm64]
    parameter: architecture
    parameter_default: amd64
    hide_in_name: [amd64]
  - name: jdk
    values: ["11", "17"]
    parameter: jdk
    cell_name: "jdk{value}"
resources:
  - {name: small, label: "mini-{arch}-small", cpu: 1, memory_gb: 1}
defaults:
  test: {resource: small, needs: [jar], only: {arch: [amd64]}}
steps:
  - {name: jar, kind: build, resource: small, command: "build.sh {jdk}", build_once: true, always: true, stash: "build/**"}
  - {name: unit, kind: test, splits: 2, command: "run.sh -a {step} -c {split}/{splits} -j {jdk}"}
profiles:
  - {name: smoke, steps: [unit]}
  - {name: custom, custom: true}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A throwaway project directory holding the minimal pipeline.yaml."""
    (tmp_path / "pipeline.yaml").write_text(MINIMAL_PIPELINE)
    return tmp_path


def java_home() -> str:
    java = shutil.which("java")
    if not java:
        return os.environ.get("JAVA_HOME", "")
    return os.environ.get("JAVA_HOME") or str(Path(os.path.realpath(java)).parents[1])


def run_groovy(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """Run a Groovy 2.4 script (CI installs Debian's groovy; a missing one fails the test, never skips it)."""
    path = tmp_path / "check.groovy"
    path.write_text(script, encoding="utf-8")
    env = {**os.environ, "JAVA_HOME": java_home()}
    return subprocess.run(["groovy", str(path)], capture_output=True, text=True, env=env, timeout=120)
