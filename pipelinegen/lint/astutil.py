"""Read-only helpers over the JSON AST that `ast_dump.groovy` prints (one dict per Groovy node).

They mirror the matchers of Jenkins's ASTParserUtils (matchMethodCall, matchMethodName, matchBlockStatement,
eachStatement) so that the rules can follow ModelParser line by line.
"""

from __future__ import annotations

from dataclasses import dataclass

Node = dict


def method_call(stmt: Node | None) -> Node | None:
    """ASTParserUtils.matchMethodCall: an expression statement whose expression is a method call."""
    if stmt and stmt.get("t") == "expr_stmt" and stmt["e"].get("t") == "call":
        return stmt["e"]
    return None


def method_name(call: Node) -> str | None:
    """ASTParserUtils.matchMethodName: the name of `foo(...)` called on implicit `this`, else None."""
    return call.get("name") if call.get("this") else None


@dataclass(frozen=True)
class BlockMatch:
    """ASTParserUtils.matchBlockStatement: `name(args..., { body })`."""

    call: Node
    name: str
    body: Node  # the closure node

    @property
    def statements(self) -> list[Node]:
        return statements(self.body.get("code"))


def block(stmt: Node | None) -> BlockMatch | None:
    call = method_call(stmt)
    if call is None:
        return None
    return block_of_call(call)


def block_of_call(call: Node) -> BlockMatch | None:
    name = method_name(call)
    args = call.get("args", [])
    if name is not None and args and args[-1].get("t") == "closure":
        return BlockMatch(call, name, args[-1])
    return None


def statements(code: Node | None) -> list[Node]:
    """ASTParserUtils.eachStatement/asBlock: a block's statements, or the single statement itself."""
    if code is None:
        return []
    if code.get("t") == "block":
        return code["stmts"]
    return [code]


def string_literal(expr: Node) -> str | None:
    """ModelParser.matchStringLiteral: a string constant, or a bare variable name."""
    if expr.get("t") == "const":
        return expr["v"] if expr.get("vt") == "string" else None
    if expr.get("t") == "var":
        return expr["name"]
    return None


def line_col(node: Node) -> tuple[int | None, int | None]:
    pos = node.get("pos") or [None, None]
    line, col = pos[0], pos[1]
    # Groovy numbers synthetic nodes -1; report them as unknown rather than as a bogus line.
    return (line if line and line > 0 else None, col if col and col > 0 else None)
