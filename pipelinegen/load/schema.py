"""JSON Schema validation of pipeline.yaml, with errors a person can act on.

Every jsonschema error becomes a Finding at the file:line the offending key came from, with the
key path written the way a person reads the YAML (`steps[test].splits`) and, for unknown keys, a
"did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from pipelinegen.errors import Finding
from pipelinegen.load.yamlsource import format_path, locate

SCHEMA_RESOURCE = "pipeline.schema.json"


@cache
def pipeline_schema() -> dict:
    """The JSON Schema of pipeline.yaml, as shipped in the package."""
    text = resources.files("pipelinegen.load").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def suggest(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str:
    """A 'did you mean' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""


def _subschema(schema: dict, path: list[Any]) -> dict:
    """Follow `properties` / `items` / `additionalProperties` of *schema* along *path* (no $ref in ours)."""
    node = schema
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else {}
    return node


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null" if value is None else type(value).__name__


def _findings_for(error: jsonschema.ValidationError, data: Any, schema: dict, file: str) -> list[Finding]:
    path = list(error.absolute_path)
    where = locate(data, path)
    line = where.line if where else None
    source = where.file if where else file
    key_path = format_path(path, data)
    kind = error.validator

    if kind == "additionalProperties" and isinstance(error.instance, dict):
        known = set(_subschema(schema, path).get("properties", {}))
        findings = []
        for key in error.instance:
            if key in known:
                continue
            loc = locate(data, [*path, key])
            hint = suggest(key, known) or (f"known keys: {', '.join(sorted(known))}" if known else "")
            findings.append(
                Finding(
                    file=loc.file if loc else source,
                    line=loc.line if loc else line,
                    key_path=key_path,
                    message=f"unknown key '{key}'",
                    hint=hint,
                )
            )
        return findings
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [Finding(file=source, line=line, key_path=key_path, message=f"missing required key '{missing}'")]
    if kind == "type":
        wanted = error.validator_value
        wanted_text = " or ".join(wanted) if isinstance(wanted, list) else wanted
        hint = ""
        if isinstance(error.instance, float) and "string" in (wanted if isinstance(wanted, list) else [wanted]):
            hint = "quote version numbers: YAML reads an unquoted 3.10 as the number 3.1"
        elif isinstance(error.instance, bool):
            hint = "quote it if you meant text"
        return [
            Finding(
                file=source,
                line=line,
                key_path=key_path,
                message=f"expected {wanted_text}, found {_describe(error.instance)}",
                hint=hint,
            )
        ]
    if kind == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        hint = suggest(str(error.instance), [str(v) for v in error.validator_value])
        return [
            Finding(
                file=source,
                line=line,
                key_path=key_path,
                message=f"{_describe(error.instance)} is not one of: {allowed}",
                hint=hint,
            )
        ]
    if kind == "pattern":
        description = _subschema(schema, path).get("description", error.validator_value)
        return [
            Finding(file=source, line=line, key_path=key_path, message=f"{error.instance!r} is not valid: use {description}")
        ]
    if kind in ("minimum", "exclusiveMinimum", "maximum"):
        return [Finding(file=source, line=line, key_path=key_path, message=error.message)]
    if kind == "uniqueItems":
        return [Finding(file=source, line=line, key_path=key_path, message="lists an item more than once")]
    if kind == "minItems":
        return [Finding(file=source, line=line, key_path=key_path, message="must not be empty")]
    if kind == "const":
        return [
            Finding(
                file=source,
                line=line,
                key_path=key_path,
                message=f"must be {error.validator_value!r}, found {_describe(error.instance)}",
            )
        ]
    return [Finding(file=source, line=line, key_path=key_path, message=error.message)]


def validate_against_schema(data: Any, file: str) -> list[Finding]:
    """Every schema violation in *data*, sorted by location."""
    schema = pipeline_schema()
    validator = jsonschema.Draft202012Validator(schema)
    findings: list[Finding] = []
    for error in validator.iter_errors(data):
        findings.extend(_findings_for(error, data, schema, file))
    unique = {(f.file, f.line, f.key_path, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.file, f.line or 0, f.key_path, f.message))
