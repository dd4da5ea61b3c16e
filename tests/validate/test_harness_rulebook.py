"""One Jenkins rulebook: the harness checks parameter, option and step arguments by lint's catalogue of the
pinned plugins (validate.execution.harness_rulebook), so `lint` and `validate` accept and refuse the same
Jenkinsfiles. Each parameter type with every argument Jenkins knows, and a misspelt one, through both."""

from __future__ import annotations

import re

import pytest

from pipelinegen.lint.catalogue_file import PINNED, load_catalogue
from pipelinegen.lint.engine import lint_files
from pipelinegen.validate.execution import HARNESS_SCRIPT, HarnessRun, harness_rulebook, run_harness

pytestmark = pytest.mark.slow

VALUES = {"str": "'v'", "bool": "true", "int": "1", "any": "'v'"}
HARNESS_PARAMETER_TYPES = ("string", "text", "password", "booleanParam", "choice")  # what the harness simulates


def _parameter(kind: str, misspelt: bool = False) -> str:
    described = load_catalogue(PINNED).controller.parameters[kind].params
    args = [f"name: 'P_{kind}'"]
    for name, type_ in described.items():
        if name == "name":
            continue
        args.append(f"{name}: " + ("['a', 'b']" if name == "choices" else VALUES.get(type_, "'v'")))
    if misspelt:
        args.append("descriptoin: 'typo'")
    return f"{kind}({', '.join(args)})"


def _jenkinsfile(parameters: list[str]) -> str:
    return ("pipeline {\n    agent none\n    options { timestamps() }\n    parameters {\n"
            + "".join(f"        {p}\n" for p in parameters)
            + "    }\n    stages { stage('s') { steps { echo('ok') } } }\n}\n")


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory):
    """file name -> (lint errors, harness error) for every parameter type, with and without a misspelling."""
    root = tmp_path_factory.mktemp("rulebook")
    files = {}
    for kind in HARNESS_PARAMETER_TYPES:
        for misspelt in (False, True):
            path = root / f"{kind}{'-typo' if misspelt else ''}.Jenkinsfile"
            path.write_text(_jenkinsfile([_parameter(kind, misspelt)]))
            files[path.name] = path
    lint = {name: [] for name in files}
    for finding in lint_files(list(files.values()), catalogue=load_catalogue(PINNED)):  # `lint --catalogue pinned`
        if finding.severity == "error":
            lint[finding.file.rsplit("/", 1)[-1]].append(finding.message)
    runs = [HarnessRun(name, {}, jenkinsfile=path) for name, path in files.items()]
    harness = {r.name: " ".join([*(b["message"] for b in r.bugs), r.error or ""]).strip() or None
               for r in run_harness(runs, next(iter(files.values())), root)}
    return {name: (lint[name], harness[name]) for name in files}


@pytest.mark.parametrize("kind", HARNESS_PARAMETER_TYPES)
def test_every_argument_jenkins_knows_passes_both(kind, verdicts):
    lint_errors, harness_error = verdicts[f"{kind}.Jenkinsfile"]
    assert lint_errors == [] and harness_error is None, (lint_errors, harness_error)


@pytest.mark.parametrize("kind", HARNESS_PARAMETER_TYPES)
def test_a_misspelt_argument_fails_both(kind, verdicts):
    lint_errors, harness_error = verdicts[f"{kind}-typo.Jenkinsfile"]
    assert lint_errors and harness_error and "descriptoin" in harness_error, (lint_errors, harness_error)


def test_text_trim_the_known_disagreement_is_gone(verdicts):
    assert "trim: true" in _parameter("text")
    assert verdicts["text.Jenkinsfile"] == ([], None)


def test_the_harness_builtin_tables_match_the_catalogue_where_both_list_a_name():
    """The harness's own lists only stand in when it runs without a rulebook: they must not say otherwise."""
    source = HARNESS_SCRIPT.read_text(encoding="utf-8")
    rulebook = harness_rulebook()
    builtin = {k: {a.strip().strip("'") for a in v.split(",")}
               for k, v in re.findall(r"add\('(\w+)', args, \[([^\]]*)\] as Set\)", source)}
    for kind, args in builtin.items():
        assert args == set(rulebook["parameters"][kind]), kind
    steps = source[source.index("static final Map STEPS = ["):source.index("static final List<String> RESULTS")]
    for name, args in re.findall(r"(\w+): \[\[([^\]]*)\]", steps):
        if name in rulebook["steps"]:
            assert {a.strip().strip("'") for a in args.split(",") if a.strip()} == set(rulebook["steps"][name]), name
