"""`--docker`: each cell runs inside its step's image with its working copy mounted."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from pipelinegen.render.escape import shell_quote

CONTAINER_WORKDIR = "/work"


def docker_engine_problem(docker: str = "docker") -> str | None:
    """None when a docker engine answers, else a sentence saying what is missing and what to do."""
    try:
        done = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return "--docker needs the docker command, which is not installed; run without --docker to use the host"
    except subprocess.TimeoutExpired:
        return "--docker: `docker info` did not answer within 30 s; is the docker engine hung?"
    if done.returncode != 0:
        lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        reason = lines[-1] if lines else f"`docker info` exited {done.returncode}"
        return (f"--docker: no docker engine is reachable ({reason}). The docker client is installed but no "
                "daemon answers: start one (or set DOCKER_HOST), or run without --docker to use the host.")
    return None


def container_name(run_id: str, cell_id: str, attempt: int) -> str:
    return f"pipelinegen-{run_id}-{cell_id}-a{attempt}"


def docker_argv(image: str, workdir: Path, command: str, env: Mapping[str, str], name: str,
                cpus: float, memory_gb: float, docker: str = "docker", user: str | None = None) -> list[str]:
    """The `docker run` command line for one cell attempt (only the cell's own variables are passed in).

    The container runs as the calling user (uid:gid), so what it writes into the mounted working copy can
    be read, collected and removed afterwards without root.
    """
    if user is None:
        user = f"{os.getuid()}:{os.getgid()}"
    argv = [docker, "run", "--rm", "--init", "--name", name, "--user", user, "-e", "HOME=/tmp",
            "-v", f"{workdir}:{CONTAINER_WORKDIR}", "-w", CONTAINER_WORKDIR]
    if cpus > 0:
        argv += ["--cpus", f"{cpus:g}"]
    if memory_gb > 0:
        argv += ["--memory", f"{int(memory_gb * 1024)}m"]
    for key in sorted(env):
        # `-e KEY` copies the value from the client's environment: values never appear on the command line
        argv += ["-e", key]
    argv += [image, "bash", "-c", command]
    return argv


def docker_kill_argv(name: str, docker: str = "docker") -> list[str]:
    """Killing the docker client does not stop the container; this does."""
    return [docker, "kill", name]


def format_argv(argv: list[str]) -> str:
    """An argv as one shell line (for logs and --dry-run), quoted by the project's one shell escaper."""
    return " ".join(shell_quote(arg) for arg in argv)
