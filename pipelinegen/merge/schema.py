"""The JSON Schema of an overlay file, derived from pipeline.schema.json so that the two never drift.

An overlay is a partial pipeline.yaml (merge/overlay.py): nothing is required except the `name` of a named
item, every key may be `{$remove: true}`, a mapping or named item may say `$replace: true`, and a plain list
may be edited in place with `{$append: [...], $remove: [...]}`. Everything else (types, patterns, bounds,
unknown keys) is checked as in pipeline.yaml, and every key keeps its description (editor hover docs).
"""

from __future__ import annotations

import copy
from typing import Any

from pipelinegen.merge.overlay import APPEND, NEW_ITEM_KEYS, REMOVE, REPLACE
from pipelinegen.schema import pipeline_schema

OVERLAY_SCHEMA_ID = "https://pipelinegen.invalid/schema/overlay-1.json"
_COMBINATORS = ("oneOf", "anyOf", "allOf")

_REMOVE_KEY = {
    "type": "object",
    "description": "`{$remove: true}` deletes this key from pipeline.yaml",
    "properties": {REMOVE: {"const": True, "description": "delete this key from pipeline.yaml"}},
    "required": [REMOVE],
    "additionalProperties": False,
}
_REPLACE = {"const": True, "description": "replace pipeline.yaml's value by this one instead of merging into it"}
_REMOVE_ITEM = {"const": True, "description": "delete the item of this name (a removed step also leaves every profile)"}


def _list_edit(array_schema: dict) -> dict:
    """`{$append: [...], $remove: [...]}`: edit upstream's list in place."""
    values = {k: v for k, v in array_schema.items() if k not in ("description", "minItems")}
    return {
        "type": "object",
        "description": "edit pipeline.yaml's list in place: $append adds values at the end, $remove takes values out",
        "properties": {
            APPEND: {**values, "description": "values added at the end of pipeline.yaml's list"},
            REMOVE: {**values, "description": "values taken out of pipeline.yaml's list (each must be there)"},
        },
        "minProperties": 1,
        "additionalProperties": False,
    }


class _Deriver:
    """Turns pipeline.yaml's schema nodes into overlay schema nodes; *defs* resolves `$ref`s to arrays."""

    def __init__(self, defs: dict[str, dict]) -> None:
        self.defs = defs

    def is_array(self, node: dict) -> bool:
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/") and node.get("type") is None:
            return self.is_array(self.defs.get(ref.removeprefix("#/$defs/"), {}))
        return node.get("type") == "array"

    def property(self, node: dict, named_items: bool = False) -> dict:
        """A property's schema in an overlay: the partial value, an in-place list edit, or `{$remove: true}`."""
        description = node.get("description", "")
        body = {k: v for k, v in node.items() if k != "description"}
        if named_items:
            body = {**body, "items": self.partial(body["items"], named=True)}
            body.pop("minItems", None)
            choices = [body, _REMOVE_KEY]
        elif self.is_array(body):
            choices = [body, _list_edit(body), _REMOVE_KEY]  # a plain list replaces, so its items stay whole
        else:
            choices = [self.partial(body), _REMOVE_KEY]
        out: dict[str, Any] = {"anyOf": choices}
        if description:
            out["description"] = description
        return out

    def partial(self, node: Any, named: bool = False) -> Any:
        """*node* as part of an overlay: mappings lose `required` (a named item keeps `name`) and accept markers."""
        if not isinstance(node, dict) or self.is_array(node):
            return node
        out = dict(node)
        for combinator in _COMBINATORS:
            if combinator in out:
                out[combinator] = [self.partial(choice, named) for choice in out[combinator]]
        if not (out.get("type") == "object" or "properties" in out or named):
            return out
        out.pop("required", None)
        out.pop("minProperties", None)
        if named:
            out["required"] = ["name"]
        properties = {key: self.property(value) for key, value in out.get("properties", {}).items()}
        if isinstance(out.get("additionalProperties"), dict):  # a map of user keys (e.g. an axis filter)
            out["additionalProperties"] = self.property(out["additionalProperties"])
        properties[REPLACE] = _REPLACE
        if named:
            properties[REMOVE] = _REMOVE_ITEM
        out["properties"] = properties
        return out


def overlay_schema() -> dict:
    """The JSON Schema of an overlay file (`pipelinegen schema --overlay`)."""
    base = copy.deepcopy(pipeline_schema())
    derive = _Deriver(base.get("$defs", {}))
    schema: dict[str, Any] = {
        "$schema": base["$schema"],
        "$id": OVERLAY_SCHEMA_ID,
        "title": "pipelinegen overlay",
        "description": "Changes a downstream fork makes to pipeline.yaml, merged onto it in order (docs/pipeline-yaml.md, "
        "Overlays): mappings deep-merge, named items merge by name, $remove / $replace / $append edit in place.",
        "type": "object",
        "additionalProperties": False,
    }
    properties = {}
    for key, value in base["properties"].items():
        named = key in NEW_ITEM_KEYS and derive.is_array(value) and isinstance(value.get("items"), dict)
        properties[key] = derive.property(value, named_items=named)
    schema["properties"] = properties
    schema["$defs"] = {name: derive.partial(definition) for name, definition in base.get("$defs", {}).items()}
    return schema
