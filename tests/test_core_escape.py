"""One escaping function per language, checked against the real interpreters (Groovy 2.4, bash, lxml, PyYAML,
jenkins-job-builder). JCasC and Helm run in Java/Go, not here: their escapes are checked against a model of the
documented substitution rule, written down in this file."""

from __future__ import annotations

import base64
import re
import subprocess

import pytest
import yaml
from lxml import etree

from pipelinegen.escape import (
    groovy_comment,
    groovy_string,
    helm_template_text,
    jcasc_string,
    jjb_string,
    map_strings,
    shell_quote,
    xml_attribute,
    xml_text,
)
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


@pytest.mark.parametrize("value", [*NASTY, "cr\r\nlf", "a & b < c > d ]]> e", "x" * 70_000])
def test_xml_text_parses_back_to_the_same_text(value):
    document = f"<a>{xml_text(value)}</a>"
    assert (etree.fromstring(document).text or "") == value


@pytest.mark.parametrize("value", [*NASTY, 'a "quoted" <tag> & more', "tab\tline\nfeed\rreturn", "x" * 10_000])
def test_xml_attribute_parses_back_to_the_same_value(value):
    document = f'<a v="{xml_attribute(value)}"/>'
    assert etree.fromstring(document).get("v") == value


def test_xml_text_refuses_characters_xml_cannot_carry():
    with pytest.raises(ValueError):
        xml_text("nul \x00 byte")


COMMENT_ATTACKS = [*NASTY, "x\\u000a println('INJECTED')", "x\nprintln('INJECTED')", "x\rprintln('INJECTED')",
                   "x\u2028println('INJECTED')", "x\u0085println('INJECTED')", "*/ println('INJECTED') /*", "\\"]


def test_groovy_comment_keeps_every_value_inside_its_comment(tmp_path):
    """Groovy decodes \\uXXXX before it finds comments: `// \\u000a code` runs the code. Neither a `//` nor
    a `/* */` comment holding the escaped value may run anything."""
    lines = []
    for value in COMMENT_ATTACKS:
        text = groovy_comment(value)
        assert text.isascii() and text.isprintable() and "\\" not in text
        lines.append(f"// {text}")
        lines.append(f"/* {text} */")
    lines.append("println('END')")
    result = run_groovy("\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["END"]


def test_groovy_comment_without_escaping_would_run_code(tmp_path):
    """The attack is real: the same lines unescaped run the injected call (so the test above can fail)."""
    result = run_groovy("// x\\u000a println('INJECTED')\nprintln('END')\n", tmp_path)
    assert result.stdout.split() == ["INJECTED", "END"]


def _jcasc_resolve(text: str, variables: dict[str, str]) -> str:
    """JCasC's documented substitution (commons-text StringSubstitutor, escape character `^`): `${NAME}` is
    replaced, `^${` is a literal `${`."""
    out, index = [], 0
    while index < len(text):
        if text.startswith("^${", index):
            out.append("${")
            index += 3
        elif text.startswith("${", index) and "}" in text[index:]:
            end = text.index("}", index)
            out.append(variables.get(text[index + 2 : end], ""))
            index = end + 1
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


@pytest.mark.parametrize("value", [*NASTY, "${chart-admin-password}", "^${x}", "^^${x}", "$${x}", "${a}${b}", "${"])
def test_jcasc_string_survives_substitution(value):
    assert _jcasc_resolve(jcasc_string(value), {"chart-admin-password": "SECRET", "x": "X", "a": "A", "b": "B"}) == value


def test_jcasc_resolution_model_would_leak_an_unescaped_secret():
    assert _jcasc_resolve("${chart-admin-password}", {"chart-admin-password": "SECRET"}) == "SECRET"


def _go_template_text(text: str) -> str:
    """Helm's `tpl` on text whose only actions are the `{{"{{"}}` literals helm_template_text writes."""
    rest = text.replace('{{"{{"}}', "\x00")
    assert "{{" not in rest, f"a template action is left in {text!r}"
    return rest.replace("\x00", "{{")


@pytest.mark.parametrize("value", [*NASTY, "{{ .Values.secret }}", "{{{{", "{{{", "}}{{", '{{"{{"}}'])
def test_helm_template_text_leaves_no_action_and_renders_back(value):
    assert _go_template_text(helm_template_text(value)) == value


JJB_VALUES = [v for v in NASTY if "\r" not in v] + ["{x}", "{{x}}", "${x}", "{", "}", "@{x}", "{{x}", "{obj:x}"]


def test_jjb_string_is_rendered_literally_by_jenkins_job_builder():
    """Through jenkins-job-builder itself: every value comes out of the XML exactly as it went in."""
    from pipelinegen.deploy.jobs import JobSettings, _jjb_xml, check_job_xml, jjb_definition
    from pipelinegen.deploy.spec import JobParameter

    settings = [JobSettings(name=f"job-{i}", repository=f"https://example.org/{v}", branch=f"b{v}",
                            script_path="generated/Jenkinsfile", polling=True,
                            parameters=(JobParameter("p", "string", v, (), v),
                                        JobParameter("c", "choice", "x", ("x", v or "y"), v)))
                for i, v in enumerate(JJB_VALUES)]
    xml = _jjb_xml([jjb_definition(s) for s in settings], [])
    assert [problem for s in settings for problem in check_job_xml(xml[s.name], s)] == []
    descriptions = [etree.fromstring(xml[s.name].encode()).findtext(".//parameterDefinitions/*/description") or ""
                    for s in settings]
    assert descriptions == JJB_VALUES


def test_yaml_safe_dump_round_trips_every_string():
    data = {"values": NASTY + ["${x}", "key: value", "- item", "&anchor", "*alias", "!!python/object x", "\ufeff"]}
    assert yaml.safe_load(yaml.safe_dump(data, allow_unicode=True)) == data


def test_map_strings_escapes_values_not_keys():
    assert map_strings({"${k}": ["${v}", 1, {"a": "${w}"}]}, jcasc_string) == {"${k}": ["^${v}", 1, {"a": "^${w}"}]}


def test_jjb_string_doubles_every_brace():
    assert jjb_string("{a}}{") == "{{a}}}}{{"
    assert not re.search(r"(?<!\{)\{(?!\{)", jjb_string("x{y"))
