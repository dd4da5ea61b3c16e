"""Arguments and values: the parts of ModelParser that turn Groovy expressions into declarative values.

Mirrors ModelParser.parseArgument / parseArgumentList / parseMethodCall / parseMethodName and the value
checks of ModelValidatorImpl (BareDollarCurly, BigIntegerValue, MethodCallWithClosure, ObjectMethodCall).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pipelinegen.lint.astutil import Node, method_name, string_literal
from pipelinegen.lint.catalogue import ZERO_ARG_AGENTS
from pipelinegen.lint.context import LintContext


@dataclass(frozen=True)
class Value:
    """ModelASTValue: a literal constant or an expression evaluated at run time (a 'GString')."""

    node: Node
    literal: bool
    value: object  # the constant, or the Groovy text of the expression

    def key(self) -> tuple:
        return (self.literal, repr(self.value))


@dataclass
class MethodCall:
    """ModelASTMethodCall: options, triggers, parameters and their nested calls."""

    node: Node
    name: str | None
    named: list[tuple[str | None, object]] = field(default_factory=list)  # (key, Value | MethodCall)
    positional: list[object] = field(default_factory=list)

    @property
    def mixed(self) -> bool:
        return bool(self.named) and bool(self.positional)


def parse_value(ctx: LintContext, expr: Node) -> Value:
    """ModelParser.parseArgument."""
    kind = expr.get("t")
    if kind == "const":
        if expr.get("vt") == "bigint":
            # ModelParser_BigIntegerValue: declarative stores integers as long.
            ctx.error(expr, "integer-range",
                      f"integer {expr['v']} does not fit in a 64-bit long, the largest integer Declarative accepts",
                      "use a smaller number or a string")
            return Value(expr, True, -1)
        value = expr.get("v")
        if expr.get("vt") == "int":
            value = int(value)
        return Value(expr, True, value)
    if kind == "gstring" or kind == "map":
        return Value(expr, False, ctx.source(expr))
    if kind == "var" and expr.get("name") in ZERO_ARG_AGENTS:
        return Value(expr, True, expr["name"])
    text = ctx.source(expr)
    # Any other expression is kept as "${text}"; a text that itself starts with "${" is the bare `${...}`
    # Groovy reads as a call of method `$` with a closure (ModelParser_BareDollarCurly).
    if text.startswith("${"):
        ctx.error(expr, "bare-dollar-curly",
                  f"{text} cannot be used as a value directly; Groovy reads it as a call of `$` with a closure",
                  f'put it in double quotes: "{text}"')
    return Value(expr, False, "${" + text + "}")


def parse_arguments(ctx: LintContext, args: list[Node]) -> tuple[dict[str, Value], list[Value]]:
    """ModelParser.parseArgumentList for steps and when conditions: (named, positional)."""
    if len(args) == 1 and args[0].get("t") == "map":
        entries = args[0]["entries"]
        # Legacy meta-step syntax `[$class: 'Foo', ...]` is one positional value, not named arguments.
        if not any(string_literal(e["k"]) == "$class" for e in entries):
            named: dict[str, Value] = {}
            for entry in entries:
                key = string_literal(entry["k"]) or ctx.source(entry["k"])
                named[key] = parse_value(ctx, entry["v"])
            return named, []
    return {}, [parse_value(ctx, a) for a in args]


def parse_method_name(ctx: LintContext, call: Node) -> str | None:
    """ModelParser.parseMethodName: `foo.bar()` and `"$x"()` are not declarative names."""
    name = method_name(call)
    if name is None:
        if call.get("obj_is_var") and not call.get("this"):
            ctx.error(call, "object-method-call",
                      f"method calls on objects are not allowed outside a `script` block: {ctx.source(call)}",
                      "wrap the call in `script { ... }`")
        else:
            ctx.error(call, "expected-symbol", f"expected a plain name here, got {ctx.source(call)}")
    return name


def parse_method_call(ctx: LintContext, call: Node) -> MethodCall:
    """ModelParser.parseMethodCall: named arguments, nested calls, no closures."""
    result = MethodCall(node=call, name=parse_method_name(ctx, call))
    for arg in call.get("args", []):
        kind = arg.get("t")
        if kind == "map":
            for entry in arg["entries"]:
                key = string_literal(entry["k"])
                value = entry["v"]
                if value.get("t") == "closure":
                    ctx.error(entry, "closure-argument",
                              f"argument `{key}` of `{result.name}` is a closure; method call arguments cannot be closures")
                elif value.get("t") == "call":
                    result.named.append((key, parse_method_call(ctx, value)))
                else:
                    result.named.append((key, parse_value(ctx, value)))
        elif kind == "closure":
            ctx.error(arg, "closure-argument",
                      f"`{result.name}` is given a closure; method call arguments cannot be closures")
        elif kind == "call":
            result.positional.append(parse_method_call(ctx, arg))
        else:
            result.positional.append(parse_value(ctx, arg))
    return result


def walk_calls(call: MethodCall) -> Iterator[MethodCall]:
    """The call and every call nested in its arguments."""
    yield call
    for _, value in call.named:
        if isinstance(value, MethodCall):
            yield from walk_calls(value)
    for value in call.positional:
        if isinstance(value, MethodCall):
            yield from walk_calls(value)


def parse_boolean(ctx: LintContext, call: Node, name: str) -> bool | None:
    """ModelParser.parseBooleanMethod: `failFast true`, `beforeAgent true`."""
    args = call.get("args", [])
    if args and args[0].get("t") == "const" and args[0].get("vt") == "bool":
        return bool(args[0]["v"])
    ctx.error(call, "expected-boolean", f"`{name}` expects a boolean literal (true or false)")
    return None
