"""The clone definition under generated/clone/, rendered from pipeline.yaml for both installers.

`render_clone(pipeline) -> {relative path: text}` is pure: the core `compile` writes the files.
Everything comes from the DeploySpec (one source: pipeline.yaml + plugins.txt):

* helm/values.yaml            values for the official jenkins/jenkins chart
* operator/jenkins.yaml       a `Jenkins` custom resource (jenkins.io/v1alpha2) for the Jenkins operator
* operator/jcasc-configmap.yaml  the JCasC files the CR points at
* jcasc/jobs.yaml             JCasC: one pipeline job per branch (job-dsl), the shared library, script approvals
* jcasc/agents.yaml           JCasC: a kubernetes cloud with one pod template per resource class × arch
* plugins.txt                 the pinned plugins
"""

from __future__ import annotations

import yaml

from pipelinegen.deploy.jobs import POLL_CRON, JobSettings, job_settings
from pipelinegen.deploy.spec import (
    JNLP_CPU,
    JNLP_MEMORY_GB,
    AgentClass,
    DeploySpec,
    JobParameter,
    spec_from_pipeline,
)
from pipelinegen.escape import groovy_string, helm_template_text, jcasc_string, map_strings
from pipelinegen.model.pipeline import Pipeline

# Images: tags as published on Docker Hub; not pulled or verified from this machine.
CONTROLLER_IMAGE = ("jenkins/jenkins", "2.568.2-jdk21")
AGENT_IMAGE = "jenkins/inbound-agent:3355.v388858a_47b_33-17"  # the chart's default jnlp image
DIND_IMAGE = "docker:27-dind"
CLOUD_NAME = "pipelinegen"
LABEL_PREFIX = "pipelinegen.io"
AGENT_LABEL = f"{LABEL_PREFIX}/agent"
CONTROLLER_STORAGE_GB = 20  # JENKINS_HOME: build records, console logs, archived results
# Signatures to pre-approve for the sandbox. generated/Jenkinsfile loads the library from its own commit
# (`library(... legacySCM(scm))`), so the library runs sandboxed; it calls only whitelisted
# methods and steps (each checked in docs/jenkins-compatibility.md) except these. Add signatures here.
# The job's own SCM as the default repository/branch (pipelinegenPlan.resolvedParams): the git plugin's getters
# are @Exported, not @Whitelisted, so a sandboxed library needs these approved (Cassandra's Jenkinsfile does too).
# A canonical controller must approve the same signatures (docs/jenkins-compatibility.md).
SCRIPT_APPROVALS: tuple[str, ...] = (
    "method hudson.plugins.git.GitSCM getUserRemoteConfigs",
    "method hudson.plugins.git.UserRemoteConfig getUrl",
    "method hudson.plugins.git.GitSCM getBranches",
    "method hudson.plugins.git.BranchSpec getName",
)


def _gi(value: float) -> str:
    return f"{int(round(value * 1024))}Mi" if value % 1 else f"{int(value)}Gi"


def _cpu(value: float) -> str:
    return f"{int(round(value * 1000))}m" if value % 1 else str(int(value))


def agent_pod(agent: AgentClass) -> dict:
    """The raw Pod yaml of one pod template: jnlp + privileged docker-in-docker, one pod per node."""
    storage = _gi(agent.ephemeral_storage_gb)
    dind_resources = {"cpu": _cpu(agent.cpu), "memory": _gi(agent.memory_gb), "ephemeral-storage": storage}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"labels": {AGENT_LABEL: "true", f"{LABEL_PREFIX}/resource": agent.resource}},
        "spec": {
            "nodeSelector": {"kubernetes.io/arch": agent.arch},
            # One agent pod per node, as Cassandra's CI assumes (tests use fixed ports and all the disk).
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": {AGENT_LABEL: "true"}},
                "topologyKey": "kubernetes.io/hostname"}]}},
            "containers": [
                {"name": "jnlp", "image": AGENT_IMAGE,
                 "env": [{"name": "DOCKER_HOST", "value": "tcp://localhost:2375"}],
                 "resources": {"requests": {"cpu": _cpu(JNLP_CPU), "memory": _gi(JNLP_MEMORY_GB)},
                               "limits": {"memory": _gi(JNLP_MEMORY_GB)}}},
                {"name": "dind", "image": DIND_IMAGE, "securityContext": {"privileged": True},
                 "env": [{"name": "DOCKER_TLS_CERTDIR", "value": ""}],
                 "resources": {"requests": dict(dind_resources), "limits": dict(dind_resources)},
                 "volumeMounts": [{"name": "docker-graph", "mountPath": "/var/lib/docker"}]},
            ],
            "volumes": [{"name": "docker-graph", "emptyDir": {"sizeLimit": storage}}],
        },
    }


def pod_template(agent: AgentClass) -> dict:
    """A kubernetes-plugin pod template as JCasC writes it."""
    template = {
        "name": agent.name,
        "label": agent.label,
        "nodeUsageMode": "EXCLUSIVE",  # only cells asking for this label run here
        "idleMinutes": 0,
        "yamlMergeStrategy": "override",
        "yaml": _dump(agent_pod(agent)),
    }
    if agent.instance_cap is not None:
        template["instanceCap"] = agent.instance_cap
    return template


def _dsl_parameter(param: JobParameter) -> str:
    if param.type == "choice":
        choices = [str(param.default)] + [c for c in param.choices if c != param.default]
        items = ", ".join(groovy_string(c) for c in choices)
        return f"choiceParam({groovy_string(param.name)}, [{items}], {groovy_string(param.description)})"
    if param.type == "boolean":
        return (f"booleanParam({groovy_string(param.name)}, {'true' if param.default else 'false'}, "
                f"{groovy_string(param.description)})")
    return (f"stringParam({groovy_string(param.name)}, {groovy_string(str(param.default))}, "
            f"{groovy_string(param.description)})")


def job_dsl(settings: JobSettings) -> str:
    """A Job DSL script creating the same pipeline job as `pipelinegen jobs` (JCasC `jobs:` needs Job DSL)."""
    params = "\n".join(f"    {_dsl_parameter(p)}" for p in settings.parameters)
    polling = (f"  properties {{ pipelineTriggers {{ triggers {{ pollSCM {{ scmpoll_spec({groovy_string(POLL_CRON)}) }} }} }} }}\n"
               if settings.polling else "")
    return (
        f"pipelineJob({groovy_string(settings.name)}) {{\n"
        f"  description({groovy_string('Generated by pipelinegen from pipeline.yaml')})\n"
        f"  parameters {{\n{params}\n  }}\n"
        f"{polling}"
        f"  definition {{\n    cpsScm {{\n"
        f"      scm {{ git {{ remote {{ url({groovy_string(settings.repository)}) }}; "
        f"branch({groovy_string(settings.branch)}) }} }}\n"
        f"      scriptPath({groovy_string(settings.script_path)})\n"
        f"      lightweight(true)\n    }}\n  }}\n}}\n")


# Set on every clone's controller: the library then never runs post-commit publish cells (notifications, uploads).
THROWAWAY_CLONE_ENV = "PIPELINEGEN_THROWAWAY_CLONE"


def jcasc_jobs(spec: DeploySpec, repository: str, branches: tuple[str, ...], name: str) -> dict:
    """A clone starts nothing by itself: its jobs have no SCM polling nor cron trigger, and it never publishes.
    Every string is escaped for JCasC (it would resolve `${...}` in the Job DSL scripts)."""
    settings = [job_settings(spec, b, repository=repository, polling=False) for b in branches]
    return map_strings({
        "jenkins": {"globalNodeProperties": [{"envVars": {"env": [{"key": THROWAWAY_CLONE_ENV, "value": name}]}}]},
        "jobs": [{"script": job_dsl(s)} for s in settings],
        "security": {"scriptApproval": {"approvedSignatures": list(SCRIPT_APPROVALS)}},
    }, jcasc_string)


def jcasc_agents(spec: DeploySpec, name: str) -> dict:
    """The operator's clone: a cloud of our own (the chart's clone adds templates to its cloud instead).

    Agents reach the controller through the operator's services, by short names in the same namespace.
    """
    return map_strings({"jenkins": {"clouds": [{"kubernetes": {
        "name": CLOUD_NAME,
        "jenkinsUrl": f"http://jenkins-operator-http-{name}:8080",
        "jenkinsTunnel": f"jenkins-operator-slave-{name}:50000",
        "templates": [pod_template(a) for a in spec.agents],
    }}]}}, jcasc_string)


def controller_resources(spec: DeploySpec) -> dict:
    quantity = {"cpu": _cpu(spec.controller.cpu), "memory": _gi(spec.controller.memory_gb)}
    return {"requests": dict(quantity), "limits": dict(quantity)}


def helm_values(spec: DeploySpec, jobs_yaml: str, ingress_host: str = "") -> dict:
    values = {
        "controller": {
            "image": {"repository": CONTROLLER_IMAGE[0], "tag": CONTROLLER_IMAGE[1]},
            "numExecutors": 0,  # every cell runs on an agent pod
            "resources": controller_resources(spec),
            "javaOpts": spec.controller.java_opts,
            "installPlugins": [str(p) for p in spec.plugins],
            "installLatestPlugins": False,  # dependencies at their minimum versions: reproducible
            # the chart renders configScripts and podTemplates with `tpl`: `{{` in them would be Go template code
            "JCasC": {"defaultConfig": True, "configScripts": {"pipelinegen-jobs": helm_template_text(jobs_yaml)}},
            "podLabels": {f"{LABEL_PREFIX}/clone": "true"},
        },
        "agent": {
            "enabled": True,
            "disableDefaultAgent": True,
            "podTemplates": {a.name: helm_template_text(_dump(map_strings([pod_template(a)], jcasc_string)))
                             for a in spec.agents},
        },
        "persistence": {"enabled": True, "size": f"{CONTROLLER_STORAGE_GB}Gi"},
    }
    if ingress_host:
        # HOST[:PORT]: the Ingress rule takes the host name; Jenkins' own URL keeps the port
        # (e.g. a kind cluster whose ingress is mapped to localhost:8080).
        values["controller"]["ingress"] = {"enabled": True, "hostName": ingress_host.split(":", 1)[0]}
        values["controller"]["jenkinsUrl"] = f"http://{ingress_host}/"
    return values


def jenkins_cr(spec: DeploySpec, name: str, configmap: str) -> dict:
    return {
        "apiVersion": "jenkins.io/v1alpha2",
        "kind": "Jenkins",
        "metadata": {"name": name, "labels": {f"{LABEL_PREFIX}/clone": "true"}},
        "spec": {
            "jenkinsAPISettings": {"authorizationStrategy": "createUser"},
            "master": {
                "disableCSRFProtection": False,
                "containers": [{
                    "name": "jenkins-master",
                    "image": ":".join(CONTROLLER_IMAGE),
                    "imagePullPolicy": "IfNotPresent",
                    "resources": controller_resources(spec),
                    "env": [{"name": "JAVA_OPTS", "value": spec.controller.java_opts}],
                }],
                "plugins": [{"name": p.name, "version": p.version} for p in spec.plugins],
            },
            "configurationAsCode": {"configurations": [{"name": configmap}], "secret": {"name": ""}},
        },
    }


def configmap(name: str, files: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {f"{LABEL_PREFIX}/clone": "true"}}, "data": files}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (embedded YAML, Job DSL scripts) as `|` blocks so the files stay readable."""


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def _dump(data) -> str:
    return yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, width=120)


def render_clone_spec(spec: DeploySpec, *, repository: str = "", branches: tuple[str, ...] | None = None,
                      name: str = "pipelinegen", ingress_host: str = "") -> dict[str, str]:
    """Every file of generated/clone/ (relative path -> text) for *spec*.

    *repository*/*branches* override the canonical ones (a fork's clone); a clone's jobs never poll nor
    publish (only `pipelinegen jobs` renders the canonical controller's polling jobs). *ingress_host*
    exposes the chart's controller through an Ingress instead of `kubectl port-forward`.
    """
    repository = repository or spec.canonical_repository
    branches = branches or spec.branches
    jobs_yaml = _dump(jcasc_jobs(spec, repository, branches, name))
    agents_yaml = _dump(jcasc_agents(spec, name))
    cm_name = f"{name}-jcasc"
    return {
        "plugins.txt": "".join(f"{p}\n" for p in spec.plugins),
        "jcasc/jobs.yaml": jobs_yaml,
        "jcasc/agents.yaml": agents_yaml,
        "helm/values.yaml": _dump(helm_values(spec, jobs_yaml, ingress_host)),
        "operator/jenkins.yaml": _dump(jenkins_cr(spec, name, cm_name)),
        "operator/jcasc-configmap.yaml": _dump(configmap(cm_name, {"jobs.yaml": jobs_yaml, "agents.yaml": agents_yaml})),
    }


def render_clone(pipeline: Pipeline) -> dict[str, str]:
    """generated/clone/ for the canonical repository and branches of *pipeline* (called by `compile`)."""
    return render_clone_spec(spec_from_pipeline(pipeline))
