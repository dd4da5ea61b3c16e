"""Public API of the linter: `lint_files` for declarative Jenkinsfiles, `groovy_syntax_check` for any Groovy.

Both run one JVM for all the files they are given (pipelinegen.lint.groovy) and return
`pipelinegen.errors.Finding`s with a stable `rule` id; Groovy compile errors have rule "groovy-syntax".
"""

from __future__ import annotations

import re
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.lint.ast_cache import AstCache, cache_key
from pipelinegen.lint.catalogue import DEFAULT_CATALOGUE, Catalogue
from pipelinegen.lint.context import LintContext
from pipelinegen.lint.groovy import cache_dir, dump_asts, dumper_identity
from pipelinegen.lint.pipeline import lint_module

# Groovy repeats the position inside its messages; we report it in the Finding's own fields instead.
_POSITION_SUFFIX = re.compile(r"(\s*@ line \d+, column \d+\.?|\s*at line: \d+ column: \d+\. File: \S+)\s*$", re.S)


def _check_exist(paths: list[Path]) -> None:
    # Paths travel to the JVM one per line: a newline inside a name cannot be passed on.
    odd = [p for p in paths if "\n" in str(p) or "\r" in str(p)]
    if odd:
        raise PipelineError([Finding(file=repr(str(p)), line=None, message="file names with line breaks are not "
                                     "supported", hint="rename the file") for p in odd])
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise PipelineError([Finding(file=str(p), line=None, message="no such file", hint="check the path")
                             for p in missing])


def _syntax_findings(file: str, doc: dict) -> list[Finding]:
    out = []
    for err in doc.get("errors", []):
        message = _POSITION_SUFFIX.sub("", (err.get("message") or "").strip()).strip()
        out.append(Finding(file=file, line=err.get("line"), column=err.get("column"), rule="groovy-syntax",
                           message=f"Groovy compilation error: {message}",
                           hint="Jenkins compiles the file with Groovy 2.4 before anything else"))
    if doc.get("missing"):
        out.append(Finding(file=file, line=None, message="file disappeared while linting", rule="groovy-syntax"))
    return out


def _sorted(findings: list[Finding], order: dict[str, int]) -> list[Finding]:
    return sorted(findings, key=lambda f: (order.get(f.file, 0), f.line or 0, f.column or 0, f.rule))


def lint_text(file: str, text: str, doc: dict, catalogue: Catalogue = DEFAULT_CATALOGUE) -> list[Finding]:
    """The rules over one already-dumped AST (pure: no JVM, no file access)."""
    syntax = _syntax_findings(file, doc)
    if syntax:
        return syntax
    ctx = LintContext.for_text(file, text, catalogue)
    if not lint_module(ctx, doc, catalogue) and not ctx.findings:
        ctx.warning(None, "no-pipeline", "no declarative `pipeline { ... }` block found; only the Groovy syntax "
                    "was checked")
    return ctx.findings


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise PipelineError([Finding(file=str(path), line=None, message=f"cannot read: {err.strerror}",
                                     hint="check the path and its permissions")]) from err


def _dumps(paths: list[Path], contents: list[bytes], use_cache: bool) -> list[dict]:
    """One AST dump per path: from the content cache where the same bytes were parsed before, the rest from
    ONE JVM (none at all when every file is cached)."""
    if not use_cache:
        return dump_asts(paths)
    cache = AstCache(cache_dir() / "lint-ast")
    identity = dumper_identity()
    keys = [cache_key(content, identity) for content in contents]
    docs: list[dict | None] = [cache.get(key) for key in keys]
    misses = [i for i, doc in enumerate(docs) if doc is None]
    fresh = dump_asts([paths[i] for i in misses])
    store = {}
    for i, doc in zip(misses, fresh, strict=True):
        docs[i] = doc
        # Only a dump of the bytes we hashed is stored: the file may have changed while the JVM ran.
        if not doc.get("missing") and _read_quietly(paths[i]) == contents[i]:
            store[keys[i]] = doc
    cache.put(store)
    return docs  # type: ignore[return-value]


def _read_quietly(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def lint_paths(declarative: list[Path], syntax_only: list[Path] = (),
               catalogue: Catalogue = DEFAULT_CATALOGUE, use_cache: bool = False) -> list[Finding]:
    """Declarative rules for *declarative*, the Groovy syntax gate for *syntax_only*; ONE JVM for all of them
    (with *use_cache*, none for files whose exact bytes were parsed before)."""
    declarative = [Path(p) for p in declarative]
    syntax_only = [Path(p) for p in syntax_only]
    every = declarative + syntax_only
    _check_exist(every)
    contents = [_read(p) for p in every]
    findings: list[Finding] = []
    for i, (path, doc) in enumerate(zip(every, _dumps(every, contents, use_cache), strict=True)):
        if i < len(declarative):
            text = contents[i].decode("utf-8-sig", errors="replace")
            findings.extend(lint_text(str(path), text, doc, catalogue))
        else:
            findings.extend(_syntax_findings(str(path), doc))
    return _sorted(findings, {str(p): i for i, p in enumerate(every)})


def lint_files(paths: list[Path], catalogue: Catalogue = DEFAULT_CATALOGUE) -> list[Finding]:
    """Lint declarative Jenkinsfiles: Groovy syntax, then the declarative rules, for all files in one JVM."""
    return lint_paths(list(paths), [], catalogue)


def groovy_syntax_check(paths: list[Path]) -> list[Finding]:
    """Compile each file to CONVERSION with Groovy 2.4 (one JVM); one finding per compile error."""
    return lint_paths([], list(paths))
