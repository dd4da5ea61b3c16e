"""Rules for the directives that may appear in `pipeline`, a stage or a matrix.

Each function mirrors one ModelParser.parseX method plus the ModelValidatorImpl.validateElement it feeds;
rule ids are stable (docs/lint.md lists them all).
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable

from pipelinegen.lint import catalogue as cat
from pipelinegen.lint.astutil import BlockMatch, Node, block, method_call, statements, string_literal
from pipelinegen.lint.context import LintContext
from pipelinegen.lint.describables import check_call
from pipelinegen.lint.values import (
    MethodCall,
    Value,
    parse_arguments,
    parse_boolean,
    parse_method_call,
    parse_method_name,
    parse_value,
    walk_calls,
)

_ENV_IDENTIFIER_HINT = "start with a letter or underscore; use only letters, digits and underscores"


def valid_env_identifier(name: str) -> bool:
    """Utils.validEnvIdentifier: a Java identifier made of ASCII letters, digits and underscores."""
    if not name or not (name[0].isascii() and (name[0].isalpha() or name[0] == "_")):
        return False
    return all(c.isascii() and (c.isalnum() or c == "_") for c in name)


def expect_block(ctx: LintContext, stmt: Node, section: str) -> BlockMatch | None:
    """ModelParser_ExpectedBlockFor: `section { ... }` is required, not `section x`."""
    match = block(stmt)
    if match is None:
        ctx.error(stmt, "section-expected-block", f"expected a block for `{section}`", f"write `{section} {{ ... }}`")
    return match


# --- environment -------------------------------------------------------------------------------------------

def parse_environment(ctx: LintContext, stmt: Node) -> None:
    """ModelParser.parseEnvironment + ModelValidatorImpl.validateElement(ModelASTEnvironment)."""
    match = expect_block(ctx, stmt, "environment")
    if match is None:
        return
    names: set[str] = set()
    for s in match.statements:
        if s.get("t") != "expr_stmt":
            ctx.error(s, "env-syntax", "expected `NAME = value` pairs in `environment`")
            continue
        exp = s["e"]
        if exp.get("t") == "binary" and exp.get("op") == "=":
            key_node = exp["l"]
            key = string_literal(key_node)
            if key is None:
                ctx.error(key_node, "string-literal", f"expected a variable name, got {ctx.source(key_node)}")
                key = ""
            if key in names:
                ctx.error(key_node, "env-duplicate", f'duplicate environment variable name: "{key}"',
                          "remove one of the two assignments")
                continue
            names.add(key)
            if not valid_env_identifier(key):
                ctx.error(key_node, "env-identifier", f'"{key}" is not a valid environment variable name',
                          _ENV_IDENTIFIER_HINT)
            _env_value(ctx, exp["r"])
        else:
            text = ctx.source(exp)
            if "=" in text:
                name = text.split("=", 1)[0].strip()
                ctx.error(exp, "env-identifier", f'"{name}" is not a valid environment variable name',
                          _ENV_IDENTIFIER_HINT)
            else:
                ctx.error(exp, "env-syntax", f'"{text}" is not a valid environment expression',
                          "use `NAME = value` pairs")
    if not names:
        ctx.error(match.call, "env-empty", "no variables specified in `environment`", "add a variable or remove it")


def _env_value(ctx: LintContext, value: Node) -> None:
    kind = value.get("t")
    if kind in ("const", "gstring"):
        parse_value(ctx, value)
    elif kind == "call":
        # Only credentials(...) is special-cased (ModelParser.parseInternalFunctionCall).
        if value.get("this") and value.get("name") == "credentials":
            for arg in value.get("args", []):
                if arg.get("t") not in ("const", "gstring"):
                    ctx.error(arg, "env-credentials-arg", "the arguments of credentials(...) must be strings")
        else:
            parse_value(ctx, value)
    elif kind == "binary" and value.get("op") == "+":
        _env_concat(ctx, value)
    elif kind == "binary":
        ctx.error(value, "env-operation", f"environment values can only be joined with `+`, not `{value.get('op')}`",
                  "compute it in a `script` block or quote it")
    else:
        ctx.error(value, "env-value",
                  f"environment value {ctx.source(value)} must be single-quoted, double-quoted or a function call",
                  f'write "${{{ctx.source(value)}}}"')


def _env_concat(ctx: LintContext, exp: Node) -> None:
    """ModelParser.envValueForStringConcat (JENKINS-42771: FOO = "a" + "b")."""
    left = exp["l"]
    if left.get("t") == "binary":
        if left.get("op") == "+":
            _env_concat(ctx, left)
        else:
            ctx.error(left, "env-operation", f"environment values can only be joined with `+`, not `{left.get('op')}`")
            return
    else:
        _env_concat_part(ctx, left)
    _env_concat_part(ctx, exp["r"])


def _env_concat_part(ctx: LintContext, part: Node) -> None:
    if part.get("t") in ("const", "gstring"):
        parse_value(ctx, part)
    else:
        ctx.error(part, "env-concat-value",
                  f"{ctx.source(part)}: values joined with `+` in `environment` must be single- or double-quoted")


# --- agent -------------------------------------------------------------------------------------------------

def parse_agent(ctx: LintContext, stmt: Node, catalogue: cat.Catalogue) -> None:
    """ModelParser.parseAgent + ModelValidatorImpl.validateElement(ModelASTAgent)."""
    call = method_call(stmt)
    match = block(stmt)
    if match is None:
        args = call.get("args", [])
        if not args:
            ctx.error(call, "agent-invalid", "no argument for `agent`", "write `agent any`, `agent none` or `agent { ... }`")
        elif len(args) > 1 or (string_literal(args[0]) or "") not in cat.ZERO_ARG_AGENTS:
            ctx.error(call, "agent-invalid", f"`{ctx.source(call)}` is not an agent",
                      "only `agent none`, `agent any` or `agent { TYPE ... }` are allowed")
        return
    body = match.statements
    if not body:
        ctx.error(call, "agent-type-missing", f"no agent type given; use one of {sorted(catalogue.agent_types)}")
        return
    if len(body) > 1:
        ctx.error(call, "agent-one-type", "only one agent type is allowed in an `agent` block")
        return
    type_call = method_call(body[0])
    if type_call is None:
        text = ctx.source(body[0])
        if text in cat.ZERO_ARG_AGENTS:
            ctx.error(body[0], "agent-type-missing", f"write `agent {text}`, not `agent {{ {text} }}`")
        else:
            ctx.error(body[0], "agent-type-missing", f"no agent type given; use one of {sorted(catalogue.agent_types)}")
        return
    type_name = type_call.get("name") or ""
    params = _closure_map(ctx, type_call)
    if type_name == "label" and params is not None:
        type_name = "node"  # JENKINS-41118: a label block with several fields is a node agent
    agent = catalogue.agent_types.get(type_name)
    if agent is None or type_name in cat.ZERO_ARG_AGENTS:
        ctx.error(type_call, "agent-type-unknown", f'unknown agent type "{type_name}"',
                  f"use one of {', '.join(sorted(catalogue.agent_types))}")
        return
    if params is not None:
        for req in agent.required:
            if req not in params:
                ctx.error(type_call, "agent-param-missing", f'agent type "{type_name}" needs parameter "{req}"')
        for name, node in params.items():
            if name not in agent.params:
                report = ctx.warning if agent.open_ended else ctx.error
                report(node, "agent-param-unknown", f'"{name}" is not a parameter of agent type "{type_name}"',
                       f"known parameters: {', '.join(agent.params)}")
    elif len(agent.required) > 1:
        ctx.error(type_call, "agent-param-missing",
                  f'agent type "{type_name}" needs parameters {list(agent.required)}; use a block')


def _closure_map(ctx: LintContext, type_call: Node) -> dict[str, Node] | None:
    """ModelParser.parseClosureMap for the agent type's arguments: the keys of a block, None for one value."""
    args = type_call.get("args", [])
    if len(args) == 1 and args[0].get("t") == "closure":
        keys: dict[str, Node] = {}
        for s in statements(args[0].get("code")):
            call = method_call(s)
            if call is None:
                ctx.error(s, "agent-syntax", "expected `key 'value'` lines in the agent block")
                continue
            key = call.get("name") or ctx.source(call)
            call_args = call.get("args", [])
            if not call_args:
                ctx.error(call, "agent-syntax", f'no value for agent parameter "{key}"')
            elif len(call_args) > 1:
                ctx.error(call, "agent-syntax", f'too many values for agent parameter "{key}"')
            elif call_args[0].get("t") == "closure":
                _closure_map(ctx, call)
            else:
                parse_value(ctx, call_args[0])
            keys[key] = call
        return keys
    if not args:
        ctx.error(type_call, "agent-syntax", f'no value for agent type "{type_call.get("name")}"')
        return None
    for a in args:
        parse_value(ctx, a)
    return None


# --- tools, libraries ----------------------------------------------------------------------------------------

def parse_tools(ctx: LintContext, stmt: Node) -> None:
    """ModelParser.parseTools + ModelValidatorImpl.validateElement(ModelASTTools)."""
    match = expect_block(ctx, stmt, "tools")
    if match is None:
        return
    count = 0
    for s in match.statements:
        call = method_call(s)
        if call is None:
            ctx.error(s, "tools-syntax", "expected `toolType 'version'` lines in `tools`")
            continue
        name = call.get("name") or ctx.source(call)
        args = call.get("args", [])
        count += 1
        if not args:
            ctx.error(call, "tools-version", f'no version given for tool "{name}"', f"write `{name} 'NAME-OF-INSTALLATION'`")
        elif len(args) > 1:
            ctx.error(call, "tools-version", f'too many arguments for tool "{name}"')
        else:
            value = parse_value(ctx, args[0])
            _tool_version(ctx, name, value)
        _tool_type(ctx, call, name)
    if count == 0 and not match.statements:
        ctx.error(match.call, "tools-empty", "no tools specified in `tools`")


def _tool_type(ctx: LintContext, call: Node, name: str) -> None:
    """ModelValidatorImpl InvalidSectionType("tool"): decided with a controller's catalogue, else a warning."""
    controller = ctx.catalogue.controller
    if controller is not None:
        if name not in controller.tools:
            ctx.error(call, "tools-type", f'"{name}" is not a tool type of {controller.source}',
                      f"tool types there: {', '.join(sorted(controller.tools)) or 'none'}")
    elif name not in cat.TOOL_TYPES:
        ctx.warning(call, "tools-type", f'"{name}" is not a tool type of the common plugins',
                    f"Jenkins rejects it unless a plugin defines it; common types: {', '.join(sorted(cat.TOOL_TYPES))}")


def _tool_version(ctx: LintContext, name: str, value: Value) -> None:
    """ModelValidatorImpl NoToolVersion: a literal version must be one of the controller's installations."""
    controller = ctx.catalogue.controller
    installations = controller.tools.get(name) if controller is not None else None
    if installations is None or not value.literal or not isinstance(value.value, str):
        return
    if value.value not in installations:
        near = difflib.get_close_matches(value.value, installations, n=1, cutoff=0.0)
        ctx.error(value.node, "tools-version", f'tool "{name}" has no installation "{value.value}" on '
                  f"{controller.source}", f'did you mean "{near[0]}"?' if near else "configure it under Tools")


def parse_libraries(ctx: LintContext, stmt: Node) -> None:
    """ModelParser.parseLibraries + ModelValidatorImpl.validateElement(ModelASTLibraries)."""
    match = expect_block(ctx, stmt, "libraries")
    if match is None:
        return
    libs = 0
    for s in match.statements:
        call = method_call(s)
        if call is None or call.get("name") != "lib":
            ctx.error(s, "libraries-lib", f'expected `lib("name@version")`, got {ctx.snippet(s)}')
        elif block(s) is not None:
            ctx.error(s, "libraries-lib", "library definitions cannot have blocks")
        else:
            parsed = parse_method_call(ctx, call)
            if len(parsed.positional) != 1 or parsed.named or not isinstance(parsed.positional[0], Value):
                ctx.error(call, "libraries-lib", f'expected `lib("name@version")`, got {ctx.source(call)}')
            else:
                libs += 1
    if libs == 0:
        ctx.error(match.call, "libraries-empty", "`libraries` can not be empty", "add `lib('name@version')`")


# --- options, triggers, parameters ---------------------------------------------------------------------------

_DIRECTIVE_TITLE = {"options": "Options", "triggers": "Triggers", "parameters": "Build parameters"}


def parse_directive_calls(ctx: LintContext, stmt: Node, section: str) -> list[MethodCall] | None:
    """ModelParser.parseOptions / parseTriggers / parseBuildParameters: method calls, no blocks, no maps."""
    match = expect_block(ctx, stmt, section)
    if match is None:
        return None
    calls: list[MethodCall] = []
    for s in match.statements:
        call = method_call(s)
        if call is None:
            if s.get("t") == "expr_stmt" and s["e"].get("t") == "map":
                ctx.error(s, "directive-map", f"{_DIRECTIVE_TITLE[section]} cannot be defined as maps",
                          f"write each entry of `{section}` as a call, e.g. `name(arg: value)`")
            else:
                ctx.error(s, "directive-syntax", f"expected a method call in `{section}`, got {ctx.snippet(s)}")
            continue
        if block(s) is not None:
            ctx.error(s, "directive-block", f"{_DIRECTIVE_TITLE[section]} definitions cannot have blocks",
                      "pass named arguments instead of a closure")
            continue
        parsed = parse_method_call(ctx, call)
        calls.append(parsed)
        for inner in list(walk_calls(parsed))[1:]:
            if inner.name in cat.BLOCKED_IN_METHOD_CALLS:
                ctx.error(inner.node, "blocked-step", f'"{inner.name}" is not allowed here: '
                          f"{cat.BLOCKED_IN_METHOD_CALLS[inner.name]}")
        _directive_type(ctx, parsed, section)
        for depth, inner in enumerate(walk_calls(parsed)):
            if inner.mixed:
                ctx.error(inner.node, "mixed-arguments", f"`{inner.name}` mixes named and unnamed arguments",
                          "name every argument")
            check_call(ctx, inner, section if depth == 0 else None)
    if not calls and not match.statements:
        ctx.error(match.call, "directive-empty", f"`{section}` can not be empty", f"add an entry or remove `{section}`")
    names = Counter(c.name for c in calls if c.name)
    if section in ("options", "triggers"):
        for name, n in names.items():
            if n > 1:
                dup = next(c for c in reversed(calls) if c.name == name)
                ctx.error(dup.node, "directive-duplicate", f'duplicate {section[:-1]} "{name}"',
                          jenkins_block=match.call)
    return calls


_TYPE_RULES = {"triggers": ("trigger-type", "trigger"), "parameters": ("parameter-type", "parameter type")}


def _directive_type(ctx: LintContext, call: MethodCall, section: str) -> None:
    """ModelValidatorImpl InvalidSectionType("trigger"/"parameter"): decided only with a controller's catalogue
    (any plugin may add a trigger or a parameter type); options are checked in check_options."""
    controller = ctx.catalogue.controller
    if controller is None or call.name is None or section not in _TYPE_RULES:
        return
    known = controller.triggers if section == "triggers" else controller.parameters
    if call.name not in known:
        rule, what = _TYPE_RULES[section]
        near = difflib.get_close_matches(call.name, list(known), n=1)
        ctx.error(call.node, rule, f'"{call.name}" is not a {what} of {controller.source}',
                  f'did you mean "{near[0]}"?' if near else f"{what}s there: {', '.join(sorted(known)) or 'none'}")


def check_options(ctx: LintContext, calls: list[MethodCall], in_stage: bool) -> None:
    """ModelValidatorImpl.validateElement(ModelASTOptions) with the names we know offline."""
    for call in calls:
        if call.name is None:
            continue
        if call.name in cat.FORBIDDEN_OPTIONS:
            ctx.error(call.node, "option-type", f'"{call.name}" is not allowed in `options`',
                      cat.FORBIDDEN_OPTIONS[call.name])
        elif call.name in cat.NON_WRAPPER_STEPS:
            ctx.error(call.node, "option-type", f'"{call.name}" is a step, not an option',
                      "options are job properties, declarative options or block-scoped steps like timeout")
        elif in_stage and call.name in cat.TOP_LEVEL_ONLY_OPTIONS:
            ctx.error(call.node, "option-not-in-stage", f'option "{call.name}" can only be used in the top-level '
                      "`options` of the pipeline", "move it to `pipeline { options { ... } }`")
        else:
            _controller_option(ctx, call, in_stage)


def _controller_option(ctx: LintContext, call: MethodCall, in_stage: bool) -> None:
    """Options.typeForKey / StageOptions.typeForKey against a controller's catalogue."""
    controller = ctx.catalogue.controller
    if controller is None or call.name is None:
        return
    if call.name not in controller.options:
        near = difflib.get_close_matches(call.name, list(controller.options), n=1)
        ctx.error(call.node, "option-type", f'"{call.name}" is not an option, job property or block-scoped step of '
                  f"{controller.source}", f'did you mean "{near[0]}"?' if near else "")
    elif in_stage and call.name not in controller.stage_options:
        ctx.error(call.node, "option-not-in-stage", f'option "{call.name}" cannot be used in a stage\'s `options` '
                  f"on {controller.source}", "move it to `pipeline { options { ... } }`")


# --- post ----------------------------------------------------------------------------------------------------

def parse_post(ctx: LintContext, stmt: Node, parse_steps: Callable[[Node, list[Node]], None]) -> None:
    """ModelParser.parseBuildConditionResponder + ModelValidatorImpl (post container and conditions)."""
    match = block(stmt)
    if match is None:
        ctx.error(stmt, "section-expected-block", "expected a block for `post`")
        return
    seen: Counter[str] = Counter()
    for s in match.statements:
        cond = block(s)
        if cond is None:
            ctx.error(s, "post-condition", f"`post` can only contain conditions with blocks, got {ctx.snippet(s)}",
                      f"valid conditions: {', '.join(ctx.catalogue.post_conditions)}")
            continue
        seen[cond.name] += 1
        if seen[cond.name] == 2:
            ctx.error(cond.call, "post-duplicate", f'duplicate post condition "{cond.name}"', jenkins_block=stmt)
        if cond.name not in ctx.catalogue.post_conditions:
            ctx.error(cond.call, "post-condition", f'unknown post condition "{cond.name}"',
                      f"valid conditions: {', '.join(ctx.catalogue.post_conditions)}")
        parse_steps(cond.call, cond.statements)
    if not seen:
        ctx.error(match.call, "post-empty", "`post` can not be empty", "add a condition block or remove `post`")


# --- when ----------------------------------------------------------------------------------------------------

def parse_when(ctx: LintContext, stmt: Node) -> None:
    """ModelParser.parseWhen + ModelValidatorImpl.validateElement(ModelASTWhen / ModelASTWhenCondition)."""
    match = expect_block(ctx, stmt, "when")
    if match is None:
        return
    conditions = 0
    for s in match.statements:
        call = method_call(s)
        if call is None:
            ctx.error(s, "when-condition", f"expected a when condition, got {ctx.snippet(s)}")
            continue
        name = call.get("name") if call.get("this") else None
        if name in cat.WHEN_FLAGS:
            parse_boolean(ctx, call, name)
        else:
            conditions += 1
            _when_condition(ctx, s)
    if conditions == 0:
        ctx.error(match.call, "when-empty", "`when` has no condition", "add a condition or remove `when`")


def _when_condition(ctx: LintContext, s: Node) -> None:
    call = method_call(s)
    if call is None:
        ctx.error(s, "when-condition", f"expected a when condition, got {ctx.snippet(s)}")
        return
    name = parse_method_name(ctx, call)
    if name is None:
        return
    match = block(s)
    if name == "expression":
        if match is None:
            ctx.error(call, "code-block", "`expression` needs a block: `expression { return ... }`")
        return
    conditions = ctx.catalogue.when_conditions
    cond = conditions.get(name)
    if cond is None:
        ctx.error(call, "when-condition", f'unknown when condition "{name}"',
                  f"valid conditions: {', '.join(conditions)}")
        return
    args = call.get("args", [])
    children = match.statements if match else []
    plain_args = args[:-1] if match else args
    if cond.children:
        if plain_args:
            ctx.error(call, "when-nested", f'"{name}" takes child conditions only, no arguments')
        elif cond.children < 0 and not children:
            ctx.error(call, "when-nested", f'"{name}" needs at least one child condition')
        elif cond.children > 0 and len(children) != cond.children:
            ctx.error(call, "when-nested", f'"{name}" needs exactly {cond.children} child condition(s)')
        else:
            for child in children:
                _when_condition(ctx, child)
        return
    if match is not None:
        ctx.error(call, "when-nested", f'"{name}" cannot have child conditions')
        return
    named, positional = parse_arguments(ctx, plain_args)
    _when_arguments(ctx, call, name, cond, named, positional)


def _when_arguments(ctx: LintContext, call: Node, name: str, cond: cat.WhenCondition,
                    named: dict[str, Value], positional: list[Value]) -> None:
    """ModelValidatorImpl.validateDescribable for the when conditions this plugin defines."""
    if positional:
        if len(positional) > 1:
            ctx.error(call, "when-arguments", f'the arguments of "{name}" must be named')
        elif len(cond.required) != 1:
            ctx.error(call, "when-arguments", f'"{name}" does not take a single unnamed argument; name the arguments',
                      f"parameters: {', '.join(cond.params) or 'none'}")
        else:
            _when_type(ctx, positional[0], name, cond.required[0])
        return
    for key, value in named.items():
        if key not in cond.params:
            ctx.error(value.node, "when-arguments", f'"{key}" is not a parameter of "{name}"',
                      f"parameters: {', '.join(cond.params) or 'none'}")
            return
        _when_type(ctx, value, name, key)
    for req in cond.required:
        if req not in named:
            ctx.error(call, "when-arguments", f'"{name}" is missing its required parameter "{req}"')


def _when_type(ctx: LintContext, value: Value, name: str, param: str) -> None:
    # Every when parameter is a String except the two boolean flags; Jenkins rejects int/boolean literals
    # for String parameters (ModelValidatorImpl.validateParameterType).
    wants_bool = param in ("caseSensitive", "ignoreCase")
    if name == "equals":
        return  # EqualsConditional takes Objects
    if value.literal and not wants_bool and isinstance(value.value, bool | int) and value.value is not None:
        ctx.error(value.node, "when-arguments", f'"{name}" expects a string for "{param}", got {value.value!r}')


# --- input ---------------------------------------------------------------------------------------------------

_INPUT_FIELDS = ("message", "id", "ok", "submitter", "submitterParameter", "parameters")


def parse_input(ctx: LintContext, stmt: Node) -> None:
    """ModelParser.parseInput + ModelValidatorImpl.validateElement(ModelASTStageInput)."""
    match = expect_block(ctx, stmt, "input")
    if match is None:
        return
    seen: set[str] = set()
    has_message = False
    for s in match.statements:
        call = method_call(s)
        if call is None:
            ctx.error(s, "input-field", f"expected an input field, got {ctx.snippet(s)}")
            continue
        name = parse_method_name(ctx, call) or "error"
        if name in seen:
            ctx.error(call, "section-duplicate", f'field "{name}" appears more than once in `input`')
        seen.add(name)
        args = call.get("args", [])
        if not args:
            ctx.error(call, "input-field", f'no value for input field "{name}"')
        elif len(args) > 1:
            ctx.error(call, "input-field", f'too many values for input field "{name}"')
        elif name == "parameters":
            parse_directive_calls(ctx, s, "parameters")
        elif name in _INPUT_FIELDS:
            parse_value(ctx, args[0])
            has_message = has_message or name == "message"
        else:
            ctx.error(call, "input-field", f'"{name}" is not a field of `input`',
                      f"fields: {', '.join(_INPUT_FIELDS)}")
    if not has_message:
        ctx.error(match.call, "input-message", "`input` needs a `message`")
