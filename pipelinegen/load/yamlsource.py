"""YAML that remembers where every value came from.

Mappings and sequences are loaded as `LocatedDict` / `LocatedList`, plain dict/list subclasses that
also record the (file, line) of each key or item. jsonschema and the model read them as ordinary
containers; error reporting asks them where a path came from. Booleans follow YAML 1.2 (only
true/false), so `cython: [no, yes]` stays strings instead of silently becoming False/True.
"""

from __future__ import annotations

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


def _build(node: yaml.Node, loader: _Yaml12Loader, file: str, errors: list[Finding]) -> Any:
    where = Location(file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        explicit: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key_text = str(loader.construct_object(key_node, deep=True))
            line = key_node.start_mark.line + 1
            if key_text in explicit:
                errors.append(
                    Finding(
                        file=file,
                        line=line,
                        message=f"duplicate key '{key_text}' (first at line {explicit[key_text]})",
                        hint="remove one of them; YAML would silently keep only the last",
                    )
                )
            explicit.setdefault(key_text, line)
        loader.flatten_mapping(node)  # resolves YAML merge keys (<<); explicit keys come last and win
        result = LocatedDict(origin=where)
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key_where = Location(file, key_node.start_mark.line + 1)
            if not isinstance(key, str):
                key = str(key)
            result[key] = _build(value_node, loader, file, errors)
            result.key_locations[key] = key_where
        return result
    if isinstance(node, yaml.SequenceNode):
        result_list = LocatedList(origin=where)
        for item in node.value:
            result_list.append(_build(item, loader, file, errors))
            result_list.item_locations.append(Location(file, item.start_mark.line + 1))
        return result_list
    return loader.construct_object(node, deep=True)


def load_located_text(text: str, file: str) -> Any:
    """Parse YAML text into Located containers; raise PipelineError naming file:line on bad YAML."""
    loader = _Yaml12Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise PipelineError.single(
            file, line, f"not valid YAML: {err.problem or err}", hint="check indentation and quoting near this line"
        ) from None
    finally:
        loader.dispose()
    if node is None:
        return LocatedDict(origin=Location(file, 1))
    errors: list[Finding] = []
    data = _build(node, _Yaml12Loader(""), file, errors)
    if errors:
        raise PipelineError(errors)
    return data


def load_located(path: Path, display_name: str | None = None) -> Any:
    """Read a YAML file into Located containers."""
    name = display_name or str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineError.single(name, None, "file not found", hint="check the path, or run with -C DIR") from None
    except UnicodeDecodeError as err:
        raise PipelineError.single(name, None, f"not UTF-8 text: {err}") from None
    return load_located_text(text, name)


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
            text += f"[{name}]" if isinstance(name, str) else f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
        if node is not None:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
    return text
