"""`--docker`: each cell runs inside its step's image with its working copy mounted.

Every container carries labels naming the run and the `pipelinegen run` process that started it (pid and
start time, so a reused pid is not mistaken for it). A runner that dies without stopping its containers
(kill -9) is covered twice: its guard process (run/process.py) kills the containers it registered, and the
next `run --docker` removes any labelled container whose runner is gone (one the guard missed, e.g. created
while the runner died).
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path

from pipelinegen.escape import shell_quote

CONTAINER_WORKDIR = "/work"
LABEL_RUN = "org.pipelinegen.run"
LABEL_RUNNER = "org.pipelinegen.runner"  # "<pid>:<start time in clock ticks>" of the pipelinegen process
LABEL_HOST = "org.pipelinegen.host"  # pids mean something on this host only
# A project's script that builds one of its cell images (`build-image.sh IMAGE`), named in the message of a
# cell whose image is missing: the CI-agnostic scripts contract (docs/scripts.md).
IMAGE_BUILD_SCRIPT = ".build/docker/build-image.sh"
_DOCKER_TIMEOUT_S = 60

# docker's image reference grammar (distribution/reference): [domain[:port]/]name[/name...][:tag][@digest],
# or a bare image id. Anything else never reaches a docker command line (e.g. an `image:` of '--privileged').
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_REFERENCE = re.compile(
    rf"(?:(?:{_DOMAIN}/)?{_COMPONENT}(?:/{_COMPONENT})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
    r"|sha256:[0-9a-f]{64})")


def valid_image_reference(image: str) -> bool:
    return len(image) <= 512 and _IMAGE_REFERENCE.fullmatch(image) is not None


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
                "daemon answers: start one (scripts/docker.sh engine, or set DOCKER_HOST), or run without "
                "--docker to use the host.")
    return None


_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def container_name(run_id: str, cell_id: str, attempt: int) -> str:
    """A docker container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*), unique per run, cell and attempt."""
    name = f"pipelinegen-{run_id}-{cell_id}-a{attempt}"
    safe = _NAME_UNSAFE.sub("-", name)
    if safe != name:  # two cell ids differing only in unsafe characters must not share a name
        safe += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return safe


def process_identity(pid: int) -> str:
    """'<pid>:<start time>' (from /proc), or '' when *pid* does not run: a reused pid has another start time."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return ""
    return f"{pid}:{fields[19]}"  # field 22 of proc(5): starttime


@cache
def runner_labels(run_id: str) -> tuple[tuple[str, str], ...]:
    """The labels of every container this process starts for *run_id*."""
    return ((LABEL_RUN, run_id), (LABEL_RUNNER, process_identity(os.getpid())), (LABEL_HOST, socket.gethostname()))


def docker_argv(image: str, workdir: Path, command: str, env: Mapping[str, str] | Iterable[str], name: str,
                cpus: float, memory_gb: float, docker: str = "docker", user: str | None = None,
                labels: Iterable[tuple[str, str]] = ()) -> list[str]:
    """The `docker run` command line for one cell attempt; *env* names the variables passed (never values).

    The container runs as the calling user (uid:gid), so what it writes into the mounted working copy is
    owned by that user on the host and can be collected and removed without root. No network: a cell's
    scripts get what they need from the working copy and the image.
    """
    if user is None:
        user = f"{os.getuid()}:{os.getgid()}"
    argv = [docker, "run", "--rm", "--init", "--name", name, "--user", user, "--network", "none",
            "-e", "HOME=/tmp", "-v", f"{workdir}:{CONTAINER_WORKDIR}", "-w", CONTAINER_WORKDIR]
    for key, value in labels:
        argv += ["--label", f"{key}={value}"]
    if cpus > 0:
        argv += ["--cpus", f"{cpus:g}"]
    if memory_gb > 0:
        argv += ["--memory", f"{int(memory_gb * 1024)}m"]
    for key in sorted(env):
        # `-e KEY` copies the value from the client's environment: values never appear on the command line
        argv += ["-e", key]
    argv += [image, "bash", "-c", command]
    return argv


def docker_kill_argv(name: str, signal_name: str = "KILL", docker: str = "docker") -> list[str]:
    """Killing the docker client does not stop the container; this does (TERM first, KILL after the grace)."""
    return [docker, "kill", "--signal", signal_name, name]


def remove_container(name: str, docker: str = "docker") -> None:
    """Make sure a stopped attempt's container is gone (its client may have died before `--rm` applied)."""
    subprocess.run([docker, "rm", "-f", name], capture_output=True, check=False, timeout=_DOCKER_TIMEOUT_S,
                   stdin=subprocess.DEVNULL)


def image_ids(images: Iterable[str], docker: str = "docker") -> dict[str, str]:
    """{image: its id (sha256:…)} for each image the engine has; missing images are left out."""
    found: dict[str, str] = {}
    for image in sorted(set(images)):
        if not valid_image_reference(image):
            continue
        done = subprocess.run([docker, "image", "inspect", "--format", "{{.Id}}", image], capture_output=True,
                              text=True, check=False, timeout=_DOCKER_TIMEOUT_S, stdin=subprocess.DEVNULL)
        image_id = done.stdout.strip()
        if done.returncode == 0 and valid_image_reference(image_id):
            found[image] = image_id
    return found


def missing_image_reason(image: str, project: Path) -> str:
    """Why a cell cannot start: its image is not in the engine, and the command that builds it."""
    if not valid_image_reference(image):
        return (f"image {image!r} is not a docker image reference (name[:tag][@digest]): "
                "correct the step's `image:` in pipeline.yaml")
    if (project / IMAGE_BUILD_SCRIPT).is_file():
        build = f"(cd {shell_quote(str(project))} && {IMAGE_BUILD_SCRIPT} {shell_quote(image)})"
    else:
        build = f"docker build -t {shell_quote(image)} DIRECTORY_OF_ITS_DOCKERFILE"
    return f"image {image} is not in the docker engine: build it first with `{build}`"


def reap_orphans(docker: str = "docker") -> list[str]:
    """Remove containers of runners on this host that are gone (kill -9, a crash); returns their names."""
    done = subprocess.run([docker, "ps", "-a", "--filter", f"label={LABEL_RUNNER}", "--filter",
                           f"label={LABEL_HOST}={socket.gethostname()}", "--format",
                           f'{{{{.ID}}}}\t{{{{.Names}}}}\t{{{{.Label "{LABEL_RUNNER}"}}}}'],
                          capture_output=True, text=True, check=False, timeout=_DOCKER_TIMEOUT_S,
                          stdin=subprocess.DEVNULL)
    orphans: dict[str, str] = {}
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        container_id, name, runner = parts
        pid = runner.split(":", 1)[0]
        if not pid.isdigit() or process_identity(int(pid)) != runner:
            orphans[container_id] = name
    if orphans:
        subprocess.run([docker, "rm", "-f", *orphans], capture_output=True, check=False,
                       timeout=_DOCKER_TIMEOUT_S, stdin=subprocess.DEVNULL)
    return sorted(orphans.values())


def format_argv(argv: list[str]) -> str:
    """An argv as one shell line (for logs and --dry-run), quoted by the project's one shell escaper."""
    return " ".join(shell_quote(arg) for arg in argv)
