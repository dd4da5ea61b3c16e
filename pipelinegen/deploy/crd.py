"""Validate a custom resource against its CRD's openAPIV3Schema, rejecting unknown fields.

"Unknown" means what the API server prunes: a key not declared in `properties` of an object schema
that declares properties, unless that schema keeps unknown fields (x-kubernetes-preserve-unknown-fields)
or is a map (additionalProperties). The CRD's schema is used as written — nothing is added to it.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml
from jsonschema import validators

from pipelinegen.errors import PipelineError


def _strict_properties(validator, properties, instance, schema):
    yield from validators.Draft7Validator.VALIDATORS["properties"](validator, properties, instance, schema)
    if not validator.is_type(instance, "object"):
        return
    if schema.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in schema:
        return
    for key in sorted(set(instance) - set(properties)):
        yield jsonschema.ValidationError(f"unknown field {key!r} (declared: {', '.join(sorted(properties))})")


StrictCRValidator = validators.extend(validators.Draft7Validator, {"properties": _strict_properties})


def crd_schema(crd: dict, version: str) -> dict:
    for entry in crd.get("spec", {}).get("versions", []):
        if entry.get("name") == version:
            return entry["schema"]["openAPIV3Schema"]
    raise KeyError(version)


# The operator CRD is ~300 KB of YAML: libyaml parses it ten times faster than pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_crd(text: str) -> dict:
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 — a safe loader (CSafeLoader or SafeLoader)


def load_crd(path: Path) -> dict:
    try:
        return parse_crd(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise PipelineError.single(str(path), None, f"cannot read the CRD: {err}",
                                   hint="pass the file of `kubectl get crd jenkins.jenkins.io -o yaml`") from None


def validate_custom_resource(resource: dict, crd: dict) -> list[str]:
    """Problems of *resource* against *crd* ([] = valid), each with its key path."""
    version = str(resource.get("apiVersion", "")).rsplit("/", 1)[-1]
    try:
        schema = crd_schema(crd, version)
    except KeyError:
        return [f"apiVersion {resource.get('apiVersion')!r} is not served by CRD {crd['metadata']['name']}"]
    problems = []
    for error in sorted(StrictCRValidator(schema).iter_errors(resource), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in error.absolute_path) or "<root>"
        problems.append(f"{where}: {error.message}")
    return problems
