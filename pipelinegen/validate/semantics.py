"""Layer 1: pipeline.yaml semantics beyond the JSON Schema.

Most references (profiles -> steps, only/exclude -> axes and values, needs, cycles, unique names) are
checked by `pipelinegen.model.build` while loading; here they become findings instead of an exception,
and the checks that need the expanded model are added: every non-custom profile selects something after
`extends`, cell names stay unique after expansion, agent labels resolve to one plain label for every arch,
and a custom-profile regexp means the same in Java (Jenkins) as in Python.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.load import load_pipeline
from pipelinegen.model.build import COMMAND_FIELDS, template_fields
from pipelinegen.model.pipeline import ARCH_AXIS, Pipeline
from pipelinegen.plan.cell import Cell
from pipelinegen.plan.expand import cell_universe
from pipelinegen.plan.javaregex import java_regex_problem

RULE = "semantics"
# Characters that make a Jenkins label *expression* out of a label (Label.parseExpression): a resolved
# resource label must be one plain label, or `node(label)` silently matches other agents.
_LABEL_OPERATORS = re.compile(r'[\s&|!()"]|->')


def _located(item: object, default_file: str) -> tuple[str, int | None]:
    location = getattr(item, "location", None)
    if location is None:
        return default_file, None
    return location.file, location.line or None


def _tagged(findings: list[Finding]) -> list[Finding]:
    return [f if f.rule else replace(f, rule=RULE) for f in findings]


def load_checked(pipeline_path: Path, overlays: tuple[Path, ...] = ()) -> tuple[Pipeline | None, list[Finding]]:
    """The pipeline and every layer-1 finding; the pipeline is None when it cannot be built at all."""
    try:
        pipeline = load_pipeline(pipeline_path, overlays)
    except PipelineError as err:
        return None, _tagged(err.findings)
    findings = check_model(pipeline, str(pipeline_path))
    template_problems = check_templates(pipeline, str(pipeline_path))
    if template_problems:  # cell expansion would fail on them with a KeyError
        return pipeline, findings + template_problems
    try:
        universe = cell_universe(pipeline)
    except PipelineError as err:
        return pipeline, findings + _tagged(err.findings)
    findings += check_cells(pipeline, universe, str(pipeline_path))
    return pipeline, findings


def check_model(pipeline: Pipeline, file: str) -> list[Finding]:
    findings = []
    for profile in pipeline.profiles:
        if not profile.custom and not profile.steps:
            where, line = _located(profile, file)
            findings.append(Finding(where, line, "selects no step after `extends` is resolved", f"profiles[{profile.name}]",
                                    "list steps, or extend a profile that has some", rule=RULE))
    arch = next((a for a in pipeline.axes if a.name == ARCH_AXIS), None)
    if arch is not None and len(arch.values) > 1:
        for resource in pipeline.resources:
            if "{" + ARCH_AXIS + "}" not in resource.label:
                where, line = _located(resource, file)
                findings.append(Finding(where, line, f"label {resource.label!r} is the same for every arch "
                                        f"({', '.join(arch.values)}): arm64 cells would run on amd64 agents",
                                        f"resources[{resource.name}].label", "put {arch} in the label",
                                        rule=RULE, severity="warning"))
    return findings


def check_templates(pipeline: Pipeline, file: str) -> list[Finding]:
    """Placeholders of result/archive globs and docker images name a field every cell has (the command's
    are checked while loading; these are not, and an unknown one stops plan expansion)."""
    findings = []
    for step in pipeline.steps:
        axes = {a.name for a in pipeline.axes}
        globs = set(COMMAND_FIELDS) | axes | {f"{name}_dir" for name in step.checkouts}
        for key, templates, known in (("results", step.results, globs), ("archive", step.archive, globs),
                                      ("image", (step.image,), axes)):
            for template in templates:
                try:
                    unknown = [name for name in template_fields(template) if name not in known]
                except ValueError as err:
                    unknown, problem = [], f"malformed template {template!r}: {err}"
                    findings.append(Finding(*_located(step, file), problem, f"steps[{step.name}].{key}",
                                            "write {{ and }} for literal braces", rule=RULE))
                for name in unknown:
                    findings.append(Finding(*_located(step, file), f"unknown placeholder {{{name}}} in {template!r}",
                                            f"steps[{step.name}].{key}",
                                            f"known: {', '.join(sorted(known))}; write {{{{ for a literal brace",
                                            rule=RULE))
    return findings


def check_cells(pipeline: Pipeline, universe: tuple[Cell, ...], file: str) -> list[Finding]:
    """Checks over the expanded cells: unique names, labels that resolve to one plain label."""
    findings = []
    names: dict[str, Cell] = {}
    bad_labels: dict[str, str] = {}
    for cell in universe:
        if cell.name in names:
            where, line = _located(pipeline.step(cell.step), file)
            findings.append(Finding(where, line, f"cell name '{cell.name}' is produced twice (also by step "
                                    f"'{names[cell.name].step}')", f"steps[{cell.step}]",
                                    "give the axes distinct cell_name parts", rule=RULE))
        names[cell.name] = cell
        if not cell.label.strip() or _LABEL_OPERATORS.search(cell.label):
            bad_labels.setdefault(cell.resource, cell.label)
    for resource_name, label in bad_labels.items():
        resource = pipeline.resource(resource_name)
        where, line = _located(resource, file)
        findings.append(Finding(where, line, f"label resolves to {label!r}, which Jenkins reads as a label "
                                "expression (spaces, &&, ||, !, parentheses or quotes), not one label",
                                f"resources[{resource_name}].label", "use letters, digits, '-', '_' and '.' only",
                                rule=RULE))
    return findings


def check_custom_regexp(pattern: str) -> list[Finding]:
    """A profile_custom_regexp must select the same steps in Java (Jenkins) and Python (plan, local runs)."""
    problem = java_regex_problem(pattern)
    if problem is None:
        return []
    return [Finding("<parameters>", None, f"profile_custom_regexp {pattern!r}: {problem}", "profile_custom_regexp",
                    "keep to the regexp features Java and Python share", rule=RULE)]
