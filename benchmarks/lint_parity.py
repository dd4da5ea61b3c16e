"""Measure `pipelinegen lint` against Jenkins's own declarative corpus (run on demand, prints a table).

Usage:
    git --git-dir=/work/.mirror/jenkinsci+pipeline-model-definition-plugin/repo archive HEAD \\
        pipeline-model-definition/src/test | tar -x -C /tmp/pmd
    python benchmarks/lint_parity.py /tmp/pmd/pipeline-model-definition/src/test

Accepted = the configurations AbstractModelDefTest lists as passing (SHOULD_PASS_CONFIGS and
CONVERT_ONLY_SHOULD_PASS_CONFIGS): each must lint with no error. Rejected = the `errors/*.groovy` files that
ValidatorTest expects to fail: each must get at least one error with a line number ("same reason": one of
our errors is the rule that mirrors a message Jenkins gives). Families come from the message keys
ValidatorTest expects. Nothing from that corpus is copied into this repository.
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

from pipelinegen.lint.catalogue import DEFAULT_CATALOGUE, AgentType, Catalogue
from pipelinegen.lint.catalogue_file import PINNED, load_catalogue
from pipelinegen.lint.engine import lint_files

# Not structural: a step's/option's/trigger's own parameters and installed tools need the plugins' metadata
# (we ship a catalogue of core steps only, so this row is reported apart); script-security and validator
# contributors are run-time extensions of a real Jenkins, out of scope.
METADATA_KEYS = ("InvalidStepParameter", "MissingRequiredStepParameter", "InvalidParameterType",
                 "WrongNumberOfStepParameters", "NoToolVersion", "InvalidUnnamedParameterType")
RUNTIME_MARKERS = ("RejectedAccessException", "is rejected", "validate ", "Echo is banned")
WHEN_TESTS = ("when",)

FAMILIES = [  # (family, substrings of the expected message key or literal), first match wins
    ("groovy syntax", ("constant expression", "binary expression", "expecting token", "Duplicate named parameter")),
    ("blocked steps", ("BlockedStep",)),
    ("environment", ("Env", "Environment")),
    ("agent", ("Agent",)),
    ("when", ("When",)),
    ("matrix", ("Axis", "Axes", "Exclude", "Matrix")),
    ("post", ("BuildCondition", "EmptySection(\"post\")")),
    ("input", ("Input", "MultipleOfSection(\"message\")")),
    ("libraries", ("Library", "libraries")),
    ("tools", ("Tool", "tool\"")),
    ("options/triggers/parameters", ("option", "Option", "Trigger", "trigger", "parameter", "Parameter",
                                     "CannotHaveBlocks", "MapNotAllowed", "EmptySection")),
    ("values", ("BareDollarCurly", "BigInteger", "MethodCallWithClosure", "MixedNamed")),
    ("stages/steps/sections", ("",)),
]


# Jenkins message key (or literal in ValidatorTest) -> our rule ids that report the same problem.
SAME_RULE = {
    "PipelineBlockNotAtTop": {"pipeline-top-level"}, "BlockedStep": {"blocked-step"},
    "NoStages": {"stages-empty"}, "EmptySection": {"directive-empty", "post-empty", "libraries-empty"},
    "NoAxes": {"matrix-axes", "matrix-excludes"}, "NoExcludes": {"matrix-excludes"},
    "RequiredSection": {"required-section"}, "DuplicateAxisName": {"matrix-axis"},
    "DuplicateAxisValue": {"matrix-axis"}, "ExpectedStringLiteral": {"string-literal", "matrix-axis"},
    "InvalidIdentifierInEnv": {"env-identifier", "matrix-axis"}, "ExpectedStringLiteralButGot": {"matrix-axis"},
    "MatrixExcludeAxisValuesOrNotValues": {"matrix-axis"}, "EmptyWhen": {"when-empty"},
    "NestedWhenNoArgs": {"when-nested"}, "NoNestedWhenAllowed": {"when-nested"},
    "NestedWhenWithoutChildren": {"when-nested"}, "NestedWhenWrongChildrenCount": {"when-nested"},
    "UnknownWhenConditional": {"when-condition"},
    "MissingRequiredStepParameter": {"when-arguments", "step-arguments", "call-arguments"},
    "InvalidStepParameter": {"when-arguments", "step-arguments", "call-arguments"},
    "InvalidUnnamedParameterType": {"when-arguments", "step-arguments", "call-arguments"},
    "InvalidParameterType": {"step-arguments", "call-arguments"},
    "WrongNumberOfStepParameters": {"call-arguments"},
    "CannotHaveBlocks": {"directive-block"}, "MixedNamedAndUnnamedParameters": {"mixed-arguments"},
    "MethodCallWithClosure": {"closure-argument"}, "MapNotAllowed": {"directive-map"},
    "NothingForStage": {"stage-content"}, "TwoOfStepsStagesParallel": {"stage-content"},
    "ExpectedBoolean": {"expected-boolean"}, "ExpectedClosureOrFailFast": {"parallel-branch"},
    "NoSteps": {"steps-empty"}, "UnknownStageSection": {"section-unknown"},
    "DuplicateStageName": {"stage-duplicate-name"}, "DuplicateEnvVar": {"env-duplicate"},
    "NoEnvVars": {"env-empty"}, "InvalidSectionDefinition": {"section-invalid"},
    "InvalidStageSectionDefinition": {"section-invalid"}, "InvalidBuildCondition": {"post-condition"},
    "DuplicateBuildCondition": {"post-duplicate"}, "InvalidSectionType": {"option-type", "option-not-in-stage"},
    "ExpectedTool": {"tools-syntax"}, "ExpectedStep": {"step-expected"}, "ObjectMethodCall": {"object-method-call"},
    "InvalidAgentType": {"agent-type-unknown"}, "NoAgentType": {"agent-type-missing"},
    "InvalidAgent": {"agent-invalid"}, "MultipleAgentParameters": {"agent-param-missing"},
    "OneAgentMax": {"agent-one-type"}, "InvalidAgentParameter": {"agent-param-unknown"},
    "RenamedNotifications": {"section-unknown"}, "DuplicateOptionName": {"directive-duplicate"},
    "DuplicateTriggerName": {"directive-duplicate"}, "ExpectedLibrary": {"libraries-lib"},
    "UndefinedSection": {"section-unknown"}, "InvalidEnvironmentOperation": {"env-operation"},
    "InvalidEnvironmentConcatValue": {"env-concat-value"}, "InvalidEnvironmentValue": {"env-value"},
    "InvalidEnvironmentIdentifier": {"env-syntax"}, "AgentInNestedStages": {"nested-agent-tools"},
    "ToolsInNestedStages": {"nested-agent-tools"}, "NoNestedWithinNestedStages": {"nested-parallel"},
    "RejectParameters": {"option-type"}, "RejectTriggers": {"option-type"}, "ExpectedStage": {"stage-expected"},
    "MultipleOfSection": {"section-duplicate"}, "ExpectedBlockFor": {"section-expected-block"},
    "BareDollarCurly": {"bare-dollar-curly"}, "ExpectedWhen": {"when-condition"},
    "MissingInputMessage": {"input-message"}, "InvalidInputField": {"input-field"},
    "BigIntegerValue": {"integer-range"}, "constant expression": {"groovy-syntax"},
    "binary expression": {"groovy-syntax"}, "expecting token": {"groovy-syntax"},
    "Duplicate named parameter": {"groovy-syntax"},
}


def same_rule(expectation: str, rules: set[str]) -> bool:
    """Did we reject for (one of) the reason(s) Jenkins gives?"""
    keys = {k.rsplit("_", 1)[-1] for k in re.findall(r"Messages\.(\w+)\(", expectation)}
    keys |= {k for k in SAME_RULE if " " in k and k in expectation}
    return any(SAME_RULE.get(k, set()) & rules for k in keys)


def parse_should_pass(java: str) -> list[str]:
    names: list[str] = []
    for block_name in ("SHOULD_PASS_CONFIGS", "CONVERT_ONLY_SHOULD_PASS_CONFIGS"):
        m = re.search(block_name + r"\s*=\s*ImmutableList\.of\((.*?)\);", java, re.S)
        names += re.findall(r'"([^"]+)"', m.group(1)) if m else []
    return names


def parse_expected_errors(java: str) -> dict[str, str]:
    """errors/<name>.groovy -> the text of what ValidatorTest expects in the log (message keys, literals)."""
    expected: dict[str, str] = {}
    for m in re.finditer(r'expectError\("([^"]+)"\)(.*?)\.go\(\);', java, re.S):
        expected.setdefault(m.group(1), m.group(2))
    return expected


def family_of(name: str, expectation: str) -> str:
    if any(marker in expectation for marker in RUNTIME_MARKERS):
        return "out of scope: run-time extensions"
    if any(key in expectation for key in METADATA_KEYS) and not name.startswith(WHEN_TESTS):
        return "metadata: core catalogue only"
    if "InvalidSectionType" in expectation and any(t in expectation for t in ('"trigger"', '"parameter"', '"tool"')):
        return "metadata: core catalogue only"
    for family, needles in FAMILIES:
        if any(n in expectation for n in needles):
            return family
    return "stages/steps/sections"


def test_controller_catalogue() -> Catalogue:
    """The controller of Jenkins's own test suite, as a catalogue: pipelinegen's pinned plugins plus what
    the suite's JenkinsRule adds (its `otherField` agent type, docker-workflow's agents, and the Maven
    installation `apache-maven-3.0.1` that ToolInstallations.configureMaven3() registers)."""
    pinned = load_catalogue(PINNED)
    controller = pinned.controller
    assert controller is not None
    tools = {**controller.tools, "maven": ("apache-maven-3.0.1",)}
    agents = {**pinned.agent_types, "otherField": AgentType(required=("label", "otherField"), optional=("nested",)),
              "docker": DEFAULT_CATALOGUE.agent_types["docker"],
              "dockerfile": DEFAULT_CATALOGUE.agent_types["dockerfile"]}
    return replace(pinned, agent_types=agents, controller=replace(controller, tools=tools))


def catalogue_rows(passing: list[Path], failing: list[Path], expected: dict[str, str]) -> None:
    """The plugin-metadata files again, decided with a controller catalogue (`lint --catalogue`)."""
    findings = lint_files(passing + failing, test_controller_catalogue())
    errors = defaultdict(list)
    for f in findings:
        if f.severity == "error":
            errors[f.file].append(f)
    false_rejects = [p for p in passing if errors[str(p)]]
    metadata = [p for p in failing if family_of(p.stem, expected[p.stem]).startswith("metadata")]
    decided = [p for p in metadata if any(f.line is not None for f in errors[str(p)])]
    print("\nwith a controller catalogue (pinned plugins + the test suite's JenkinsRule extras):")
    print(f"  accepted configurations: {len(passing)}, lint errors on {len(false_rejects)}")
    for p in false_rejects:
        print(f"    FALSE REJECT {p.name}: {errors[str(p)][0].format()}")
    print(f"  plugin-metadata files rejected with a line: {len(decided)} of {len(metadata)}")
    in_scope = [p for p in failing if not family_of(p.stem, expected[p.stem]).startswith("out of scope")]
    caught = [p for p in in_scope if any(f.line is not None for f in errors[str(p)])]
    print(f"  all rejected files but the run-time extensions: {len(caught)} of {len(in_scope)} caught with a line")
    for p in in_scope:
        if p not in caught:
            print(f"    missed {p.stem}")
    for p in metadata:
        if p not in decided:
            print(f"    missed {p.stem}")


def main(test_dir: Path) -> int:
    resources = test_dir / "resources"
    java_root = test_dir / "java" / "org" / "jenkinsci" / "plugins" / "pipeline" / "modeldefinition"
    should_pass = parse_should_pass((java_root / "AbstractModelDefTest.java").read_text())
    expected = parse_expected_errors((java_root / "ValidatorTest.java").read_text())
    passing = [resources / f"{n}.groovy" for n in should_pass if (resources / f"{n}.groovy").is_file()]
    failing = [resources / "errors" / f"{n}.groovy" for n in expected if (resources / "errors" / f"{n}.groovy").is_file()]
    # The Jenkins test harness registers an extra agent type (LabelAndOtherFieldAgent); mirror it.
    catalogue = DEFAULT_CATALOGUE.with_agent_type("otherField", AgentType(required=("label", "otherField"),
                                                                          optional=("nested",)))
    started = time.monotonic()
    findings = lint_files(passing + failing, catalogue)
    elapsed = time.monotonic() - started
    errors = defaultdict(list)
    for f in findings:
        if f.severity == "error":
            errors[f.file].append(f)

    false_rejects = [p for p in passing if errors[str(p)]]
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    missed: dict[str, list[str]] = defaultdict(list)
    for p in failing:
        fam = family_of(p.stem, expected[p.stem])
        located = [f for f in errors[str(p)] if f.line is not None]
        rows[fam][0] += 1
        if located:
            rows[fam][1] += 1
            rows[fam][3] += same_rule(expected[p.stem], {f.rule for f in located})
        else:
            rows[fam][2] += 1
            missed[fam].append(p.stem)

    print(f"accepted configurations: {len(passing)}, lint errors on {len(false_rejects)}")
    for p in false_rejects:
        print(f"  FALSE REJECT {p.relative_to(resources)}: {errors[str(p)][0].format()}")
    print()
    print(f"| {'rule family':<36} | files | rejected | missed | same reason |")
    print(f"|{'-' * 38}|-------|----------|--------|-------------|")
    in_scope = [0, 0, 0, 0]
    for fam in sorted(rows, key=lambda k: (k.startswith(("out of scope", "metadata")), k)):
        total, rej, miss, same = rows[fam]
        print(f"| {fam:<36} | {total:>5} | {rej:>8} | {miss:>6} | {same:>11} |")
        if not fam.startswith(("out of scope", "metadata")):
            in_scope = [a + b for a, b in zip(in_scope, rows[fam], strict=True)]
    rate = 100.0 * in_scope[1] / in_scope[0] if in_scope[0] else 0.0
    print(f"| {'structural total':<36} | {in_scope[0]:>5} | {in_scope[1]:>8} | {in_scope[2]:>6} | {in_scope[3]:>11} |")
    print(f"\nstructural rejections caught with a line number: {rate:.1f} %")
    for fam, names in sorted(missed.items()):
        print(f"missed ({fam}): {', '.join(sorted(names))}")
    print(f"\nlinted {len(passing) + len(failing)} files in {elapsed:.1f} s (one JVM)")
    catalogue_rows(passing, failing, expected)
    # Informational: every other resource (run-time tests; some expect failures, some are @Ignore'd).
    others = sorted(p for p in resources.rglob("*.groovy")
                    if "errors" not in p.relative_to(resources).parts and p not in passing)
    other_errors = defaultdict(list)
    for f in lint_files(others):
        if f.severity == "error":
            other_errors[f.file].append(f)
    print(f"other resources: {len(others)} files, errors on {len(other_errors)}")
    for name, found in sorted(other_errors.items()):
        print(f"  {Path(name).relative_to(resources)}: {found[0].message} [{found[0].rule}]")
    return 0 if not false_rejects and rate >= 90.0 else 1


def smoke_corpus(root: Path) -> Path:
    """A two-file stand-in with the corpus's layout (our own Jenkinsfiles): proves the benchmark runs (CI)."""
    java = root / "java" / "org" / "jenkinsci" / "plugins" / "pipeline" / "modeldefinition"
    java.mkdir(parents=True)
    (java / "AbstractModelDefTest.java").write_text('SHOULD_PASS_CONFIGS = ImmutableList.of("simple");\n')
    (java / "ValidatorTest.java").write_text(
        'expectError("emptyStages").logContains(Messages.ModelValidatorImpl_NoStages()).go();\n')
    (root / "resources" / "errors").mkdir(parents=True)
    (root / "resources" / "simple.groovy").write_text(
        "pipeline {\n  agent none\n  stages {\n    stage('a') {\n      steps {\n        echo 'hi'\n      }\n    }\n  }\n}\n")
    (root / "resources" / "errors" / "emptyStages.groovy").write_text("pipeline {\n  agent none\n  stages {\n  }\n}\n")
    return root


if __name__ == "__main__":
    if sys.argv[1:] == ["--smoke"]:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            sys.exit(main(smoke_corpus(Path(tmp))))
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(Path(sys.argv[1])))
