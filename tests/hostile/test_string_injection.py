"""Every string field of the schema (found by walking it: a new field is attacked automatically) gets every
hostile string. Compile must either refuse with exit-2 findings naming pipeline.yaml:LINE, or produce files in
which the value is only data: every Groovy file (Jenkinsfile, the Job DSL scripts in generated/clone) parses with
Groovy 2.4 and holds no call of the injected `pwned_*()` marker; JCasC strings hold no unescaped `${`; Helm
`tpl` values no template action; plan.json is JSON; jenkins-job-builder renders the jobs as intended."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from pipelinegen.deploy.jobs import render_jobs
from pipelinegen.deploy.spec import spec_from_pipeline
from tests.hostile.attack import (
    assert_located,
    compile_in_memory,
    groovy_marker_scan,
    hostile_strings,
    write_project,
)
from tests.hostile.schema_fields import full_document, set_field, string_fields

pytestmark = pytest.mark.slow

UNESCAPED_JCASC = re.compile(r"(?<!\^)\$\{")
HELM_LITERAL = '{{"{{"}}'


def _strings(data: object) -> list[str]:
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in _strings(value)]
    if isinstance(data, list):
        return [s for item in data for s in _strings(item)]
    return []


def _jcasc_resolved(text: str) -> str:
    return text.replace("^${", "${")  # what JCasC hands on after resolving (the escape is all there is)


def _helm_rendered(text: str) -> str:
    rest = text.replace(HELM_LITERAL, "\x00")
    assert "{{" not in rest, "a Go template action is left in a tpl'd Helm value"
    return rest.replace("\x00", "{{")


def _check_clone(files: dict[str, bytes], out: Path, label: str) -> list[Path]:
    """Checks the clone files; returns the Job DSL scripts written out for the Groovy scan."""
    scripts: list[Path] = []
    jcasc_docs = []
    for name, content in files.items():
        if name.startswith("clone/") and name.endswith(".yaml"):
            document = yaml.safe_load(content.decode("utf-8"))
            if name == "clone/helm/values.yaml":
                jcasc_texts = [_helm_rendered(t) for t in document["controller"]["JCasC"]["configScripts"].values()]
                jcasc_texts += [_helm_rendered(t) for t in document["agent"]["podTemplates"].values()]
                jcasc_docs += [yaml.safe_load(t) for t in jcasc_texts]
            elif name == "clone/operator/jcasc-configmap.yaml":
                jcasc_docs += [yaml.safe_load(t) for t in document["data"].values()]
            elif name.startswith("clone/jcasc/"):
                jcasc_docs.append(document)
    for document in jcasc_docs:
        for text in _strings(document):
            assert not UNESCAPED_JCASC.search(text), f"{label}: JCasC would resolve ${{...}} in {text[:200]!r}"
        for job in (document or {}).get("jobs", []) if isinstance(document, dict) else []:
            path = out / f"jobdsl-{len(scripts)}.groovy"
            path.write_text(_jcasc_resolved(job["script"]), encoding="utf-8")
            scripts.append(path)
    return scripts


def test_every_string_field_refuses_or_carries_hostile_strings_as_data(tmp_path: Path):
    base = full_document()
    groovy_files: dict[Path, str] = {}
    refused = accepted = 0
    for number, field in enumerate(string_fields()):
        for attack, value in hostile_strings(f"f{number}").items():
            label = f"{field.name} <- {attack}"
            project = write_project(tmp_path / f"p{number}-{attack}", set_field(base, field.path, value))
            compiled = compile_in_memory(project)
            if compiled.error is not None:
                assert_located(compiled.error)
                refused += 1
                continue
            accepted += 1
            files = compiled.files
            json.loads(files["library/resources/pipelinegen/plan.json"])
            assert files["Jenkinsfile"].isascii(), label
            jenkinsfile = project / "Jenkinsfile.groovy"
            jenkinsfile.write_bytes(files["Jenkinsfile"])
            groovy_files[jenkinsfile] = label
            for script in _check_clone(files, project, label):
                groovy_files[script] = label
            spec = spec_from_pipeline(compiled.pipeline)
            assert render_jobs(spec), label  # raises when JJB's XML differs from what the job must say
    verdicts = groovy_marker_scan(sorted(groovy_files))
    bad = {groovy_files[path]: verdict for path, verdict in verdicts.items() if verdict != "OK"}
    assert not bad, bad
    # both outcomes happen: the suite really reaches the renderers, and really meets refusals
    assert refused and accepted, (refused, accepted)


def test_the_marker_scan_sees_injected_calls(tmp_path: Path):
    """The Groovy check used above can fail: a marker in code is reported, the same text in a string is not."""
    code, data = tmp_path / "code.groovy", tmp_path / "data.groovy"
    code.write_text("// x\\u000a pwned_x()\n", encoding="utf-8")
    data.write_text("def s = 'pwned_x()'\n", encoding="utf-8")
    verdicts = groovy_marker_scan([code, data])
    assert verdicts[code].startswith("CALL") and verdicts[data] == "OK"


TEMPLATE_FIELDS = [("steps", "[]", "command"), ("resources", "[]", "label"), ("steps", "[]", "image"),
                   ("steps", "[]", "results", "[]"), ("steps", "[]", "archive", "[]")]


@pytest.mark.parametrize("placeholder", ["{jdk:>900000000}", "{jdk!r}", "{jdk.__class__.__mro__}", "{jdk[0]}", "{0}",
                                         "{}", "{jdk", "jdk}"])
@pytest.mark.parametrize("path", TEMPLATE_FIELDS, ids=lambda p: ".".join(p))
def test_template_placeholders_are_plain_names(path, placeholder, tmp_path: Path):
    """str.format templates: a format spec would build gigabyte strings, attribute access would read Python
    internals; only a plain {name} of a known placeholder is accepted."""
    value = f"x-{placeholder}-y" if path[-1] != "label" else f"x-{{arch}}-{placeholder}"
    compiled = compile_in_memory(write_project(tmp_path / "p", set_field(full_document(), path, value)))
    assert compiled.error is not None, f"{'.'.join(path)} = {value!r} accepted"
    assert_located(compiled.error)
