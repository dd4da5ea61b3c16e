"""Speed target of `pipelinegen lint`: 200 Jenkinsfiles in ONE invocation, under 10 s including JVM start.

Run on demand:  python benchmarks/lint.py [N]
Writes N (default 200) varied declarative Jenkinsfiles to a temporary directory, runs the real CLI once
(`python -m`-style, a fresh process, as a user would), and prints wall time, CPU time and per-file cost.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEMPLATE = """pipeline {{
    agent {{ label 'cassandra-{arch}-small' }}
    options {{ timeout(time: {n}, unit: 'MINUTES') }}
    environment {{ CELL = "test-{n}" }}
    stages {{
{stages}
    }}
    post {{ always {{ echo 'done' }} }}
}}
"""
STAGE = """        stage('cell {n} {i}') {{
            when {{ expression {{ params.profile != 'none' }} }}
            steps {{
                sh ".build/docker/run-tests.sh -a test -c {i}/{k} -j 11"
                junit testResults: 'build/test/output/**/*.xml', allowEmptyResults: true
            }}
        }}"""


def write_files(directory: Path, count: int) -> list[Path]:
    paths = []
    for n in range(count):
        k = 1 + n % 20
        stages = "\n".join(STAGE.format(n=n, i=i, k=k) for i in range(1, k + 1))
        path = directory / f"Jenkinsfile.{n:03d}"
        path.write_text(TEMPLATE.format(arch="amd64" if n % 2 else "arm64", n=n, stages=stages))
        paths.append(path)
    return paths


def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_files(Path(tmp), count)
        lines = sum(len(p.read_text().splitlines()) for p in paths)
        cmd = [sys.executable, "-c", "from pipelinegen.cli import main; main()", "lint", *map(str, paths)]
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
        wall = time.monotonic() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # The engine alone (no CLI start-up, which imports every command module of pipelinegen).
        from pipelinegen.lint.engine import lint_files

        engine_started = time.monotonic()
        lint_files(paths)
        engine_wall = time.monotonic() - engine_started
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(f"files: {count}  lines: {lines}  exit code: {proc.returncode}  ({proc.stderr.strip().splitlines()[-1]})")
    print(f"wall: {wall:.2f} s  cpu: {cpu:.2f} s  per file: {1000 * wall / count:.1f} ms  "
          f"max RSS: {after.ru_maxrss / 1024:.0f} MB")
    print(f"engine only (lint_files, one JVM): {engine_wall:.2f} s wall")
    print(f"target: < 10 s wall for 200 files -> {'OK' if wall < 10 * count / 200 else 'MISSED'}")
    print(f"load average at end: {os.getloadavg()[0]:.2f} (2-core machine shared with other work)")


if __name__ == "__main__":
    # --smoke: two files, only proves the benchmark runs (CI)
    main(2 if sys.argv[1:] == ["--smoke"] else int(sys.argv[1]) if len(sys.argv) > 1 else 200)
