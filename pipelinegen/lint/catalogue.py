"""The names Jenkins knows without asking a plugin: agent types, post and when conditions, core options.

Jenkins looks these up in the running controller (DeclarativeAgentDescriptor, BuildCondition,
DeclarativeStageConditionalDescriptor, Options/StageOptions); offline we ship the names defined by
pipeline-model-definition itself plus the agent types of docker-workflow and kubernetes. A `Catalogue`
can be extended (e.g. the parity harness adds the Jenkins test suite's own `otherField` agent type).
Unknown *steps* are never an error: any plugin may add them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class AgentType:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    open_ended: bool = False  # parameters we cannot list exhaustively: unknown ones are warnings

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


@dataclass(frozen=True)
class Describable:
    """The parameters of a step or of an option/trigger/parameter/tool type: (name, type) pairs, type one of
    "str", "int", "bool", "any" (what ModelValidatorImpl.validateParameterType can check on a literal)."""

    required: tuple[tuple[str, str], ...] = ()
    optional: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        return dict(self.required + self.optional)


@dataclass(frozen=True)
class WhenCondition:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    children: int = 0  # DeclarativeStageConditionalDescriptor.getAllowedChildrenCount(): -1 = one or more

    @property
    def params(self) -> tuple[str, ...]:
        return self.required + self.optional


_DOCKER_COMMON = ("args", "alwaysPull", "customWorkspace", "label", "registryUrl", "registryCredentialsId",
                  "reuseNode", "containerPerStageRoot")

AGENT_TYPES: dict[str, AgentType] = {
    # pipeline-model-definition agent/impl: Any, None, Label (+ the `node` form with several fields)
    "any": AgentType(),
    "none": AgentType(),
    "label": AgentType(required=("label",), optional=("customWorkspace",)),
    "node": AgentType(required=("label",), optional=("customWorkspace",)),
    # docker-workflow: DockerPipeline, DockerPipelineFromDockerfile
    "docker": AgentType(required=("image",), optional=_DOCKER_COMMON),
    "dockerfile": AgentType(optional=("filename", "dir", "additionalBuildArgs") + _DOCKER_COMMON),
    # kubernetes plugin: KubernetesDeclarativeAgent has many fields that change between releases
    "kubernetes": AgentType(
        optional=("cloud", "label", "yaml", "yamlFile", "yamlMergeStrategy", "defaultContainer", "inheritFrom",
                  "namespace", "serviceAccount", "nodeSelector", "workingDir", "workspaceVolume", "podRetention",
                  "activeDeadlineSeconds", "idleMinutes", "instanceCap", "supplementalGroups", "retries",
                  "showRawYaml", "customWorkspace", "containerTemplate", "containerTemplates", "slaveConnectTimeout",
                  "podTemplate", "runAsUser", "runAsGroup", "hostNetwork", "imagePullSecrets", "envVars",
                  "volumes", "annotations", "agentContainer", "agentInjection", "useDefaultNodeSelector"),
        open_ended=True,
    ),
}
ZERO_ARG_AGENTS = ("any", "none")

# model/conditions/*.groovy, in BuildCondition.getOrderedConditionNames() order
POST_CONDITIONS = ("always", "changed", "fixed", "regression", "aborted", "success", "unsuccessful",
                   "unstable", "failure", "notBuilt", "cleanup")

# when/impl/*.java
WHEN_CONDITIONS: dict[str, WhenCondition] = {
    "branch": WhenCondition(required=("pattern",), optional=("comparator",)),
    "buildingTag": WhenCondition(),
    "changelog": WhenCondition(required=("pattern",)),
    "changeset": WhenCondition(required=("pattern",), optional=("caseSensitive", "comparator")),
    "changeRequest": WhenCondition(optional=("id", "target", "branch", "fork", "url", "title", "author",
                                             "authorDisplayName", "authorEmail", "comparator")),
    "environment": WhenCondition(required=("name", "value"), optional=("ignoreCase", "comparator")),
    "equals": WhenCondition(required=("expected", "actual")),
    "expression": WhenCondition(),
    "tag": WhenCondition(required=("pattern",), optional=("comparator",)),
    "triggeredBy": WhenCondition(required=("cause",), optional=("detail",)),
    "isRestartedRun": WhenCondition(),
    "not": WhenCondition(children=1),
    "allOf": WhenCondition(children=-1),
    "anyOf": WhenCondition(children=-1),
}
WHEN_FLAGS = ("beforeAgent", "beforeInput", "beforeOptions")

# Options that are job properties or pipeline-only declarative options (canUseInStage() == false):
# Jenkins rejects them inside a stage's `options` (StageOptions.typeForKey == null).
TOP_LEVEL_ONLY_OPTIONS = frozenset({
    "buildDiscarder", "disableConcurrentBuilds", "disableResume", "durabilityHint", "overrideIndexTriggers",
    "preserveStashes", "quietPeriod", "skipStagesAfterUnstable", "parallelsAlwaysFailFast",
    "disableRestartFromStage", "newContainerPerStage", "copyArtifactPermission", "rateLimitBuilds",
    "githubProjectProperty", "gitLabConnection",
})
# Options Jenkins builds into job properties itself; as options they are rejected (ParametersAndTriggersInOptions).
FORBIDDEN_OPTIONS = {"parameters": "use the `parameters` directive", "pipelineTriggers": "use the `triggers` directive"}

# Core steps that take no block: never valid as an option (an option is a job property, a declarative
# option or a block-scoped wrapper step such as timeout/retry/timestamps).
NON_WRAPPER_STEPS = frozenset({
    "echo", "sh", "bat", "powershell", "pwsh", "error", "sleep", "git", "checkout", "archiveArtifacts", "junit",
    "stash", "unstash", "deleteDir", "writeFile", "readFile", "input", "build", "mail", "fileExists", "isUnix",
    "pwd", "milestone", "unarchive", "tool", "emailext", "cleanWs", "fingerprint", "step", "load",
})

# BlockedStepsAndMethodCalls.blockedInSteps / blockedInMethodCalls
BLOCKED_IN_STEPS: dict[str, str] = {
    "stage": "stages are declared in the `stages` section, not inside `steps`",
    "properties": "job properties are set with `options`, `parameters` and `triggers`",
    "parallel": "`parallel` must be the only step of a `steps` block, or use a `parallel { stage ... }` section",
}
BLOCKED_IN_METHOD_CALLS: dict[str, str] = {"node": "declarative allocates nodes with `agent`", **BLOCKED_IN_STEPS}

# Tools.getAllowedToolTypes(): tool installers with a symbol in common plugins; others are warnings.
TOOL_TYPES = frozenset({"jdk", "maven", "ant", "gradle", "nodejs", "go", "git", "msbuild", "dotnetsdk", "terraform",
                        "allure", "jfrog", "sonarRunner", "python"})


@dataclass(frozen=True)
class ControllerCatalogue:
    """What one Jenkins controller has installed, exported from it (`pipelinegen catalogue export`).

    With it the linter decides what it otherwise leaves open: an option, trigger, parameter or tool type
    the controller lacks is an error (as ModelValidatorImpl's InvalidSectionType), a tool version must be
    one of its installations (NoToolVersion), and every step, option, trigger and parameter it lists has its
    arguments checked (validateDescribable)."""

    options: dict[str, Describable]  # Options.getAllowedOptionTypes(): job properties, declarative options, wrappers
    stage_options: frozenset[str]  # StageOptions.getAllowedOptionTypes()
    triggers: dict[str, Describable]
    parameters: dict[str, Describable]
    tools: dict[str, tuple[str, ...]]  # tool type -> installation names
    steps: dict[str, Describable]
    source: str = ""  # where it was exported from, for messages


@dataclass(frozen=True)
class Catalogue:
    agent_types: dict[str, AgentType] = field(default_factory=lambda: dict(AGENT_TYPES))
    when_conditions: dict[str, WhenCondition] = field(default_factory=lambda: dict(WHEN_CONDITIONS))
    post_conditions: tuple[str, ...] = POST_CONDITIONS
    controller: ControllerCatalogue | None = None  # None: plugins may add any option/trigger/parameter/tool

    def with_agent_type(self, name: str, agent: AgentType) -> Catalogue:
        return replace(self, agent_types={**self.agent_types, name: agent})


DEFAULT_CATALOGUE = Catalogue()
