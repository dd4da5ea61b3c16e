"""Offline checks of a rendered clone: built-in kinds with kubernetes-validate --strict, the Jenkins
custom resource against the operator CRD (unknown fields rejected), and every JCasC file parsed."""

from __future__ import annotations

import functools
import json

import kubernetes_validate
import yaml

from pipelinegen.deploy.crd import validate_custom_resource

K8S_VERSION = "1.30"  # the oldest Kubernetes the clone supports
JCASC_ROOTS = {"jenkins", "jobs", "security", "unclassified", "tool", "credentials", "appearance"}


@functools.lru_cache(maxsize=256)
def _builtin_problem(resource_json: str) -> str:
    """'' or the first problem; cached because the same pod template appears in several files."""
    resource = json.loads(resource_json)
    try:
        kubernetes_validate.validate(resource, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(p) for p in err.path) or "<root>"
        return f"{resource.get('kind')} {path}: {err.message}"
    return ""


def check_builtin(resource: dict, where: str) -> list[str]:
    problem = _builtin_problem(json.dumps(resource, sort_keys=True))
    return [f"{where}: {problem}"] if problem else []


def check_jcasc(text: str, where: str) -> list[str]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        return [f"{where}: JCasC is not YAML: {err}"]
    if not isinstance(data, dict):
        return [f"{where}: JCasC must be a mapping"]
    problems = [f"{where}: unknown JCasC root {key!r}" for key in data if key not in JCASC_ROOTS]
    for index, job in enumerate(data.get("jobs", [])):
        if not (isinstance(job, dict) and str(job.get("script", "")).strip()):
            problems.append(f"{where}: jobs[{index}] has no Job DSL script")
    for cloud in data.get("jenkins", {}).get("clouds", []):
        for template in cloud.get("kubernetes", {}).get("templates", []):
            problems += check_pod_template(template, f"{where}: template {template.get('name')}")
    return problems


def check_pod_template(template: dict, where: str) -> list[str]:
    if not template.get("label"):
        return [f"{where}: no label"]
    return check_builtin(yaml.safe_load(template.get("yaml", "")) or {}, where)


def validate_clone(files: dict[str, str], crd: dict | None) -> list[str]:
    """Every problem of the rendered clone ([] = valid). Without a CRD the custom resource is not checked."""
    problems: list[str] = []
    for path in ("jcasc/jobs.yaml", "jcasc/agents.yaml"):
        problems += check_jcasc(files[path], path)
    values = yaml.safe_load(files["helm/values.yaml"])
    for key, text in values["controller"]["JCasC"]["configScripts"].items():
        problems += check_jcasc(text, f"helm/values.yaml configScripts.{key}")
    for key, text in values["agent"]["podTemplates"].items():
        for template in yaml.safe_load(text):
            problems += check_pod_template(template, f"helm/values.yaml agent.podTemplates.{key}")
    cm = yaml.safe_load(files["operator/jcasc-configmap.yaml"])
    problems += check_builtin(cm, "operator/jcasc-configmap.yaml")
    for key, text in cm.get("data", {}).items():
        problems += check_jcasc(text, f"operator/jcasc-configmap.yaml data.{key}")
    if crd is not None:
        cr = yaml.safe_load(files["operator/jenkins.yaml"])
        problems += [f"operator/jenkins.yaml: {p}" for p in validate_custom_resource(cr, crd)]
    return problems
