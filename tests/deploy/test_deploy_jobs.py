"""`pipelinegen jobs`: JJB renders one pipeline job per branch, and the XML is checked with lxml."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from pipelinegen.deploy import jobs
from pipelinegen.deploy.errors import DeployError
from pipelinegen.deploy.spec import spec_from_pipeline
from pipelinegen.load import load_pipeline

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def spec():
    return spec_from_pipeline(load_pipeline(ROOT / "pipeline.yaml"))


def params(xml: str) -> dict[str, etree._Element]:
    root = etree.fromstring(xml.encode())
    return {d.findtext("name"): d for d in root.xpath("//parameterDefinitions/*")}


def test_one_job_per_branch_with_scm_script_path_and_polling(spec):
    rendered = jobs.render_jobs(spec)
    assert list(rendered) == ["cassandra-trunk", "cassandra-cassandra-5.0"]
    root = etree.fromstring(rendered["cassandra-cassandra-5.0"].encode())
    assert root.findtext("definition/scm/branches/hudson.plugins.git.BranchSpec/name") == "cassandra-5.0"
    assert root.findtext("definition/scriptPath") == "generated/Jenkinsfile"
    assert root.xpath("string(//hudson.triggers.SCMTrigger/spec)") == jobs.POLL_CRON


def test_parameters_match_the_pipeline(spec):
    defs = params(jobs.render_jobs(spec)["cassandra-trunk"])
    assert list(defs)[:4] == ["repository", "branch", "profile", "profile_custom_regexp"]
    assert (defs["branch"].findtext("defaultValue") or "") == ""  # the job's own SCM branch, as the Jenkinsfile says
    # empty = the job's own SCM: a fork's copy of this job builds the fork, pre-commit (not the canonical default)
    assert (defs["repository"].findtext("defaultValue") or "") == ""
    assert defs["architecture"].xpath(".//string/text()") == ["amd64", "arm64", "all"]
    assert defs["profile"].xpath(".//string/text()")[0] == "packaging"  # first listed = default
    assert defs["dtest_branch"].findtext("defaultValue") == "trunk"
    assert defs["repeated_tests_stop_on_failure"].tag == "hudson.model.BooleanParameterDefinition"


def test_fork_job_for_a_clone_points_at_the_fork_and_does_not_poll(spec):
    xml = jobs.render_jobs(spec, branches=("my-fix",), repository="https://github.com/me/cassandra.git",
                           polling=False)["cassandra-my-fix"]
    root = etree.fromstring(xml.encode())
    assert root.xpath("string(//userRemoteConfigs/*/url)") == "https://github.com/me/cassandra.git"
    assert not root.xpath("//hudson.triggers.SCMTrigger")
    assert (params(xml)["repository"].findtext("defaultValue") or "") == ""  # = the job's SCM, the fork


def test_a_key_jjb_silently_drops_is_caught(spec, monkeypatch):
    original = jobs.jjb_definition

    def misspelt(settings):
        data = original(settings)
        data["job"]["pipeline-scm"]["scriptpath"] = data["job"]["pipeline-scm"].pop("script-path")
        return data

    monkeypatch.setattr(jobs, "jjb_definition", misspelt)
    with pytest.raises(DeployError, match="script path is 'Jenkinsfile', expected 'generated/Jenkinsfile'"):
        jobs.render_jobs(spec)


def test_check_reports_each_difference(spec):
    settings = jobs.job_settings(spec, "trunk")
    xml = jobs.render_jobs(spec)["cassandra-trunk"]
    root = etree.fromstring(xml.encode())
    root.find("definition/lightweight").text = "false"
    defs = root.find(".//parameterDefinitions")
    defs.remove(defs[1])
    problems = jobs.check_job_xml(etree.tostring(root).decode(), settings)
    assert any("lightweight" in p for p in problems) and any("parameters are" in p for p in problems)


@pytest.mark.parametrize("line, message, hint, at", [
    ("git", "is not a pinned plugin", "name:version", 3),
    ("git:latest", "is not a pinned plugin", "no 'latest'", 3),
    ("junit:1.0\njunit:1.1", "listed twice", "keep one line", 4)])
def test_plugins_file_must_pin_every_plugin_once(tmp_path, line, message, hint, at):
    from pipelinegen.deploy.spec import load_plugins
    from pipelinegen.errors import PipelineError

    path = tmp_path / "plugins.txt"
    path.write_text(f"# pins\nkubernetes:4423.vb_59f230b_ce53\n{line}\n")
    with pytest.raises(PipelineError) as err:
        load_plugins(path)
    finding = err.value.findings[0]
    assert message in finding.message and hint in finding.hint and finding.line == at


def test_the_shipped_plugin_list_is_pinned():
    from pipelinegen.deploy.spec import load_plugins

    names = [p.name for p in load_plugins()]
    for needed in ("workflow-aggregator", "pipeline-model-definition", "kubernetes", "configuration-as-code",
                   "job-dsl", "git", "junit", "pipeline-utility-steps", "pipeline-groovy-lib"):
        assert needed in names


@pytest.mark.parametrize("pipeline_file", ["pipeline.yaml", "examples/sample-project/pipeline.yaml"])
def test_job_parameters_are_the_ones_the_jenkinsfile_declares(pipeline_file):
    """The job (JJB/JCasC) and generated/Jenkinsfile's `parameters {}` come from two renderers: the
    first build of a new job uses the job's, later builds the Jenkinsfile's, so they must agree."""
    import re

    from pipelinegen.generate import render_all

    pipeline = load_pipeline(ROOT / pipeline_file)
    jenkinsfile = render_all(pipeline, (ROOT / pipeline_file).parent)["Jenkinsfile"].decode()
    kinds = {"string": "string", "choice": "choice", "booleanParam": "boolean"}
    declared = [(name, kinds[kind]) for kind, name in re.findall(r"(string|choice|booleanParam)\(name: '([^']+)'",
                                                                  jenkinsfile)]
    spec = spec_from_pipeline(pipeline)
    assert declared == [(p.name, p.type) for p in spec.parameters]


def test_only_the_parameters_a_user_chose_are_sent_with_the_build():
    from pipelinegen.cli.deploy import job_parameter_values
    from pipelinegen.plan.cell import Parameters

    pipeline = load_pipeline(ROOT / "pipeline.yaml")
    chosen = Parameters(profile="custom", custom_regexp="^jvm", architecture="all", jdk="17",
                        extra=(("dtest_branch", "my-fix"),))
    assert job_parameter_values(pipeline, chosen, "https://github.com/me/cassandra.git", "fix") == {
        "repository": "https://github.com/me/cassandra.git", "branch": "fix", "profile": "custom",
        "profile_custom_regexp": "^jvm", "architecture": "all", "jdk": "17", "dtest_branch": "my-fix"}
    defaults = job_parameter_values(pipeline, Parameters(profile="skinny"), "r", "b")
    assert defaults == {"repository": "r", "branch": "b", "profile": "skinny"}
