"""Which JAVA_HOME serves which jdk axis value: a map from the command line plus what is installed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pipelinegen.errors import PipelineError

DEFAULT_JVM_ROOT = Path("/usr/lib/jvm")

_VERSION_LINE = re.compile(r'^JAVA_VERSION="([^"]+)"', re.MULTILINE)


def feature_version(version: str) -> str:
    """'17.0.15' -> '17', '1.8.0_392' -> '8', '21' -> '21'."""
    if version.startswith("1."):
        version = version[2:]
    return re.split(r"[.+_-]", version, maxsplit=1)[0]


def jdk_version(home: Path) -> str | None:
    """The feature version of the JDK at *home* from its `release` file, None when it is not a JDK."""
    if not (home / "bin" / "javac").is_file():
        return None
    try:
        match = _VERSION_LINE.search((home / "release").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    return feature_version(match.group(1)) if match else None


def detect_jdks(root: Path = DEFAULT_JVM_ROOT) -> dict[str, Path]:
    """Installed JDKs under *root* by feature version; the first in sorted order wins (stable across runs)."""
    found: dict[str, Path] = {}
    if not root.is_dir():
        return found
    for home in sorted(root.iterdir()):
        if home.is_symlink():  # Debian's java-1.17.0-openjdk-amd64 -> java-17-openjdk-amd64: same JDK twice
            continue
        version = jdk_version(home)
        if version is not None:
            found.setdefault(version, home)
    return found


def parse_jdk_homes(pairs: Iterable[str]) -> dict[str, Path]:
    """`--jdk-home 17=/usr/lib/jvm/java-17` options -> {'17': Path(...)}; a bad pair is a usage error."""
    homes: dict[str, Path] = {}
    for pair in pairs:
        version, sep, path = pair.partition("=")
        if not sep or not version.strip() or not path.strip():
            raise PipelineError.single(
                "<command line>", None, f"--jdk-home {pair!r} is not VERSION=PATH",
                hint="e.g. --jdk-home 17=/usr/lib/jvm/java-17-openjdk-amd64",
            )
        home = Path(path.strip()).expanduser()
        if not (home / "bin" / "java").exists():
            raise PipelineError.single(
                "<command line>", None, f"--jdk-home {version}={home}: {home}/bin/java does not exist",
                hint="point it at the JDK directory (the one containing bin/ and release)",
            )
        homes[version.strip()] = home
    return homes


def jdk_map(explicit: dict[str, Path], root: Path = DEFAULT_JVM_ROOT) -> dict[str, Path]:
    """Explicit homes override detected ones."""
    return {**detect_jdks(root), **explicit}
