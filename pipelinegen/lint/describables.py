"""Parameters of the core steps, triggers and build parameters (the "catalogue of core steps").

Jenkins checks a step's or a method call's arguments against the DescribableModel of the installed plugin
(ModelValidatorImpl.validateDescribable / validateElement(ModelASTMethodCall)). Offline we know only the
long-stable core ones listed here; anything not listed is never checked, so a plugin's step is never an
error. Types: "str", "int", "bool", "any".
"""

from __future__ import annotations

import difflib

from pipelinegen.lint.astutil import Node
from pipelinegen.lint.catalogue import Describable
from pipelinegen.lint.context import LintContext
from pipelinegen.lint.values import MethodCall, Value

_SHELL = Describable(required=(("script", "str"),),
                     optional=(("returnStdout", "bool"), ("returnStatus", "bool"), ("encoding", "str"),
                               ("label", "str")))

# workflow-basic-steps / workflow-durable-task-step / core artifact steps
STEPS: dict[str, Describable] = {
    "echo": Describable(required=(("message", "str"),)),
    "error": Describable(required=(("message", "str"),)),
    "sleep": Describable(required=(("time", "int"),), optional=(("unit", "str"),)),
    "timeout": Describable(required=(("time", "int"),), optional=(("unit", "str"), ("activity", "bool"))),
    "retry": Describable(required=(("count", "int"),), optional=(("conditions", "any"),)),
    "dir": Describable(required=(("path", "str"),)),
    "sh": _SHELL,
    "bat": _SHELL,
    "writeFile": Describable(required=(("file", "str"), ("text", "str")), optional=(("encoding", "str"),)),
    "readFile": Describable(required=(("file", "str"),), optional=(("encoding", "str"),)),
    "fileExists": Describable(required=(("file", "str"),)),
    "deleteDir": Describable(),
    "isUnix": Describable(),
    "pwd": Describable(optional=(("tmp", "bool"),)),
    "unstash": Describable(required=(("name", "str"),)),
    "stash": Describable(required=(("name", "str"),),
                         optional=(("includes", "str"), ("excludes", "str"), ("useDefaultExcludes", "bool"),
                                   ("allowEmpty", "bool"))),
    "archiveArtifacts": Describable(required=(("artifacts", "str"),),
                                    optional=(("excludes", "str"), ("allowEmptyArchive", "bool"),
                                              ("fingerprint", "bool"), ("onlyIfSuccessful", "bool"),
                                              ("defaultExcludes", "bool"), ("caseSensitive", "bool"),
                                              ("followSymlinks", "bool"))),
}

# Method calls in `triggers`, `parameters` and `options` (core job properties, triggers, parameter types).
CALLS: dict[str, Describable] = {
    "cron": Describable(required=(("spec", "str"),)),
    "pollSCM": Describable(required=(("scmpoll_spec", "str"),), optional=(("ignorePostCommitHooks", "bool"),)),
    "upstream": Describable(required=(("upstreamProjects", "str"),), optional=(("threshold", "any"),)),
    "string": Describable(required=(("name", "str"),),
                          optional=(("defaultValue", "str"), ("description", "str"), ("trim", "bool"))),
    "text": Describable(required=(("name", "str"),),
                        optional=(("defaultValue", "str"), ("description", "str"), ("trim", "bool"))),
    "booleanParam": Describable(required=(("name", "str"),),
                                optional=(("defaultValue", "bool"), ("description", "str"))),
    "choice": Describable(required=(("name", "str"),), optional=(("choices", "any"), ("description", "str"))),
    "password": Describable(required=(("name", "str"),),
                            optional=(("defaultValue", "str"), ("description", "str"))),
    "timeout": STEPS["timeout"],
    "retry": STEPS["retry"],
}


def _type_error(value: Value, wanted: str) -> bool:
    """ModelValidatorImpl.validateParameterType: only literals are checked; int/bool/String do not convert."""
    if not value.literal or wanted == "any" or value.value is None:
        return False
    v = value.value
    if wanted == "str":
        return isinstance(v, bool | int)
    if wanted == "int":
        return isinstance(v, str | bool) or not isinstance(v, int)
    if wanted == "bool":
        return not isinstance(v, bool)
    return False


def _nearest(key: str, options: dict[str, str]) -> str:
    close = difflib.get_close_matches(key, list(options), n=1, cutoff=0.0)
    return f'did you mean "{close[0]}"?' if close else ""


def check_step(ctx: LintContext, call: Node, name: str, named: dict[str, Value], positional: list[Value],
               takes_block: bool) -> None:
    """ModelValidatorImpl.validateDescribable for a step of the core catalogue."""
    controller = ctx.catalogue.controller
    model = controller.steps.get(name) if controller is not None and name in controller.steps else STEPS.get(name)
    if model is None:
        return
    params = model.params
    if named:
        for key, value in named.items():
            if key not in params:
                ctx.error(value.node, "step-arguments", f'"{key}" is not a parameter of step "{name}"',
                          _nearest(key, params))
                return
            if _type_error(value, params[key]):
                ctx.error(value.node, "step-arguments",
                          f'step "{name}" expects {params[key]} for "{key}", got {value.value!r}')
        for req, _ in model.required:
            if req not in named:
                ctx.error(call, "step-arguments", f'step "{name}" is missing its required parameter "{req}"')
    elif len(positional) > 1:
        ctx.error(call, "step-arguments", f'the arguments of step "{name}" must be named')
    elif len(positional) == 1:
        if len(model.required) != 1 and not takes_block:
            ctx.error(call, "step-arguments", f'step "{name}" does not take a single unnamed argument',
                      f"parameters: {', '.join(params) or 'none'}")
        elif model.required and _type_error(positional[0], model.required[0][1]):
            ctx.error(positional[0].node, "step-arguments",
                      f'step "{name}" expects {model.required[0][1]}, got {positional[0].value!r}')
    else:
        for req, _ in model.required:
            ctx.error(call, "step-arguments", f'step "{name}" is missing its required parameter "{req}"')


def check_call(ctx: LintContext, call: MethodCall, section: str | None = None) -> None:
    """ModelValidatorImpl.validateElement(ModelASTMethodCall): the controller catalogue's model of the
    option/trigger/parameter type of *section* when there is one, else the core catalogue's."""
    controller = ctx.catalogue.controller
    model = None
    if controller is not None and section in ("options", "triggers", "parameters"):
        model = getattr(controller, section).get(call.name or "")
    model = model or CALLS.get(call.name or "")
    if model is None or call.mixed:
        return
    params = model.params
    if call.named:
        for key, value in call.named:
            if key not in params:
                ctx.error(call.node, "call-arguments", f'"{key}" is not a parameter of "{call.name}"',
                          _nearest(key or "", params))
                return
            if isinstance(value, Value) and _type_error(value, params[key]):
                ctx.error(value.node, "call-arguments",
                          f'"{call.name}" expects {params[key]} for "{key}", got {value.value!r}')
        return
    if len(call.positional) > 1:
        ctx.error(call.node, "call-arguments", f'the arguments of "{call.name}" must be named')
        return
    required = model.required
    # JENKINS-41391: a single required Boolean may be omitted, `foo()`.
    if len(required) != len(call.positional) and not (len(required) == 1 and required[0][1] == "bool"):
        ctx.error(call.node, "call-arguments",
                  f'"{call.name}" takes {len(required)} unnamed argument(s) but has {len(call.positional)}')
        return
    for (param, wanted), value in zip(required, call.positional, strict=False):
        if isinstance(value, Value) and _type_error(value, wanted):
            ctx.error(value.node, "call-arguments", f'"{call.name}" expects {wanted} for "{param}", got {value.value!r}')
