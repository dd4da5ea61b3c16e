"""Input-side helpers: hostile values, compiling a document in-process, running the CLI under time and memory
bounds, and asking Groovy 2.4 whether injected code became code."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelinegen.errors import PipelineError
from tests.conftest import java_home
from tests.hostile.schema_fields import BUILD_XML, FULL_PIPELINE_YAML, OVERLAY_YAML

MARKER_SCAN = Path(__file__).with_name("marker_scan.groovy")
MEMORY_LIMIT = 1 << 30  # the bound: every hostile input ends under 1 GiB
TIME_LIMIT = 20.0  # seconds (the machine is shared and slow; the loader itself answers in about one)


def hostile_strings(tag: str) -> dict[str, str]:
    """One value per attack class; `tag` names the field so a marker call says where it came from.
    `pwned_<tag>()` must never become a Groovy method call (tests/hostile/marker_scan.groovy looks)."""
    call = f"pwned_{tag}()"
    return {
        "groovy-newline": f"x\n{call}\n//",
        "groovy-quotes": f"x' + {call} + '\"\"\" + {call} + \"\"\"''' + {call} + '''",
        "groovy-interpolation": "${" + call + "} $HOME ${env.PATH}",
        "groovy-unicode-escape": f"x\\u000a{call}//",
        "comment-close": f"*/ {call} /*",
        "backslash": "a\\b\\\\c\\",
        "braces": "{x} {{y}} {",
        "jcasc": "${chart-admin-password}",
        "helm": "{{ .Values.secret }}",
        "shell": "$(id) `id` ; rm -rf / #",
        "unicode": "é ü 雪 🚀 \u2028 \u0085",
        "xml-illegal": "a\ud800b\ufffe\uffff",  # a lone surrogate and non-characters: no XML, no UTF-8 can carry them
        "nul": "a\x00b",
        "control": "a\x1b[31mb\x07",
        "carriage-return": f"x\r{call}",
        "very-long": "y" * 200_000,
    }


def write_project(directory: Path, document: dict | str | None = None) -> Path:
    """A project directory with pipeline.yaml (*document*, default the full one), overlay.yaml and build.xml."""
    directory.mkdir(parents=True, exist_ok=True)
    if document is None:
        text = FULL_PIPELINE_YAML
    elif isinstance(document, str):
        text = document
    else:
        text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=10**9)
    (directory / "pipeline.yaml").write_text(text, encoding="utf-8")
    (directory / "overlay.yaml").write_text(OVERLAY_YAML, encoding="utf-8")
    (directory / "build.xml").write_text(BUILD_XML, encoding="utf-8")
    return directory


@dataclass
class Compiled:
    error: PipelineError | None
    files: dict[str, bytes]
    pipeline: object = None  # the model, when it compiled


def compile_in_memory(project: Path) -> Compiled:
    """Load + render every generated file in memory (what `compile` would write), or the PipelineError."""
    from pipelinegen.generate import render_all
    from pipelinegen.load import load_pipeline

    previous = Path.cwd()
    os.chdir(project)
    try:
        pipeline = load_pipeline(Path("pipeline.yaml"))
        return Compiled(None, render_all(pipeline, project), pipeline)
    except PipelineError as err:
        return Compiled(err, {})
    finally:
        os.chdir(previous)


def assert_located(error: PipelineError, file: str = "pipeline.yaml") -> None:
    """A refusal a person can act on: every finding names the file, at least one a line, all a message."""
    assert error.findings, "a PipelineError without findings"
    assert all(f.file and f.message for f in error.findings), error
    assert any(f.file.endswith(file) and f.line for f in error.findings), f"no {file}:LINE in:\n{error}"


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(args: list[str], cwd: Path, timeout: float = TIME_LIMIT, bounded: bool = True) -> CliRun:
    """`pipelinegen ARGS` in a child process limited to 1 GiB of address space; a timeout fails the test.
    bounded=False for commands that start a JVM (it reserves more address space than it uses)."""
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", "from pipelinegen.cli import main; main()", *args], cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, preexec_fn=_bounded if bounded else None, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    return CliRun(result.returncode, result.stdout, result.stderr, time.monotonic() - start)


def assert_clean_refusal(run: CliRun, file: str) -> None:
    """Exit 2, FILE:LINE or FILE named, no traceback."""
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.returncode == 2, f"exit {run.returncode}: {run.stderr[-2000:]}"
    assert f"{file}:" in run.stderr, run.stderr[-2000:]


def groovy_marker_scan(paths: list[Path]) -> dict[Path, str]:
    """Path -> "OK", "SYNTAX ..." or "CALL pwned_..." for each Groovy file, in one JVM."""
    if not paths:
        return {}
    env = {**os.environ, "JAVA_HOME": java_home()}
    result = subprocess.run(["groovy", str(MARKER_SCAN), *map(str, paths)], capture_output=True, text=True,
                            env=env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    verdicts = {}
    for line in result.stdout.splitlines():
        verdict, name, *rest = line.split(" ", 2)
        verdicts[Path(name)] = " ".join([verdict, *rest]) if verdict != "OK" else "OK"
    assert set(verdicts) == set(paths), result.stdout[-3000:]
    return verdicts
