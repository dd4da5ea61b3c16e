"""Where rules report findings: one LintContext per linted file (its name, its text, its findings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipelinegen.errors import Finding
from pipelinegen.lint.astutil import Node, line_col
from pipelinegen.lint.catalogue import DEFAULT_CATALOGUE, Catalogue


@dataclass
class LintContext:
    file: str  # as the user gave it
    lines: list[str]
    findings: list[Finding] = field(default_factory=list)
    catalogue: Catalogue = DEFAULT_CATALOGUE  # what the rules may look up (agent types, a controller's plugins)

    @classmethod
    def for_text(cls, file: str, text: str, catalogue: Catalogue = DEFAULT_CATALOGUE) -> LintContext:
        return cls(file=file, lines=text.splitlines(), catalogue=catalogue)

    def error(self, node: Node | None, rule: str, message: str, hint: str = "",
              jenkins_block: Node | None = None) -> None:
        """An error at *node*; with *jenkins_block*, reported on that enclosing block as Jenkins does
        (ModelValidatorImpl attaches some errors to the container), with *node* kept as a related place."""
        self._add(node, rule, message, hint, "error", jenkins_block)

    def warning(self, node: Node | None, rule: str, message: str, hint: str = "") -> None:
        self._add(node, rule, message, hint, "warning")

    def _add(self, node: Node | None, rule: str, message: str, hint: str, severity: str,
             jenkins_block: Node | None = None) -> None:
        line, col = line_col(node) if node else (None, None)
        related: tuple[tuple[int, int | None], ...] = ()
        if jenkins_block is not None:
            block_line, block_col = line_col(jenkins_block)
            if block_line is not None and (block_line, block_col) != (line, col):
                related = ((line, col),) if line is not None else ()
                line, col = block_line, block_col
        self.findings.append(Finding(file=self.file, line=line, column=col, message=message, hint=hint, rule=rule,
                                     severity=severity, related=related))

    def source(self, node: Node) -> str:
        """The exact source text of *node* (Groovy's positions: 1-based, last column exclusive)."""
        pos = node.get("pos") or []
        if len(pos) < 4 or not all(isinstance(p, int) and p > 0 for p in pos):
            return ""
        line, col, last_line, last_col = pos
        if line > len(self.lines):
            return ""
        # Groovy's end position of a command-style call includes trailing blanks; they are not source text.
        if line == last_line:
            return self.lines[line - 1][col - 1 : last_col - 1].rstrip()
        parts = [self.lines[line - 1][col - 1 :]]
        parts.extend(self.lines[line : last_line - 1])
        if last_line - 1 < len(self.lines):
            parts.append(self.lines[last_line - 1][: last_col - 1])
        return "\n".join(parts).rstrip()

    def snippet(self, node: Node, limit: int = 60) -> str:
        """A one-line excerpt of *node*'s source for messages."""
        text = self.source(node).strip()
        first = text.splitlines()[0] if text else ""
        if len(first) > limit or first != text:
            return first[:limit].rstrip() + " ..."
        return first
