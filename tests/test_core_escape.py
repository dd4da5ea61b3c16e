"""One escaping function per language, checked against the real interpreters (Groovy 2.4, bash, lxml)."""

from __future__ import annotations

import base64
import subprocess

import pytest
from lxml import etree

from pipelinegen.render.escape import groovy_string, shell_quote, xml_text
from tests.conftest import run_groovy

NASTY = [
    "",
    "plain",
    "it's",
    "quote ' and double \" quotes",
    "$HOME and ${HOME} and ${ 1 + 1 }",
    "back\\slash \\n not a newline \\",
    "line1\nline2\r\nline3\ttab",
    "'''triple''' and \"\"\"triple\"\"\"",
    "unicode é ü 雪 🚀 and \u2028 separator",
    "`backtick` $(echo hi) ; rm -rf / #",
    "\\u0041 literal backslash-u",
    "*?[glob] ~user",
]


def test_groovy_string_round_trips_through_groovy_2_4(tmp_path):
    lines = [f"println(({groovy_string(value)}).getBytes('UTF-8').encodeBase64().toString())" for value in NASTY]
    result = run_groovy("\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.split()
    decoded = [base64.b64decode(p).decode("utf-8") for p in printed]
    # an empty string prints an empty line, which split() drops
    assert decoded == [v for v in NASTY if v]


def test_groovy_string_is_ascii_and_never_interpolates():
    for value in NASTY:
        literal = groovy_string(value)
        assert literal.isascii()
        assert literal.startswith("'") and literal.endswith("'")
        assert "\n" not in literal


@pytest.mark.parametrize("value", NASTY)
def test_shell_quote_is_one_word_with_no_expansion(value):
    result = subprocess.run(["bash", "-c", f"printf %s {shell_quote(value)}"], capture_output=True)
    assert result.stdout.decode("utf-8") == value


@pytest.mark.parametrize("value", [v for v in NASTY if "\r" not in v])
def test_xml_text_parses_back_to_the_same_text(value):
    document = f"<a>{xml_text(value)}</a>"
    assert (etree.fromstring(document).text or "") == value


def test_xml_text_refuses_characters_xml_cannot_carry():
    with pytest.raises(ValueError):
        xml_text("nul \x00 byte")
