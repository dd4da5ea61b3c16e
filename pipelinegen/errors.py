"""Errors that a user can act on: each names the file, the line, the key path and a fix."""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

# Exit codes shared by every command (documented in README and docs/cli.md).
EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


# C0/C1 controls but tab and line feed (ESC sequences), DEL, and the bidi overrides/isolates of "Trojan source"
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Location:
    """Where a value of an input file came from."""

    file: str
    line: int  # 1-based


@dataclass(frozen=True)
class Finding:
    """One problem in one input file, located as precisely as we can."""

    file: str
    line: int | None
    message: str
    key_path: str = ""
    hint: str = ""
    column: int | None = None
    rule: str = ""
    severity: str = "error"
    # Further (line, column) places of the same problem in the same file, e.g. the precise element when the
    # finding itself stands where Jenkins reports it (on the enclosing block).
    related: tuple[tuple[int, int | None], ...] = ()

    def where(self) -> str:
        """FILE[:LINE[:COLUMN]], as compilers print it."""
        text = self.file
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text

    def format(self) -> str:
        """One line for a terminal: values quoted from input files cannot move the cursor, recolour the
        terminal or reorder the text (control and bidi characters are shown as escapes)."""
        text = f"{self.where()}: {self.severity}: "
        if self.key_path:
            text += f"{self.key_path}: "
        text += self.message
        if self.hint:
            text += f" — {self.hint}"
        if self.rule:
            text += f" [{self.rule}]"
        return _TERMINAL_UNSAFE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "severity": self.severity,
            "key_path": self.key_path,
            "message": self.message,
            "hint": self.hint,
            "related": [{"line": line, "column": column} for line, column in self.related],
        }


@dataclass
class PipelineError(Exception):
    """Bad input: carries every finding so that several errors are reported at once."""

    findings: list[Finding] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(f.format() for f in self.findings)

    @classmethod
    def single(cls, file: str, line: int | None, message: str, key_path: str = "", hint: str = "") -> PipelineError:
        return cls([Finding(file=file, line=line, message=message, key_path=key_path, hint=hint)])


# At most this many findings are printed as text: past it a reader scrolls past the cause to reach the count.
MAX_SHOWN = 20


def shown_findings(findings: list[Finding], limit: int = MAX_SHOWN) -> list[Finding]:
    """The findings a text report prints: errors first (in their order), then warnings, at most *limit*."""
    ordered = [f for f in findings if f.severity == "error"] + [f for f in findings if f.severity != "error"]
    return ordered[:limit]


def flood_summary(findings: list[Finding], limit: int = MAX_SHOWN, cause: str = "",
                  see_all: str = "--format json lists every one") -> list[str]:
    """Lines closing a report cut at *limit*: how many were not shown, where most of them are, the likely cause.

    Empty when everything was shown. *cause* is what the caller knows (e.g. generated/ compiled with another
    overlay set); otherwise the file and rule most findings share stand in for it.
    """
    hidden = len(findings) - limit
    if hidden <= 0:
        return []
    total = len(findings)
    lines = [f"... {hidden:,} more not shown ({total:,} findings" + (f"; {see_all})" if see_all else ")")]
    if cause:
        lines.append(f"likely cause of {total:,} findings: {cause}")
        return lines
    by_file = Counter(f.file for f in findings).most_common(1)[0]
    by_rule = Counter(f.rule for f in findings).most_common(1)[0]
    if by_file[1] * 2 > total or by_rule[0] and by_rule[1] * 2 > total:
        kind = f", {by_rule[1]:,} [{by_rule[0]}]" if by_rule[0] else ""
        lines.append(f"most are alike: {by_file[1]:,} in {by_file[0]}{kind} — fix the first ones shown and run again")
    return lines


def suggest(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str:
    """A 'did you mean' hint, or '' when nothing is close."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
