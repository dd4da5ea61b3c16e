"""The registry of lint rules: every rule id the linter can report, with the one-line summary that SARIF
(`tool.driver.rules`) and editors show. docs/lint.md lists the same ids (a test holds the two equal)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    summary: str


def _rules(*entries: tuple[str, str]) -> dict[str, Rule]:
    return {entry[0]: Rule(*entry) for entry in entries}


RULES: dict[str, Rule] = _rules(
    ("groovy-syntax", "the file does not compile with Groovy 2.4"),
    ("pipeline-top-level", "`pipeline {}` nested in another block"),
    ("section-invalid", "a bare word where a section is expected"),
    ("section-duplicate", "a section given twice"),
    ("section-unknown", "an unknown or removed section"),
    ("section-expected-block", "a section that needs a block was given a value"),
    ("required-section", "a required section is missing (agent, stages, axes, name, values)"),
    ("stages-empty", "`stages {}` or `parallel {}` with no stage"),
    ("stage-expected", "anything but `stage(...) {}` inside `stages`"),
    ("stage-name", "a stage without exactly one name"),
    ("stage-without-block", "a stage without a block"),
    ("stage-content", "a stage needs exactly one of steps, stages, parallel or matrix"),
    ("stage-duplicate-name", "two stages with the same name in one `stages`"),
    ("nested-parallel", "parallel or matrix inside a parallel branch or matrix"),
    ("nested-agent-tools", "`agent`/`tools` on a stage that holds parallel or matrix"),
    ("parallel-branch", "a parallel branch that is not a closure, or a duplicate branch name"),
    ("expected-boolean", "failFast/beforeAgent/beforeInput/beforeOptions not a boolean literal"),
    ("steps-empty", "an empty `steps`, post condition or parallel branch"),
    ("step-expected", "a statement that is not a step outside `script`"),
    ("object-method-call", "`foo.bar()` used as a step or section"),
    ("expected-symbol", "a computed name used as a step or section"),
    ("blocked-step", "a step Jenkins blocks in declarative steps or method arguments"),
    ("code-block", "`script`/`expression` without a block"),
    ("bare-dollar-curly", "an unquoted `${...}` used as a value"),
    ("integer-range", "an integer literal outside the 64-bit range"),
    ("closure-argument", "a closure passed to an option, trigger or parameter"),
    ("mixed-arguments", "named and unnamed arguments in one call"),
    ("string-literal", "a stage/axis name or key that is not a string literal"),
    ("env-empty", "an empty `environment`"),
    ("env-identifier", "an invalid environment variable name"),
    ("env-duplicate", "an environment variable set twice"),
    ("env-value", "an environment value that is not a string, GString, function call or join of those"),
    ("env-operation", "an operation Jenkins does not allow in an environment value"),
    ("env-concat-value", "a `+` join of values Jenkins does not allow"),
    ("env-credentials-arg", "`credentials()` with anything but one string literal"),
    ("env-syntax", "an environment entry that is not `NAME = value`"),
    ("agent-invalid", "a bare agent word other than any/none"),
    ("agent-type-missing", "`agent {}` without a type"),
    ("agent-one-type", "two agent types in one block"),
    ("agent-type-unknown", "an agent type the catalogue does not know"),
    ("agent-param-missing", "a required agent parameter is missing"),
    ("agent-param-unknown", "a parameter the agent type does not have"),
    ("agent-syntax", "an agent parameter given in a form Jenkins rejects"),
    ("tools-version", "a tool without exactly one version, or a version not installed"),
    ("tools-syntax", "a `tools` entry that is not `type 'version'`"),
    ("tools-empty", "an empty `tools`"),
    ("tools-type", "a tool type the catalogue does not know"),
    ("libraries-lib", "anything but `lib('name@version')` in `libraries`"),
    ("libraries-empty", "an empty `libraries`"),
    ("directive-map", "a map where an option, trigger or parameter call is expected"),
    ("directive-syntax", "an option, trigger or parameter that is not a method call"),
    ("directive-block", "an option, trigger or parameter with a block"),
    ("directive-empty", "an empty `options`, `triggers` or `parameters`"),
    ("directive-duplicate", "an option or trigger given twice"),
    ("option-type", "something that is not an option used as one"),
    ("trigger-type", "a trigger the controller's catalogue does not have"),
    ("parameter-type", "a build parameter type the controller's catalogue does not have"),
    ("option-not-in-stage", "a job property or pipeline-only option in a stage's options"),
    ("post-condition", "an unknown post condition, or one without a block"),
    ("post-duplicate", "a post condition given twice"),
    ("post-empty", "an empty `post`"),
    ("when-condition", "an unknown `when` condition"),
    ("when-empty", "a `when` without a condition"),
    ("when-nested", "not/allOf/anyOf with the wrong number or kind of children"),
    ("when-arguments", "wrong parameters for a built-in `when` condition"),
    ("input-field", "an unknown, duplicate or empty `input` field"),
    ("input-message", "an `input` without a message"),
    ("matrix-axes", "a matrix without axes"),
    ("matrix-excludes", "an empty `excludes` or `exclude`"),
    ("matrix-axis", "an invalid or duplicate axis name or value"),
    ("step-arguments", "wrong parameters for a step the catalogue knows"),
    ("call-arguments", "wrong parameters for an option, trigger or build parameter the catalogue knows"),
    ("no-pipeline", "no declarative pipeline found: only the Groovy syntax was checked"),
)


def rule(rule_id: str) -> Rule:
    """The registered rule; an unregistered id is a programming error (tests keep the registry complete)."""
    return RULES.get(rule_id) or Rule(rule_id, rule_id)
