"""Every script in benchmarks/ runs at a smoke size, so none can rot unnoticed (issue 16).

The figures are not checked here (timing tests on a shared machine only measure the neighbours): the
benchmarks print them, docs quote the full-size ones. What is checked: the script runs to the end and
prints the figures a reader looks for.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import benchmark_corpus

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
HELPERS = {"corpus.py", "measure.py"}  # imported by the benchmarks, run through them

# script -> (extra arguments, a line fragment every run prints)
EXPECTED = {
    "compile.py": ([], "render generated/"),
    "deploy_driver.py": ([], "artifacts/s"),
    "history.py": ([], "flaky --format json"),
    "history_import.py": ([], "import / anchor"),
    "ingest.py": (["--distinct-failures", "--parts"], "without all three"),
    "lint.py": ([], "engine only"),
    "lint_parity.py": ([], "structural rejections caught"),
    "run_overhead.py": ([], "slot utilisation"),
    "splits.py": ([], "target LPT"),
    "summary_stage.py": ([], "summary stage / anchor"),
    "validate.py": ([], "cells executed by the harness"),
}


def test_every_benchmark_has_a_smoke_run() -> None:
    scripts = {p.name for p in BENCHMARKS.glob("*.py")} - HELPERS
    assert scripts == set(EXPECTED), "add the new benchmark to EXPECTED (with a --smoke size)"


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_runs_at_smoke_size(script: str, tmp_path: Path) -> None:
    args, fragment = EXPECTED[script]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), "--smoke", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"{script} --smoke failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    assert fragment in proc.stdout, proc.stdout[-3000:]


def test_every_corpus_shape_is_well_formed_junit(tmp_path: Path) -> None:
    from lxml import etree

    corpus = benchmark_corpus()
    SHAPES, generate = corpus.SHAPES, corpus.generate
    for shape in SHAPES:
        files = generate(tmp_path / shape, 0.3, shape)
        cases = sum(len(etree.parse(str(f)).findall(".//testcase")) for f in files)
        assert cases > (3 if shape == "broken" else 20), shape  # broken: every test carries ~66 KB of output
