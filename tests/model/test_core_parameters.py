"""The job definition (JCasC / Job DSL) and generated/Jenkinsfile declare the same parameters with the
same defaults: a new job's first build uses the job's, every later build the Jenkinsfile's."""

from __future__ import annotations

import re

import pytest

from pipelinegen.generate import render_all
from pipelinegen.load import load_pipeline
from tests.conftest import REPO

_GROOVY_STRING = r"'((?:[^'\\]|\\.)*)'"


def _jenkinsfile_defaults(text: str) -> dict[str, str]:
    found = {}
    for name, default in re.findall(rf"string\(name: {_GROOVY_STRING}, defaultValue: {_GROOVY_STRING}", text):
        found[name] = default
    for name, first in re.findall(rf"choice\(name: {_GROOVY_STRING}, choices: \[{_GROOVY_STRING}", text):
        found[name] = first
    for name, default in re.findall(rf"booleanParam\(name: {_GROOVY_STRING}, defaultValue: (true|false)", text):
        found[name] = default
    return found


def _job_dsl_defaults(text: str) -> dict[str, str]:
    found = {}
    for name, default in re.findall(rf"stringParam\({_GROOVY_STRING}, {_GROOVY_STRING}", text):
        found[name] = default
    for name, first in re.findall(rf"choiceParam\({_GROOVY_STRING}, \[{_GROOVY_STRING}", text):
        found[name] = first
    for name, default in re.findall(rf"booleanParam\({_GROOVY_STRING}, (true|false)", text):
        found[name] = default
    return found


@pytest.mark.parametrize("pipeline_file", ["pipeline.yaml", "examples/sample-project/pipeline.yaml"])
def test_job_and_jenkinsfile_parameters_have_the_same_defaults(pipeline_file):
    path = REPO / pipeline_file
    files = render_all(load_pipeline(path), path.parent)
    jenkinsfile = _jenkinsfile_defaults(files["Jenkinsfile"].decode())
    jobs = files["clone/jcasc/jobs.yaml"].decode()
    first_job = jobs.split("pipelineJob(")[1]
    assert len(jenkinsfile) >= 10
    assert _job_dsl_defaults(first_job) == jenkinsfile
    assert jenkinsfile["branch"] == ""  # empty = the job's own branch: both builds check out the same commit
    assert jenkinsfile["repeated_tests_stop_on_failure"] == "true"
