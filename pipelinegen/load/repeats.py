"""repeats.yaml: the tests a branch adds or changes, to be run many times (written by
`pipelinegen compile --repeat-changed`, committed on the branch, removed with `--no-repeats`)."""

from __future__ import annotations

from pathlib import Path

from pipelinegen.errors import Finding, PipelineError, suggest
from pipelinegen.fsutil import atomic_write_text
from pipelinegen.model.pipeline import RepeatSpec
from pipelinegen.schema import PipelineValidator
from pipelinegen.yamlsource import format_path, load_located, locate

REPEATS_FILE = "repeats.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["version", "repeats"],
    "properties": {
        "version": {"const": 1},
        "base": {"type": "string", "maxLength": 255},
        "repeats": {
            "type": "array",
            "maxItems": 1000,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["step", "tests", "count"],
                "properties": {
                    "step": {"type": "string", "maxLength": 64},
                    "tests": {"type": "string", "minLength": 1, "maxLength": 10000, "pattern": "^[^\\u0000-\\u001f\\u007f]*$"},
                    "count": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "stop_on_failure": {"type": "boolean"},
                    "machines": {"type": "integer", "minimum": 1, "maximum": 1000},
                    "file": {"type": "string", "maxLength": 1000},
                },
            },
        },
    },
}


def load_repeats(path: Path, display: str, test_steps: dict[str, int]) -> tuple[RepeatSpec, ...]:
    """Read repeats.yaml; *test_steps* maps each test step to its split count (the default machines)."""
    data = load_located(path, display)
    if not isinstance(data, dict):
        raise PipelineError.single(display, 1, "repeats.yaml must be a mapping at top level",
                                   hint="regenerate it with `pipelinegen compile --repeat-changed`")
    findings = []
    for error in PipelineValidator(SCHEMA).iter_errors(data):  # integers are integers, as in pipeline.yaml
        where = locate(data, list(error.absolute_path))
        message = error.message if len(error.message) < 300 else f"{error.validator} failed: {error.message[:200]}…"
        findings.append(
            Finding(display, where.line if where else None, message, format_path(list(error.absolute_path), data))
        )
    if findings:
        raise PipelineError(findings)
    specs = []
    for index, item in enumerate(data["repeats"]):
        if item["step"] not in test_steps:
            where = locate(data, ["repeats", index, "step"])
            findings.append(
                Finding(
                    display,
                    where.line if where else None,
                    f"'{item['step']}' is not a test step of the pipeline",
                    f"repeats[{index}].step",
                    suggest(item["step"], list(test_steps)) or "regenerate with `pipelinegen compile --repeat-changed`",
                )
            )
            continue
        specs.append(
            RepeatSpec(
                step=item["step"],
                tests=item["tests"],
                count=item["count"],
                stop_on_failure=item.get("stop_on_failure", True),
                machines=item.get("machines", min(test_steps[item["step"]], item["count"])),
            )
        )
    if findings:
        raise PipelineError(findings)
    return tuple(specs)


def render_repeats(specs: list[dict], base: str) -> str:
    """repeats.yaml text for *specs* (dicts with step, tests, count, stop_on_failure, machines, file)."""
    lines = [
        "# Tests this branch adds or changes, run many times to catch flaky tests before they land.",
        "# Written by `pipelinegen compile --repeat-changed`; remove with `pipelinegen compile --no-repeats`",
        "# before merging.",
        "version: 1",
        f"base: {_yaml_scalar(base)}",
        "repeats:" + ("" if specs else " []"),
    ]
    for spec in specs:
        lines.append(f"  - step: {_yaml_scalar(spec['step'])}")
        for key in ("tests", "count", "stop_on_failure", "machines", "file"):
            if key in spec:
                lines.append(f"    {key}: {_yaml_scalar(spec[key])}")
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def write_repeats(path: Path, specs: list[dict], base: str) -> None:
    atomic_write_text(path, render_repeats(specs, base))
