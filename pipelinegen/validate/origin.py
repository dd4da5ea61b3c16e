"""Map a finding in generated/Jenkinsfile back to the pipeline.yaml line that produced its text.

Every value pipeline.yaml puts into the Jenkinsfile is a Groovy single-quoted literal (pipelinegen.escape); a
finding's line is matched by the literals on it against the YAML scalars (and mapping keys) they came from.
Best effort: a line with no literal from pipeline.yaml keeps its finding unchanged.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.yamlsource import LocatedDict, LocatedList, Location, load_located

_LITERAL = re.compile(r"'((?:[^'\\\n]|\\.)*)'")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", "'": "'", '"': '"', "$": "$"}


def _unescape(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        text = match.group(1)
        if text.startswith("u"):
            return chr(int(text[1:], 16))
        return _ESCAPES.get(text, text)

    return re.sub(r"\\(u[0-9a-fA-F]{4}|.)", one, body)


def scalar_locations(data: Any) -> dict[str, Location]:
    """Each string scalar (and mapping key) of a located YAML document -> where it first appears."""
    out: dict[str, Location] = {}

    def walk(node: Any) -> None:
        if isinstance(node, LocatedDict):
            for key, value in node.items():
                where = node.location_of(key)
                out.setdefault(str(key), where)
                if not isinstance(value, (dict, list)):
                    out.setdefault(str(value), where)
                walk(value)
        elif isinstance(node, LocatedList):
            for index, value in enumerate(node):
                if not isinstance(value, (dict, list)):
                    out.setdefault(str(value), node.location_of(index))
                walk(value)

    walk(data)
    return out


def annotate(findings: list[Finding], pipeline_path: Path) -> list[Finding]:
    """*findings* with "from pipeline.yaml:N" added to those on a Jenkinsfile line made from YAML text."""
    jenkinsfiles = {f.file for f in findings if f.line and Path(f.file).name == "Jenkinsfile"}
    if not jenkinsfiles:
        return findings
    try:
        index = scalar_locations(load_located(pipeline_path))
    except PipelineError:
        return findings
    lines = {name: Path(name).read_text(encoding="utf-8", errors="replace").splitlines() for name in jenkinsfiles}
    out = []
    for finding in findings:
        source = lines.get(finding.file)
        if source and finding.line and finding.line <= len(source):
            # the longest literal is the most specific (a description rather than 'true')
            literals = sorted((_unescape(m.group(1)) for m in _LITERAL.finditer(source[finding.line - 1])), key=len,
                              reverse=True)
            where = next((index[text] for text in literals if len(text) > 1 and text in index), None)
            if where is not None:
                note = f"produced by {where.file}:{where.line}"
                finding = replace(finding, hint=f"{finding.hint}; {note}" if finding.hint else note)
        out.append(finding)
    return out
