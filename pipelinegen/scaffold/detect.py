"""What `pipelinegen init` can learn from an existing checkout, read-only: the JDKs of build.xml, the build and
test steps of its CI-agnostic scripts (or ant targets), the step table and profiles of a Cassandra-style
.jenkins/Jenkinsfile, the git remote. Every string found is checked against the pattern pipeline.yaml allows
for it; what does not fit is left out and said in a note, never passed on.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import yaml
from lxml import etree

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")  # pipeline.yaml's pattern for project, step, axis names
JDK = re.compile(r"^[0-9]{1,3}$")
PROFILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ./_+-]{0,99}$")
URL = re.compile(r"^(https?://|git@|ssh://)[A-Za-z0-9._~:/@+%-]{1,300}$")
BRANCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
MAX_SCRIPT_BYTES = 1 << 20  # a larger "script" is not one we read


def conventions() -> dict:
    """pipelinegen/scaffold/conventions.yaml: where init looks and what it makes of what it finds."""
    text = resources.files("pipelinegen.scaffold").joinpath("conventions.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


@dataclass
class StepFound:
    name: str
    kind: str  # build | test
    command: str
    splits: int = 1
    resource: str = ""
    timeout_minutes: int = 0
    build_once: bool = False
    always: bool = False
    stash: str = ""
    python_dtest: bool = False
    python: bool = False


@dataclass
class Found:
    """Everything init found; *sources* and *notes* are told to the user."""

    project: str
    jdks: list[str] = field(default_factory=list)
    jdk_default: str = ""
    jdk_from_build_xml: bool = False
    pythons: list[str] = field(default_factory=list)
    python_default: str = ""
    steps: list[StepFound] = field(default_factory=list)
    profiles: dict[str, list[str]] = field(default_factory=dict)
    repository: str = ""
    branch: str = ""
    dtest_repository: str = ""
    dtest_branch: str = ""
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def step(self, name: str) -> StepFound | None:
        return next((s for s in self.steps if s.name == name), None)


def _read(path: Path) -> str:
    if not path.is_file() or path.stat().st_size > MAX_SCRIPT_BYTES:
        return ""
    return path.read_text(encoding="utf-8", errors="replace")


def _build_xml(root: Path, found: Found) -> etree._Element | None:
    path = root / "build.xml"
    if not path.is_file():
        found.notes.append("no build.xml: the jdk axis lists 17 only; edit it")
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        tree = etree.parse(str(path), parser)
    except etree.XMLSyntaxError as err:
        found.notes.append(f"build.xml is not well-formed XML ({err.msg}): it was not read")
        return None
    found.sources.append("build.xml")
    return tree.getroot()


def _jdks(build: etree._Element | None, found: Found) -> None:
    properties = {}
    if build is not None:
        properties = {p.get("name"): p.get("value", "") for p in build.iter("property") if p.get("name")}
    supported = [v.strip() for v in properties.get("java.supported", "").split(",") if v.strip()]
    valid = [v for v in supported if JDK.match(v)]
    if supported and len(valid) == len(supported):
        found.jdks = valid
        found.jdk_from_build_xml = True
        default = properties.get("java.default", "").strip()
        found.jdk_default = default if default in valid else valid[0]
        return
    if supported:
        found.notes.append("build.xml's java.supported is not a list of JDK versions (e.g. 11,17): ignored")
    found.jdks, found.jdk_default = ["17"], "17"


def _runner_flags(text: str) -> bool:
    """Does the runner take `-a STEP -c K/N -j JDK` (getopts letters, or hand-parsed `-a|--target)`)?"""
    letters = "".join(re.findall(r"getopts\s+[\"']?([A-Za-z:]+)", text))
    def has(flag: str) -> bool:
        return f"{flag}:" in letters or re.search(rf"^\s*-{flag}\s*[|)]", text, re.MULTILINE) is not None
    return all(has(f) for f in "acj")


def _test_types(text: str) -> list[str]:
    """A runner's test types: its TARGET_TYPES="a b c" list, else the labels of `case $STEP in` (STEP set by -a)."""
    listed = re.search(r"^\s*TARGET_TYPES=[\"']([^\"'$`]*)[\"']", text, re.MULTILINE)
    if listed:
        return listed.group(1).split()
    variable = re.search(r"^\s*a\s*\)\s*([A-Za-z_][A-Za-z0-9_]*)=\"?\$\{?OPTARG", text, re.MULTILINE)
    if not variable:
        return []
    names: list[str] = []
    case = re.compile(rf"^\s*case\s+\"?\$\{{?{variable.group(1)}\}}?\"?\s+in\s*$", re.MULTILINE)
    for start in case.finditer(text):
        body = text[start.end():]
        body = body[: body.find("esac")] if "esac" in body else ""
        for label in re.findall(r"^\s*([^\s()#][^()#\n]*?)\s*\)", body, re.MULTILINE):
            for option in label.split("|"):
                option = option.strip().strip("\"'")
                if option and option != "*" and option not in names:
                    names.append(option)
    return names


def _script_steps(root: Path, conv: dict, found: Found) -> None:
    for rule in conv["build_scripts"]:
        script = next((s for s in rule["scripts"] if (root / s).is_file()), None)
        if script is None:
            continue
        found.sources.append(script)
        found.steps.append(StepFound(
            name=rule["step"], kind="build", command=f"{script} {rule['args']}".strip(),
            resource=rule.get("resource", ""), build_once=rule.get("build_once", False),
            always=rule.get("always", False), stash=rule.get("stash", ""),
        ))
    runner = next((r for r in conv["test_runners"] if (root / r).is_file()), None)
    if runner is None:
        return
    types: list[str] = []
    for source in conv["test_type_sources"]:
        types = _test_types(_read(root / source))
        if types:
            found.sources.append(f"{source} (test types)")
            break
    if not any(s.startswith(runner) for s in found.sources):
        found.sources.append(runner)
    if _runner_flags(_read(root / runner)):
        command = f"{runner} -a {{step}} -c {{split}}/{{splits}} -j {{jdk}}"
    else:
        command = f"{runner} {{step}} {{split}}/{{splits}} {{jdk}}"
        found.notes.append(f"{runner} takes no -a/-c/-j options: its test steps call it as `{command}`; check that")
    for name in types:
        if name in conv["not_test_types"] or found.step(name):
            continue
        if not NAME.match(name):
            found.notes.append(f"{runner}: test type {name[:40]!r} is not a valid step name: left out")
            continue
        found.steps.append(StepFound(name=name, kind="test", command=command))
    if not types:
        found.notes.append(f"{runner}: no test types found (no TARGET_TYPES list, no `case` over the -a value)")


def _ant_steps(build: etree._Element | None, conv: dict, found: Found) -> None:
    if build is None:
        return
    test_target = re.compile(conv["ant_test_target"])
    before = len(found.steps)
    for target in build.iter("target"):
        name = target.get("name", "")
        if not NAME.match(name) or found.step(name):
            continue
        if name in conv["ant_build_targets"]:
            found.steps.append(StepFound(name=name, kind="build", command=f"ant {name}", build_once=name == "jar",
                                         always=name == "jar", stash="build/**" if name == "jar" else ""))
        elif test_target.match(name):
            found.steps.append(StepFound(name=name, kind="test", command=f"ant {name}"))
    if len(found.steps) > before:
        found.sources.append("build.xml (ant targets)")


def _groovy_block(text: str, opening: str) -> str:
    """The text of the bracketed literal that starts at *opening* (a regexp ending in '['), or ''."""
    start = re.search(opening, text)
    if not start:
        return ""
    depth, index = 0, start.end() - 1
    for position in range(index, min(len(text), index + 200_000)):
        depth += {"[": 1, "]": -1}.get(text[position], 0)
        if depth == 0:
            return text[index + 1 : position]
    return ""


def _groovy_entries(block: str) -> dict[str, str]:
    """'name': [ ... ] entries of a Groovy map literal (one level deep) -> the text inside the brackets."""
    return {m.group(1): m.group(2) for m in re.finditer(r"'([^'\n]{1,100})'\s*:\s*\[([^\[\]]*)\]", block)}


def _jenkinsfile(root: Path, conv: dict, found: Found) -> None:
    """A Cassandra-style Jenkinsfile: `buildSteps`/`testSteps` tables, `pipelineProfiles()`, python, dtest repo."""
    text = _read(root / conv["jenkinsfile"])
    profiles = _groovy_entries(_groovy_block(text, r"def\s+pipelineProfiles\s*\(\s*\)\s*\{\s*return\s*\["))
    tests = _groovy_entries(_groovy_block(text, r"def\s+testSteps\s*=\s*\["))
    builds = _groovy_entries(_groovy_block(text, r"def\s+buildSteps\s*=\s*\["))
    if not (profiles or tests or builds):
        return
    found.sources.append(f"{conv['jenkinsfile']} (steps, splits, sizes, profiles)")
    runner = next((s.command for s in found.steps if s.kind == "test"), "")
    for name, body in {**builds, **tests}.items():
        if not NAME.match(name):
            found.notes.append(f"{conv['jenkinsfile']}: step {name[:40]!r} is not a valid step name: left out")
            continue
        fields = dict(re.findall(r"(\w+)\s*:\s*'?([^',\]]*)'?", body))
        step = found.step(name)
        if step is None:
            if name in builds:
                script = fields.get("script", "").strip()
                if not re.fullmatch(r"[A-Za-z0-9._-]+\.sh( [A-Za-z0-9._-]+)?", script):
                    continue
                step = StepFound(name=name, kind="build", command=f"{conv['jenkinsfile_build_script_dir']}{script} {{jdk}}")
            elif runner:
                step = StepFound(name=name, kind="test", command=runner)
            else:
                continue
            found.steps.append(step)
        if fields.get("splits", "").isdigit():
            step.splits = max(1, min(int(fields["splits"]), 1000))
        if fields.get("size") in {r["name"] for r in conv["resources"]}:
            step.resource = fields["size"]
        if fields.get("timeout_hours", "").isdigit():
            step.timeout_minutes = max(1, min(int(fields["timeout_hours"]), 48)) * 60
        step.python_dtest = name.startswith(conv["python_dtest_prefix"]) and name in tests
        step.python = name in conv["python_steps"]
    for name, body in profiles.items():
        steps = re.findall(r"'([^'\n]{1,100})'", body)
        if not PROFILE.match(name):
            found.notes.append(f"{conv['jenkinsfile']}: profile {name[:40]!r} is not a valid profile name: left out")
            continue
        found.profiles[name] = [s for s in steps if found.step(s)]
    pythons = re.search(r"pythonsSupported\s*=\s*\[([^\]]*)\]", text)
    if pythons:
        found.pythons = [v for v in re.findall(r"[\"']([0-9.]{1,10})[\"']", pythons.group(1))]
        default = re.search(r"pythonDefault\s*=\s*[\"']([0-9.]{1,10})[\"']", text)
        found.python_default = default.group(1) if default and default.group(1) in found.pythons else found.pythons[0]
    for parameter, attribute, pattern in (("dtest_repository", "dtest_repository", URL), ("dtest_branch", "dtest_branch", BRANCH)):
        value = re.search(rf"name:\s*'{parameter}',\s*defaultValue:[^'\n]*'([^'\n]*)'", text)
        if value and pattern.match(value.group(1)):
            setattr(found, attribute, value.group(1))


def _git(root: Path, found: Found) -> None:
    def ask(*args: str) -> str:
        try:
            done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return done.stdout.strip() if done.returncode == 0 else ""

    url = ask("remote", "get-url", "origin")
    if url and URL.match(url):
        found.repository = url
        found.sources.append("git remote origin")
    elif url:
        found.notes.append("the git remote origin URL has characters pipelinegen does not accept: canonical_repository left out")
    branch = ask("symbolic-ref", "--short", "HEAD")
    if branch and BRANCH.match(branch):
        found.branch = branch


def detect(root: Path, project: str | None = None) -> Found:
    """Read the checkout at *root*; never writes."""
    conv = conventions()
    found = Found(project="")
    build = _build_xml(root, found)
    name = project or (build.get("name", "") if build is not None else "") or root.resolve().name
    if not NAME.match(name):
        cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")[:100] or "project"
        found.notes.append(f"project name {name[:40]!r} is not letters, digits, '.', '_', '-': using {cleaned!r}")
        name = cleaned
    found.project = name
    _jdks(build, found)
    _script_steps(root, conv, found)
    if not any(s.kind == "test" for s in found.steps):
        _ant_steps(build, conv, found)
    _jenkinsfile(root, conv, found)
    _git(root, found)
    if not any(s.kind == "test" for s in found.steps):
        found.notes.append("no test step found: add one under steps: (docs/pipeline-yaml.md)")
    return found
