"""generated/clone/: rendered from pipeline.yaml, validated offline, checked against the node pool."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelinegen.deploy import clone as clone_mod
from pipelinegen.deploy.cluster import (
    Node,
    node_pool_problems,
    nodes_from_json,
    parse_quantity,
    requirements_text,
)
from pipelinegen.deploy.crd import parse_crd, validate_custom_resource
from pipelinegen.deploy.spec import spec_from_pipeline
from pipelinegen.deploy.validate import validate_clone
from pipelinegen.load import load_pipeline

ROOT = Path(__file__).resolve().parents[2]
CRD_PATH = Path("/work/shared/reference/jenkins-operator-crd.jenkins.io_jenkins.yaml")


@pytest.fixture(scope="module")
def pipeline():
    return load_pipeline(ROOT / "pipeline.yaml")


@pytest.fixture(scope="module")
def spec(pipeline):
    return spec_from_pipeline(pipeline)


@pytest.fixture(scope="module")
def files(pipeline):
    return clone_mod.render_clone(pipeline)


@pytest.fixture(scope="module")
def crd():
    if not CRD_PATH.exists():
        pytest.skip("the operator CRD reference file is not on this machine")
    return parse_crd(CRD_PATH.read_text())


def templates(files) -> dict[str, dict]:
    agents = yaml.safe_load(files["jcasc/agents.yaml"])
    return {t["label"]: t for t in agents["jenkins"]["clouds"][0]["kubernetes"]["templates"]}


def test_rendered_clone_passes_every_offline_check(files, crd):
    assert validate_clone(files, crd) == []


def test_one_pod_template_per_resource_class_and_arch(files):
    by_label = templates(files)
    assert set(by_label) == {f"cassandra-{a}-{r}" for a in ("amd64", "arm64")
                             for r in ("small", "medium", "large", "large-dedicated")}
    pod = yaml.safe_load(by_label["cassandra-amd64-large"]["yaml"])
    dind = next(c for c in pod["spec"]["containers"] if c["name"] == "dind")
    assert dind["securityContext"]["privileged"] is True
    assert dind["resources"]["requests"] == {"cpu": "7", "memory": "16Gi", "ephemeral-storage": "80Gi"}
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    anti = pod["spec"]["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"  # one agent pod per node
    assert by_label["cassandra-arm64-large-dedicated"]["instanceCap"] == 4
    assert by_label["cassandra-amd64-small"]["instanceCap"] == 20  # pipeline.yaml's pool (resources[].instance_cap)


def test_jcasc_has_one_pipeline_job_per_branch_and_the_same_plugins_everywhere(files, spec):
    jobs = yaml.safe_load(files["jcasc/jobs.yaml"])["jobs"]
    assert [j["script"].split("'")[1] for j in jobs] == ["cassandra-trunk", "cassandra-cassandra-5.0"]
    values = yaml.safe_load(files["helm/values.yaml"])
    cr = yaml.safe_load(files["operator/jenkins.yaml"])
    pinned = [str(p) for p in spec.plugins]
    assert values["controller"]["installPlugins"] == pinned
    assert [f"{p['name']}:{p['version']}" for p in cr["spec"]["master"]["plugins"]] == pinned
    assert files["plugins.txt"].splitlines() == pinned
    assert values["controller"]["resources"]["limits"] == {"cpu": "4", "memory": "12Gi"}


def test_job_dsl_strings_are_escaped(spec):
    files = clone_mod.render_clone_spec(spec, repository="https://example.org/it's.git", branches=("o'brien",))
    script = yaml.safe_load(files["jcasc/jobs.yaml"])["jobs"][0]["script"]
    assert "url('https://example.org/it\\'s.git')" in script and "branch('o\\'brien')" in script
    assert "pollSCM" not in script  # a throwaway clone never polls


def test_unknown_custom_resource_fields_are_rejected_but_maps_stay_open(files, crd):
    cr = yaml.safe_load(files["operator/jenkins.yaml"])
    cr["spec"]["master"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = "1"  # a map: allowed
    assert validate_custom_resource(cr, crd) == []
    cr["spec"]["master"]["pluginz"] = []
    assert validate_custom_resource(cr, crd) == [
        next(p for p in validate_custom_resource(cr, crd) if "unknown field 'pluginz'" in p)]
    assert validate_custom_resource(cr, crd)[0].startswith("spec.master:")


def test_a_bad_pod_template_is_caught_by_strict_validation(files, crd):
    broken = dict(files)
    agents = yaml.safe_load(files["jcasc/agents.yaml"])
    template = agents["jenkins"]["clouds"][0]["kubernetes"]["templates"][0]
    pod = yaml.safe_load(template["yaml"])
    pod["spec"]["containers"][1]["privilegd"] = True
    template["yaml"] = yaml.safe_dump(pod)
    broken["jcasc/agents.yaml"] = yaml.safe_dump(agents)
    problems = validate_clone(broken, crd)
    assert len(problems) == 1 and "privilegd" in problems[0] and "cassandra-amd64-small" in problems[0]


def node(name: str, arch: str, cpu: str, memory: str, storage: str) -> dict:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/arch": arch}},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "ephemeral-storage": storage}}}


def test_node_pool_check_names_each_template_the_cluster_cannot_run(spec):
    nodes = nodes_from_json({"items": [
        node("big-1", "amd64", "7910m", "30Gi", "100Gi"), node("small-1", "amd64", "2", "8053380Ki", "50Gi"),
        {**node("cordoned", "amd64", "64", "256Gi", "1Ti"), "spec": {"unschedulable": True}}]})
    assert [n.name for n in nodes] == ["big-1", "small-1"]
    assert nodes[0].cpu == pytest.approx(7.91) and nodes[1].memory_gb == pytest.approx(7.68, abs=0.01)
    problems = node_pool_problems(spec.agents, nodes)
    assert any("cassandra-arm64-small" in p and "kubernetes.io/arch=arm64" in p for p in problems)
    assert any("cassandra-amd64-large-dedicated: instance cap 4" in p for p in problems)
    assert not any("cassandra-amd64-large: needs" in p for p in problems)  # big-1 fits a large pod
    # ... but one node cannot hold the 300 large agents pipeline.yaml caps the pool at
    assert any("cassandra-amd64-large: instance cap 300 (one pod per node) exceeds the 1 node(s)" in p
               for p in problems)
    too_small = node_pool_problems(spec.agents[:1], [Node("tiny", "amd64", 1, 2, 10)])
    assert too_small == ["pod template cassandra-amd64-small: needs 1.25 cpu, 5.5 GiB memory, 20 GiB ephemeral "
                         "storage per pod; the largest amd64 node tiny has 1 cpu, 2.0 GiB, 10 GiB"]


def test_quantities():
    assert parse_quantity("3500m") == 3.5 and parse_quantity("1Gi") == 2**30 and parse_quantity(4) == 4
    with pytest.raises(ValueError):
        parse_quantity("12 apples")


def test_requirements_list_every_pool_and_the_controller(spec):
    text = requirements_text(spec)
    for agent in spec.agents:
        assert f"| {agent.label} | {agent.arch} |" in text
    assert "Controller: 4 cpu, 12 GiB memory" in text and "persistent volume" in text


def test_docs_show_the_current_requirements(spec):
    doc = (ROOT / "docs" / "test-on-clone.md").read_text()
    assert requirements_text(spec).strip() in doc, "run `pipelinegen clone requirements` and paste it in the doc"


def test_a_clone_starts_nothing_by_itself_and_never_publishes(files):
    """Every rendered clone file (also generated/clone/ from `compile`): no SCM polling, no cron trigger, and
    the controller-wide marker that keeps the library from running post-commit publish cells."""
    for rel, text in files.items():
        for word in ("pollSCM", "scmpoll_spec", "cron", "pipelineTriggers", "triggers {"):
            assert word not in text, f"{rel} has {word!r}: a throwaway clone would start builds by itself"
    jobs = yaml.safe_load(files["jcasc/jobs.yaml"])
    env = jobs["jenkins"]["globalNodeProperties"][0]["envVars"]["env"]
    assert {"key": clone_mod.THROWAWAY_CLONE_ENV, "value": "pipelinegen"} in env
    for script in (j["script"] for j in jobs["jobs"]):
        assert "stringParam('repository', ''," in script  # empty = the job's own SCM, as in the Jenkinsfile
