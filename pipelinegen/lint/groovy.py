"""The I/O edge: run Debian's Groovy 2.4 once for many files and read back one JSON AST per file."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.fsutil import sha256_file

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


def cache_dir() -> Path:
    override = os.environ.get("PIPELINEGEN_CACHE")
    if override:
        return Path(override)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipelinegen"


def dumper_command(groovy: str, env: dict[str, str]) -> list[str]:
    """`java ... AstDump` on the cached compiled dumper when there is one, else `groovy ast_dump.groovy`.

    On a cache miss the groovy run itself leaves the compiled copy behind (same JVM, see ast_dump.groovy),
    so every invocation starts exactly one JVM. The cache key is the dumper's content hash.
    """
    classes = cache_dir() / f"lint-dumper-{dumper_digest()[:16]}"
    lib = Path(groovy).resolve().parent.parent / "lib"
    jars = sorted(lib.glob("groovy-[0-9]*.jar"))[-1:] + sorted(lib.glob("groovy-json*.jar"))[-1:]
    java = Path(env["JAVA_HOME"]) / "bin" / "java"
    if (classes / "AstDump.class").is_file() and len(jars) == 2 and java.is_file():
        classpath = os.pathsep.join(str(p) for p in [*jars, classes])
        return [str(java), *env["JAVA_OPTS"].split(), "-cp", classpath, "AstDump"]
    try:
        classes.parent.mkdir(parents=True, exist_ok=True)
        env["PIPELINEGEN_LINT_DUMPER_SOURCE"] = str(DUMPER)
        env["PIPELINEGEN_LINT_CLASS_CACHE"] = str(classes)
    except OSError:
        pass  # no writable cache: run the script every time
    return [groovy, str(DUMPER)]


@functools.cache
def dumper_digest() -> str:
    """The dumper script's content hash, read once per process (the class cache and the AST cache key use it)."""
    return sha256_file(DUMPER)


def dumper_identity() -> str:
    """What shapes an AST dump besides the file: the dumper script and the Groovy jar it runs on."""
    groovy = shutil.which("groovy") or ""
    jars = sorted((Path(groovy).resolve().parent.parent / "lib").glob("groovy-[0-9]*.jar")) if groovy else []
    return f"{dumper_digest()}:{jars[-1].name if jars else 'no-groovy'}"


def dump_asts(paths: list[Path]) -> list[dict]:
    """One JSON document per path, in order, from ONE JVM. Paths must exist (checked by the caller)."""
    if not paths:
        return []
    groovy, env = groovy_environment()
    stdin = "".join(f"{Path(p).resolve()}\n" for p in paths)
    try:
        proc = subprocess.run(dumper_command(groovy, env), input=stdin, capture_output=True, text=True, env=env,
                              check=False, encoding="utf-8")
    except OSError as err:
        raise _unavailable(f"could not start groovy: {err}") from err
    docs = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or len(docs) != len(paths):
        tail = "\n".join(proc.stderr.strip().splitlines()[-5:])
        raise _unavailable(f"groovy failed (exit {proc.returncode}) after {len(docs)} of {len(paths)} files: {tail}")
    return docs
