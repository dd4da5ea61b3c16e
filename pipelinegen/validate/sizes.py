"""Layer 4: size guard. Jenkins refuses a script whose CPS-transformed method exceeds 64 KB of JVM bytecode
("Method code too large") and slows down on very large scripts; both fail only on the controller. We
cannot run the CPS transform offline, so we measure source sizes and warn well before the limits: the
transform multiplies bytecode several times over, so a method-like block is flagged at a quarter of 64 KB
of *source*, and a whole script at 256 KB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from pipelinegen.errors import Finding

METHOD_WARN_BYTES = 16 * 1024
SCRIPT_WARN_BYTES = 256 * 1024
RESOURCE_WARN_BYTES = 8 * 1024 * 1024  # libraryResource reads the whole file into one String on the controller
RULE = "size"

# `pipeline {`, `stage('x') {`, `void call(String s) {`, `static Map selectCells(Map a, Map b) {`
_BLOCK_START = re.compile(
    r"^[ \t]*(?:(?:@\w+\s+)*(?:(?:public|private|protected|static|final|def|void|[A-Z][\w.<>,\[\] ]*)\s+)+"
    r"(?P<method>\w+)\s*\([^;{]*\)\s*\{|(?P<block>pipeline)\s*\{)",
    re.M,
)


@dataclass(frozen=True)
class FileSize:
    file: str
    bytes: int
    largest_block: str  # "" when the file has no method-like block
    largest_block_bytes: int
    largest_block_line: int | None
    largest_method: str = ""  # by JVM bytecode (filled when the harness JVM measured it)
    largest_method_bytecode: int = 0


def _block_end(text: str, open_brace: int) -> int:
    """Index after the brace matching text[open_brace], skipping strings and comments."""
    depth, i, n = 0, open_brace, len(text)
    while i < n:
        if text.startswith(("'''", '"""'), i):
            end = text.find(text[i : i + 3], i + 3)
            i = n if end < 0 else end + 3
            continue
        char = text[i]
        if char in "'\"":
            j = i + 1
            while j < n and text[j] != char and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return n


def measure_groovy(path: Path, display: str) -> FileSize:
    text = path.read_text(encoding="utf-8", errors="replace")
    best_name, best_size, best_line = "", 0, None
    for match in _BLOCK_START.finditer(text):
        name = match.group("method") or match.group("block")
        end = _block_end(text, match.end() - 1)
        size = len(text[match.start() : end].encode("utf-8"))
        if size > best_size:
            best_name, best_size, best_line = name, size, text.count("\n", 0, match.start()) + 1
    return FileSize(display, len(text.encode("utf-8")), best_name, best_size, best_line)


def measure(generated: Path) -> list[FileSize]:
    """Every generated file: Groovy files with their largest method-like block, others by size only."""
    out = []
    for path in sorted(p for p in generated.rglob("*") if p.is_file() and not p.name.startswith(".")):
        display = path.as_posix()
        if path.suffix == ".groovy" or path.name == "Jenkinsfile":
            out.append(measure_groovy(path, display))
        else:
            out.append(FileSize(display, path.stat().st_size, "", 0, None))
    return out


def with_bytecode(sizes: list[FileSize], methods: list) -> list[FileSize]:
    """*sizes* with each Groovy file's largest method by bytecode (`execution.MethodBytes` records)."""
    largest: dict[str, object] = {}
    for method in methods:
        key = Path(method.file).as_posix()
        if key not in largest or method.bytes > largest[key].bytes:
            largest[key] = method
    return [replace(size, largest_method=f"{largest[size.file].class_name}.{largest[size.file].method}",
                    largest_method_bytecode=largest[size.file].bytes) if size.file in largest else size
            for size in sizes]


def size_findings(sizes: list[FileSize]) -> list[Finding]:
    findings = []
    for size in sizes:
        groovy = size.largest_block or size.file.endswith((".groovy", "Jenkinsfile"))
        if size.largest_block_bytes > METHOD_WARN_BYTES:
            findings.append(Finding(size.file, size.largest_block_line,
                                    f"'{size.largest_block}' is {size.largest_block_bytes} bytes of source; Jenkins "
                                    f"fails when one CPS-transformed method passes 64 KB of bytecode",
                                    hint="move work into the library (vars/*.groovy, @NonCPS) or plan data",
                                    rule=RULE, severity="warning"))
        if size.largest_method_bytecode > METHOD_WARN_BYTES:
            findings.append(Finding(size.file, None,
                                    f"method {size.largest_method} compiles to {size.largest_method_bytecode} bytes of "
                                    "bytecode before the CPS transform, which multiplies it; Jenkins fails at 64 KB",
                                    hint="split it, or move work into @NonCPS helpers or plan data", rule=RULE,
                                    severity="warning"))
        limit = SCRIPT_WARN_BYTES if groovy else RESOURCE_WARN_BYTES
        if size.bytes > limit:
            findings.append(Finding(size.file, None, f"{size.bytes} bytes (warning above {limit})",
                                    hint="Jenkins holds the whole file in controller memory", rule=RULE,
                                    severity="warning"))
    return findings
