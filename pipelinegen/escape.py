"""The one escaping function per target language. Every string from YAML that reaches Groovy (code or
comments), shell, XML, JCasC, a Helm `tpl` value or jenkins-job-builder goes through exactly one of these;
nothing is quoted by string concatenation elsewhere. YAML itself is written by yaml.safe_dump (PyYAML
quotes), JSON by json.dumps. What no escaping can carry (NUL, control characters in names) is refused at
load time by the schema (docs/security.md)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any


def groovy_string(value: str) -> str:
    """A Groovy single-quoted string literal holding *value* exactly.

    Single-quoted Groovy strings never interpolate `$`/`${}`; backslash, quote and line breaks are
    escaped, and every non-ASCII or control character is written as \\uXXXX so the file stays ASCII
    (Jenkins reads Jenkinsfiles with the platform charset on some agents)."""
    out = ["'"]
    for char in value:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == "'":
            out.append("\\'")
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif code < 0x20 or code > 0x7E:
            if code > 0xFFFF:  # Groovy strings are UTF-16: write the surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    out.append("'")
    return "".join(out)


def shell_quote(value: str) -> str:
    """One POSIX shell word holding *value* exactly (no expansion of $, `, \\, globs or spaces)."""
    return shlex.quote(value)


_XML_ATTRIBUTE_SPECIAL = re.compile('[&<>"\t\n\r]')
_XML_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}


def xml_attribute(value: str) -> str:
    """*value* as the content of a double-quoted XML attribute: &, <, >, " escaped, and tab and line breaks
    as character references (attribute-value normalisation would turn them into spaces otherwise).

    One regex scan for the common plain value, so bulk writers (normalised JUnit: one call per test case)
    can afford it. Characters XML 1.0 forbids must be removed first (results.junit.xml_safe does)."""
    if _XML_ATTRIBUTE_SPECIAL.search(value) is None:
        return value
    # xml.sax.saxutils.escape(value, entities) does these replaces; importing it costs more than a short run.
    value = value.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for char, reference in _XML_ATTRIBUTE_ENTITIES.items():
        value = value.replace(char, reference)
    return value


def only_ascii_in(value: str, allowed: bytes) -> bool:
    """Whether *value* is ASCII made only of the bytes in *allowed*: one C-speed pass, several times faster than a
    regex character class on the long texts bulk writers check (stack traces, logs)."""
    return value.isascii() and not value.encode("ascii").translate(None, allowed)


_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_XML_TEXT_ASCII = b"\t\n\r" + bytes(range(0x20, 0x80))  # the ASCII characters XML 1.0 allows


def xml_text(value: str) -> str:
    """*value* as XML character data; characters XML 1.0 forbids are refused (ValueError), as lxml does.

    &, < and > are escaped, and CR as a character reference (a parser turns a raw CR into LF). Plain str
    replaces: bulk writers (normalised JUnit, failure texts of tens of KB) call it per test case."""
    if value.isascii():  # checked and escaped as bytes: ~2x faster on stack traces and logs of failed tests
        data = value.encode("ascii")
        if not data.translate(None, _XML_TEXT_ASCII):  # only characters XML 1.0 allows
            return data.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;") \
                .replace(b"\r", b"&#13;").decode("ascii")
    found = _XML_FORBIDDEN.search(value)
    if found is not None:
        raise ValueError(f"All strings must be XML compatible: character U+{ord(found.group()):04X} at {found.start()}")
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def groovy_comment(value: str) -> str:
    """*value* as text that stays inside one `//` (or `/* */`) Groovy comment.

    Groovy, like Java, decodes `\\uXXXX` escapes before it looks for comments, so `\\u000a` in a comment
    ends it as surely as a newline: the result holds no backslash, no line break and no non-ASCII
    character (each is written `<U+XXXX>`), and `*/` is broken up."""
    out = []
    for char in value:
        code = ord(char)
        if 0x20 <= code <= 0x7E and char != "\\":
            out.append(char)
        else:
            out.append(f"<U+{code:04X}>")
    return "".join(out).replace("*/", "* /")


def jcasc_string(value: str) -> str:
    """*value* for a JCasC YAML string: JCasC resolves `${...}` (secrets, env) in every string of its
    files, and `^${` is its escape for a literal `${`."""
    return value.replace("${", "^${")


def helm_template_text(value: str) -> str:
    """*value* for a Helm chart value the chart renders with `tpl` (the jenkins chart does so for
    controller.JCasC.configScripts and agent.podTemplates): `{{` becomes the Go template `{{"{{"}}`."""
    return value.replace("{{", '{{"{{"}}')


def jjb_string(value: str) -> str:
    """*value* for a jenkins-job-builder job definition: JJB formats every string with str.format-like
    `{name}` expansion, even in plain jobs; doubled braces are its literal braces."""
    return value.replace("{", "{{").replace("}", "}}")


def map_strings(data: Any, escape: Callable[[str], str]) -> Any:
    """A copy of JSON-like *data* with *escape* applied to every string value (keys are left alone)."""
    if isinstance(data, str):
        return escape(data)
    if isinstance(data, dict):
        return {key: map_strings(value, escape) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [map_strings(item, escape) for item in data]
    return data
