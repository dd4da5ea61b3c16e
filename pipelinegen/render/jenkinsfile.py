"""Renders generated/Jenkinsfile: declarative, small, the job parameters derived from pipeline.yaml."""

from __future__ import annotations

from importlib import resources

import jinja2

from pipelinegen import __version__
from pipelinegen.escape import groovy_comment, groovy_string
from pipelinegen.model.parameters import job_parameters
from pipelinegen.model.pipeline import JobParameter, Pipeline

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
    env.filters["groovy_comment"] = groovy_comment  # text inside // comments: never groovy_string (\uXXXX)
    return env


def groovy_parameter(parameter: JobParameter) -> str:
    """One entry of `parameters { }`."""
    name = groovy_string(parameter.name)
    description = groovy_string(parameter.description)
    if parameter.type == "boolean":
        default = "true" if parameter.default is True else "false"
        return f"booleanParam(name: {name}, defaultValue: {default}, description: {description})"
    if parameter.type == "choice":
        # Jenkins's choice parameter has no default: the first choice is it
        choices = [parameter.default, *[c for c in parameter.choices if c != parameter.default]] if parameter.default else list(parameter.choices)
        listed = ", ".join(groovy_string(c) for c in choices)
        return f"choice(name: {name}, choices: [{listed}], description: {description})"
    return f"string(name: {name}, defaultValue: {groovy_string(str(parameter.default))}, description: {description})"


def render_jenkinsfile(pipeline: Pipeline) -> str:
    longest = max((s.timeout_minutes * s.attempts for s in pipeline.steps), default=60)
    build_timeout_hours = max(24, -(-longest * 2 // 60))  # generous: queueing dominates, this only stops runaways
    # comments: overlay file names and the canonical repository are user text (groovy_comment keeps them there)
    sources = groovy_comment(", ".join(s.path for s in pipeline.sources if s.role != "axis-values") or "pipeline.yaml")
    canonical = f" ({groovy_comment(pipeline.canonical_repository)})" if pipeline.canonical_repository else " (none is set)"
    return _environment().get_template("Jenkinsfile.j2").render(
        generator=groovy_comment(f"pipelinegen {__version__}"),
        sources=sources,
        project=pipeline.project,
        canonical_note=canonical,
        library_identifier=LIBRARY_IDENTIFIER,
        library_path=LIBRARY_PATH,
        build_timeout_hours=build_timeout_hours,
        parameters=[groovy_parameter(p) for p in job_parameters(pipeline)],
    )
