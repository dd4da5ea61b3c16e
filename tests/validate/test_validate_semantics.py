"""Layer 1 over the corpus of malformed pipeline.yaml files (tests/malformed/): each file's first line says
`# expect: TEXT @ line N`; validate must report TEXT at line N. valid.yaml, the base of them all, is clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelinegen.validate.semantics import check_custom_regexp, load_checked

CORPUS = Path(__file__).parents[1] / "malformed"
MALFORMED = sorted(p for p in CORPUS.glob("*.yaml") if p.name != "valid.yaml")
EXPECT = re.compile(r"^# expect: (?P<text>.+) @ line (?P<line>\d+)$")


def test_the_base_of_the_corpus_is_valid():
    pipeline, findings = load_checked(CORPUS / "valid.yaml")
    assert pipeline is not None and findings == []


def test_the_corpus_covers_the_layer_one_rules():
    assert len(MALFORMED) >= 15


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_file_is_reported_with_the_expected_text_and_line(path: Path):
    match = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name}: first line must be '# expect: TEXT @ line N'"
    _, findings = load_checked(path)
    hits = [f for f in findings if match["text"] in f.format()]
    assert hits, [f.format() for f in findings]
    assert hits[0].line == int(match["line"]) and hits[0].file.endswith(path.name)
    assert all(f.rule for f in findings)


def test_a_warning_alone_keeps_the_pipeline(tmp_path: Path):
    pipeline, findings = load_checked(CORPUS / "label-without-arch.yaml")
    assert pipeline is not None and [f.severity for f in findings] == ["warning"]


@pytest.mark.parametrize("pattern, why", [
    ("test++", "possessive"),
    ("(?i)dtest", "inline flags"),
    (r"dtest\Z", "end-of-input"),
    (r"\p{Alpha}", "Java-only"),
    ("(?P<n>test)", "named groups"),
    ("[a-", "not a valid regular expression"),
])
def test_a_custom_regexp_whose_meaning_differs_in_java_is_refused_with_why(pattern: str, why: str):
    [finding] = check_custom_regexp(pattern)
    assert why in finding.message and finding.rule == "semantics"


@pytest.mark.parametrize("pattern", ["^test$", "dtest|jvm", "test-(latest|cdc)", "^(?:a|b)[0-9]{2}"])
def test_a_custom_regexp_in_the_common_subset_passes(pattern: str):
    assert check_custom_regexp(pattern) == []
