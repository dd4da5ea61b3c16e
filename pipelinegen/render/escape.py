"""The one escaping function per target language. Every string from YAML that reaches Groovy,
shell or XML goes through exactly one of these; nothing is quoted by string concatenation elsewhere."""

from __future__ import annotations

import shlex

from lxml import etree


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


def xml_text(value: str) -> str:
    """*value* as XML character data (lxml does the escaping); characters XML 1.0 forbids are refused."""
    element = etree.Element("x")
    element.text = value  # raises ValueError for NUL and other characters XML cannot carry
    serialized = etree.tostring(element, encoding="unicode")
    return serialized[len("<x>") : -len("</x>")] if serialized != "<x/>" else ""
