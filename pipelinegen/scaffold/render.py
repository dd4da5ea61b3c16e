"""What init found -> the text of a starting pipeline.yaml: plain data dumped by PyYAML (every found string is
quoted by its emitter, never pasted into YAML), sections introduced by fixed comments."""

from __future__ import annotations

import re

import yaml

from pipelinegen import __version__
from pipelinegen.scaffold.detect import Found, StepFound, conventions

DEFAULT_TIMEOUT_MINUTES = 60
# Strings YAML 1.2 (the loader's schema) would read as a number, bool or null if written plain; PyYAML's
# emitter quotes by YAML 1.1 rules, which miss some of these (0o17, 1e3).
_NOT_PLAIN_IN_YAML12 = re.compile(
    r"^([-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?"
    r"|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)|null|Null|NULL|~|true|True|TRUE|false|False|FALSE)$"
)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = '"' if _NOT_PLAIN_IN_YAML12.match(value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _scalar_or_scalars(value: object) -> bool:
    return isinstance(value, str | int | float | bool) or isinstance(value, list) and all(map(_scalar_or_scalars, value))


def _represent_list(dumper: yaml.SafeDumper, value: list) -> yaml.SequenceNode:
    """[a, b] on one line when every item is a scalar (quoted ones too)."""
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=all(map(_scalar_or_scalars, value)))


class _Block(dict):
    """A mapping always written one key per line (a top-level section)."""


def _represent_dict(dumper: yaml.SafeDumper, value: dict) -> yaml.MappingNode:
    """{name: x, kind: y} on one line when every value is a scalar or a list of scalars and it is short."""
    flow = all(map(_scalar_or_scalars, value.values())) and len(repr(value)) <= 100 and not isinstance(value, _Block)
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=flow)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(_Block, _represent_dict)


def _dump(section: dict) -> str:
    return yaml.dump(_Block(section), Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=False)


def _test_command(found: Found) -> str:
    commands = [s.command for s in found.steps if s.kind == "test" and not s.python_dtest]
    return max(set(commands), key=commands.count) if commands else ""


def _step(step: StepFound, found: Found, default_command: str, has_jar: bool, conv: dict) -> dict:
    data: dict = {"name": step.name, "kind": step.kind}
    command = step.command
    if step.python_dtest and found.dtest_repository:
        command = conv["python_dtest_command_prefix"] + command
    if step.kind != "test" or command != default_command:
        data["command"] = command
    if step.splits > 1:
        data["splits"] = step.splits
    default_resource = "small" if step.kind == "build" else "medium"
    if step.resource and step.resource != default_resource:
        data["resource"] = step.resource
    if step.timeout_minutes and step.timeout_minutes != DEFAULT_TIMEOUT_MINUTES:
        data["timeout_minutes"] = step.timeout_minutes
    if step.build_once:
        data["build_once"] = True
    if step.always:
        data["always"] = True
    if step.stash:
        data["stash"] = step.stash
    if step.kind == "build" and has_jar and not step.build_once:
        data["needs"] = ["jar"]
    if step.python and found.pythons:
        data["axes"] = ["arch", "jdk", "python"]
    if step.python_dtest and found.dtest_repository:
        data["checkouts"] = ["dtest"]
    return data


def pipeline_document(found: Found) -> list[tuple[str, dict]]:
    """(comment, section) pairs, in file order; each section is a one-key mapping of pipeline.yaml."""
    conv = conventions()
    has_jar = any(s.name == "jar" and s.build_once for s in found.steps)
    head: dict = {"version": 1, "pipelinegen_version": f"=={__version__}", "project": found.project}
    if found.repository:
        head["canonical_repository"] = found.repository
    if found.branch:
        head["branches"] = [found.branch]
    jdk: dict = {"name": "jdk"}
    if found.jdk_from_build_xml:
        jdk["values_from"] = {"file": "build.xml", "supported": "java.supported", "default": "java.default"}
    jdk.update({"values": found.jdks, "default": found.jdk_default, "parameter": "jdk", "cell_name": "jdk{value}"})
    axes = [
        {"name": "arch", "values": ["amd64", "arm64"], "default": "amd64", "parameter": "architecture",
         "parameter_default": "amd64", "hide_in_name": ["amd64"]},
        jdk,
    ]
    if found.pythons:
        axes.append({"name": "python", "values": found.pythons, "default": found.python_default, "cell_name": "python{value}"})
    resource_classes = [
        {"name": r["name"], "label": f"{found.project}-{{arch}}-{r['name']}", "cpu": r["cpu"], "memory_gb": r["memory_gb"]}
        for r in conv["resources"]
    ]
    default_command = _test_command(found)
    test_defaults: dict = {"resource": "medium", "timeout_minutes": DEFAULT_TIMEOUT_MINUTES, "attempts": 2,
                           "axes": ["arch", "jdk"], "only": {"arch": ["amd64"]}}
    if has_jar:
        test_defaults["needs"] = ["jar"]
    if default_command:
        test_defaults["command"] = default_command
    test_defaults.update({"results": list(conv["results"]), "archive": list(conv["archive"])})
    defaults = {
        "build": {"resource": "small", "timeout_minutes": DEFAULT_TIMEOUT_MINUTES, "attempts": 2, "axes": ["arch", "jdk"]},
        "test": test_defaults,
    }
    steps = [_step(s, found, default_command, has_jar, conv) for s in found.steps]
    profiles = [{"name": name, "steps": steps} for name, steps in found.profiles.items() if steps]
    if not profiles:
        everything = [s.name for s in found.steps if not (s.build_once and s.always)]
        profiles = [{"name": "pre-commit", "steps": everything or [found.steps[0].name]}] if found.steps else []
    if not any(p.get("custom") for p in profiles):
        profiles.append({"name": "custom", "description": "steps whose name matches the profile_custom_regexp parameter",
                         "custom": True})
    sections: list[tuple[str, dict]] = [("", head), ("matrix axes: arch (arm64 off unless asked for), the JDKs of build.xml", {"axes": axes})]
    sections.append(("agent classes: label PROJECT-ARCH-SIZE; set cpu/memory to what your agents have", {"resources": resource_classes}))
    if any(s.python_dtest for s in found.steps) and found.dtest_repository:
        sections.append(("the second checkout python dtests run from", {"repositories": [{
            "name": "dtest", "url": found.dtest_repository, "branch": found.dtest_branch or "trunk",
            "directory": "dtest", "repository_parameter": "dtest_repository", "branch_parameter": "dtest_branch"}]}))
    sections.append(("what every build / test step gets unless it says otherwise", {"defaults": defaults}))
    sections.append(("the steps found; splits: 1 unless the Jenkinsfile said (`pipelinegen splits` balances them by duration)",
                     {"steps": steps}))
    sections.append(("profiles: the first is the default of the `profile` job parameter", {"profiles": profiles}))
    return sections


def render_pipeline_yaml(found: Found) -> str:
    lines = [
        "# What CI tests in this checkout: the one source of truth for generated/ (`pipelinegen compile`).",
        f"# Started by `pipelinegen init` (pipelinegen {__version__}) from: {', '.join(found.sources) or 'nothing found'}.",
        "# Review every section, then `pipelinegen compile` and commit this file with generated/.",
        "# Format: `pipelinegen schema` (JSON Schema for editors) and pipelinegen's docs/pipeline-yaml.md.",
    ]
    text = "\n".join(lines) + "\n"
    for comment, section in pipeline_document(found):
        text += f"\n# {comment}\n" if comment else ""
        text += _dump(section)
    return text
