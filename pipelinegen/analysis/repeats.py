"""The multiplexer: repeat new and changed tests many times to catch flakies before they land.

    changed_files(base)                -> files from `git diff --diff-filter=AMR BASE...HEAD`
    repeat_requests(files, pipeline, ...) -> one RepeatRequest per (step, test), split over the step's machines

Which step runs which file comes from rules (`repeat_rules.yaml`, replaceable with `--rules`); how often
comes from the step class, defaults as Cassandra's CircleCI used: 500 for unit, jvm-dtest and python dtest,
100 for long and large tests, 25 for upgrade tests (a step's `repeat_count` or *counts* override them).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import jsonschema
import yaml

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.plan.repeat import spread
from pipelinegen.yamlsource import load_located_text, read_yaml_text

DEFAULT_RULES = "repeat_rules.yaml"
DEFAULT_COUNTS: dict[str, int] = {"default": 500, "long": 100, "upgrade": 25}

RULES_SCHEMA = {
    "type": "object",
    "required": ["rules"],
    "additionalProperties": False,
    "properties": {
        "version": {"const": 1},
        "rules": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "files", "steps", "naming"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "files": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                    "exclude": {"type": "array", "items": {"type": "string"}},
                    "steps": {"type": "string"},
                    "naming": {"enum": ["java", "python"]},
                    "root": {"type": "string"},
                    "tests": {"type": "string"},
                },
            },
        },
    },
}


@dataclass(frozen=True)
class RepeatRule:
    name: str
    files: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]
    steps: re.Pattern[str]
    naming: str  # java | python
    root: str = ""
    tests: re.Pattern[str] | None = None

    def matches(self, path: str) -> bool:
        return any(p.match(path) for p in self.files) and not any(p.match(path) for p in self.exclude)

    def test_name(self, path: str) -> str | None:
        """The test a changed file stands for, or None when it is not a test (a helper, a fixture)."""
        if self.naming == "java":
            if not path.startswith(self.root) or not path.endswith(".java"):
                return None
            name = path[len(self.root) : -len(".java")].replace("/", ".")
        else:
            name = path
        if self.tests is not None and not self.tests.search(name):
            return None
        return name


@dataclass(frozen=True)
class RepeatRequest:
    """Run *test* *count* times in *step*, spread over the step's machines (*per_split*)."""

    step: str
    test: str  # Java class name, or python test file path
    count: int
    per_split: tuple[int, ...]  # repetitions on each machine; len = machines used
    stop_on_failure: bool
    rule: str
    file: str

    @property
    def test_regex(self) -> str:
        """The value for the job's repeat_test_regex parameter."""
        return re.escape(self.test.rsplit(".", 1)[-1] if not self.test.endswith(".py") else self.test)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["per_split"] = list(self.per_split)
        data["test_regex"] = self.test_regex
        return data


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A path glob where ** spans directories and * / ? stay inside one (3.11 has no glob.translate)."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


def _lines(text: str) -> list[int]:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return []
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "rules" and isinstance(value, yaml.SequenceNode):
                return [item.start_mark.line + 1 for item in value.value]
    return []


def parse_rules(text: str, source: str) -> list[RepeatRule]:
    data = load_located_text(text, source)  # bounded: alias bombs, nesting, NUL end as a PipelineError
    lines = _lines(text)
    findings = []
    for error in jsonschema.Draft202012Validator(RULES_SCHEMA).iter_errors(data):
        path = list(error.absolute_path)
        line = lines[path[1]] if len(path) > 1 and path[0] == "rules" and path[1] < len(lines) else None
        findings.append(Finding(source, line, error.message, ".".join(map(str, path)),
                                "each rule needs name, files (globs), steps (regex) and naming (java|python)"))
    if findings:
        raise PipelineError(findings)
    rules = []
    for i, entry in enumerate(data["rules"]):
        line = lines[i] if i < len(lines) else None
        try:
            rules.append(RepeatRule(
                name=entry["name"],
                files=tuple(glob_regex(p) for p in entry["files"]),
                exclude=tuple(glob_regex(p) for p in entry.get("exclude", [])),
                steps=re.compile(entry["steps"]),
                naming=entry["naming"],
                root=entry.get("root", ""),
                tests=re.compile(entry["tests"]) if entry.get("tests") else None,
            ))
        except re.error as err:
            findings.append(Finding(source, line, f"rule {entry['name']!r}: invalid regular expression: {err}",
                                    f"rules.{i}", "escape regex characters such as ( [ . with a backslash"))
    if findings:
        raise PipelineError(findings)
    return rules


def load_rules(path: Path | None = None) -> list[RepeatRule]:
    if path is None:
        text = resources.files("pipelinegen.analysis").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
        return parse_rules(text, f"pipelinegen/analysis/{DEFAULT_RULES}")
    return parse_rules(read_yaml_text(Path(path)), str(path))


def step_class(step: str) -> str:
    """upgrade (25) / long (100) / default (500): from the step's name, as CircleCI grouped its jobs."""
    if "upgrade" in step:
        return "upgrade"
    if any(word in step for word in ("long", "large", "burn")):
        return "long"
    return "default"


def repeat_requests(
    changed_files: Iterable[str],
    pipeline_or_steps: object,
    counts: Mapping[str, int] | None = None,
    *,
    rules: Sequence[RepeatRule] | None = None,
    stop_on_failure: bool = True,
) -> list[RepeatRequest]:
    """Repeat requests for the changed test files (pure: no git, no file reads unless rules is None).

    *pipeline_or_steps*: a Pipeline, or steps with .name / .kind / .splits (and optional .repeat_count).
    *counts*: overrides by step name or by class ("default", "long", "upgrade").
    """
    steps = list(getattr(pipeline_or_steps, "steps", pipeline_or_steps))
    rules = load_rules() if rules is None else rules
    counts = dict(counts or {})
    settings = getattr(pipeline_or_steps, "repeat", None)  # pipeline.yaml's repeat: default_count
    if settings is not None and "default" not in counts:
        counts["default"] = settings.default_count
    requests: dict[tuple[str, str], RepeatRequest] = {}
    for path in sorted(set(changed_files)):
        rule = next((r for r in rules if r.matches(path)), None)
        if rule is None:
            continue
        test = rule.test_name(path)
        if test is None:
            continue
        for step in steps:
            if getattr(step, "kind", "test") != "test" or not rule.steps.search(step.name):
                continue
            cls = step_class(step.name)
            count = counts.get(step.name) or getattr(step, "repeat_count", None) or counts.get(cls) or DEFAULT_COUNTS[cls]
            requests.setdefault((step.name, test), RepeatRequest(
                step.name, test, count, spread(count, getattr(step, "splits", 1)), stop_on_failure, rule.name, path))
    return [requests[k] for k in sorted(requests)]


def changed_files(base: str, head: str = "HEAD", repo: Path = Path(".")) -> list[str]:
    """Files added, modified or renamed on HEAD since it forked from BASE (`git diff BASE...HEAD`)."""
    proc = subprocess.run(
        ["git", "diff", "--name-only", "--find-renames", "--diff-filter=AMR", f"{base}...{head}", "--"],
        cwd=repo, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        raise PipelineError.single(str(repo), None, f"git diff {base}...{head} failed: {proc.stderr.strip()}",
                                   hint=f"check that {base!r} exists locally (e.g. `git fetch origin` first)")
    return [line for line in proc.stdout.splitlines() if line]
