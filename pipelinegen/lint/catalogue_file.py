"""A controller's catalogue as a file: what `pipelinegen catalogue export` writes and `lint --catalogue` reads.

The file is JSON (format `pipelinegen-lint-catalogue/1`, schema in CATALOGUE_SCHEMA) and is input like any
other: bounded in size, validated before use, and a bad one is an error naming the file and the key.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import jsonschema

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.lint.catalogue import (
    AGENT_TYPES,
    POST_CONDITIONS,
    WHEN_CONDITIONS,
    AgentType,
    Catalogue,
    ControllerCatalogue,
    Describable,
    WhenCondition,
)

FORMAT = "pipelinegen-lint-catalogue/1"
MAX_BYTES = 16 * 1024 * 1024
PINNED = "pinned"  # `--catalogue pinned`: the catalogue shipped for pipelinegen/deploy/plugins.txt
PINNED_RESOURCE = "catalogue-pinned.json"

_NAME = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[A-Za-z_$][A-Za-z0-9_$.\-]*$"}
_PARAMS = {
    "type": "object",
    "maxProperties": 500,
    "propertyNames": _NAME,
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type"],
        "properties": {"type": {"enum": ["str", "int", "bool", "any"]}, "required": {"type": "boolean"}},
    },
}
_DESCRIBABLES = {
    "type": "object",
    "maxProperties": 20000,
    "propertyNames": _NAME,
    "additionalProperties": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"parameters": _PARAMS, "stage": {"type": "boolean"}, "block": {"type": "boolean"},
                       "children": {"type": "integer", "minimum": -1, "maximum": 100},
                       "open_ended": {"type": "boolean"}},
    },
}
CATALOGUE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pipelinegen lint catalogue: what one Jenkins controller has installed",
    "type": "object",
    "additionalProperties": False,
    "required": ["format", "options", "triggers", "parameters", "tools", "steps"],
    "properties": {
        "format": {"const": FORMAT},
        "source": {"type": "object", "maxProperties": 20,
                   "additionalProperties": {"type": "string", "maxLength": 2000}},
        "plugins": {"type": "object", "maxProperties": 5000, "propertyNames": _NAME,
                    "additionalProperties": {"type": "string", "maxLength": 200}},
        "agent_types": _DESCRIBABLES,
        "options": _DESCRIBABLES,
        "triggers": _DESCRIBABLES,
        "parameters": _DESCRIBABLES,
        "when_conditions": _DESCRIBABLES,
        "post_conditions": {"type": "array", "maxItems": 200, "items": _NAME},
        "tools": {"type": "object", "maxProperties": 1000, "propertyNames": _NAME,
                  "additionalProperties": {"type": "array", "maxItems": 10000,
                                           "items": {"type": "string", "maxLength": 500}}},
        "steps": _DESCRIBABLES,
    },
}


def _describable(entry: dict) -> Describable:
    params = entry.get("parameters", {})
    return Describable(required=tuple((n, p["type"]) for n, p in params.items() if p.get("required")),
                       optional=tuple((n, p["type"]) for n, p in params.items() if not p.get("required")))


def _source_label(doc: dict, fallback: str) -> str:
    """How messages name the catalogue: "the controller URL (Jenkins V)", or its own name."""
    source = doc.get("source", {})
    label = f"the controller {source['url']}" if source.get("url") else source.get("name") or f"the catalogue {fallback}"
    jenkins = source.get("jenkins")
    return label + (f" (Jenkins {jenkins})" if jenkins else "")


def catalogue_from_document(doc: object, where: str) -> Catalogue:
    """Validate an exported catalogue and turn it into the linter's Catalogue."""
    try:
        jsonschema.validate(doc, CATALOGUE_SCHEMA)
    except jsonschema.ValidationError as err:
        key = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise PipelineError([Finding(file=where, line=None, key_path=key, message=f"not a lint catalogue: "
                                     f"{err.message[:300]}", hint="export it again with `pipelinegen catalogue "
                                     "export` (format " + FORMAT + ")")]) from None
    assert isinstance(doc, dict)
    controller = ControllerCatalogue(
        options={name: _describable(e) for name, e in doc["options"].items()},
        stage_options=frozenset(name for name, e in doc["options"].items() if e.get("stage")),
        triggers={name: _describable(e) for name, e in doc["triggers"].items()},
        parameters={name: _describable(e) for name, e in doc["parameters"].items()},
        tools={name: tuple(installations) for name, installations in doc["tools"].items()},
        steps={name: _describable(e) for name, e in doc["steps"].items()},
        source=_source_label(doc, where),
    )
    # A controller's lists are complete: what it exports replaces the built-in names, it does not add to them.
    agent_types = {} if "agent_types" in doc else dict(AGENT_TYPES)
    for name, entry in doc.get("agent_types", {}).items():
        d = _describable(entry)
        agent_types[name] = AgentType(required=tuple(n for n, _ in d.required), optional=tuple(n for n, _ in d.optional),
                                      open_ended=bool(entry.get("open_ended")))
    when = {} if "when_conditions" in doc else dict(WHEN_CONDITIONS)
    for name, entry in doc.get("when_conditions", {}).items():
        d = _describable(entry)
        when[name] = WhenCondition(required=tuple(n for n, _ in d.required), optional=tuple(n for n, _ in d.optional),
                                   children=int(entry.get("children", 0)))
    post = tuple(doc.get("post_conditions") or POST_CONDITIONS)
    return Catalogue(agent_types=agent_types, when_conditions=when, post_conditions=post, controller=controller)


def parse_catalogue_text(text: str, where: str) -> Catalogue:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise PipelineError.single(where, getattr(err, "lineno", None), f"not JSON: {str(err)[:200]}",
                                   hint="export it again with `pipelinegen catalogue export`") from None
    return catalogue_from_document(doc, where)


def load_catalogue(spec: str) -> Catalogue:
    """`--catalogue FILE` (an export of your controller) or `--catalogue pinned` (the shipped one)."""
    if spec == PINNED:
        text = resources.files("pipelinegen.lint").joinpath(PINNED_RESOURCE).read_text(encoding="utf-8")
        return parse_catalogue_text(text, f"pipelinegen/lint/{PINNED_RESOURCE}")
    path = Path(spec)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise PipelineError.single(spec, None, f"cannot read the catalogue: {err.strerror}",
                                   hint="export one with `pipelinegen catalogue export`, or use `--catalogue "
                                   "pinned`") from None
    if len(data) > MAX_BYTES:
        raise PipelineError.single(spec, None, f"the catalogue is larger than {MAX_BYTES // (1024 * 1024)} MiB",
                                   hint="a controller's export is a few hundred KiB; check the file")
    return parse_catalogue_text(data.decode("utf-8", errors="replace"), spec)
