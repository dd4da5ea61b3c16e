"""The typed model of a (merged) pipeline.yaml: what the plan is computed from."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelinegen.errors import Location

ARCH_AXIS = "arch"


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[str, ...]
    default: str
    parameter: str = ""  # job parameter that restricts this axis ("" = none)
    parameter_default: str = ""  # the parameter's default: one value, or "" for every value
    cell_name: str = "{value}"  # how a value appears in a cell name
    cell_name_by_value: tuple[tuple[str, str], ...] = ()  # explicit per-value names ("" hides the value)
    hide_in_name: tuple[str, ...] = ()
    location: Location | None = field(default=None, compare=False)

    def name_part(self, value: str) -> str:
        """The text this value adds to a cell name ("" = nothing)."""
        if value in self.hide_in_name:
            return ""
        explicit = dict(self.cell_name_by_value)
        if value in explicit:
            return explicit[value]
        return self.cell_name.replace("{value}", value)


@dataclass(frozen=True)
class Price:
    """What one agent-hour of a resource class costs, and where that figure comes from."""

    per_hour: float
    currency: str  # ISO 4217
    source: str = ""


@dataclass(frozen=True)
class Resource:
    name: str
    label: str  # may contain {axis} placeholders, e.g. cassandra-{arch}-medium
    cpu: float
    memory_gb: float
    container_memory_gb: float | None = None
    ephemeral_storage_gb: float | None = None
    instance_cap: int | None = None
    price: Price | None = None
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Repository:
    name: str
    url: str
    branch: str
    directory: str
    repository_parameter: str
    branch_parameter: str


@dataclass(frozen=True)
class Step:
    name: str
    kind: str  # build | test | publish
    command: str
    splits: int = 1
    resource: str = ""
    timeout_minutes: int = 60
    attempts: int = 1
    retry_on: str = "infra"  # which attempt outcomes are retried: model/outcome.py RETRY_POLICIES
    axes: tuple[str, ...] = ()
    only: tuple[tuple[str, tuple[str, ...]], ...] = ()  # axis -> allowed values (already resolved: no 'default')
    exclude: tuple[tuple[tuple[str, tuple[str, ...]], ...], ...] = ()
    needs: tuple[str, ...] = ()
    build_once: bool = False
    always: bool = False
    stash: str = ""
    results: tuple[str, ...] = ()
    archive: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    image: str = ""
    checkouts: tuple[str, ...] = ()
    post_commit_only: bool = False
    repeat_count: int | None = None
    description: str = ""
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Profile:
    name: str
    steps: tuple[str, ...]  # after `extends` is resolved, in declaration order
    custom: bool = False
    description: str = ""
    runs_per_year: int | None = None  # declared, for yearly cost estimates
    location: Location | None = field(default=None, compare=False)


@dataclass(frozen=True)
class JobParameter:
    name: str
    type: str  # string | choice | boolean
    default: str | bool = ""
    choices: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RepeatSettings:
    test_regex_parameter: str = "repeat_test_regex"
    count_parameter: str = "repeated_tests_count"
    stop_on_failure_parameter: str = "repeated_tests_stop_on_failure"
    default_count: int = 500


@dataclass(frozen=True)
class RepeatSpec:
    """Run the tests matching *tests* *count* times in *step*, spread over *machines* cells."""

    step: str
    tests: str  # regular expression handed to the step's script (PIPELINEGEN_REPEAT_TESTS)
    count: int
    stop_on_failure: bool = True
    machines: int = 1


@dataclass(frozen=True)
class Controller:
    cpu: float = 4
    memory_gb: float = 12
    java_opts: str = "-Xmx8G"


@dataclass(frozen=True)
class SourceFile:
    """A file the pipeline was built from, for the pipeline identity of result bundles."""

    path: str  # as given (relative to the checkout when possible)
    sha256: str
    role: str  # pipeline | overlay | axis-values


@dataclass(frozen=True)
class Pipeline:
    project: str
    axes: tuple[Axis, ...]
    resources: tuple[Resource, ...]
    steps: tuple[Step, ...]
    profiles: tuple[Profile, ...]
    repositories: tuple[Repository, ...] = ()
    parameters: tuple[JobParameter, ...] = ()  # extra job parameters declared in pipeline.yaml
    canonical_repository: str = ""
    branches: tuple[str, ...] = ()
    description: str = ""
    controller: Controller = Controller()
    repeat: RepeatSettings = RepeatSettings()
    sources: tuple[SourceFile, ...] = ()
    repeats: tuple[RepeatSpec, ...] = ()  # from repeats.yaml: tests a branch adds or changes
    notes: tuple[str, ...] = ()  # what overlay merging did implicitly
    overlays: tuple[str, ...] = ()  # the overlays merged, in order, as paths relative to the checkout
    upstream_names: tuple[tuple[str, str], ...] = ()  # (section, name) of pipeline.yaml's own named items

    def axis(self, name: str) -> Axis:
        for axis in self.axes:
            if axis.name == name:
                return axis
        raise KeyError(name)

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def profile(self, name: str) -> Profile:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        raise KeyError(name)

    def resource(self, name: str) -> Resource:
        for resource in self.resources:
            if resource.name == name:
                return resource
        raise KeyError(name)

    def repository(self, name: str) -> Repository:
        for repository in self.repositories:
            if repository.name == name:
                return repository
        raise KeyError(name)
