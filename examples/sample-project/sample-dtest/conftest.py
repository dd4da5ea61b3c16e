"""The sample's python tests (the cassandra-dtest shape): they drive the built product as a black box."""

import os
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def sample():
    jar = Path(os.environ.get("SAMPLE_JAR", Path(__file__).resolve().parent.parent / "build" / "sample.jar"))
    if not jar.is_file():
        pytest.fail(f"{jar} is missing: run .build/build-jars.sh JDK first")
    java = Path(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"

    def run(*args: str) -> str:
        done = subprocess.run([str(java), "-jar", str(jar), *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    return run
