"""Which overlays a checkout uses: the fork's own overlay list, found beside pipeline.yaml.

A downstream fork keeps upstream's pipeline.yaml untouched and names its overlays once, in
`pipelinegen.overlays.yaml` at the checkout root (the directory of pipeline.yaml):

    overlays:
      - ci/acme.yaml

Every command loads the pipeline through `load_pipeline`, which reads this file, so compile, plan,
validate, run, estimate, the clone and result bundles all see the same overlay set without `--overlay`.
The file is input from whoever controls the checkout: paths are relative, confined to the checkout
(no absolute path, no `..`, no symlink leading out), must name existing YAML files, and are bounded in number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipelinegen.errors import Finding, PipelineError, suggest
from pipelinegen.yamlsource import LocatedDict, LocatedList, Location, load_located

OVERLAYS_FILE = "pipelinegen.overlays.yaml"
# what `compile` records in generated/: the overlay set the files were generated with, one path a line
RECORDED_OVERLAYS_FILE = ".pipelinegen-overlays"
GENERATED_DIR = "generated"  # where compile writes by default (pipelinegen.generate uses this name too)
MAX_OVERLAYS = 32
MAX_PATH_LENGTH = 255
_KEYS = ("overlays",)
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class OverlaySet:
    """The overlays one load applies, in order, and where they were named."""

    declared_file: Path | None  # the checkout's pipelinegen.overlays.yaml, when there is one
    paths: tuple[Path, ...]  # in merge order: discovered first, then explicit --overlay


def confined_overlay(checkout: Path, text: str, where: Location, findings: list[Finding]) -> Path | None:
    """*text* as a path inside *checkout*, or None with a finding saying why not."""
    key = "overlays"

    def refuse(message: str, hint: str) -> None:
        findings.append(Finding(file=where.file, line=where.line, key_path=key, message=message, hint=hint))

    if not text or len(text) > MAX_PATH_LENGTH or any(ord(ch) < 32 or ch == "\x7f" for ch in text) or "\\" in text:
        refuse(f"{text[:60]!r} is not a usable path", "write a relative path with '/' separators, e.g. ci/acme.yaml")
        return None
    posix = PurePosixPath(text)
    if posix.is_absolute() or text.startswith("~"):
        refuse(f"'{text}' is absolute: overlay paths are relative to the checkout", "write it relative to this file's directory")
        return None
    if ".." in posix.parts:
        refuse(f"'{text}' leaves the checkout ('..')", "keep the fork's overlays inside the checkout")
        return None
    if posix.suffix not in _SUFFIXES:
        refuse(f"'{text}' is not a .yaml/.yml file", "name the overlay YAML file itself")
        return None
    path = checkout / Path(*posix.parts)
    root = checkout.resolve()
    resolved = path.resolve()
    if not resolved.is_relative_to(root):  # a symlink inside the checkout pointing out of it
        refuse(f"'{text}' resolves outside the checkout (a symlink?)", "keep the fork's overlays inside the checkout")
        return None
    if not resolved.is_file():
        # near misses in the directory it names (not a walk of the whole checkout: Cassandra's is large)
        folder = path.parent if path.parent.is_dir() and path.parent.resolve().is_relative_to(root) else checkout
        candidates = [p.relative_to(checkout).as_posix() for p in sorted(folder.glob("*.y*ml"))[:500] if p.is_file()]
        refuse(f"'{text}': file not found", suggest(text, candidates) or "check the path (relative to this file)")
        return None
    return path


def read_overlays_file(checkout: Path) -> tuple[Path | None, list[Path]]:
    """The overlays *checkout*'s pipelinegen.overlays.yaml lists (none when there is no such file)."""
    declared = checkout / OVERLAYS_FILE
    if not declared.is_file():
        return None, []
    from pipelinegen.fsutil import display_path  # noqa: PLC0415 - keep this module's import list short

    display = display_path(declared)
    data = load_located(declared, display)
    origin = Location(display, 1)
    findings: list[Finding] = []
    if not isinstance(data, dict):
        raise PipelineError.single(display, 1, "expected a mapping with an `overlays:` list", hint="overlays:\n  - ci/fork.yaml")
    for key in data:
        if key not in _KEYS:
            where = data.location_of(key) if isinstance(data, LocatedDict) else origin
            findings.append(Finding(display, where.line, f"unknown key '{key}'", key_path=str(key),
                                    hint=suggest(str(key), _KEYS) or "the only key is `overlays`"))
    listed = data.get("overlays") or []
    if not isinstance(listed, list):
        where = data.location_of("overlays") if isinstance(data, LocatedDict) else origin
        findings.append(Finding(display, where.line, "`overlays` must be a list of paths", key_path="overlays"))
        listed = []
    if len(listed) > MAX_OVERLAYS:
        findings.append(Finding(display, origin.line, f"{len(listed)} overlays listed; at most {MAX_OVERLAYS}", key_path="overlays"))
        listed = []
    paths: list[Path] = []
    for index, item in enumerate(listed):
        where = listed.location_of(index) if isinstance(listed, LocatedList) else origin
        if not isinstance(item, str):
            findings.append(Finding(display, where.line, f"overlay {index + 1}: expected a path, found {item!r:.60}",
                                    key_path="overlays", hint="write a relative path, e.g. ci/acme.yaml"))
            continue
        path = confined_overlay(checkout, item, where, findings)
        if path is None:
            continue
        if path in paths:
            findings.append(Finding(display, where.line, f"'{item}' is listed twice", key_path="overlays"))
            continue
        paths.append(path)
    if findings:
        raise PipelineError(findings)
    return declared, paths


def overlay_set(pipeline_path: Path, listed_in_pipeline: Sequence[Path], explicit: Sequence[Path]) -> OverlaySet:
    """The overlays a load applies: pipeline.yaml's own list, then the checkout's overlays file, then --overlay.

    An explicit --overlay naming a file already in the set is not applied twice (the fork's CI scripts
    may still pass it); any other explicit overlay applies after the declared ones, so it wins.
    """
    declared, discovered = read_overlays_file(Path(pipeline_path).parent)
    ordered: list[Path] = []
    seen: set[Path] = set()
    for path in (*listed_in_pipeline, *discovered, *map(Path, explicit)):
        key = path.resolve()
        if key in seen:
            continue
        seen.add(key)
        ordered.append(path)
    return OverlaySet(declared_file=declared, paths=tuple(ordered))


@dataclass(frozen=True)
class CompileRecord:
    """What `compile` recorded in generated/.pipelinegen-overlays."""

    overlays: tuple[str, ...]  # checkout-relative, in merge order
    upstream: dict[str, tuple[str, ...]]  # section (steps, profiles, ...) -> names pipeline.yaml itself had


_RECORD_HEAD = (
    "# written by pipelinegen compile: the overlays merged onto pipeline.yaml, in order, then the names\n"
    "# pipeline.yaml itself had, so that an overlay naming one gone since is explained as an upstream change\n"
)


def render_record(overlays: Sequence[str], upstream: Sequence[tuple[str, str]]) -> bytes:
    lines = [f"overlay: {name}" for name in overlays] + [f"{section}: {name}" for section, name in upstream]
    return (_RECORD_HEAD + "".join(f"{line}\n" for line in lines)).encode("utf-8")


def read_record(generated_dir: Path) -> CompileRecord | None:
    """generated/'s record, or None when there is none (or it is unreadable: it only informs messages)."""
    record = Path(generated_dir) / RECORDED_OVERLAYS_FILE
    try:
        if not record.is_file() or record.stat().st_size > 1 << 20:
            return None
        text = record.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    overlays: list[str] = []
    upstream: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if not sep or line.startswith("#") or any(ord(ch) < 32 or ch == "\x7f" for ch in value):
            continue  # printed in messages: no terminal escape sequences
        if key == "overlay":
            overlays.append(value)
        else:
            upstream.setdefault(key, []).append(value)
    return CompileRecord(tuple(overlays), {k: tuple(v) for k, v in upstream.items()})


def recorded_overlays(generated_dir: Path) -> list[str] | None:
    """The overlay set generated/ was compiled with (checkout-relative paths), or None when not recorded."""
    record = read_record(generated_dir)
    return None if record is None else list(record.overlays)


def checkout_name(checkout: Path, path: Path) -> str:
    """How an overlay is named in generated/'s record: relative to the checkout, '/'-separated."""
    try:
        return Path(path).resolve().relative_to(Path(checkout).resolve()).as_posix()
    except ValueError:
        return Path(path).resolve().as_posix()


def describe_overlays(names: list[str] | tuple[str, ...]) -> str:
    return ", ".join(names) if names else "no overlay"


def overlay_mismatch(overlays: tuple[str, ...], out_dir: Path) -> str:
    """One line when *out_dir* was compiled with another overlay set than *overlays*; "" when they agree.

    Run without --overlay (and without the fork's pipelinegen.overlays.yaml) against a fork's generated/,
    every check disagrees on thousands of cells: this line names the real cause first.
    """
    recorded = recorded_overlays(out_dir)
    if recorded is None or tuple(recorded) == tuple(overlays):
        return ""
    return (f"{out_dir}/ was compiled with {describe_overlays(recorded)}; this command uses {describe_overlays(overlays)} "
            f"(list a fork's overlays once in {OVERLAYS_FILE}, or pass the same --overlay)")
