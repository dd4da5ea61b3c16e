"""Renders generated/Jenkinsfile: declarative, small, the job parameters derived from pipeline.yaml."""

from __future__ import annotations

from importlib import resources

import jinja2

from pipelinegen import __version__
from pipelinegen.model.pipeline import Pipeline
from pipelinegen.render.escape import groovy_string

LIBRARY_PATH = "generated/library/"
LIBRARY_IDENTIFIER = "pipelinegen@generated"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(
            lambda name: resources.files("pipelinegen.render").joinpath("templates", name).read_text(encoding="utf-8")
        ),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Groovy, not HTML: every value goes through the `groovy` filter instead
    )
    env.filters["groovy"] = groovy_string
    return env


def _string_parameter(name: str, default: str, description: str) -> str:
    return f"string(name: {groovy_string(name)}, defaultValue: {groovy_string(default)}, description: {groovy_string(description)})"


def _choice_parameter(name: str, choices: list[str], description: str) -> str:
    listed = ", ".join(groovy_string(c) for c in choices)
    return f"choice(name: {groovy_string(name)}, choices: [{listed}], description: {groovy_string(description)})"


def job_parameters(pipeline: Pipeline) -> list[str]:
    """The `parameters { }` entries, in the order a person fills them in."""
    entries = [
        _string_parameter(
            "repository",
            pipeline.canonical_repository,
            "git repository to build (a fork for pre-commit); post-commit when it is the canonical one",
        ),
        _string_parameter("branch", "", "branch or sha to build; empty = the job's own branch"),
        _choice_parameter(
            "profile", [p.name for p in pipeline.profiles], "which set of steps runs (see pipeline.yaml profiles)"
        ),
        _string_parameter("profile_custom_regexp", "", "with profile custom: steps whose name matches (Java regex, find)"),
    ]
    for axis in pipeline.axes:
        if not axis.parameter:
            continue
        if axis.parameter_default:
            others = [v for v in axis.values if v != axis.parameter_default]
            entries.append(
                _choice_parameter(axis.parameter, [axis.parameter_default, *others, "all"], f"{axis.name}: one value, or all")
            )
        else:
            entries.append(
                _string_parameter(axis.parameter, "", f"{axis.name}: one of {', '.join(axis.values)}; empty = all")
            )
    for repository in pipeline.repositories:
        entries.append(
            _string_parameter(repository.repository_parameter, repository.url, f"{repository.name} repository to check out")
        )
        entries.append(_string_parameter(repository.branch_parameter, repository.branch, f"{repository.name} branch"))
    repeat = pipeline.repeat
    entries.append(
        _string_parameter(
            repeat.test_regex_parameter,
            "",
            "repeat runs: tests matching this regexp run many times in every selected test step instead of its splits",
        )
    )
    entries.append(
        _string_parameter(repeat.count_parameter, "", f"repeat runs: how many times (empty = {repeat.default_count})")
    )
    entries.append(
        f"booleanParam(name: {groovy_string(repeat.stop_on_failure_parameter)}, defaultValue: true, "
        f"description: {groovy_string('repeat runs: stop a cell at the first failure')})"
    )
    for parameter in pipeline.parameters:
        if parameter.type == "boolean":
            entries.append(
                f"booleanParam(name: {groovy_string(parameter.name)}, defaultValue: {'true' if parameter.default else 'false'}, "
                f"description: {groovy_string(parameter.description)})"
            )
        elif parameter.type == "choice":
            entries.append(_choice_parameter(parameter.name, list(parameter.choices), parameter.description))
        else:
            entries.append(_string_parameter(parameter.name, str(parameter.default), parameter.description))
    return entries


def render_jenkinsfile(pipeline: Pipeline) -> str:
    longest = max((s.timeout_minutes * s.attempts for s in pipeline.steps), default=60)
    build_timeout_hours = max(24, -(-longest * 2 // 60))  # generous: queueing dominates, this only stops runaways
    sources = ", ".join(s.path for s in pipeline.sources if s.role != "axis-values") or "pipeline.yaml"
    canonical = f" ({pipeline.canonical_repository})" if pipeline.canonical_repository else " (none is set)"
    return _environment().get_template("Jenkinsfile.j2").render(
        generator=f"pipelinegen {__version__}",
        sources=sources,
        project=pipeline.project,
        canonical_note=canonical,
        library_identifier=LIBRARY_IDENTIFIER,
        library_path=LIBRARY_PATH,
        build_timeout_hours=build_timeout_hours,
        parameters=job_parameters(pipeline),
    )
