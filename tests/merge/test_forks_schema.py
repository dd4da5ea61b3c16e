"""Editor support: the JSON Schemas of pipeline.yaml and of an overlay file, with hover docs on every key."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pipelinegen.cli import main
from pipelinegen.merge.schema import overlay_schema
from pipelinegen.schema import pipeline_schema
from pipelinegen.yamlsource import load_located
from tests.conftest import REPO

OVERLAYS = [REPO / "examples" / "overlay-downstream.yaml", *sorted((REPO / "examples" / "downstream-fork" / "ci").glob("*.yaml"))]


def _keys_without_description(node, path="#"):
    """Every property (at any depth, in $defs too) whose schema has no description."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _keys_without_description(item, f"{path}/{index}")
        return
    if not isinstance(node, dict):
        return
    for key, value in node.get("properties", {}).items():
        if "description" not in value:
            yield f"{path}/properties/{key}"
    for key, value in node.items():
        if isinstance(value, dict | list):
            yield from _keys_without_description(value, f"{path}/{key}")


def _plain(path: Path):
    return json.loads(json.dumps(load_located(path)))


@pytest.mark.parametrize("schema", [pipeline_schema(), overlay_schema()], ids=["pipeline", "overlay"])
def test_every_key_of_both_schemas_has_a_description(schema):
    jsonschema.Draft202012Validator.check_schema(schema)
    assert list(_keys_without_description(schema)) == []


def test_schema_command_prints_each_schema(runner):
    assert json.loads(runner.invoke(main, ["schema"]).output) == pipeline_schema()
    printed = json.loads(runner.invoke(main, ["schema", "--overlay"]).output)
    assert printed == overlay_schema() and printed["title"] == "pipelinegen overlay"


@pytest.mark.parametrize("overlay", OVERLAYS, ids=lambda p: p.name)
def test_real_overlays_have_no_editor_errors_under_the_overlay_schema(overlay):
    validator = jsonschema.Draft202012Validator(overlay_schema())
    assert [e.message for e in validator.iter_errors(_plain(overlay))] == []
    # the pipeline.yaml schema is the wrong one for an overlay: it reports false errors (required keys...)
    assert list(jsonschema.Draft202012Validator(pipeline_schema()).iter_errors(_plain(overlay)))


def test_a_whole_pipeline_yaml_is_also_a_valid_overlay():
    assert list(jsonschema.Draft202012Validator(overlay_schema()).iter_errors(_plain(REPO / "pipeline.yaml"))) == []


@pytest.mark.parametrize(
    "overlay",
    [
        {"steps": [{"name": "test", "splts": 3}]},  # typo in a key
        {"steps": [{"splits": 3}]},  # a named item without its name
        {"axes": [{"name": "jdk", "values": {"$apend": ["23"]}}]},  # typo in a marker
        {"steps": [{"name": "test", "$remove": "yes"}]},  # marker that is not `true`
        {"resources": [{"name": "medium", "cpu": -1}]},  # bounds still apply
        {"profiles": [{"name": "p", "steps": {"$append": "x"}}]},  # $append takes a list
        {"unknown_top_level": 1},
    ],
)
def test_the_overlay_schema_still_catches_mistakes(overlay):
    assert list(jsonschema.Draft202012Validator(overlay_schema()).iter_errors(overlay))


def test_the_overlay_schema_accepts_every_marker():
    overlay = {
        "steps": [{"name": "redhat", "$remove": True}, {"name": "test", "$replace": True, "kind": "test"},
                  {"name": "new", "kind": "test", "splits": 2}],
        "axes": [{"name": "jdk", "values": {"$append": ["23"], "$remove": ["11"]}}],
        "controller": {"java_opts": {"$remove": True}},
        "repeat": {"$replace": True, "default_count": 10},
    }
    assert [e.message for e in jsonschema.Draft202012Validator(overlay_schema()).iter_errors(overlay)] == []
