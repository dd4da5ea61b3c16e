"""Shell completion: `pipelinegen run --profile <TAB>` offers the profiles of the pipeline.yaml at hand."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def _complete(words: str, cwd) -> list[str]:
    env = {**os.environ, "_PIPELINEGEN_COMPLETE": "bash_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split(" ")) - 1)}
    done = subprocess.run([sys.executable, "-c", "from pipelinegen.cli import main; main(prog_name='pipelinegen')"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines() if "," in line]


def test_profiles_of_the_pipeline_in_the_current_directory(project):
    assert _complete("pipelinegen plan --profile ", project) == ["smoke", "custom"]
    assert _complete("pipelinegen run --profile sm", project) == ["smoke"]


def test_steps_of_the_checkout_named_by_dash_c(tmp_path):
    sample = REPO / "examples" / "sample-project"
    assert _complete(f"pipelinegen -C {sample} splits --step ", tmp_path) == ["jar", "unit", "pytest"]


def test_no_pipeline_no_suggestion_and_no_traceback(tmp_path):
    assert _complete("pipelinegen plan --profile ", tmp_path) == []
