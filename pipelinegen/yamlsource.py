"""YAML that remembers where every value came from.

Mappings and sequences are loaded as `LocatedDict` / `LocatedList`, plain dict/list subclasses that
also record the (file, line) of each key or item. jsonschema and the model read them as ordinary
containers; error reporting asks them where a path came from. Booleans follow YAML 1.2 (only
true/false), so `cython: [no, yes]` stays strings instead of silently becoming False/True.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from pipelinegen.errors import Finding, Location, PipelineError


class LocatedDict(dict):
    """A mapping with the location of the mapping itself and of each key."""

    origin: Location
    key_locations: dict[str, Location]

    def __init__(self, *args: Any, origin: Location | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origin = origin or Location("<unknown>", 0)
        self.key_locations = {}

    def location_of(self, key: str) -> Location:
        return self.key_locations.get(key, self.origin)


class LocatedList(list):
    """A sequence with the location of the sequence itself and of each item."""

    origin: Location
    item_locations: list[Location]

    def __init__(self, *args: Any, origin: Location | None = None) -> None:
        super().__init__(*args)
        self.origin = origin or Location("<unknown>", 0)
        self.item_locations = []

    def location_of(self, index: int) -> Location:
        if 0 <= index < len(self.item_locations):
            return self.item_locations[index]
        return self.origin


class _Yaml12Loader(yaml.SafeLoader):
    """SafeLoader whose booleans are YAML 1.2's: only true/false (yes/no/on/off stay strings)."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


# Bounds on any YAML input (docs/security.md): a pipeline.yaml of a real project is a few hundred
# lines; these stop alias bombs, /dev/zero and stack exhaustion within a second or two.
MAX_FILE_BYTES = 1 << 20  # 1 MiB
MAX_DEPTH = 64  # nested mappings/sequences
MAX_NODES = 100_000  # values after alias and merge-key expansion


class _LimitExceeded(yaml.MarkedYAMLError):
    """A bound of ours, at the mark where it was crossed."""

    def __init__(self, message: str, mark: Any, hint: str) -> None:
        super().__init__(problem=message, problem_mark=mark)
        self.hint = hint


class _BoundedLoader(_Yaml12Loader):
    """Composes at most MAX_DEPTH levels and MAX_NODES nodes (PyYAML's composer recurses per level)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(f"nested deeper than {MAX_DEPTH} levels", self.peek_event().start_mark,
                                     "flatten the structure; a pipeline needs a handful of levels")
            if self._nodes > MAX_NODES:
                raise _LimitExceeded(f"more than {MAX_NODES} values", self.peek_event().start_mark,
                                     "split the file into overlays, or remove generated bulk")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _Builder:
    """Turns the composed node graph into Located containers, expanding aliases and merge keys
    within MAX_NODES / MAX_DEPTH, refusing recursive aliases and non-scalar keys."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.loader = _Yaml12Loader("")
        self.errors: list[Finding] = []
        self.built = 0
        self.active: set[int] = set()  # nodes being built: meeting one again is a recursive alias

    def fail(self, node: yaml.Node, message: str, hint: str) -> PipelineError:
        return PipelineError.single(self.file, node.start_mark.line + 1, message, hint=hint)

    def scalar_key(self, key_node: yaml.Node) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            raise self.fail(key_node, "a key must be a plain scalar, not a mapping or list",
                            "write the key as text, e.g. `name:`")
        key = self.construct(key_node)
        return key if isinstance(key, str) else str(key)

    def construct(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as err:
            raise self.fail(node, f"cannot read this value: {getattr(err, 'problem', None) or err}",
                            "remove the tag, or quote the value") from None
        except ValueError as err:  # e.g. an integer of more than 4300 digits
            raise self.fail(node, f"cannot read this value: {str(err)[:120]}", "use a smaller number") from None

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        self.built += 1
        if self.built > MAX_NODES:
            raise self.fail(node, f"expands to more than {MAX_NODES} values (aliases or merge keys)",
                            "an alias (*name) copies its whole anchor each time it is used: use fewer")
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nested deeper than {MAX_DEPTH} levels (through aliases)", "flatten the structure")
        if isinstance(node, yaml.ScalarNode):
            return self.construct(node)
        if id(node) in self.active:
            raise self.fail(node, "recursive alias: this value contains itself",
                            "an alias (*name) must not be used inside its own anchor (&name)")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, depth)
            if isinstance(node, yaml.SequenceNode):
                where = Location(self.file, node.start_mark.line + 1)
                result = LocatedList(origin=where)
                for item in node.value:
                    result.append(self.build(item, depth + 1))
                    result.item_locations.append(Location(self.file, item.start_mark.line + 1))
                return result
        finally:
            self.active.discard(id(node))
        raise self.fail(node, "unsupported YAML node", "use mappings, lists and scalars")

    def merge_sources(self, value_node: yaml.Node, depth: int) -> list[LocatedDict]:
        """The mappings a `<<` key merges, earliest first (YAML: an earlier one wins)."""
        nodes = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
        sources = []
        for item in nodes:
            if not isinstance(item, yaml.MappingNode):
                raise self.fail(value_node, "`<<` (merge key) must name a mapping or a list of mappings",
                                "write `<<: *anchor` where &anchor marks a mapping")
            sources.append(self.build(item, depth + 1))
        return sources

    def mapping(self, node: yaml.MappingNode, depth: int) -> LocatedDict:
        result = LocatedDict(origin=Location(self.file, node.start_mark.line + 1))
        merged: list[LocatedDict] = []
        explicit: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merged.extend(self.merge_sources(value_node, depth))
                continue
            key = self.scalar_key(key_node)
            line = key_node.start_mark.line + 1
            if key in explicit:
                self.errors.append(
                    Finding(
                        file=self.file,
                        line=line,
                        message=f"duplicate key {key[:60]!r} (first at line {explicit[key]})",
                        hint="remove one of them; YAML would silently keep only the last",
                    )
                )
            explicit.setdefault(key, line)
            result[key] = self.build(value_node, depth + 1)
            result.key_locations[key] = Location(self.file, line)
        if not merged:
            return result
        # as PyYAML orders them: merged keys first (an earlier mapping wins), explicit keys override in place
        combined = LocatedDict(origin=result.origin)
        for source in merged:
            for key, value in source.items():
                if key not in combined:
                    combined[key] = value
                    combined.key_locations[key] = source.location_of(key)
        for key, value in result.items():
            combined[key] = value
            combined.key_locations[key] = result.key_locations[key]
        return combined


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, max(0, index)) + 1


def load_located_text(text: str, file: str) -> Any:
    """Parse YAML text into Located containers; raise PipelineError naming file:line on bad YAML."""
    if len(text) > MAX_FILE_BYTES:
        raise PipelineError.single(file, None, f"larger than {MAX_FILE_BYTES >> 20} MiB",
                                   hint="a pipeline definition is a few KB: split it, or check the file is the right one")
    loader = None
    try:
        loader = _BoundedLoader(text.removeprefix("\ufeff"))  # the reader refuses NUL etc. right here
        node = loader.get_single_node()
    except _LimitExceeded as err:
        line = err.problem_mark.line + 1 if err.problem_mark else None
        raise PipelineError.single(file, line, str(err.problem), hint=err.hint) from None
    except yaml.reader.ReaderError as err:
        code = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "?")
        bad = f"U+{code:04X}"
        raise PipelineError.single(file, _line_of(text, err.position), f"not valid YAML: the character {bad} is not allowed",
                                   hint="remove it: YAML files hold printable text only") from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise PipelineError.single(
            file, line, f"not valid YAML: {err.problem or err}", hint="check indentation and quoting near this line"
        ) from None
    except (yaml.YAMLError, RecursionError) as err:
        raise PipelineError.single(file, None, f"not valid YAML: {str(err)[:200]}", hint="check the file's structure") from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return LocatedDict(origin=Location(file, 1))
    builder = _Builder(file)
    data = builder.build(node)
    if builder.errors:
        raise PipelineError(builder.errors)
    return data


def read_yaml_text(path: Path, display_name: str | None = None) -> str:
    """The text of a YAML input file: a regular file of at most MAX_FILE_BYTES, UTF-8; PipelineError otherwise."""
    name = display_name or str(path)
    try:
        # O_NONBLOCK: a FIFO must not hang the open; fstat then refuses anything but a regular file
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except FileNotFoundError:
        raise PipelineError.single(name, None, "file not found", hint="check the path, or run with -C DIR") from None
    except OSError as err:
        raise PipelineError.single(name, None, f"cannot read: {err.strerror}", hint="check the path and its permissions") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PipelineError.single(name, None, "not a regular file (a directory, device or pipe)",
                                       hint="name the YAML file itself")
        try:
            data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as err:
            raise PipelineError.single(name, None, f"cannot read: {err.strerror}", hint="check the file") from None
    if len(data) > MAX_FILE_BYTES:
        raise PipelineError.single(name, None, f"larger than {MAX_FILE_BYTES >> 20} MiB",
                                   hint="a pipeline definition is a few KB: split it, or check the file is the right one")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise PipelineError.single(name, line, f"not UTF-8 text: byte 0x{data[err.start]:02x} cannot be decoded",
                                   hint="save the file as UTF-8") from None


def load_located(path: Path, display_name: str | None = None) -> Any:
    """Read a YAML file (read_yaml_text's bounds) into Located containers."""
    name = display_name or str(path)
    return load_located_text(read_yaml_text(path, name), name)


def locate(data: Any, path: tuple[Any, ...] | list[Any]) -> Location | None:
    """The location of the value at *path* (keys and indices), or of its deepest located ancestor."""
    best: Location | None = getattr(data, "origin", None)
    node = data
    for part in path:
        if isinstance(node, LocatedDict) and part in node:
            best = node.location_of(part)
            node = node[part]
        elif isinstance(node, LocatedList) and isinstance(part, int) and 0 <= part < len(node):
            best = node.location_of(part)
            node = node[part]
        else:
            break
    return best


def format_path(path: tuple[Any, ...] | list[Any], data: Any = None) -> str:
    """`steps[test].splits` style: list items named by their `name` where they have one."""
    text = ""
    node = data
    for part in path:
        if isinstance(part, int):
            name = None
            if isinstance(node, list) and 0 <= part < len(node) and isinstance(node[part], dict):
                name = node[part].get("name")
            readable = isinstance(name, str) and len(name) <= 64 and name.isprintable() and name.isascii()
            text += f"[{name}]" if readable else f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        if node is not None:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
    return text
