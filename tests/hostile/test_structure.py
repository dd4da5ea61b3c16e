"""Generator: any value anywhere in pipeline.yaml replaced by a value of another shape (null, a boolean, a list,
a mapping, a fraction, a negative number, text). Compile refuses it with file:line or accepts it — never a
traceback. (Run once over every place and shape while writing this, it found a choice parameter whose
default `true` crashed the Jenkinsfile renderer.)"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.hostile.attack import assert_located, compile_in_memory, write_project
from tests.hostile.schema_fields import full_document

SHAPES = [None, True, False, [], {}, 3.5, -1, 0, "x", "", [None], {"a": None}, [[]], {"name": None}]


def _places(node: Any, path: tuple = ()) -> list[tuple]:
    places = [path] if path else []
    if isinstance(node, dict):
        for key, value in node.items():
            places += _places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            places += _places(value, (*path, index))
    return places


PLACES = _places(full_document())


def _replaced(path: tuple, value: Any) -> dict:
    document = copy.deepcopy(full_document())
    node = document
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return document


@settings(max_examples=150, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(PLACES), st.sampled_from(SHAPES))
def test_any_value_of_any_shape_anywhere_is_refused_cleanly_or_accepted(tmp_path_factory, path, value):
    compiled = compile_in_memory(write_project(tmp_path_factory.mktemp("shape"), _replaced(path, value)))
    if compiled.error is not None:
        assert_located(compiled.error)


def test_a_boolean_default_of_a_choice_parameter_is_refused_at_its_line(tmp_path: Path):
    compiled = compile_in_memory(write_project(tmp_path / "p", _replaced(("parameters", 1, "default"), True)))
    assert compiled.error is not None and "a choice parameter's default must be text" in str(compiled.error)
    assert_located(compiled.error)


OVERLAY_SHAPES = [*SHAPES, {"$remove": True}, {"$replace": True}, {"$append": 5}, {"$remove": [None]},
                  {"$append": [{}]}, {"$append": {"a": 1}}, {"$remove": "x", "$append": ["y"]}, [{"name": None}],
                  [{"name": "unit", "$remove": "yes"}], [{"name": ["x"]}], [{"name": "unit", "splits": {"$append": [1]}}]]
OVERLAY_KEYS = [*full_document(), "$remove"]


@settings(max_examples=120, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(OVERLAY_KEYS), st.sampled_from(OVERLAY_SHAPES))
def test_any_overlay_shape_is_refused_cleanly_or_merged(tmp_path_factory, key, value):
    """Generator: overlay values of every shape, markers ($append/$remove/$replace) misused included. (Written
    with this test: `$append: 5`, or `$append` onto a single value, crashed the merge with a TypeError.)"""
    project = write_project(tmp_path_factory.mktemp("overlay"))
    (project / "overlay.yaml").write_text(yaml.safe_dump({key: value}), encoding="utf-8")
    compiled = compile_in_memory(project)
    if compiled.error is not None:
        assert all(f.file and f.message for f in compiled.error.findings)
        assert any(f.line for f in compiled.error.findings), compiled.error
