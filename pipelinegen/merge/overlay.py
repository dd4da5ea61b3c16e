"""Overlays: how a downstream fork changes pipeline.yaml without forking it.

Semantics (documented in docs/pipeline-yaml.md):
- mappings deep-merge; a scalar or a plain list in the overlay replaces the base value;
- lists of named items (mappings with `name`) merge by name: a known name is deep-merged into the
  base item, an unknown name is appended as a new item;
- markers: `$remove: true` on a named item deletes it; `$replace: true` on a named item or mapping
  replaces it instead of merging; a plain list given as `{$append: [...], $remove: [...]}` edits it;
- removing a step also removes it from every profile's step list (a fork dropping `redhat` should not
  have to edit every profile), and that is reported as a note;
- a marker naming something that does not exist, or a mapping merged onto a scalar (or the reverse),
  is an error naming the overlay file and line.
Overlays apply in order; a later overlay wins over an earlier one.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from pipelinegen.errors import Finding, PipelineError, suggest
from pipelinegen.yamlsource import LocatedDict, LocatedList, Location

REMOVE = "$remove"
REPLACE = "$replace"
APPEND = "$append"
MARKERS = {REMOVE, REPLACE, APPEND}

# A new named item needs one of these keys; an overlay item without any of them (or editing a list with
# $append/$remove) changes an item the base must have, so a missing name means upstream renamed or removed it.
NEW_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "steps": ("kind",),
    "axes": ("values", "values_from"),
    "resources": ("label",),
    "profiles": ("steps", "extends", "custom"),
    "repositories": ("url",),
    "parameters": ("type",),
}
_ITEM_WORD = {"steps": "step", "axes": "axis", "resources": "resource class", "profiles": "profile",
              "repositories": "repository", "parameters": "parameter"}


def _edits_missing_item(section: str, item: dict) -> bool:
    """Is *item* (of a named list, not in the base) a change to an existing item rather than a new one?"""
    if section not in NEW_ITEM_KEYS or item.get(REPLACE) is True:
        return False
    edits_a_list = any(isinstance(v, dict) and set(v) & {APPEND, REMOVE} for v in item.values())
    return edits_a_list or not any(key in item for key in NEW_ITEM_KEYS[section])


def _rename_score(old: str, candidate: dict) -> float:
    """How likely *candidate* (an item new upstream) is the renamed *old*: similar name, shared name token,
    or its command still mentioning the old name (`redhat` -> `rpm` running build-redhat.sh)."""
    name = str(candidate.get("name", ""))
    score = difflib.SequenceMatcher(None, old, name).ratio()
    tokens = set(re.split(r"[-_.]", name))
    if old in tokens or set(re.split(r"[-_.]", old)) <= tokens:
        score += 1
    if old in str(candidate.get("command", "")):
        score += 1
    return score


def _gone_message(section: str, name: str, base: Any, action: str,
                  previous: dict[str, tuple[str, ...]] | None) -> tuple[str, str]:
    """'step 'x' is not in pipeline.yaml any more', the upstream change and the fix, for an overlay entry
    naming a missing item. *previous*: the names pipeline.yaml had when generated/ was compiled."""
    word = _ITEM_WORD.get(section, "item")
    base_file = getattr(getattr(base, "origin", None), "file", "") or "the base pipeline"
    items = [i for i in base if isinstance(i, dict)]
    names = [str(i.get("name")) for i in items]
    before = (previous or {}).get(section)
    if before is not None and name in before:
        new = [i for i in items if str(i.get("name")) not in before]
        gone = [n for n in before if n not in names]
        change = f"since generated/ was compiled, upstream removed {', '.join(repr(n) for n in gone)}"
        change += f" and added {', '.join(repr(str(i.get('name'))) for i in new)}" if new else ""
        scored = sorted(((_rename_score(name, i), str(i.get("name"))) for i in new), reverse=True)
        close = f"did you mean '{scored[0][1]}'?" if scored and scored[0][0] >= 0.5 else ""
        message = f"{word} '{name}' is not in {base_file} any more, but this overlay {action} it ({change})"
    else:
        close = suggest(str(name), names)
        message = f"{word} '{name}' is not in {base_file}, but this overlay {action} it (did upstream rename or remove it?)"
    if close:
        hint = f"{close} If so, use the new name here; if the {word} is gone, delete this entry"
    else:
        hint = f"if the {word} was renamed, use its new name here; if it is gone, delete this entry"
    if section == "steps" and action != "lists":
        hint += " (and from the profiles that list it)"
    return message, hint


@dataclass
class MergeResult:
    data: Any
    notes: list[str] = field(default_factory=list)


def _is_named_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(i, dict) and "name" in i for i in value)


def _strip_markers(value: Any) -> Any:
    """A copy of an overlay value with its markers removed (for items new to the base)."""
    if isinstance(value, LocatedDict):
        out = LocatedDict(origin=value.origin)
        for key, item in value.items():
            if key in (REPLACE,):
                continue
            out[key] = _strip_markers(item)
            out.key_locations[key] = value.location_of(key)
        return out
    if isinstance(value, LocatedList):
        out_list = LocatedList(origin=value.origin)
        for index, item in enumerate(value):
            out_list.append(_strip_markers(item))
            out_list.item_locations.append(value.location_of(index))
        return out_list
    return value


class _Merger:
    def __init__(self, previous: dict[str, tuple[str, ...]] | None = None) -> None:
        self.previous = previous
        self.errors: list[Finding] = []
        self.notes: list[str] = []
        self.removed_steps: list[tuple[str, Location]] = []

    def error(self, where: Location, key_path: str, message: str, hint: str = "") -> None:
        self.errors.append(Finding(file=where.file, line=where.line, key_path=key_path, message=message, hint=hint))

    def merge(self, base: Any, over: Any, where: Location, key_path: str) -> Any:
        if isinstance(over, dict) and set(over) & {APPEND, REMOVE} and not isinstance(base, dict) and "name" not in over:
            return self.edit_list(base, over, where, key_path)
        if isinstance(over, dict) and over.get(REPLACE) is True:
            return _strip_markers(over)
        if isinstance(over, dict) and REPLACE in over and "name" not in over:
            self.error(where, key_path, f"$replace: expected true, found {over[REPLACE]!r}", "write `$replace: true`")
            return base
        if isinstance(base, dict) and isinstance(over, dict):
            return self.merge_maps(base, over, key_path)
        if _is_named_list(base) and isinstance(over, list) and all(isinstance(i, dict) and "name" in i for i in over):
            return self.merge_named(base, over, key_path)
        typos = sorted(k for k in over if str(k).startswith("$") and k not in MARKERS) if isinstance(over, dict) else []
        if typos and isinstance(base, list):  # e.g. {$apend: [...]}: name the typo, not the shape conflict it causes
            self.error(where, key_path, f"unknown list marker {typos[0]!r}",
                       suggest(typos[0], sorted(MARKERS)) or "use $append or $remove")
            return base
        if isinstance(base, dict) != isinstance(over, dict) and base is not None:
            self.error(
                where,
                key_path,
                f"cannot merge {'a mapping' if isinstance(over, dict) else 'a value'} onto "
                f"{'a mapping' if isinstance(base, dict) else 'a value'}",
                "use the same shape as pipeline.yaml, or mark the overlay value with '$replace: true'",
            )
            return base
        return _strip_markers(over)

    def edit_list(self, base: Any, over: dict, where: Location, key_path: str) -> Any:
        unknown = set(over) - {APPEND, REMOVE}
        if unknown:
            self.error(where, key_path, f"unknown list marker(s): {', '.join(sorted(unknown))}", "use $append or $remove")
        if base is not None and not isinstance(base, list):
            self.error(where, key_path, "$append/$remove edit a list, but pipeline.yaml has a single value here",
                       "give the value itself, or mark it with '$replace: true'")
            return base
        not_lists = [m for m in (APPEND, REMOVE) if m in over and not isinstance(over[m], (list, type(None)))]
        if not_lists:
            self.error(over.location_of(not_lists[0]) if isinstance(over, LocatedDict) else where, key_path,
                       f"{not_lists[0]}: expected a list, found {type(over[not_lists[0]]).__name__}",
                       f"write `{not_lists[0]}: [item, ...]`")
            return base
        result = LocatedList(origin=getattr(base, "origin", where))
        items = list(base or [])
        locations = [getattr(base, "location_of", lambda i: where)(i) for i in range(len(items))]
        for value in over.get(REMOVE, []) or []:
            if value not in items:
                hint = suggest(str(value), [str(i) for i in items])
                self.error(over.location_of(REMOVE), key_path, f"$remove: {value!r} is not in the list", hint)
                continue
            index = items.index(value)
            del items[index]
            del locations[index]
        append_loc = over.location_of(APPEND) if isinstance(over, LocatedDict) else where
        for value in over.get(APPEND, []) or []:
            if value in items:
                self.error(append_loc, key_path, f"$append: {value!r} is already in the list")
                continue
            items.append(value)
            locations.append(append_loc)
        result.extend(items)
        result.item_locations = locations
        return result

    def merge_maps(self, base: dict, over: dict, key_path: str) -> LocatedDict:
        result = LocatedDict(origin=getattr(base, "origin", None))
        base_locations = getattr(base, "key_locations", {})
        for key, value in base.items():
            result[key] = value
            if key in base_locations:
                result.key_locations[key] = base_locations[key]
        for key, value in over.items():
            if key in MARKERS:
                continue
            where = over.location_of(key) if isinstance(over, LocatedDict) else Location("<overlay>", 0)
            child_path = f"{key_path}.{key}" if key_path else key
            if isinstance(value, dict) and value.get(REMOVE) is True and "name" not in value:
                if key in result:
                    del result[key]
                    result.key_locations.pop(key, None)
                else:
                    self.error(where, child_path, f"$remove: there is no '{key}' to remove", suggest(key, list(result)))
                continue
            result[key] = self.merge(result.get(key), value, where, child_path) if key in result else _strip_markers(value)
            result.key_locations[key] = where
        return result

    def merge_named(self, base: list, over: list, key_path: str) -> LocatedList:
        result = LocatedList(origin=getattr(base, "origin", None))
        items = list(base)
        locations = [base.location_of(i) if isinstance(base, LocatedList) else Location("<base>", 0) for i in range(len(base))]
        names = [item["name"] for item in items]
        for index, item in enumerate(over):
            where = over.location_of(index) if isinstance(over, LocatedList) else Location("<overlay>", 0)
            name = item["name"]
            item_path = f"{key_path}[{name}]"
            not_true = [m for m in (REMOVE, REPLACE) if m in item and item[m] is not True]
            if not_true:  # `$remove: yes` (a string here) was silently ignored: the step stayed
                marker = not_true[0]
                self.error(where, item_path, f"{marker}: expected true, found {item[marker]!r}", f"write `{marker}: true`")
                continue
            if item.get(REMOVE) is True:
                if name not in names:
                    if key_path in NEW_ITEM_KEYS:
                        self.error(where, item_path, *_gone_message(key_path, name, base, "removes", self.previous))
                    else:
                        self.error(where, item_path, f"$remove: there is no item named '{name}'", suggest(str(name), names))
                    continue
                position = names.index(name)
                del items[position], locations[position], names[position]
                if key_path == "steps":
                    self.removed_steps.append((name, where))
                continue
            if name in names:
                position = names.index(name)
                items[position] = self.merge(items[position], item, where, item_path)
                locations[position] = where
            elif _edits_missing_item(key_path, item):
                self.error(where, item_path, *_gone_message(key_path, name, base, "changes", self.previous))
            else:
                items.append(_strip_markers(item))
                locations.append(where)
                names.append(name)
        result.extend(items)
        result.item_locations = locations
        return result


def _drop_removed_steps(data: dict, removed: list[tuple[str, Location]], notes: list[str]) -> None:
    profiles = data.get("profiles") or []
    for name, where in removed:
        for profile in profiles:
            steps = profile.get("steps")
            if isinstance(steps, list) and name in steps:
                position = steps.index(name)
                del steps[position]
                if isinstance(steps, LocatedList) and position < len(steps.item_locations):
                    del steps.item_locations[position]
                notes.append(f"{where.file}:{where.line}: removed step '{name}' from profile '{profile.get('name')}'")


def merge_overlays(base: Any, overlays: list[Any], previous: dict[str, tuple[str, ...]] | None = None) -> MergeResult:
    """Apply each overlay document, in order, onto *base*; raise PipelineError naming the overlay line.

    *previous*: per section, the names the base had when generated/ was last compiled; an overlay entry
    naming one of them that the base lacks now is reported as an upstream rename or removal.
    """
    merger = _Merger(previous)
    data = copy.deepcopy(base)  # merging edits profile step lists in place; never touch the caller's data
    for overlay in overlays:
        if not isinstance(overlay, dict):
            where = getattr(overlay, "origin", Location("<overlay>", 0))
            merger.error(where, "", "an overlay must be a mapping at top level")
            continue
        merger.removed_steps = []
        data = merger.merge_maps(data, overlay, "")
        if merger.removed_steps:
            _drop_removed_steps(data, merger.removed_steps, merger.notes)
    if previous and overlays:
        _check_profile_steps(merger, base, data, previous)
    if merger.errors:
        raise PipelineError(merger.errors)
    return MergeResult(data=data, notes=merger.notes)


def _check_profile_steps(merger: _Merger, base: Any, data: dict, previous: dict[str, tuple[str, ...]]) -> None:
    """A profile step an overlay lists that upstream had when generated/ was compiled and has no more: the
    same explanation as for a step entry, instead of the model's plain 'unknown step'."""
    steps = data.get("steps") if isinstance(data.get("steps"), list) else []
    names = {str(item.get("name")) for item in steps if isinstance(item, dict)}
    base_file = getattr(getattr(base, "origin", None), "file", "")
    for profile in data.get("profiles") or []:
        listed = profile.get("steps") if isinstance(profile, dict) else None
        if not isinstance(listed, LocatedList):
            continue
        for index, step in enumerate(listed):
            where = listed.location_of(index)
            if not isinstance(step, str) or step in names or step not in previous.get("steps", ()) or where.file == base_file:
                continue
            message, hint = _gone_message("steps", step, steps, "lists", previous)
            merger.error(where, f"profiles[{profile.get('name')}].steps", message, hint)
