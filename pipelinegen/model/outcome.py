"""How one attempt of a cell ended: passed, tests failed, or an infrastructure failure.

ONE rule for every backend: `pipelinegen run` calls `classify`; the Jenkins library's
`pipelinegenCells.classifyOutcome` is its Groovy copy, fed with `outcome_data()` from plan.json, and
tests/test_outcome_rule.py holds the two equal over every combination of what an attempt can show.

* passed: the command exited 0 and no test failed (a test step also produced test results);
* tests failed: readable test results with at least one failing test — the code's finding, UNSTABLE in
  Jenkins as the junit step would make it, and not retried by default (a deterministic failure re-run on
  another large agent for an hour only confirms itself);
* infra failure: anything else that went wrong — the command never finished (cell timeout, agent lost,
  killed), unreadable results, no results from a test step, a non-zero exit without a failing test, the
  script's own "not my code" exit code, or a known infrastructure message in its console: retried on
  another node, FAILURE after the last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

PASSED, TESTS_FAILED, INFRA = "passed", "tests-failed", "infra"
OUTCOMES = (PASSED, TESTS_FAILED, INFRA)

# A script that knows its failure is the machine's, not the code's (docker pull failed, disk full), exits
# with this code (sysexits.h EX_TEMPFAIL): docs/scripts.md.
INFRA_EXIT_CODE = 75

# Console lines (POSIX extended regular expressions: grep -E in run-cell.sh, `re` in Python) that mean the
# agent or its docker failed, whatever the exit code and the test results say.
INFRA_SIGNATURES = (
    "No space left on device",
    "Cannot connect to the Docker daemon",
    "OutOfMemoryError: unable to create (new )?native thread",
    "Could not resolve host",
    "Temporary failure in name resolution",
)

# A step's `retry_on` (pipeline.yaml): which outcomes get another attempt, while attempts remain.
RETRY_POLICIES = {"infra": (INFRA,), "infra-and-tests": (INFRA, TESTS_FAILED), "never": ()}
DEFAULT_RETRY_POLICY = "infra"

# The result bundle's cell status of each outcome (results/manifest.py CELL_STATUSES).
BUNDLE_STATUS = {PASSED: "passed", TESTS_FAILED: "failed", INFRA: "error"}


@dataclass(frozen=True)
class Observed:
    """What one attempt showed, as both backends can see it."""

    exit_code: int | None  # None: the command never finished (timeout, lost agent, killed)
    tests_total: int = 0
    tests_failed: int = 0  # failures + errors
    results_readable: bool = True  # False when a result file could not be parsed
    infra_signature: bool = False  # a line of the console matched INFRA_SIGNATURES
    expects_tests: bool = False  # a test step with result globs: no result at all is not a pass


def classify(observed: Observed) -> tuple[str, str]:
    """(outcome, reason): the reason is what a person reads next to the cell."""
    if observed.exit_code is None:
        return INFRA, "the command did not finish (cell timeout, lost agent or killed)"
    if not observed.results_readable:
        return INFRA, "unreadable test results"
    if observed.exit_code == INFRA_EXIT_CODE:
        return INFRA, f"exit code {INFRA_EXIT_CODE}: the script reported an infrastructure failure"
    if observed.exit_code != 0 and observed.infra_signature:
        return INFRA, "a known infrastructure failure in the console"
    if observed.tests_failed > 0:
        return TESTS_FAILED, f"{observed.tests_failed} failing test{'s' if observed.tests_failed != 1 else ''}"
    if observed.exit_code != 0:
        return INFRA, f"exit code {observed.exit_code} without a failing test"
    if observed.expects_tests and observed.tests_total == 0:
        return INFRA, "no test results"
    return PASSED, ""


def retries(outcome: str, policy: str) -> bool:
    """Whether *outcome* gets another attempt under the step's retry *policy*."""
    return outcome in RETRY_POLICIES[policy]


def outcome_data() -> dict:
    """The rule's data as the library reads it from plan.json (its code is classifyOutcome)."""
    return {
        "infra_exit_code": INFRA_EXIT_CODE,
        "infra_signatures": list(INFRA_SIGNATURES),
        "retry_policies": {name: list(outcomes) for name, outcomes in RETRY_POLICIES.items()},
        "statuses": dict(BUNDLE_STATUS),
    }
