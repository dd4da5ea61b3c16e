"""The I/O edge: run Debian's Groovy 2.4 once for many files and read back one JSON AST per file."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError

DUMPER = Path(__file__).with_name("ast_dump.groovy")
INSTALL_HINT = (
    "install them with `apt-get install -y groovy` (it pulls in a Java runtime) and set "
    "JAVA_HOME, e.g. `export JAVA_HOME=$(dirname $(dirname $(readlink -f $(which java))))`"
)


class GroovyUnavailable(PipelineError):
    """Java or Groovy is missing or broken: bad environment, exit code 2, never a traceback."""


def _unavailable(message: str) -> GroovyUnavailable:
    return GroovyUnavailable([Finding(file="groovy", line=None, message=message, hint=INSTALL_HINT)])


def groovy_environment() -> tuple[str, dict[str, str]]:
    """The groovy launcher and an environment with a working JAVA_HOME (derived from `java` if unset)."""
    groovy = shutil.which("groovy")
    if groovy is None:
        raise _unavailable("`groovy` was not found on PATH; pipelinegen lint parses files with Groovy 2.4")
    env = dict(os.environ)
    java_home = env.get("JAVA_HOME", "")
    if not (java_home and (Path(java_home) / "bin" / "java").exists()):
        java = shutil.which("java")
        if java is None:
            raise _unavailable("`java` was not found on PATH and JAVA_HOME is not set")
        env["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
    # Short-lived JVM: C1 only and a small heap start faster; ours are the only options we add.
    env["JAVA_OPTS"] = (env.get("JAVA_OPTS", "") + " -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto").strip()
    return groovy, env


def dump_asts(paths: list[Path]) -> list[dict]:
    """One JSON document per path, in order, from ONE JVM. Paths must exist (checked by the caller)."""
    if not paths:
        return []
    groovy, env = groovy_environment()
    stdin = "".join(f"{Path(p).resolve()}\n" for p in paths)
    try:
        proc = subprocess.run([groovy, str(DUMPER)], input=stdin, capture_output=True, text=True, env=env,
                              check=False, encoding="utf-8")
    except OSError as err:
        raise _unavailable(f"could not start groovy: {err}") from err
    docs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(docs) != len(paths):
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise _unavailable(f"groovy failed (exit {proc.returncode}) after {len(docs)} of {len(paths)} files: {tail}")
    return docs
