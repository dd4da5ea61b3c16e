"""The I/O edge: run Debian's Groovy 2.4 once for many files and read back one JSON AST per file."""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

from pipelinegen.errors import Finding, PipelineError
from pipelinegen.fsutil import sha256_bytes, sha256_file

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


LAUNCHER = Path(__file__).with_name("run_cached.groovy")


def cached_script_command(script: Path, main_class: str, groovy: str, env: dict[str, str], cache_name: str,
                          modules: tuple[str, ...] = ("json",)) -> list[str]:
    """The command that runs *script*: `java ... MAIN_CLASS` on its compiled copy when the cache holds one, else
    run_cached.groovy, which compiles it into the cache and runs it in the same JVM (one JVM either way).

    The cache key is the script's content hash and the Groovy jar; *modules* are the Groovy modules
    (groovy-json, groovy-xml, ...) the script uses, on the class path of the `java` command."""
    lib = Path(groovy).resolve().parent.parent / "lib"
    core = sorted(lib.glob("groovy-[0-9]*.jar"))[-1:]
    jars = core + [jar for module in modules for jar in sorted(lib.glob(f"groovy-{module}*.jar"))[-1:]]
    key = sha256_bytes(f"{script_digest(script)}:{core[0].name if core else 'no-groovy'}".encode())[:16]
    classes = cache_dir() / f"{cache_name}-{key}"
    java = Path(env["JAVA_HOME"]) / "bin" / "java"
    try:
        classes.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return [groovy, str(script)]  # no writable cache: compile the script every time
    # The classes are code this process runs: only from a cache nobody else can write (a shared or planted
    # PIPELINEGEN_CACHE could otherwise hold someone else's RunPipeline.class); else compile every time.
    if not _private_dir(classes.parent) or (classes.exists() and not _private_dir(classes)):
        return [groovy, str(script)]
    if (classes / f"{main_class}.class").is_file() and len(jars) == 1 + len(modules) and java.is_file():
        classpath = os.pathsep.join(str(p) for p in [*jars, classes])
        return [str(java), *env["JAVA_OPTS"].split(), "-cp", classpath, main_class]
    return [groovy, str(LAUNCHER), main_class, str(script), str(classes)]


def _private_dir(path: Path) -> bool:
    """*path* is a real directory of this user that no one else may write to."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o022


@functools.cache
def script_digest(script: Path) -> str:
    """A script's content hash, read once per process."""
    return sha256_file(script)


def dumper_command(groovy: str, env: dict[str, str]) -> list[str]:
    """The lint AST dumper's command (cached_script_command)."""
    return cached_script_command(DUMPER, "AstDump", groovy, env, "lint-dumper")


def dumper_digest() -> str:
    """The dumper script's content hash (the class cache and the AST cache key use it)."""
    return script_digest(DUMPER)


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
