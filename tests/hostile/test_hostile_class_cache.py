"""The JVM class cache (PIPELINEGEN_CACHE): validate and lint run the compiled harness and AST dumper found there,
so a cache someone else can write would let them run code as the user. Such a cache is not used at all: the
script is compiled in the JVM every time, and nothing planted in it runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipelinegen.lint import groovy
from pipelinegen.validate.execution import HARNESS_SCRIPT

pytestmark = pytest.mark.skipif(shutil.which("groovy") is None or shutil.which("java") is None,
                                reason="groovy/java not installed")


def _command(cache: Path, monkeypatch) -> list[str]:
    monkeypatch.setenv("PIPELINEGEN_CACHE", str(cache))
    groovy_bin, env = groovy.groovy_environment()
    return groovy.cached_script_command(HARNESS_SCRIPT, "RunPipeline", groovy_bin, env, "validate-harness",
                                        modules=("json", "xml"))


def _plant(cache: Path, monkeypatch) -> Path:
    """A compiled-looking entry where the real one would go (the key is the script's hash: easy to compute)."""
    launcher = _command(cache, monkeypatch)
    assert Path(launcher[1]).name == "run_cached.groovy"
    entry = Path(launcher[-1])
    entry.mkdir()
    (entry / "RunPipeline.class").write_bytes(b"\xca\xfe\xba\xbe planted")
    return entry


def test_a_private_cache_is_used(tmp_path: Path, monkeypatch) -> None:
    _plant(tmp_path / "cache", monkeypatch)
    assert Path(_command(tmp_path / "cache", monkeypatch)[0]).name == "java"  # the control: a hit runs the classes


def test_a_cache_others_can_write_is_not_used(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "shared"
    _plant(cache, monkeypatch)
    cache.chmod(0o777)  # e.g. PIPELINEGEN_CACHE=/tmp/something on a shared machine
    assert _command(cache, monkeypatch) == [shutil.which("groovy"), str(HARNESS_SCRIPT)]


def test_an_entry_others_can_write_is_not_used(tmp_path: Path, monkeypatch) -> None:
    entry = _plant(tmp_path / "cache", monkeypatch)
    entry.chmod(0o775)
    assert _command(tmp_path / "cache", monkeypatch) == [shutil.which("groovy"), str(HARNESS_SCRIPT)]


def test_a_symlinked_cache_is_not_used(tmp_path: Path, monkeypatch) -> None:
    real = tmp_path / "elsewhere"
    _plant(real, monkeypatch)
    (tmp_path / "link").symlink_to(real)
    assert _command(tmp_path / "link", monkeypatch) == [shutil.which("groovy"), str(HARNESS_SCRIPT)]


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the entry to another user")
def test_an_entry_of_another_user_is_not_used(tmp_path: Path, monkeypatch) -> None:
    entry = _plant(tmp_path / "cache", monkeypatch)
    os.chown(entry, 65534, 65534)
    assert _command(tmp_path / "cache", monkeypatch) == [shutil.which("groovy"), str(HARNESS_SCRIPT)]
