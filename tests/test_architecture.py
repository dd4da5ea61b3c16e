"""The import layering is enforced by `lint-imports` (scripts/test.sh); these tests keep it complete."""

from __future__ import annotations

import pkgutil
import tomllib

import pipelinegen
from tests.conftest import REPO


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    contract = next(c for c in config["contracts"] if c["type"] == "layers")
    return contract["layers"]


def test_every_module_of_the_package_has_a_layer():
    # a new top-level package or module missing from the contract would be free to import anything
    named = {name.strip() for layer in _layers() for part in layer.split("|") for name in part.split(":")}
    modules = {f"pipelinegen.{m.name}" for m in pkgutil.iter_modules(pipelinegen.__path__)}
    assert modules - named == set(), "add it to [tool.importlinter] layers in pyproject.toml and docs/architecture.md"
    assert named - modules == set(), "a layer names a module that no longer exists"


def test_the_cli_is_the_top_layer_and_the_docs_show_every_layer():
    layers = _layers()
    assert layers[0] == "pipelinegen.cli"
    doc = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    for layer in layers:
        for name in layer.replace("|", ":").split(":"):
            assert name.strip().removeprefix("pipelinegen.") in doc, name
