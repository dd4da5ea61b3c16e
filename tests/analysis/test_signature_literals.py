"""Infra signatures are searched only in failure texts that hold one of their required literals (issue 16:
`flaky` spent ~1 ms per distinct 8 KB failure text in case-insensitive regexes). The shortcut must never change
what is found: checked against the plain regex search for the shipped signatures and for awkward user ones."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelinegen.analysis.classify import Signature, load_signatures, required_literals

USER_PATTERNS = [
    r"Killed process \d+",
    r"(?x) no \s space \s left",  # verbose: the spaces are not literals
    r"(?:abc)?segfault",  # an optional group: only 'segfault' is required
    r"exit code (137|143)|SIGKILL",
    r"(?<!not )refused",  # a lookbehind is not part of the match's literals
    r"\bOOM\b|out of memory",
    r"[A-Z]{3}-\d+",  # no literal at all: always searched
    r"ab",  # too short to be worth a literal: always searched
    r"Stra(ss|ß)e",  # non-ASCII in an alternative
]
SIGNATURES = load_signatures() + [Signature(f"user-{i}", re.compile(p, re.IGNORECASE))
                                   for i, p in enumerate(USER_PATTERNS)]
FRAGMENTS = ["Killed process 42", "killed PROCESS 7", "OOMKilled", "exit code 137", "No space left on device",
             "no  space left", "nospace", "abcsegfault", "SEGFAULT", "not refused", "was refused", "ORA-1234",
             "ab", "ſegfault", "Killed proceſs 9", "java.lang.OutOfMemoryError: unable to create native thread", "Connection reset by peer x maven",
             "Timeout has been exceeded", "timed out after 12 minutes, killing", "STRASSE", "straße", "K", "ſ"]


def _found(text: str, literal_skip: bool) -> list[str | None]:
    lowered = text.lower() if literal_skip else None
    return [s.search(text, lowered) for s in SIGNATURES]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=30)), max_size=12))
def test_the_literal_shortcut_finds_exactly_what_the_regex_finds(parts):
    text = " ".join(parts)
    assert _found(text, True) == _found(text, False)


def test_the_shipped_signatures_all_have_literals_and_the_shapeless_ones_none():
    assert all(s.literals for s in load_signatures())
    assert required_literals(re.compile(r"[A-Z]{3}-\d+")) is None and required_literals(re.compile("ab")) is None
    assert required_literals(re.compile(r"(?:abc)?segfault", re.I)) == ("segfault",)
    assert required_literals(re.compile(r"exit code (137|143)|SIGKILL", re.I)) == ("exit code ", "sigkill")
