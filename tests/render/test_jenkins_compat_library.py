"""Jenkins-realism checks of the shared library that the stub-DSL harness cannot make
(docs/jenkins-compatibility.md): sandbox-whitelisted constructors, the retry label expression,
how a cell's retries treat interruptions, and plan.json strings that json-lib would have re-parsed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VARS = ROOT / "library" / "vars"

# Constructors the library may call: (class, argument count) of entries in script-security's
# src/main/resources/org/jenkinsci/plugins/scriptsecurity/sandbox/whitelists/generic-whitelist.
# `new java.util.LinkedHashMap java.util.Map` is NOT there: a sandboxed library gets RejectedAccessException.
WHITELISTED_CONSTRUCTORS = {
    ("HashSet", 0), ("HashSet", 1),  # new java.util.HashSet / ... java.util.Collection
    ("ArrayList", 1),  # new java.util.ArrayList java.util.Collection
    ("StringBuilder", 0),  # new java.lang.StringBuilder
    ("Exception", 1),  # new java.lang.Exception java.lang.String
    ("JsonSlurper", 0),  # new groovy.json.JsonSlurper
}


def _constructor_calls(text: str) -> list[tuple[str, int, int]]:
    """(simple class name, argument count, line) of every `new X(...)` outside comments."""
    calls = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("//", 1)[0]
        if code.lstrip().startswith(("*", "/*")):
            continue
        for match in re.finditer(r"\bnew\s+([\w.]+)\s*\(", code):
            depth, args, i, has_arg = 1, 0, match.end(), False
            while i < len(code) and depth:
                ch = code[i]
                depth += ch in "(["
                depth -= ch in ")]"
                if depth == 1 and ch == ",":
                    args += 1
                if depth and not ch.isspace():
                    has_arg = True
                i += 1
            calls.append((match.group(1).rsplit(".", 1)[-1], args + 1 if has_arg else 0, number))
    return calls


def test_library_constructs_only_sandbox_whitelisted_classes() -> None:
    found = []
    for script in sorted(VARS.glob("*.groovy")):
        for name, count, line in _constructor_calls(script.read_text(encoding="utf-8")):
            found.append((name, count))
            assert (name, count) in WHITELISTED_CONSTRUCTORS, (
                f"{script.relative_to(ROOT)}:{line}: new {name}(...) with {count} argument(s) is not on "
                "script-security's generic-whitelist; rewrite it (e.g. [:] + putAll) or add its signature to "
                "SCRIPT_APPROVALS in pipelinegen/deploy/clone.py"
            )
    assert ("HashSet", 1) in found  # the scan sees the library's real constructor calls


def test_scan_rejects_a_linked_hash_map_copy() -> None:
    assert _constructor_calls("Map m = new LinkedHashMap(cell)  // copy") == [("LinkedHashMap", 1, 1)]
    assert _constructor_calls("Set s = new HashSet()") == [("HashSet", 0, 1)]


GROOVY_DRIVER = r"""
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.customizers.ImportCustomizer
import groovy.json.JsonOutput

/** Interruptions as workflow-step-api's FlowInterruptedException: `actual` = isActualInterruption(). */
class Interruption extends InterruptedException {
    boolean actual
    Interruption(boolean actual) { super(actual ? 'aborted by a user' : 'timeout or lost agent'); this.actual = actual }
}

/** Just enough DSL to run runCell; retry and catchError follow workflow-basic-steps RetryStepExecution
 *  (no conditions: retry anything but an actual interruption) and CatchErrorStep (catchInterruptions). */
abstract class StubDsl extends Script {
    List events = []
    Map env = [:]
    Map params = [branch: '']
    Object scm = 'scm'
    List<String> commandOutcomes = []  // per run-cell.sh: pass, fail, timeout (or lost agent), abort (by a user)
    int nodes = 0
    def methodMissing(String name, args) {
        Object[] a = args as Object[]
        return a.length > 0 && a[-1] instanceof Closure ? ((Closure) a[-1]).call() : null
    }
    def node(String label, Closure body) {
        nodes++
        events << 'node ' + label
        env.NODE_NAME = 'n' + nodes
        try { body.call() } finally { env.NODE_NAME = null }
    }
    String lastOutcome = ''
    def sh(Map a) {
        if ((a.script as String).contains('run-cell')) {
            String outcome = commandOutcomes.remove(0)
            lastOutcome = outcome
            if (outcome == 'fail' || outcome == 'testfail') { return 1 }  // returnStatus: true
            if (outcome != 'pass') { throw new Interruption(outcome == 'abort') }
            return 0
        }
    }
    def junit(Map a) {  // junit's TestResultSummary: the tests of the attempt that just ran
        return [totalCount: 3, failCount: lastOutcome == 'testfail' ? 1 : 0]
    }
    def unstable(String message) { events << 'unstable' }
    def error(String message) { throw new Exception(message) }
    def retry(Map a, Closure body) {
        int left = a.count as int
        while (true) {
            try { return body.call() } catch (Throwable t) {
                left--
                if (left <= 0 || (t instanceof Interruption && t.actual)) { throw t }
                events << 'retrying'
            }
        }
    }
    def catchError(Map a, Closure body) {
        try { body.call() } catch (Throwable t) {
            if (a.catchInterruptions == false && t instanceof Interruption && t.actual) { throw t }
            events << 'recorded ' + a.buildResult
        }
    }
}

Map runCell(Class cls, List<String> outcomes) {
    StubDsl script = (StubDsl) cls.newInstance()
    script.setCommandOutcomes(new ArrayList(outcomes))  // Script.setProperty would write the binding
    Map cell = [id: 'c', name: 'cell', label: 'amd64 || arm64', attempts: 3, depends_on: [], checkouts: [], env: [],
                collect_patterns: [], junit_patterns: ['r/*.xml'], timeout_minutes: 60, build_once: false,
                results_dir: 'r', kind: 'test', retry_on: 'infra']
    Map rule = [infra_exit_code: 75, infra_signatures: [], statuses: [passed: 'passed', 'tests-failed': 'failed', infra: 'error'],
                retry_policies: [infra: ['infra'], 'infra-and-tests': ['infra', 'tests-failed'], never: []]]
    String escaped = null
    try { script.runCell(cell, new HashSet(), rule) } catch (Interruption i) { escaped = i.message }
    return [events: script.events, escaped: escaped]
}

CompilerConfiguration compiler = new CompilerConfiguration()
compiler.scriptBaseClass = StubDsl.name
ImportCustomizer imports = new ImportCustomizer()
imports.addImports('com.cloudbees.groovy.cps.NonCPS')
compiler.addCompilationCustomizers(imports)
GroovyClassLoader loader = new GroovyClassLoader(this.class.classLoader, compiler)
loader.parseClass('package com.cloudbees.groovy.cps\nimport java.lang.annotation.*\n' +
                  '@Retention(RetentionPolicy.RUNTIME) @interface NonCPS {}')
loader.parseClass('package org.jenkinsci.plugins.workflow.steps\n' +
                  'class FlowInterruptedException extends InterruptedException {}')
Class cells = loader.parseClass(new File(args[0], 'pipelinegenCells.groovy'))
Class plan = loader.parseClass(new File(args[0], 'pipelinegenPlan.groovy'))
Map out = [
    or_label: cells.labelExcluding('amd64 || arm64', ['node-1', 'we"ird']),
    plain_label: cells.labelExcluding('cassandra-amd64-large', ['node-1']),
    no_exclusion: cells.labelExcluding('a || b', []),
    empty_label: cells.labelExcluding('', ['node-1']),
    parsed: plan.parsePlan(new File(args[1]).getText('UTF-8')),
]
out.timeout_fail_pass = runCell(cells, ['timeout', 'fail', 'pass'])
out.always_timeout = runCell(cells, ['timeout', 'timeout', 'timeout'])
out.user_abort = runCell(cells, ['abort', 'pass', 'pass'])
out.tests_fail = runCell(cells, ['testfail', 'pass', 'pass'])
out.infra_then_tests_fail = runCell(cells, ['fail', 'testfail', 'pass'])
out.parsed_type = out.parsed.getClass().name
out.nested_type = out.parsed.cells[0].getClass().name
println(JsonOutput.toJson(out))
"""


@pytest.fixture(scope="module")
def groovy_results(tmp_path_factory: pytest.TempPathFactory) -> dict:
    if shutil.which("groovy") is None or shutil.which("java") is None:
        pytest.skip("groovy/java not installed")
    tmp = tmp_path_factory.mktemp("jenkins_compat")
    driver = tmp / "driver.groovy"
    driver.write_text(GROOVY_DRIVER, encoding="utf-8")
    plan = {  # cells are rows of cell_fields (render/plan_data.py CELL_FIELDS)
        "project": "p",
        "cell_fields": ["id", "command", "glob", "word", "n", "list"],
        "cells": [["a", "[[ -d build ]]", "{step}", "null", 3, ["[1,2]", "{\"k\": 1}"]]],
    }
    plan_file = tmp / "plan.json"
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    env = dict(os.environ)
    java = Path(shutil.which("java")).resolve()
    env.setdefault("JAVA_HOME", str(java.parent.parent))
    done = subprocess.run(["groovy", str(driver), str(VARS), str(plan_file)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_retry_exclusion_keeps_or_labels_intact(groovy_results: dict) -> None:
    # without the parentheses `amd64 || arm64 && !"node-1"` would still allow node-1 through `amd64`
    assert groovy_results["or_label"] == '(amd64 || arm64) && !"node-1" && !"we\\"ird"'
    assert groovy_results["plain_label"] == '(cassandra-amd64-large) && !"node-1"'
    assert groovy_results["no_exclusion"] == "a || b"
    assert groovy_results["empty_label"] == '!"node-1"'


def test_lost_agent_or_cell_timeout_is_retried_elsewhere_then_recorded_as_failure(groovy_results: dict) -> None:
    # the timeout step and a removed agent end the body with a FlowInterruptedException that is not an
    # "actual interruption": retried on another node, and after the last attempt the cell is a FAILURE
    run = groovy_results["always_timeout"]
    assert run["escaped"] is None
    assert run["events"] == ["node amd64 || arm64", "retrying", 'node (amd64 || arm64) && !"n1"', "retrying",
                             'node (amd64 || arm64) && !"n1" && !"n2"', "recorded FAILURE"]


def test_a_timeout_then_a_failure_then_a_pass_is_a_passed_cell(groovy_results: dict) -> None:
    run = groovy_results["timeout_fail_pass"]
    assert run["escaped"] is None
    assert "recorded FAILURE" not in run["events"]
    assert run["events"].count("retrying") == 2


def test_a_user_abort_is_neither_retried_nor_recorded_as_a_cell_failure(groovy_results: dict) -> None:
    run = groovy_results["user_abort"]
    assert run["escaped"] == "aborted by a user"
    assert run["events"] == ["node amd64 || arm64"]


def test_plan_strings_that_look_like_json_stay_strings(groovy_results: dict) -> None:
    cell = groovy_results["parsed"]["cells"][0]
    assert cell == {"id": "a", "command": "[[ -d build ]]", "glob": "{step}", "word": "null", "n": 3,
                    "list": ["[1,2]", "{\"k\": 1}"]}
    # plain, Serializable collections (CPS keeps them across steps), not JsonSlurper's LazyMap
    assert groovy_results["parsed_type"] == "java.util.LinkedHashMap"
    assert groovy_results["nested_type"] == "java.util.LinkedHashMap"


def test_failing_tests_are_unstable_and_not_retried(groovy_results: dict) -> None:
    # the default retry_on (infra): a deterministic test failure is reported, not re-run on another agent
    assert groovy_results["tests_fail"]["events"] == ["node amd64 || arm64", "unstable"]


def test_an_infra_failure_is_retried_then_failing_tests_make_the_cell_unstable(groovy_results: dict) -> None:
    # exit 1 without a failing test = infrastructure: retried elsewhere; the retry's failing tests end it UNSTABLE
    assert groovy_results["infra_then_tests_fail"]["events"] == [
        "node amd64 || arm64", "retrying", 'node (amd64 || arm64) && !"n1"', "unstable"]


def test_the_scm_getters_the_library_reads_are_approved_on_a_clone() -> None:
    """`scm.userRemoteConfigs[0].url` / `scm.branches[0].name` (an empty repository/branch = the job's own SCM) are
    not on any whitelist (the git plugin marks them @Exported only): the clone's JCasC approves exactly those."""
    from pipelinegen.deploy.clone import SCRIPT_APPROVALS

    text = (VARS / "pipelinegenPlan.groovy").read_text(encoding="utf-8")
    uses = {"scm.userRemoteConfigs": ("method hudson.plugins.git.GitSCM getUserRemoteConfigs",
                                      "method hudson.plugins.git.UserRemoteConfig getUrl"),
            "scm.branches": ("method hudson.plugins.git.GitSCM getBranches",
                             "method hudson.plugins.git.BranchSpec getName")}
    needed = {signature for usage, signatures in uses.items() if usage in text for signature in signatures}
    assert needed and needed == set(SCRIPT_APPROVALS)
