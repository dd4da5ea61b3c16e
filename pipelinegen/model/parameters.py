"""The job parameters of the generated pipeline: one list, rendered both into generated/Jenkinsfile's
`parameters { }` and into the Jenkins job definitions (JJB, JCasC), so a new job's first build and every
later build (which takes the Jenkinsfile's) see the same parameters and defaults."""

from __future__ import annotations

from pipelinegen.model.pipeline import JobParameter, Pipeline


def job_parameters(pipeline: Pipeline) -> tuple[JobParameter, ...]:
    """Every job parameter, in the order a person fills them in."""
    params = [
        # Both default to the job's own SCM (the library reads `scm`), as Cassandra's Jenkinsfile does: a default
        # build on a fork's Jenkins builds the fork, pre-commit; only a job of the canonical repository is post-commit.
        JobParameter(
            "repository",
            "string",
            "",
            description="git repository to build; empty = the job's own; post-commit when it is the canonical one",
        ),
        JobParameter("branch", "string", "", description="branch or sha to build; empty = the job's own branch"),
        JobParameter(
            "profile",
            "choice",
            pipeline.profiles[0].name,
            tuple(p.name for p in pipeline.profiles),
            "which set of steps runs (see pipeline.yaml profiles)",
        ),
        JobParameter(
            "profile_custom_regexp", "string", "", description="with profile custom: steps whose name matches (Java regex, find)"
        ),
    ]
    for axis in pipeline.axes:
        if not axis.parameter:
            continue
        if axis.parameter_default:
            others = tuple(v for v in axis.values if v != axis.parameter_default)
            choices = (axis.parameter_default, *others, "all")
            params.append(
                JobParameter(axis.parameter, "choice", axis.parameter_default, choices, f"{axis.name}: one value, or all")
            )
        else:
            params.append(
                JobParameter(axis.parameter, "string", "", description=f"{axis.name}: one of {', '.join(axis.values)}; empty = all")
            )
    for repository in pipeline.repositories:
        params.append(
            JobParameter(
                repository.repository_parameter, "string", repository.url, description=f"{repository.name} repository to check out"
            )
        )
        params.append(JobParameter(repository.branch_parameter, "string", repository.branch, description=f"{repository.name} branch"))
    repeat = pipeline.repeat
    params += [
        JobParameter(
            repeat.test_regex_parameter,
            "string",
            "",
            description="repeat runs: tests matching this regexp run many times in every selected test step instead of its splits",
        ),
        JobParameter(repeat.count_parameter, "string", "", description=f"repeat runs: how many times (empty = {repeat.default_count})"),
        JobParameter(repeat.stop_on_failure_parameter, "boolean", True, description="repeat runs: stop a cell at the first failure"),
    ]
    params.extend(pipeline.parameters)
    return tuple(params)
