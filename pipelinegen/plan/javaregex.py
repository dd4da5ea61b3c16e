"""The custom-profile regexp runs in Java (Jenkins) and in Python (plan, local run): accept only the
common subset, so both select the same steps. Anything whose meaning differs is refused with why."""

from __future__ import annotations

import re
import warnings

# (pattern over the regexp text, why it is refused)
_DIFFERENCES: tuple[tuple[str, str], ...] = (
    # checked first: `\p{Alpha}+` is a Unicode class, not a possessive quantifier
    (r"\\[pP]\{", "Unicode classes \\p{...} are Java-only"),
    (r"\\0", "\\0 is an octal escape in Java (\\0n, and a bare \\0 is an error) but NUL in Python"),
    (r"\[[^\]]*\[", "a [ inside a character class nests a class in Java but is a literal [ in Python"),
    (r"\(\?P[<=>]", "Python named groups (?P<..>) do not exist in Java; use (?<name>...) or no group name"),
    (r"\(\?\(", "conditional groups (?(...)) do not exist in Java"),
    (r"\(\?[a-zA-Z]*[aLu]", "inline flags a, L and u differ between Python and Java"),
    (r"\(\?[imsx-]+[):]", "inline flags behave differently in Java and Python (scope, x-mode comments); drop them"),
    (r"(?<!\\)[*+?}]\+", "possessive quantifiers (*+, ++, ?+, {n}+) are refused: not portable to older Java/Python"),
    (r"\\[Zz]", "\\Z means end-of-input in Python but before-final-newline in Java; use $"),
    (r"\\[QE]", "\\Q...\\E quoting is Java-only"),
    (r"\[[^\]]*&&", "character-class intersection && is Java-only"),
    (r"\\[hHvVRX]", "\\h \\v \\R \\X have different or no meaning in Python"),
)


def java_regex_problem(pattern: str) -> str | None:
    """Why *pattern* may not behave the same in Java and Python, or None when it is in the shared subset."""
    for difference, why in _DIFFERENCES:
        if re.search(difference, pattern):
            return why
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # Python's "possible nested set" notice, handled above
            re.compile(pattern)
    except re.error as err:
        return f"not a valid regular expression: {err}"
    return None
