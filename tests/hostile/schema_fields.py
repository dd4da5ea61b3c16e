"""Every field of pipeline.yaml's JSON Schema, found by walking the schema itself (following `$ref`), so a
field added to the schema is attacked by tests/hostile/ without anyone writing a test for it.

A field is a path such as ("steps", "[]", "env", "*"): "[]" is any item of a list, "*" any key of a map.
`set_field` writes a value at that path into a copy of FULL_PIPELINE, which sets every field once; a field
FULL_PIPELINE lacks fails loudly (add it there, and the new field is covered)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from pipelinegen.schema import pipeline_schema, resolve

# Every key of the schema, set once, valid as a whole (tests/hostile/test_schema_fields.py checks both).
FULL_PIPELINE_YAML = """\
version: 1
pipelinegen_version: ">=0.1"
project: full
description: every field of the schema, once
canonical_repository: https://example.org/full.git
branches: [main]
overlays: [overlay.yaml]
axes:
  - name: arch
    description: machine architecture
    values: [amd64, arm64]
    default: amd64
    parameter: architecture
    parameter_default: amd64
    cell_name: "{value}"
    hide_in_name: [amd64]
  - name: jdk
    values_from: {file: build.xml, supported: java.supported, default: java.default}
    values: ["11", "17"]
    parameter: jdk
    cell_name: {"11": jdk11, "17": jdk17}
resources:
  - {name: small, description: small agents, label: "full-{arch}-small", cpu: 1, memory_gb: 1, container_memory_gb: 2,
     ephemeral_storage_gb: 20, instance_cap: 4, price: {per_hour: 0.5, currency: USD, source: a price list}}
controller: {cpu: 2, memory_gb: 4, java_opts: "-Xmx2G"}
defaults:
  build: {description: a build, resource: small, timeout_minutes: 10, attempts: 1, axes: [arch, jdk], splits: 1,
          only: {arch: [amd64]}, exclude: [{jdk: ["17"], arch: [arm64]}], env: {BUILD_MODE: fast}, image: "img:{jdk}",
          post_commit_only: false, repeat_count: 5, results: ["out/*.xml"], archive: ["logs/*.log"],
          command: "build.sh {jdk}", stash: "build/**", checkouts: [extra], always: false, build_once: false,
          needs: [jar]}
  test: {resource: small, timeout_minutes: 20, attempts: 2, retry_on: infra, needs: [jar]}
  publish: {resource: small, post_commit_only: true}
repositories:
  - {name: extra, url: "https://example.org/extra.git", branch: main, directory: extra-dir,
     repository_parameter: extra_repository, branch_parameter: extra_branch}
steps:
  - {name: jar, kind: build, command: "build.sh {jdk}", build_once: true, always: true, stash: "build/**", needs: []}
  - {name: unit, kind: test, description: unit tests, splits: 2, command: "run.sh {step} {split}/{splits} {jdk}",
     resource: small, timeout_minutes: 30, attempts: 2, retry_on: infra-and-tests, axes: [arch, jdk], only: {arch: [amd64]},
     exclude: [{jdk: ["17"], arch: [arm64]}], needs: [jar], env: {TEST_MODE: full, RETRIES: 1, FAST: true},
     image: "img:{jdk}", results: ["out/{step}/*.xml"], archive: ["logs/*.log"], checkouts: [extra],
     post_commit_only: false, repeat_count: 10, always: false, build_once: false, stash: "x/**"}
  - {name: deploy, kind: publish, command: "publish.sh", axes: []}
profiles:
  - {name: smoke, description: quick, steps: [unit], runs_per_year: 1000}
  - {name: all, extends: [smoke], steps: [deploy]}
  - {name: custom, custom: true}
parameters:
  - {name: notes, type: string, default: none, description: free text}
  - {name: mode, type: choice, choices: [fast, slow], default: fast, description: how}
  - {name: dry, type: boolean, default: false, description: a flag}
repeat: {test_regex_parameter: repeat_regex, count_parameter: repeat_count, stop_on_failure_parameter: repeat_stop,
         default_count: 50}
"""

# adds a profile (named items merge by name): changes no field the tests attack
OVERLAY_YAML = "profiles:\n  - {name: from-overlay, steps: [unit]}\n"

BUILD_XML = """<project name="full">
  <property name="java.supported" value="11,17"/>
  <property name="java.default" value="11"/>
</project>
"""


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]
    schema: dict  # the leaf schema, $ref resolved

    @property
    def name(self) -> str:
        return ".".join(self.path).replace(".[]", "[]")

    @property
    def types(self) -> set[str]:
        kind = self.schema.get("type")
        if isinstance(kind, list):
            return set(kind)
        if kind:
            return {kind}
        found: set[str] = set()
        for option in self.schema.get("anyOf", []) + self.schema.get("oneOf", []):
            option = resolve(pipeline_schema(), option)
            found |= set(option["type"]) if isinstance(option.get("type"), list) else {option.get("type", "")}
        return found


# defaults.test and defaults.publish are the same $defs/stepDefaults as defaults.build: attacked there once.
SAME_AS_ATTACKED = {("defaults", "test"), ("defaults", "publish")}


def fields(schema: dict | None = None, node: dict | None = None, path: tuple[str, ...] = ()) -> Iterator[Field]:
    """Every leaf (string, number, boolean, enum) of the schema, with its path."""
    if path in SAME_AS_ATTACKED:
        return
    schema = schema or pipeline_schema()
    node = resolve(schema, schema if node is None else node)
    options = [resolve(schema, o) for o in node.get("anyOf", []) + node.get("oneOf", [])]
    containers = [o for o in options if o.get("type") in ("object", "array")]
    if node.get("type") == "object" or "properties" in node:
        for key, sub in node.get("properties", {}).items():
            yield from fields(schema, sub, (*path, key))
        if isinstance(node.get("additionalProperties"), dict):
            yield from fields(schema, node["additionalProperties"], (*path, "*"))
        return
    if node.get("type") == "array":
        yield from fields(schema, node.get("items", {}), (*path, "[]"))
        return
    for option in containers:  # e.g. cell_name: a string or a map of strings
        yield from fields(schema, option, path)
    if not containers or len(containers) < len(options):
        leaf = {k: v for k, v in node.items() if k not in ("anyOf", "oneOf")} if containers else node
        if containers:
            leaf = next(o for o in options if o.get("type") not in ("object", "array"))
        yield Field(path, leaf)


def string_fields() -> list[Field]:
    return [f for f in fields() if "string" in f.types]


def number_fields() -> list[Field]:
    return [f for f in fields() if f.types & {"integer", "number"}]


def full_document() -> dict:
    return yaml.safe_load(FULL_PIPELINE_YAML)


def _concrete(node: Any, path: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The first concrete path (real indices and keys) in *node* matching *path*, or None."""
    if not path:
        return ()
    part, rest = path[0], path[1:]
    if part in ("[]", "*"):
        keys = range(len(node)) if part == "[]" and isinstance(node, list) else (
            list(node) if part == "*" and isinstance(node, dict) else [])
        for key in keys:
            found = _concrete(node[key], rest)
            if found is not None:
                return (key, *found)
        return None
    if isinstance(node, dict) and part in node:
        found = _concrete(node[part], rest)
        return None if found is None else (part, *found)
    return None


def set_field(document: dict, path: tuple[str, ...], value: Any) -> dict:
    """A copy of *document* with *value* at the first place matching *path*."""
    doc = copy.deepcopy(document)
    concrete = _concrete(doc, path)
    assert concrete is not None, f"FULL_PIPELINE_YAML sets no {'.'.join(path)}: add it, so the field is attacked"
    node: Any = doc
    for key in concrete[:-1]:
        node = node[key]
    node[concrete[-1]] = value
    return doc
