"""JSON Schema validation of pipeline.yaml, with errors a person can act on.

Every jsonschema error becomes a Finding at the file:line the offending key came from, with the
key path written the way a person reads the YAML (`steps[test].splits`) and, for unknown keys, a
"did you mean" suggestion.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

import jsonschema

from pipelinegen.errors import Finding, suggest
from pipelinegen.step_kinds import STEP_KINDS
from pipelinegen.yamlsource import format_path, locate

SCHEMA_RESOURCE = "pipeline.schema.json"


@cache
def pipeline_schema() -> dict:
    """The JSON Schema of pipeline.yaml: the shipped file, its step kinds filled in from the registry."""
    text = resources.files("pipelinegen").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    schema = json.loads(text)
    kinds = ", ".join(STEP_KINDS)
    kind = schema["properties"]["steps"]["items"]["properties"]["kind"]
    kind["enum"] = list(STEP_KINDS)
    kind["description"] = f"{kinds}; selects defaults.<kind>. " + " ".join(
        f"{k.name}: {k.description}." for k in STEP_KINDS.values())
    schema["properties"]["defaults"]["properties"] = {
        k.name: {"description": f"defaults of every `kind: {k.name}` step", "$ref": "#/$defs/stepDefaults"}
        for k in STEP_KINDS.values()}
    return schema


def _is_integer(_checker: Any, instance: Any) -> bool:
    # jsonschema counts 1e38 (a float with no fraction) as an integer; a count written 1e38 is a mistake
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(_checker: Any, instance: Any) -> bool:
    # .nan passes every minimum/maximum (comparisons with NaN are false); .inf is no size either
    if isinstance(instance, bool) or not isinstance(instance, (int, float)):
        return False
    return not isinstance(instance, float) or math.isfinite(instance)


PipelineValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    type_checker=jsonschema.Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}
    ),
)


def resolve(schema: dict, node: dict) -> dict:
    """*node* with its local `$ref` (`#/$defs/...`) merged in: its own keys and properties win."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 32:
        seen += 1
        target: Any = schema
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        if "properties" in target and "properties" in node:
            merged["properties"] = {**target["properties"], **node["properties"]}
        node = merged
    return node


def _subschema(schema: dict, path: list[Any]) -> dict:
    """Follow `properties` / `items` / `additionalProperties` (and `$ref`) of *schema* along *path*."""
    node = resolve(schema, schema)
    for part in path:
        if isinstance(part, int):
            node = node.get("items", {})
        elif part in node.get("properties", {}):
            node = node["properties"][part]
        else:
            extra = node.get("additionalProperties")
            node = extra if isinstance(extra, dict) else {}
        node = resolve(schema, node)
    return node


def _short(value: Any, limit: int = 60) -> str:
    """*value* for a message: repr, cut to *limit* characters (values may be megabytes long)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 5] + "…" + text[-4:]


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {_short(value)}"
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

    def one(message: str, hint: str = "") -> list[Finding]:
        return [Finding(file=source, line=line, key_path=key_path, message=message, hint=hint)]

    if "propertyNames" in error.relative_schema_path:
        rule = error.schema.get("description", "")
        return one(f"key {_short(error.instance)} is not valid", f"use {rule}" if rule else "")
    if kind in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
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
                    message=f"unknown key {_short(key)}",
                    hint=hint,
                )
            )
        return findings
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return one(f"missing required key '{missing}'")
    if kind == "type":
        wanted = error.validator_value
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        hint = ""
        if isinstance(error.instance, float) and "string" in wanted_list:
            hint = "quote version numbers: YAML reads an unquoted 3.10 as the number 3.1"
        elif isinstance(error.instance, float) and "integer" in wanted_list:
            hint = "write a whole number, without a decimal point or exponent"
        elif isinstance(error.instance, float):
            hint = "write a finite number"
        elif isinstance(error.instance, bool):
            hint = "quote it if you meant text"
        return one(f"expected {' or '.join(wanted_list)}, found {_describe(error.instance)}", hint)
    if kind == "enum":
        allowed = ", ".join(map(str, error.validator_value))
        hint = suggest(str(error.instance), [str(v) for v in error.validator_value])
        return one(f"{_describe(error.instance)} is not one of: {allowed}", hint)
    if kind == "pattern":
        rule = error.schema.get("description", error.validator_value)
        return one(f"{_short(error.instance)} is not valid: use {rule}")
    if kind in ("maximum", "minimum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {"maximum": "at most", "minimum": "at least", "exclusiveMinimum": "more than",
                    "exclusiveMaximum": "less than"}[kind]
        return one(f"{_short(error.instance)} is out of bounds: must be {relation} {error.validator_value}",
                   "the bounds of every number are listed in docs/security.md")
    if kind in ("maxLength", "maxItems", "maxProperties"):
        unit = {"maxLength": "characters", "maxItems": "items", "maxProperties": "keys"}[kind]
        return one(f"is too long: {len(error.instance)} {unit}, at most {error.validator_value} allowed",
                   "the bounds are listed in docs/security.md")
    if kind == "minLength":
        return one("must not be empty" if error.validator_value == 1 else
                   f"must be at least {error.validator_value} characters")
    if kind == "uniqueItems":
        return one("lists an item more than once")
    if kind == "minItems":
        return one("must not be empty")
    if kind == "const":
        return one(f"must be {error.validator_value!r}, found {_describe(error.instance)}")
    if kind in ("anyOf", "oneOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        return _findings_for(best, data, schema, file)
    return one(f"{_describe(error.instance)} is not valid here: {error.message[:200]}")


def validate_against_schema(data: Any, file: str) -> list[Finding]:
    """Every schema violation in *data*, sorted by location."""
    schema = pipeline_schema()
    validator = PipelineValidator(schema)
    findings: list[Finding] = []
    errors = list(validator.iter_errors(data))
    # a value of the wrong type also breaks its bounds: report the type alone
    mistyped = {tuple(e.absolute_path) for e in errors if e.validator == "type"}
    for error in errors:
        if error.validator != "type" and tuple(error.absolute_path) in mistyped:
            continue
        findings.extend(_findings_for(error, data, schema, file))
    unique = {(f.file, f.line, f.key_path, f.message): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.file, f.line or 0, f.key_path, f.message))


def matches_definition(name: str, value: Any) -> bool:
    """Whether *value* satisfies the schema's `$defs/<name>` (for values read from elsewhere, e.g. build.xml)."""
    schema = pipeline_schema()
    return PipelineValidator({"$ref": f"#/$defs/{name}", "$defs": schema["$defs"]}).is_valid(value)


def definition_rule(name: str) -> str:
    """The description of `$defs/<name>`: how a message tells the user what is allowed."""
    return str(pipeline_schema()["$defs"][name].get("description", name))
