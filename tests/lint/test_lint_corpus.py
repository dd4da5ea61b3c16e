"""Our own corpus: for every rule a failing example (the offending line marked `// <-- RULE`) and a passing one."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelinegen.lint.engine import lint_files

CORPUS = Path(__file__).parents[1] / "lint_corpus"
FILES = sorted(CORPUS.glob("*.groovy"))
REAL = sorted((Path(__file__).parents[1] / "lint_real").glob("*"))


@pytest.fixture(scope="module")
def findings_by_file() -> dict[str, list]:
    # One JVM for the whole corpus, as `pipelinegen lint` does for many files.
    by_file: dict[str, list] = {str(p): [] for p in FILES + REAL}
    for finding in lint_files(FILES + REAL):
        by_file[finding.file].append(finding)
    return by_file


def test_corpus_has_a_failing_and_a_passing_example_per_rule():
    rules_fail = {p.name.removesuffix(".fail.groovy") for p in FILES if p.name.endswith(".fail.groovy")}
    rules_pass = {p.name.removesuffix(".pass.groovy") for p in FILES if p.name.endswith(".pass.groovy")}
    assert rules_fail == rules_pass
    assert len(rules_fail) >= 60


@pytest.mark.parametrize("path", [p for p in FILES if p.name.endswith(".fail.groovy")], ids=lambda p: p.name)
def test_failing_example_is_rejected_by_its_rule_on_the_marked_line(path: Path, findings_by_file):
    """`// <-- RULE` marks the offending element. Where Jenkins reports the error on the enclosing block,
    that block's line is marked `// <-- RULE (Jenkins's line)`: the finding stands there and keeps the
    element's line as a related place."""
    rule = path.name.removesuffix(".fail.groovy")
    lines = list(enumerate(path.read_text().splitlines(), 1))
    jenkins_line = [i for i, line in lines if f"// <-- {rule} (Jenkins's line)" in line]
    marked = [i for i, line in lines if f"// <-- {rule}" in line and i not in jenkins_line]
    errors = [f for f in findings_by_file[str(path)] if f.severity == "error"]
    if jenkins_line:
        hits = [f for f in errors if f.rule == rule and f.line in jenkins_line
                and {line for line, _ in f.related} & set(marked)]
    else:
        hits = [f for f in errors if f.rule == rule and (not marked or f.line in marked)]
    assert hits, (f"expected [{rule}] at line {jenkins_line or marked}, "
                  f"got {[(f.rule, f.line, f.related, f.message) for f in errors]}")
    assert all(f.line is not None and f.message for f in hits)


@pytest.mark.parametrize("path", [p for p in FILES if p.name.endswith(".pass.groovy")], ids=lambda p: p.name)
def test_passing_example_has_no_error(path: Path, findings_by_file):
    errors = [f.format() for f in findings_by_file[str(path)] if f.severity == "error"]
    assert errors == []


@pytest.mark.parametrize("path", REAL, ids=lambda p: p.name)
def test_real_world_jenkinsfiles_pass(path: Path, findings_by_file):
    errors = [f.format() for f in findings_by_file[str(path)] if f.severity == "error"]
    assert errors == []


def emitted_rule_ids() -> set[str]:
    """Every rule id the linter can report, read from its source (ctx.error/warning(node, "rule", ...))."""
    import re

    source = "\n".join(p.read_text() for p in (Path(__file__).parents[2] / "pipelinegen" / "lint").glob("*.py"))
    pattern = r'(?:error|warning|report)\([^,()]*(?:\([^()]*\))?[^,()]*,\s*"([a-z]+(?:-[a-z]+)*)"'
    return set(re.findall(pattern, source)) | set(re.findall(r'rule="([a-z-]+)"', source))


def test_every_rule_is_documented_and_every_error_rule_has_corpus_examples():
    rules = emitted_rule_ids()
    assert len(rules) >= 60
    docs = (Path(__file__).parents[2] / "docs" / "lint.md").read_text()
    assert sorted(r for r in rules if f"`{r}`" not in docs) == []
    warnings_only = {"tools-type", "no-pipeline"}
    corpus = {p.name.split(".")[0] for p in FILES}
    assert sorted(rules - warnings_only - corpus) == []
