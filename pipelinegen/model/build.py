"""Merged pipeline.yaml document -> typed Pipeline, with the semantic checks a schema cannot make.

Every reference (resource, axis, axis value, needs, checkouts, profile steps, extends, template
placeholders) is resolved here; each failure is a Finding at the line that made the reference,
all reported at once.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

from lxml import etree

from pipelinegen.errors import Finding, PipelineError, suggest
from pipelinegen.fsutil import display_path, inside, sha256_file
from pipelinegen.model.outcome import DEFAULT_RETRY_POLICY
from pipelinegen.model.pipeline import (
    ARCH_AXIS,
    Axis,
    Controller,
    JobParameter,
    Pipeline,
    Price,
    Profile,
    RepeatSettings,
    Repository,
    Resource,
    SourceFile,
    Step,
)
from pipelinegen.schema import definition_rule, matches_definition
from pipelinegen.step_kinds import STEP_KINDS
from pipelinegen.yamlsource import Location, locate

# Job parameters every generated job has; pipeline.yaml may not redefine them.
BUILTIN_PARAMETERS = ("repository", "branch", "profile", "profile_custom_regexp")
# Placeholders a command template may use besides axis names and `<repository>_dir`.
COMMAND_FIELDS = ("step", "split", "splits", "cell_id")
DEFAULT_VALUE = "default"


class _Checker:
    def __init__(self, data: Any, file: str) -> None:
        self.data = data
        self.file = file
        self.findings: list[Finding] = []

    def at(self, *path: Any) -> Location:
        return locate(self.data, list(path)) or Location(self.file, 0)

    def error(self, where: Location, key_path: str, message: str, hint: str = "") -> None:
        self.findings.append(Finding(file=where.file, line=where.line or None, key_path=key_path, message=message, hint=hint))


def template_fields(template: str) -> list[str]:
    """The {placeholders} of a str.format-style template (raises ValueError on a malformed one)."""
    fields = []
    for _, field_name, format_spec, conversion in string.Formatter().parse(template):
        if field_name is not None:
            if format_spec or conversion:  # {x:>900000000} would build a 900 MB string; {x!r} adds quotes
                raise ValueError(f"{{{field_name}{'!' + conversion if conversion else ''}{':' + format_spec if format_spec else ''}}}"
                                 " has a conversion or format spec: placeholders are plain {name}")
            fields.append(field_name)
    return fields


MAX_AXIS_VALUES_FILE_BYTES = 16 << 20  # a build.xml is tens of KB (docs/security.md)


def read_axis_values_file(path: Path, supported: str, default: str | None) -> tuple[list[str], str | None]:
    """Supported values and default from an Ant build.xml `<property name=... value=...>`, read with lxml."""
    if not path.is_file():
        raise FileNotFoundError(path)
    if path.stat().st_size > MAX_AXIS_VALUES_FILE_BYTES:
        raise etree.XMLSyntaxError(f"larger than {MAX_AXIS_VALUES_FILE_BYTES >> 20} MiB", None, 0, 0)
    tree = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))

    def prop(name: str) -> str | None:
        found = tree.xpath("//property[@name=$name]/@value", name=name)
        return str(found[0]) if found else None

    supported_text = prop(supported)
    if supported_text is None:
        raise KeyError(supported)
    values = [v.strip() for v in supported_text.split(",") if v.strip()]
    return values, (prop(default) if default else None)


def _uniq_names(check: _Checker, items: list, section: str) -> None:
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.get("name")
        if name in seen:
            check.error(check.at(section, index), f"{section}[{name}]", f"duplicate name '{name}' (first at item {seen[name] + 1})")
        else:
            seen[name] = index


def _build_axes(check: _Checker, base_dir: Path, sources: list[SourceFile]) -> list[Axis]:
    axes = []
    for index, raw in enumerate(check.data.get("axes", [])):
        name = raw["name"]
        where = check.at("axes", index)
        values = [str(v) for v in raw.get("values", [])]
        default = str(raw["default"]) if "default" in raw else None
        source = raw.get("values_from")
        path = inside(base_dir, source["file"]) if source else None
        if source and path is None:  # the schema refused absolute paths and '..': this is a symlink
            check.error(
                check.at("axes", index, "values_from", "file"),
                f"axes[{name}].values_from.file",
                f"'{source['file']}' leads outside the project directory (a symlink?)",
                "name a file inside the project",
            )
        if source and path is not None:
            try:
                file_values, file_default = read_axis_values_file(path, source["supported"], source.get("default"))
                for bad in [v for v in [*file_values, file_default] if v is not None and not matches_definition("axisValue", v)]:
                    check.error(
                        check.at("axes", index, "values_from"),
                        f"axes[{name}].values_from",
                        f"{source['file']} gives the value {bad[:60]!r}, which is not a valid axis value",
                        f"use {definition_rule('axisValue')}",
                    )
                values = file_values
                default = file_default or default
                sources.append(SourceFile(path=display_path(path), sha256=sha256_file(path), role="axis-values"))
            except FileNotFoundError:
                if not values:
                    check.error(
                        check.at("axes", index, "values_from"),
                        f"axes[{name}].values_from",
                        f"{source['file']} not found next to pipeline.yaml",
                        "add `values:` as a fallback, or fix the path",
                    )
            except KeyError as missing:
                check.error(
                    check.at("axes", index, "values_from"),
                    f"axes[{name}].values_from",
                    f"{source['file']} has no <property name={missing}>",
                    "name an existing property",
                )
            except etree.XMLSyntaxError as err:
                check.error(check.at("axes", index, "values_from"), f"axes[{name}].values_from", f"{source['file']}: {err}")
        if not values:
            if not source:
                check.error(where, f"axes[{name}]", "no values", "give `values:` or `values_from:`")
            continue
        if default is None:
            default = values[0]
        if default not in values:
            check.error(
                check.at("axes", index, "default"),
                f"axes[{name}].default",
                f"default {default!r} is not one of the values {values}",
                suggest(default, values),
            )
        parameter_default = str(raw.get("parameter_default", ""))
        if parameter_default and parameter_default not in values:
            check.error(
                check.at("axes", index, "parameter_default"),
                f"axes[{name}].parameter_default",
                f"{parameter_default!r} is not one of the values {values}",
                suggest(parameter_default, values),
            )
        cell_name = raw.get("cell_name", "{value}")
        by_value: tuple[tuple[str, str], ...] = ()
        if isinstance(cell_name, dict):
            for value in cell_name:
                if str(value) not in values:
                    check.error(check.at("axes", index, "cell_name"), f"axes[{name}].cell_name", f"{value!r} is not a value of the axis")
            by_value = tuple(sorted((str(k), str(v)) for k, v in cell_name.items()))
            cell_name = "{value}"
        hidden = tuple(str(v) for v in raw.get("hide_in_name", []))
        for value in hidden:
            if value not in values:
                check.error(check.at("axes", index, "hide_in_name"), f"axes[{name}].hide_in_name", f"{value!r} is not a value of the axis")
        axes.append(
            Axis(
                name=name,
                values=tuple(values),
                default=default,
                parameter=raw.get("parameter", ""),
                parameter_default=str(raw.get("parameter_default", "")),
                cell_name=cell_name,
                cell_name_by_value=by_value,
                hide_in_name=hidden,
                location=where,
            )
        )
    return axes


def _resolve_filter(check: _Checker, raw: dict, axes: dict[str, Axis], path: tuple, key_path: str) -> tuple:
    resolved = []
    for axis_name, values in raw.items():
        if axis_name not in axes:
            check.error(check.at(*path, axis_name), key_path, f"unknown axis '{axis_name}'", suggest(axis_name, list(axes)))
            continue
        axis = axes[axis_name]
        out = []
        for value in values:
            value = str(value)
            if value == DEFAULT_VALUE and DEFAULT_VALUE not in axis.values:
                value = axis.default
            elif value not in axis.values:
                check.error(
                    check.at(*path, axis_name),
                    f"{key_path}.{axis_name}",
                    f"{value!r} is not a value of axis '{axis_name}' ({', '.join(axis.values)})",
                    suggest(value, list(axis.values)) or "use 'default' for the axis default",
                )
                continue
            out.append(value)
        resolved.append((axis_name, tuple(out)))
    return tuple(sorted(resolved))


MAX_CELLS = 50_000  # the whole matrix before only/exclude; Cassandra's post-commit is about 4 000 (docs/security.md)


def _bound_cells(check: _Checker, steps: list[Step], axes: dict[str, Axis]) -> None:
    """Refuse a matrix too large to plan (every axis value × every split of every step) before expanding it."""
    total = 0
    for index, step in enumerate(steps):
        count = step.splits
        for name in step.axes:
            count *= len(axes[name].values) if name in axes else 1
        total += count
        if total > MAX_CELLS:
            check.error(check.at("steps", index), f"steps[{step.name}]",
                        f"the matrix reaches more than {MAX_CELLS} cells here (axis values × splits of every step)",
                        "use fewer splits or axis values; only/exclude are applied after this bound")
            return


def _build_steps(check: _Checker, axes: dict[str, Axis], resources: dict[str, Resource], repositories: dict[str, Repository]) -> list[Step]:
    defaults = check.data.get("defaults", {}) or {}
    raw_steps = check.data.get("steps", [])
    all_names = [s.get("name") for s in raw_steps]
    steps = []
    for index, raw in enumerate(raw_steps):
        name = raw["name"]
        where = check.at("steps", index)
        key_path = f"steps[{name}]"
        kind = raw.get("kind")
        if kind is None:
            others = [n for n in all_names if n != name]
            close = suggest(name, others)
            check.error(
                where,
                key_path,
                f"missing 'kind' ({', '.join(STEP_KINDS)})",
                (f"no such step in the base pipeline — {close}" if close else "add kind: test"),
            )
            continue
        merged = dict(defaults.get(kind, {}) or {})
        merged.update(raw)

        def at(key: str, index: int = index, kind: str = kind) -> Location:
            return check.at("steps", index, key) if key in check.data["steps"][index] else check.at("defaults", kind, key)


        command = merged.get("command")
        if not command:
            check.error(where, key_path, "missing 'command'", "the shell command this step runs, e.g. .build/run-tests.sh -a {step}")
            continue
        step_axes = tuple(merged.get("axes", [a for a in axes]))
        for axis_name in step_axes:
            if axis_name not in axes:
                check.error(at("axes"), f"{key_path}.axes", f"unknown axis '{axis_name}'", suggest(axis_name, list(axes)))
        resource = merged.get("resource", "")
        if not resource:
            check.error(where, key_path, "no resource class", f"add resource: one of {', '.join(resources)}")
        elif resource not in resources:
            check.error(at("resource"), f"{key_path}.resource", f"unknown resource class '{resource}'", suggest(resource, list(resources)))
        checkouts = tuple(merged.get("checkouts", []))
        for repo in checkouts:
            if repo not in repositories:
                check.error(at("checkouts"), f"{key_path}.checkouts", f"unknown repository '{repo}'", suggest(repo, list(repositories)))
        allowed_fields = set(COMMAND_FIELDS) | set(axes) | {f"{r}_dir" for r in repositories}
        try:
            for field_name in template_fields(command):
                if field_name not in allowed_fields:
                    check.error(
                        at("command"),
                        f"{key_path}.command",
                        f"unknown placeholder {{{field_name}}}",
                        suggest(field_name, allowed_fields) or f"known: {', '.join(sorted(allowed_fields))}; write {{{{ for a literal brace",
                    )
        except ValueError as err:
            check.error(at("command"), f"{key_path}.command", f"malformed template: {err}", "write {{ and }} for literal braces")

        def origin(key: str, index: int = index, kind: str = kind) -> tuple:
            return ("steps", index) if key in check.data["steps"][index] else ("defaults", kind)

        for key, allowed in (("results", allowed_fields), ("archive", allowed_fields), ("image", set(axes))):
            templates = merged.get(key) or []
            for template in [templates] if isinstance(templates, str) else templates:
                try:
                    unknown = [f for f in template_fields(template) if f not in allowed]
                except ValueError as err:
                    check.error(at(key), f"{key_path}.{key}", f"malformed template {template!r}: {err}", "write {{ and }} for literal braces")
                    continue
                for field_name in unknown:
                    check.error(
                        at(key),
                        f"{key_path}.{key}",
                        f"unknown placeholder {{{field_name}}} in {template!r}",
                        suggest(field_name, allowed) or f"known: {', '.join(sorted(allowed))}",
                    )
        only = _resolve_filter(check, merged.get("only", {}) or {}, axes, (*origin("only"), "only"), f"{key_path}.only")
        exclude = tuple(
            _resolve_filter(check, rule, axes, (*origin("exclude"), "exclude", n), f"{key_path}.exclude[{n}]")
            for n, rule in enumerate(merged.get("exclude", []) or [])
        )
        env = tuple(sorted((str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (merged.get("env") or {}).items()))
        steps.append(
            Step(
                name=name,
                kind=kind,
                command=command,
                splits=merged.get("splits", 1),
                resource=resource,
                timeout_minutes=merged.get("timeout_minutes", 60),
                attempts=merged.get("attempts", 1),
                retry_on=merged.get("retry_on", DEFAULT_RETRY_POLICY),
                axes=step_axes,
                only=only,
                exclude=exclude,
                needs=tuple(merged.get("needs", [])),
                build_once=merged.get("build_once", False),
                always=merged.get("always", False),
                stash=merged.get("stash", ""),
                results=tuple(merged.get("results", [])),
                archive=tuple(merged.get("archive", [])),
                env=env,
                image=merged.get("image", ""),
                checkouts=checkouts,
                post_commit_only=merged.get("post_commit_only", False),
                repeat_count=merged.get("repeat_count"),
                description=merged.get("description", ""),
                location=where,
            )
        )
    by_name = {s.name: s for s in steps}
    for step in steps:
        raw_index = all_names.index(step.name)
        for need in step.needs:
            where = check.at("steps", raw_index, "needs") if "needs" in raw_steps[raw_index] else check.at("defaults", step.kind, "needs")
            if need == step.name:
                if step.build_once:
                    continue  # a build_once step inheriting `needs: [jar]` from defaults does not wait on itself
                check.error(where, f"steps[{step.name}].needs", "a step cannot need itself")
            elif need not in by_name:
                check.error(where, f"steps[{step.name}].needs", f"unknown step '{need}'", suggest(need, list(by_name)))
            elif not by_name[need].build_once:
                check.error(where, f"steps[{step.name}].needs", f"'{need}' is not a build_once step", f"add build_once: true to '{need}'")
    _check_need_cycles(check, steps, all_names)
    return steps


def _check_need_cycles(check: _Checker, steps: list[Step], all_names: list[str]) -> None:
    graph = {s.name: [n for n in s.needs if n != s.name] for s in steps}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                check.error(check.at("steps", all_names.index(node)), f"steps[{node}].needs", f"dependency cycle: {' -> '.join(cycle)}")
            elif nxt in graph and state.get(nxt) is None:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for name in graph:
        if state.get(name) is None:
            visit(name, [name])


def _build_profiles(check: _Checker, step_names: list[str]) -> list[Profile]:
    raw_profiles = check.data.get("profiles", [])
    by_name = {p["name"]: (i, p) for i, p in enumerate(raw_profiles)}
    resolved: dict[str, tuple[str, ...]] = {}

    def resolve(name: str, trail: tuple[str, ...]) -> tuple[str, ...]:
        if name in resolved:
            return resolved[name]
        index, raw = by_name[name]
        out: list[str] = []
        for parent in raw.get("extends", []):
            if parent in trail:
                check.error(check.at("profiles", index, "extends"), f"profiles[{name}].extends", f"cycle: {' -> '.join(trail + (parent,))}")
                continue
            if parent not in by_name:
                check.error(check.at("profiles", index, "extends"), f"profiles[{name}].extends", f"unknown profile '{parent}'", suggest(parent, list(by_name)))
                continue
            out.extend(s for s in resolve(parent, trail + (parent,)) if s not in out)
        for position, step in enumerate(raw.get("steps", [])):
            if step not in step_names:
                check.error(check.at("profiles", index, "steps", position), f"profiles[{name}].steps", f"unknown step '{step}'", suggest(step, step_names))
            elif step not in out:
                out.append(step)
        resolved[name] = tuple(out)
        return resolved[name]

    profiles = []
    for index, raw in enumerate(raw_profiles):
        name = raw["name"]
        steps = resolve(name, (name,))
        custom = raw.get("custom", False)
        if custom and steps:
            check.error(check.at("profiles", index), f"profiles[{name}]", "a custom profile selects steps by the profile_custom_regexp parameter; it lists none", "remove `steps`/`extends`")
        if not custom and not steps and not raw.get("extends"):
            check.error(check.at("profiles", index), f"profiles[{name}]", "selects no step", "list steps, extend a profile, or set custom: true")
        profiles.append(Profile(name=name, steps=steps, custom=custom, description=raw.get("description", ""),
                                runs_per_year=raw.get("runs_per_year"), location=check.at("profiles", index)))
    return profiles


def build_pipeline(data: Any, file: str, base_dir: Path, sources: list[SourceFile], notes: list[str] | None = None) -> Pipeline:
    """The typed Pipeline for a schema-valid merged document; PipelineError lists every semantic error."""
    check = _Checker(data, file)
    for section in ("axes", "resources", "steps", "profiles", "repositories", "parameters"):
        _uniq_names(check, data.get(section, []) or [], section)
    axes_list = _build_axes(check, base_dir, sources)
    axes = {a.name: a for a in axes_list}
    if ARCH_AXIS not in axes:
        check.error(check.at("axes"), "axes", "no 'arch' axis", "add an axis named arch (agent labels are per architecture)")
    resources = {}
    for index, raw in enumerate(data.get("resources", [])):
        try:
            unknown = [f for f in template_fields(raw["label"]) if f not in axes]
        except ValueError as err:
            unknown = []
            check.error(check.at("resources", index, "label"), f"resources[{raw['name']}].label", f"malformed template: {err}")
        for field_name in unknown:
            check.error(check.at("resources", index, "label"), f"resources[{raw['name']}].label", f"unknown placeholder {{{field_name}}}", suggest(field_name, list(axes)))
        resources[raw["name"]] = Resource(
            name=raw["name"],
            label=raw["label"],
            cpu=raw["cpu"],
            memory_gb=raw["memory_gb"],
            container_memory_gb=raw.get("container_memory_gb"),
            ephemeral_storage_gb=raw.get("ephemeral_storage_gb"),
            instance_cap=raw.get("instance_cap"),
            price=Price(per_hour=float(raw["price"]["per_hour"]), currency=raw["price"]["currency"],
                        source=raw["price"].get("source", "")) if raw.get("price") else None,
            location=check.at("resources", index),
        )
    priced = [r for r in resources.values() if r.price]  # declaration order: the first priced class sets the currency
    for index, raw in enumerate(data.get("resources", []) or []):
        currency = (raw.get("price") or {}).get("currency")
        if priced and currency and currency != priced[0].price.currency:
            check.error(check.at("resources", index, "price", "currency"), f"resources[{raw['name']}].price",
                        f"currency {currency} differs from {priced[0].price.currency} (resources[{priced[0].name}])",
                        "give every resource class's price in one currency")
    repositories = {}
    for raw in data.get("repositories", []) or []:
        repositories[raw["name"]] = Repository(
            name=raw["name"],
            url=raw["url"],
            branch=raw["branch"],
            directory=raw["directory"],
            repository_parameter=raw.get("repository_parameter", f"{raw['name'].replace('-', '_')}_repository"),
            branch_parameter=raw.get("branch_parameter", f"{raw['name'].replace('-', '_')}_branch"),
        )
    steps = _build_steps(check, axes, resources, repositories)
    _bound_cells(check, steps, axes)
    profiles = _build_profiles(check, [s["name"] for s in data.get("steps", [])])
    repeat = RepeatSettings(**(data.get("repeat") or {}))
    parameters = []
    reserved = set(BUILTIN_PARAMETERS) | {a.parameter for a in axes_list if a.parameter}
    reserved |= {r.repository_parameter for r in repositories.values()} | {r.branch_parameter for r in repositories.values()}
    reserved |= {repeat.test_regex_parameter, repeat.count_parameter, repeat.stop_on_failure_parameter}
    for index, raw in enumerate(data.get("parameters", []) or []):
        if raw["name"] in reserved:
            check.error(check.at("parameters", index), f"parameters[{raw['name']}]", f"'{raw['name']}' is a built-in job parameter", "choose another name")
        if raw["type"] == "choice" and not raw.get("choices"):
            check.error(check.at("parameters", index), f"parameters[{raw['name']}]", "a choice parameter needs choices")
        if "default" in raw and isinstance(raw["default"], bool) != (raw["type"] == "boolean"):
            wanted = "true or false" if raw["type"] == "boolean" else "text (quote it: 'true')"
            check.error(check.at("parameters", index, "default"), f"parameters[{raw['name']}].default",
                        f"a {raw['type']} parameter's default must be {wanted}")
        parameters.append(
            JobParameter(
                name=raw["name"],
                type=raw["type"],
                default=raw.get("default", False if raw["type"] == "boolean" else ""),
                choices=tuple(raw.get("choices", [])),
                description=raw.get("description", ""),
            )
        )
    if check.findings:
        raise PipelineError(sorted(check.findings, key=lambda f: (f.file, f.line or 0)))
    controller = Controller(**(data.get("controller") or {}))
    return Pipeline(
        project=data["project"],
        axes=tuple(axes_list),
        resources=tuple(resources.values()),
        steps=tuple(steps),
        profiles=tuple(profiles),
        repositories=tuple(repositories.values()),
        parameters=tuple(parameters),
        canonical_repository=data.get("canonical_repository", ""),
        branches=tuple(data.get("branches", [])),
        description=data.get("description", ""),
        controller=controller,
        repeat=repeat,
        sources=tuple(sources),
        notes=tuple(notes or ()),
    )
