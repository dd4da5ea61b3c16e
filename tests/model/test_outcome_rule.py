"""The three-valued cell outcome is ONE rule (pipelinegen/model/outcome.py) with a Groovy copy in the library
(pipelinegenCells.classifyOutcome, fed from plan.json): held equal here over every combination an attempt can
show, and run-cell.sh's signature grep agrees with Python's regular expressions."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipelinegen.model.outcome import INFRA_SIGNATURES, OUTCOMES, Observed, classify, outcome_data

ROOT = Path(__file__).resolve().parents[2]
VARS = ROOT / "library" / "vars"
RUN_CELL = ROOT / "library" / "resources" / "pipelinegen" / "run-cell.sh"

GRID = [
    Observed(exit_code, total, failed, readable, signature, expects)
    for exit_code, (total, failed), readable, signature, expects in itertools.product(
        (None, 0, 1, 2, 75, 137), ((0, 0), (3, 0), (3, 1), (3, 2)), (True, False), (True, False), (True, False))
]

DRIVER = r"""
import groovy.json.JsonOutput
import groovy.json.JsonSlurper
GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader)
loader.parseClass('package com.cloudbees.groovy.cps\nimport java.lang.annotation.*\n' +
                  '@Retention(RetentionPolicy.RUNTIME) @interface NonCPS {}')
org.codehaus.groovy.control.CompilerConfiguration config = new org.codehaus.groovy.control.CompilerConfiguration()
def imports = new org.codehaus.groovy.control.customizers.ImportCustomizer()
imports.addImports('com.cloudbees.groovy.cps.NonCPS')
config.addCompilationCustomizers(imports)
Class cells = new GroovyClassLoader(loader, config).parseClass(new File(args[0], 'pipelinegenCells.groovy'))
Map input = new JsonSlurper().parse(new File(args[1]))
List out = []
for (Map o : input.grid) {
    out.add(cells.classifyOutcome(input.rule, o.exit_code as Integer, o.tests_total as int, o.tests_failed as int,
                                  o.results_readable as boolean, o.infra_signature as boolean, o.expects_tests as boolean))
}
println(JsonOutput.toJson(out))
"""


def _groovy_env() -> dict:
    env = dict(os.environ)
    java = Path(shutil.which("java")).resolve()
    env.setdefault("JAVA_HOME", str(java.parent.parent))
    return env


@pytest.mark.skipif(shutil.which("groovy") is None or shutil.which("java") is None, reason="groovy/java not installed")
def test_the_library_classifies_every_attempt_as_python_does(tmp_path: Path) -> None:
    driver = tmp_path / "driver.groovy"
    driver.write_text(DRIVER, encoding="utf-8")
    data = tmp_path / "input.json"
    data.write_text(json.dumps({"rule": outcome_data(), "grid": [o.__dict__ for o in GRID]}), encoding="utf-8")
    done = subprocess.run(["groovy", str(driver), str(VARS), str(data)], capture_output=True, text=True,
                          env=_groovy_env(), timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    groovy = [(r["outcome"], r["reason"]) for r in json.loads(done.stdout.strip().splitlines()[-1])]
    python = [classify(o) for o in GRID]
    assert groovy == python
    assert {outcome for outcome, _ in python} == set(OUTCOMES)  # the grid reaches every outcome


def test_the_rule_reads_as_the_contract_says() -> None:
    assert classify(Observed(0, 10, 0, expects_tests=True)) == ("passed", "")
    assert classify(Observed(1, 10, 2, expects_tests=True)) == ("tests-failed", "2 failing tests")
    assert classify(Observed(0, 10, 1, expects_tests=True))[0] == "tests-failed"  # exit 0 despite a failing test
    assert classify(Observed(1, 0, 0)) == ("infra", "exit code 1 without a failing test")
    assert classify(Observed(None, 10, 0))[0] == "infra"  # timeout, lost agent
    assert classify(Observed(1, 10, 2, infra_signature=True))[0] == "infra"  # the disk was full, not the code
    assert classify(Observed(75, 10, 2))[0] == "infra"  # the script says so
    assert classify(Observed(0, 0, 0, expects_tests=True)) == ("infra", "no test results")
    assert classify(Observed(1, 3, 1, results_readable=False)) == ("infra", "unreadable test results")


@pytest.mark.parametrize("line, infra", [
    ("tar: write error: No space left on device", True),
    ("docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", True),
    ("java.lang.OutOfMemoryError: unable to create new native thread", True),
    ("java.lang.OutOfMemoryError: Java heap space", False),
    ("[junit] Tests FAILED", False),
])
def test_run_cell_greps_the_signatures_python_matches(tmp_path: Path, line: str, infra: bool) -> None:
    python = any(re.search(s, line) for s in INFRA_SIGNATURES)
    env = {**os.environ, "PIPELINEGEN_RESULTS_DIR": str(tmp_path / "r"), "PIPELINEGEN_CELL": "c",
           "PIPELINEGEN_COMMAND": f"echo {json.dumps(line)}; exit 1",
           "PIPELINEGEN_INFRA_SIGNATURES": "\n".join(INFRA_SIGNATURES)}
    done = subprocess.run(["bash", str(RUN_CELL)], env=env, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert done.returncode == 1
    assert (tmp_path / "r" / "infra-signature.txt").is_file() == python == infra
