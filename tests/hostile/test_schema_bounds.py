"""Every number of pipeline.yaml is bounded, every string and list too: checked on the schema itself (a new
field without a bound fails here), attacked field by field with huge, non-finite and fractional numbers, and
held equal to the limits table of docs/security.md."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelinegen.schema import pipeline_schema, resolve
from tests.conftest import REPO
from tests.hostile.attack import (
    assert_clean_refusal,
    assert_located,
    compile_in_memory,
    run_cli,
    write_project,
)
from tests.hostile.schema_fields import fields, full_document, number_fields, set_field

HUGE = [10**30, 2**63, 1e38, -1e38, math.inf, -math.inf, math.nan]


def _containers(schema: dict, node: dict, path: str = "") -> list[tuple[str, dict]]:
    node = resolve(schema, node)
    found = [(path, node)]
    for key, sub in node.get("properties", {}).items():
        found += _containers(schema, sub, f"{path}.{key}")
    for key in ("items", "additionalProperties", "propertyNames"):
        if isinstance(node.get(key), dict):
            found += _containers(schema, node[key], f"{path}.{key}")
    for option in node.get("anyOf", []) + node.get("oneOf", []):
        found += _containers(schema, option, path)
    return found


def test_every_number_string_and_list_of_the_schema_has_a_bound():
    schema = pipeline_schema()
    unbounded = []
    for path, node in _containers(schema, schema):
        types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
        if {"integer", "number"} & set(types) and "maximum" not in node:
            unbounded.append(f"{path}: number without maximum")
        if "string" in types and "maxLength" not in node and "enum" not in node:
            unbounded.append(f"{path}: string without maxLength")
        if "array" in types and "maxItems" not in node:
            unbounded.append(f"{path}: list without maxItems")
        if "object" in types and node.get("additionalProperties") not in (None, False) and "maxProperties" not in node:
            unbounded.append(f"{path}: map without maxProperties")
    assert unbounded == []


@pytest.mark.slow
def test_huge_and_non_finite_numbers_are_refused_with_file_and_line(tmp_path: Path):
    base = full_document()
    for number, field in enumerate(number_fields()):
        for value in HUGE:
            project = write_project(tmp_path / f"n{number}-{value}", set_field(base, field.path, value))
            compiled = compile_in_memory(project)
            assert compiled.error is not None, f"{field.name} = {value} was accepted"
            assert_located(compiled.error)


def test_a_fraction_where_a_count_is_meant_is_refused(tmp_path: Path):
    integers = [f for f in number_fields() if f.types == {"integer"}]
    assert len(integers) >= 5
    base = full_document()
    for number, field in enumerate(integers):
        compiled = compile_in_memory(write_project(tmp_path / f"f{number}", set_field(base, field.path, 2.5)))
        assert compiled.error is not None and "integer" in str(compiled.error), field.name


@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(st.sampled_from(number_fields()), st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True)))
def test_any_number_in_any_field_is_accepted_only_within_its_bounds(tmp_path_factory, field, value):
    """Generator: any number into any numeric field: accepted only inside [minimum, maximum] of its schema."""
    node = field.schema
    project = write_project(tmp_path_factory.mktemp("num"), set_field(full_document(), field.path, value))
    compiled = compile_in_memory(project)
    integer_only = field.types <= {"integer", "string"}
    inside = (isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and not integer_only)) and (
        node.get("minimum", -math.inf) <= value <= node.get("maximum", math.inf)
        and value > node.get("exclusiveMinimum", -math.inf))
    if not inside:
        assert compiled.error is not None, f"{field.name} = {value!r} accepted"
        assert_located(compiled.error)


def test_the_cli_names_the_key_and_line_of_a_huge_count(tmp_path: Path):
    project = write_project(tmp_path / "p", set_field(full_document(), ("steps", "[]", "splits"), 100_000_000))
    run = run_cli(["compile"], project)
    assert_clean_refusal(run, "pipeline.yaml")
    assert "steps[unit].splits: 100000000 is out of bounds: must be at most 1000" in run.stderr
    assert not (project / "generated").exists()


def _bound_rows() -> list[str]:
    """The rows docs/security.md must list: `| key | minimum | maximum |` for every number of the schema."""
    rows = set()
    for field in fields():
        node = field.schema
        if not ({"integer", "number"} & field.types) or "maximum" not in node:
            continue
        name = field.name.replace("defaults.build.", "steps[].")
        low = node.get("minimum", node.get("exclusiveMinimum"))
        low_text = f"> {low}" if "exclusiveMinimum" in node else str(low)
        rows.add(f"| `{name}` | {low_text} | {node['maximum']} |")
    return sorted(rows)


def test_docs_security_lists_every_numeric_bound():
    text = (REPO / "docs" / "security.md").read_text(encoding="utf-8")
    missing = [row for row in _bound_rows() if row not in text]
    assert missing == [], "add these rows to the limits table of docs/security.md:\n" + "\n".join(missing)


def test_a_matrix_too_large_to_plan_is_refused_before_it_is_expanded(tmp_path: Path):
    """Every bound respected, the product is not: 8 axes × 20 values × 1000 splits. Refused in seconds."""
    doc = full_document()
    for number in range(8):
        doc["axes"].append({"name": f"big{number}", "values": [f"v{i}" for i in range(20)]})
    doc["steps"][1]["axes"] = ["arch", "jdk", *[f"big{n}" for n in range(8)]]
    doc["steps"][1]["splits"] = 1000
    project = write_project(tmp_path / "p", doc)
    run = run_cli(["plan"], project)
    assert_clean_refusal(run, "pipeline.yaml")
    assert "more than 50000 cells" in run.stderr and run.seconds < 15
