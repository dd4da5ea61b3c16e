"""The plan's vocabulary: run parameters, cells, and the plan itself.

A *cell* is one unit of CI work (one step × one combination of axis values × one split) with
everything a backend needs to run it: the rendered shell command, the agent label, timeout,
attempts and the cells it depends on. Every backend (Jenkins library, `pipelinegen run`,
estimates, result verification) consumes these same objects.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from pipelinegen.errors import PipelineError


@dataclass(frozen=True)
class Parameters:
    """The job parameters that decide which cells run (the Jenkins job's parameters)."""

    profile: str
    custom_regexp: str = ""
    architecture: str = ""  # one arch value, "all", or "" for the axis default
    jdk: str = ""  # one jdk value, or "" for every supported jdk
    repository: str = ""  # "" means the canonical repository
    branch: str = ""
    extra: tuple[tuple[str, str], ...] = ()  # any other job parameter, sorted by name

    def as_dict(self) -> dict:
        data = asdict(self)
        data["extra"] = dict(self.extra)
        return data

    @classmethod
    def from_input(cls, profile: str, pairs: Iterable[tuple[str, str]] = (), **known: str) -> Parameters:
        """The one way to build Parameters from what a user typed: fields by keyword, and NAME=VALUE pairs
        (`--param`), where a pair naming a field (jdk=17) sets that field and any other goes to `extra`."""
        extra: dict[str, str] = {}
        for name, value in pairs:
            if name in PARAMETER_FIELDS:
                known[name] = value
            else:
                extra[name] = value
        return cls(profile=profile, extra=tuple(sorted(extra.items())), **known)

    @classmethod
    def from_dict(cls, data: dict) -> Parameters:
        """The inverse of `as_dict()` (a plan's, a manifest's or a run directory's `parameters` object);
        unknown keys are ignored."""
        known = {k: v for k, v in data.items() if k in PARAMETER_FIELDS}
        return cls(profile=data.get("profile", ""), extra=tuple(sorted((data.get("extra") or {}).items())),
                   **known)


# the Parameters fields a NAME=VALUE pair may set by name (profile has its own option everywhere)
PARAMETER_FIELDS = frozenset(f.name for f in fields(Parameters)) - {"profile", "extra"}


@dataclass(frozen=True)
class Checkout:
    """A second repository a cell needs beside the main checkout (e.g. cassandra-dtest)."""

    name: str
    repository: str  # default URL (overridden at run time by the parameter below)
    branch: str
    directory: str
    repository_parameter: str
    branch_parameter: str


@dataclass(frozen=True)
class Cell:
    id: str  # stable, path-safe, unique in the pipeline: "test_jdk17_3of20"
    name: str  # Cassandra's naming: "test jdk17 3/20", "jar arm64 jdk11", "cqlsh-test jdk11 python3.8 cython"
    step: str
    kind: str  # "build" | "test" | "publish"
    axes: tuple[tuple[str, str], ...]  # every axis of the pipeline with this cell's value, in axis order
    split: int  # 1-based
    splits: int
    command: str  # the fully rendered shell command (axis values already shell-quoted)
    resource: str  # resource class name: small / medium / large / ...
    label: str  # agent label expression, resolved for this cell's arch
    cpu: float
    memory_gb: float
    timeout_minutes: int
    attempts: int
    depends_on: tuple[str, ...] = ()  # ids of build-once cells that must finish first
    build_once: bool = False  # its output is stashed and reused by the cells that depend on it
    post_commit_only: bool = False
    image: str = ""  # docker image for `pipelinegen run --docker` ("" = host)
    checkouts: tuple[Checkout, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # extra environment, sorted by name
    results: tuple[str, ...] = ()  # glob patterns of JUnit XML files the cell writes
    archive: tuple[str, ...] = ()  # glob patterns of other files to keep
    stash_includes: str = ""  # for build_once cells: what is stashed for dependants
    retry_on: str = "infra"  # which attempt outcomes get another attempt (model/outcome.py RETRY_POLICIES)

    def axis(self, name: str) -> str | None:
        for key, value in self.axes:
            if key == name:
                return value
        return None

    @property
    def axes_dict(self) -> dict[str, str]:
        return dict(self.axes)

    @classmethod
    def from_dict(cls, data: dict) -> Cell:
        """The inverse of `as_dict()`."""
        values = dict(data)
        values["axes"] = tuple((values.get("axes") or {}).items())
        values["env"] = tuple(sorted((values.get("env") or {}).items()))
        for key in ("depends_on", "results", "archive"):
            values[key] = tuple(values.get(key, ()))
        values["checkouts"] = tuple(Checkout(**k) for k in values.get("checkouts", ()))
        return cls(**values)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["axes"] = dict(self.axes)
        data["env"] = dict(self.env)
        data["depends_on"] = list(self.depends_on)
        data["results"] = list(self.results)
        data["archive"] = list(self.archive)
        return data


@dataclass(frozen=True)
class Plan:
    """The fully expanded, ordered list of cells for one set of parameters."""

    parameters: Parameters
    post_commit: bool
    cells: tuple[Cell, ...] = field(default_factory=tuple)

    def by_id(self) -> dict[str, Cell]:
        return {cell.id: cell for cell in self.cells}

    def steps(self) -> list[str]:
        seen: dict[str, None] = {}
        for cell in self.cells:
            seen.setdefault(cell.step, None)
        return list(seen)

    def as_dict(self) -> dict:
        return {
            "parameters": self.parameters.as_dict(),
            "post_commit": self.post_commit,
            "cells": [cell.as_dict() for cell in self.cells],
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict) -> Plan:
        """The inverse of `as_dict()`: a saved plan (`pipelinegen plan --format json`)."""
        cells = tuple(Cell.from_dict(c) for c in data["cells"])
        return cls(Parameters.from_dict(data.get("parameters", {})), bool(data.get("post_commit")), cells)


def read_plan_file(path: Path) -> Plan:
    """The one reader of a saved plan file; anything else is bad input naming the file and the fix."""
    try:
        return Plan.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        raise PipelineError.single(str(path), None, f"not a plan JSON file: {err}",
                                   hint="write it with `pipelinegen plan --format json > FILE`") from err


def cell_id_from_name(name: str) -> str:
    """Path-safe id: `test jdk17 3/20` -> `test_jdk17_3of20`."""
    text = name.replace("/", "of").replace(" ", "_")
    return re.sub(r"[^A-Za-z0-9._-]", "-", text)
