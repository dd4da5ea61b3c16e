"""Output formats of `pipelinegen lint`: a registry of renderers, one entry per `--format` value.

Each renderer turns the findings of one run (and the files that were checked) into the text printed on
stdout. Adding a format is one entry in FORMATS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from pipelinegen import __version__
from pipelinegen.errors import Finding, flood_summary, shown_findings
from pipelinegen.lint.rules import rule

SARIF_SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"


def format_text_finding(finding: Finding) -> str:
    """`FILE:LINE:COL: error: MESSAGE [rule]`, like a compiler; the hint and other places on their own lines."""
    text = f"{finding.where()}: {finding.severity}: {finding.message} [{finding.rule}]"
    for line, column in finding.related:
        where = f"{finding.file}:{line}" + (f":{column}" if column is not None else "")
        text += f"\n    {where}: note: the same problem, precisely here"
    if finding.hint:
        text += f"\n    hint: {finding.hint}"
    return text


def render_text(findings: Sequence[Finding], checked: Sequence[str]) -> str:
    """At most MAX_SHOWN findings (errors first), then how many more and where most of them are."""
    shown = [format_text_finding(f) for f in shown_findings(list(findings))]
    return "\n".join(shown + flood_summary(list(findings)))


def render_json(findings: Sequence[Finding], checked: Sequence[str]) -> str:
    return json.dumps([f.as_dict() for f in findings], indent=2)


# --- GitHub Actions workflow commands -------------------------------------------------------------------
# https://docs.github.com/actions/reference/workflow-commands-for-github-actions: the message ("data") and
# the properties have their own escapes; an unescaped newline or `::` would end or forge the command.

def github_command_data(text: str) -> str:
    """Escape the message part of a workflow command."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def github_command_property(text: str) -> str:
    """Escape a property value (file, title) of a workflow command."""
    return github_command_data(text).replace(":", "%3A").replace(",", "%2C")


def render_github(findings: Sequence[Finding], checked: Sequence[str]) -> str:
    lines = []
    for f in findings:
        command = "error" if f.severity == "error" else "warning"
        props = [f"file={github_command_property(f.file)}"]
        if f.line is not None:
            props.append(f"line={f.line}")
            if f.column is not None:
                props.append(f"col={f.column}")
        props.append(f"title={github_command_property(f'pipelinegen lint: {f.rule}')}")
        message = f.message + (f"\nhint: {f.hint}" if f.hint else "")
        lines.append(f"::{command} {','.join(props)}::{github_command_data(message)}")
    return "\n".join(lines)


# --- SARIF 2.1.0 ----------------------------------------------------------------------------------------

def artifact_uri(file: str, base: Path | None = None) -> str:
    """A relative URI reference for *file* (as code scanning wants: relative to the checkout root), else
    a file:// URI for a path outside *base*."""
    path = Path(file)
    base = (base or Path.cwd()).resolve()
    absolute = path if path.is_absolute() else base / path
    try:
        relative = absolute.resolve().relative_to(base)
    except (ValueError, OSError):
        return absolute.resolve().as_uri()
    return quote(PurePosixPath(*relative.parts).as_posix())


def _region(line: int | None, column: int | None) -> dict:
    region: dict = {"startLine": line}
    if column is not None and column >= 1:
        region["startColumn"] = column
    return region


def _location(uri: str, line: int | None, column: int | None) -> dict:
    physical: dict = {"artifactLocation": {"uri": uri}}
    if line is not None and line >= 1:
        physical["region"] = _region(line, column)
    return {"physicalLocation": physical}


def sarif_log(findings: Sequence[Finding], checked: Sequence[str], base: Path | None = None) -> dict:
    """The SARIF 2.1.0 log of one lint run (one `run`, rules listed for the ids that occur)."""
    rule_ids = sorted({f.rule for f in findings})
    index = {rule_id: i for i, rule_id in enumerate(rule_ids)}
    rules = [{"id": rule_id, "name": rule_id, "shortDescription": {"text": rule(rule_id).summary},
              "help": {"text": f"pipelinegen docs/lint.md, rule `{rule_id}`"}} for rule_id in rule_ids]
    results = []
    for f in findings:
        uri = artifact_uri(f.file, base)
        text = f.message + (f" Hint: {f.hint}" if f.hint else "")
        result: dict = {"ruleId": f.rule, "ruleIndex": index[f.rule],
                        "level": "error" if f.severity == "error" else "warning",
                        "message": {"text": text}, "locations": [_location(uri, f.line, f.column)]}
        if f.related:
            result["relatedLocations"] = [
                {"id": i, **_location(uri, line, column), "message": {"text": "the same problem, precisely here"}}
                for i, (line, column) in enumerate(f.related)]
        results.append(result)
    artifacts = [{"location": {"uri": artifact_uri(name, base)}} for name in checked]
    return {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "pipelinegen-lint", "version": __version__, "rules": rules}},
            "artifacts": artifacts,
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def render_sarif(findings: Sequence[Finding], checked: Sequence[str]) -> str:
    return json.dumps(sarif_log(findings, checked), indent=2)


@dataclass(frozen=True)
class OutputFormat:
    name: str
    help: str
    render: Callable[[Sequence[Finding], Sequence[str]], str]


FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("text", "FILE:LINE:COL: error: MESSAGE [rule], like a compiler", render_text),
    OutputFormat("json", "one JSON array of findings", render_json),
    OutputFormat("sarif", "SARIF 2.1.0 (GitHub code scanning, IDEs)", render_sarif),
    OutputFormat("github", "GitHub Actions workflow-command annotations", render_github),
)}
