"""`pipelinegen run` against a hostile work tree and a hostile machine.

- result/archive globs never copy from outside the cell's working copy, nor through a symlink;
- a checkout directory outside the working copy is never deleted, even with load validation bypassed;
- a full or read-only results directory ends the run with exit 2 and an incomplete summary, no traceback
  and no hang (real file systems: a tiny tmpfs and a read-only bind mount in a private mount namespace);
- kill -9 of the runner kills its cells' process trees; the next run reclaims its temp directory;
- one Ctrl-C ends the run cleanly.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from pipelinegen.plan.cell import Checkout
from pipelinegen.run.executor import Executor, RunOptions
from pipelinegen.run.output import ResultDirectory
from pipelinegen.run.progress import PlainProgress
from pipelinegen.run.workspace import (
    OWNER_FILE,
    WORK_PREFIX,
    WorkspaceError,
    confined,
    matching_files,
    reclaim_stale_work_dirs,
)
from tests.run_helpers import REPO, alive, make_cell, make_plan, wait_dead


def _run(tmp_path: Path, *cells, out: Path | None = None, **options):
    repo = tmp_path / "repo"
    repo.mkdir(exist_ok=True)
    (repo / "source.txt").write_text("source\n")
    out = out or tmp_path / "out"
    plan = make_plan(*cells)
    writer = ResultDirectory(out)
    writer.write_plan(plan, list(plan.cells))
    options.setdefault("jdk_homes", {"17": Path("/usr/lib/jvm/does-not-matter")})
    executor = Executor(plan, list(plan.cells), repo, out, tmp_path / "work", RunOptions(jobs=2, **options),
                        PlainProgress(Console(file=open(os.devnull, "w"))), writer)
    summary = executor.run()
    return summary, {c.id: c for c in summary.cells}, out


def _secret(tmp_path: Path) -> Path:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET\n")
    return secret


def _pipeline(project: Path, steps: list[dict]) -> Path:
    """A one-profile pipeline.yaml (profile `all`) with *steps* (name, command, optional archive, splits)."""
    project.mkdir(parents=True, exist_ok=True)
    lines = []
    for step in steps:
        fields = {"name": step["name"], "kind": "test", "command": step["command"], **{
            k: v for k, v in step.items() if k not in ("name", "command")}}
        lines.append("  - " + json.dumps(fields))
    names = ", ".join(s["name"] for s in steps)
    (project / "pipeline.yaml").write_text(f"""\
version: 1
project: hostile
canonical_repository: https://example.invalid/hostile.git
branches: [main]
axes:
  - {{name: arch, values: [amd64], default: amd64}}
  - {{name: jdk, values: ["17"], default: "17", parameter: jdk, cell_name: "jdk{{value}}"}}
resources:
  - {{name: small, label: "small", cpu: 1, memory_gb: 1}}
defaults:
  test: {{resource: small, timeout_minutes: 5, attempts: 1, axes: [arch]}}
steps:
{chr(10).join(lines)}
profiles:
  - {{name: all, steps: [{names}]}}
""")
    return project


def _files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("pattern", ["../../secret.txt", "../*", "**/../../secret.txt", "logs/../../../*.txt",
                                     "/../secret.txt", "a/../../secret.txt"])
def test_globs_with_dot_dot_copy_nothing_from_outside(pattern, tmp_path):
    _secret(tmp_path)
    # a build step: a test step finding no JUnit would be an infrastructure failure (exit 2), not the point here
    cell = make_cell("unit_1", "mkdir -p logs && echo mine > logs/a.txt", archive=(pattern,), results=(pattern,),
                     kind="build")
    summary, cells, out = _run(tmp_path, cell)
    copied = _files_under(out)
    assert not any(b"TOP SECRET" in data for data in copied.values()), copied.keys()
    for name in copied:
        assert (out / name).resolve().is_relative_to(out.resolve())
    log = (out / cells["unit_1"].attempts[0].log).read_text()
    assert "not searched" in log or "not copied" in log
    assert summary.exit_code in (0, 1)


def test_a_symlink_matching_a_glob_is_not_followed(tmp_path):
    secret = _secret(tmp_path)
    (tmp_path / "secretdir").mkdir()
    (tmp_path / "secretdir" / "TEST-x.xml").write_text("<testsuite/>")
    script = (f"mkdir -p logs && ln -s {secret} logs/evil.log && echo ok > logs/ok.log && "
              f"ln -s {tmp_path / 'secretdir'} reports && ln -s /etc/passwd logs/passwd.log")
    cell = make_cell("unit_1", script, archive=("logs/*.log", "reports/**"), results=("reports/*.xml",))
    _summary, cells, out = _run(tmp_path, cell)
    copied = _files_under(out)
    assert not any(b"TOP SECRET" in d or b"root:" in d for d in copied.values())
    archived = cells["unit_1"].attempts[0].archived
    assert [Path(a).name for a in archived] == ["ok.log"]
    log = (out / cells["unit_1"].attempts[0].log).read_text()
    assert "logs/evil.log: it is a symlink; not copied" in log
    assert "reports/" in log and "is a symlink" in log


_SEGMENT = st.sampled_from(["..", ".", "", "*", "**", "logs", "x.txt", "secret.txt", "/", "a"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(_SEGMENT, min_size=1, max_size=6), lead=st.sampled_from(["", "/", "./"]))
def test_no_glob_pattern_reaches_outside_the_root(parts, lead, tmp_path):
    base = Path(tempfile.mkdtemp(dir=tmp_path))
    root = base / "a" / "b" / "work"
    (root / "logs").mkdir(parents=True)
    (root / "logs" / "x.txt").write_text("in\n")
    (base / "secret.txt").write_text("out\n")
    (base / "a" / "secret.txt").write_text("out\n")
    pattern = lead + "/".join(parts)
    for rel in matching_files(root, [pattern]):
        assert (root / rel).resolve().is_relative_to(root.resolve()), (pattern, rel)
        assert ".." not in rel.parts


@pytest.mark.parametrize("directory", ["/", "..", "../..", "../victim", "/tmp", "a/../../victim", ".", ""])
def test_a_checkout_directory_outside_the_working_copy_is_never_deleted(directory, tmp_path):
    """Load validation rejects these; the runner refuses them too (a plan built by API, a future field)."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep\n")
    local = tmp_path / "dtest-source"
    local.mkdir()
    (local / "dtest.py").write_text("print('dtest')\n")
    checkout = Checkout(name="dtest", repository="", branch="", directory=directory,
                        repository_parameter="", branch_parameter="")
    cell = make_cell("dtest_1", "true", checkouts=(checkout,))
    from pipelinegen.run.workspace import CheckoutSource

    summary, cells, _ = _run(tmp_path, cell, checkouts={"dtest": CheckoutSource(local=local)})
    assert (victim / "keep.txt").read_text() == "keep\n"
    assert (tmp_path / "repo" / "source.txt").exists()
    assert cells["dtest_1"].status == "error"
    assert "refusing" in cells["dtest_1"].reason
    assert summary.exit_code == 2


def test_confined_refuses_a_symlinked_checkout_directory(tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "dtest").symlink_to(victim)
    with pytest.raises(WorkspaceError, match="symlink"):
        confined(work, "dtest", "checkout dtest")
    assert confined(work, "sub/dtest", "checkout") == work / "sub" / "dtest"


# ---- the machine: full disk, read-only results directory ------------------------------------------------

def _private_mount_available() -> bool:
    if not shutil.which("unshare"):
        return False
    done = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt 2>/dev/null || "
                           "mount -t tmpfs -o size=1m tmpfs \"$TMPDIR\""], capture_output=True,
                          env={**os.environ, "TMPDIR": tempfile.gettempdir()})
    return done.returncode == 0


needs_mounts = pytest.mark.skipif(not _private_mount_available(),
                                  reason="needs unshare -rm (user + mount namespaces) to mount a tmpfs")

_RUN_SCRIPT = r"""
set -u
{setup}
cd "$PROJECT"
"$PY" -c 'from pipelinegen.cli import main; main()' run --plain --no-bundle -j 2 --out "$OUT" --timeout 60 \
    --cells "$CELLS" > "$LOG" 2>&1
echo "exit=$?" >> "$LOG"
# the mount dies with this namespace: keep what the test inspects
cp "$OUT/summary.json" "$COPY/summary.json" 2>/dev/null
find "$OUT" -name '.*.tmp' -o -name '.bundle-*' > "$COPY/leftovers.txt" 2>/dev/null
"""


def _project(tmp_path: Path, writer_cmd: str) -> Path:
    return _pipeline(tmp_path / "project", [{"name": "big", "command": writer_cmd, "archive": ["out/**"]},
                                            {"name": "small", "command": "echo small"}])


def _run_in_namespace(tmp_path: Path, setup: str, project: Path, out: Path) -> tuple[str, dict | None]:
    log = tmp_path / "run.log"
    script = _RUN_SCRIPT.format(setup=setup)
    copy = tmp_path / "copy"
    copy.mkdir()
    env = {**os.environ, "PROJECT": str(project), "OUT": str(out), "LOG": str(log), "PY": sys.executable,
           "CELLS": "*", "PYTHONPATH": str(REPO), "COPY": str(copy)}
    start = time.monotonic()
    subprocess.run(["unshare", "-rm", "sh", "-c", script], env=env, timeout=120, check=False)
    assert time.monotonic() - start < 90
    text = log.read_text() if log.exists() else ""
    summary_path = copy / "summary.json"
    leftovers = (copy / "leftovers.txt").read_text().split() if (copy / "leftovers.txt").exists() else []
    assert leftovers == [], leftovers  # no half-written temp file is left behind
    return text, (json.loads(summary_path.read_text()) if summary_path.exists() else None)


@needs_mounts
@pytest.mark.slow
def test_a_full_results_disk_ends_the_run_with_exit_2_and_an_incomplete_summary(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    out = mount / "out"
    # the big cell archives 8 MiB into a 4 MiB file system
    project = _project(tmp_path, "mkdir -p out && head -c 8388608 /dev/urandom > out/blob.bin")
    text, summary = _run_in_namespace(tmp_path, f"mount -t tmpfs -o size=4m tmpfs {mount}", project, out)
    assert "Traceback" not in text, text
    assert "exit=2" in text, text
    assert "No space left on device" in text
    # the summary was written after the failure (from the reserved space): incomplete, never "running"
    assert summary is not None and summary["complete"] is False and summary["status"] == "error"
    assert "No space left" in summary["reason"]


@needs_mounts
def test_a_read_only_results_directory_is_exit_2_before_any_cell_runs(tmp_path):
    out_parent = tmp_path / "ro"
    out_parent.mkdir()
    project = _project(tmp_path, "echo big")
    marker = tmp_path / "ran"
    _pipeline(project, [{"name": "big", "command": f"touch {marker}"}])
    text, summary = _run_in_namespace(
        tmp_path, f"mount --bind {out_parent} {out_parent} && mount -o remount,bind,ro {out_parent}",
        project, out_parent / "out")
    assert "Traceback" not in text and "exit=2" in text, text
    assert "cannot write the results directory" in text and "Read-only file system" in text
    assert summary is None and not marker.exists()


def test_a_results_directory_that_fails_mid_run_stops_it_cleanly(tmp_path, monkeypatch):
    """ENOSPC from the summary writer during the run (simulated): exit 2, incomplete, no hang, no traceback."""
    import errno

    from pipelinegen.run import output

    real = output.atomic_write_text
    calls = {"n": 0}

    def flaky_disk(path, text):
        calls["n"] += 1
        if calls["n"] == 2:  # the first summary write of the run fails; the final one (space freed) succeeds
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, text)

    monkeypatch.setattr(output, "atomic_write_text", flaky_disk)
    cells = [make_cell(f"t_{k}", "sleep 0.2") for k in range(4)]
    start = time.monotonic()
    summary, _cells, out = _run(tmp_path, *cells)
    assert time.monotonic() - start < 30
    assert summary.exit_code == 2 and not summary.complete and "No space left" in summary.reason
    assert json.loads((out / "summary.json").read_text())["complete"] is False


def test_a_cell_thread_that_hits_an_error_is_reported_not_lost(tmp_path, monkeypatch):
    """Any exception in a cell's thread becomes that cell's error: the run ends (no hang)."""
    from pipelinegen.run import executor as executor_mod

    def broken(*_args, **_kwargs):
        raise RuntimeError("simulated bug while collecting JUnit")

    monkeypatch.setattr(executor_mod.Executor, "_collect_junit", broken)
    start = time.monotonic()
    summary, cells, _ = _run(tmp_path, make_cell("t_1", "true"))
    assert time.monotonic() - start < 30
    assert cells["t_1"].status == "error" and "simulated bug" in cells["t_1"].reason
    assert summary.exit_code == 2


# ---- kill -9 and Ctrl-C -----------------------------------------------------------------------------------

def _start_run(tmp_path: Path, command: str, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen, Path]:
    project = _pipeline(tmp_path / "proj", [{"name": "hang", "command": command, "splits": 2}])
    pids = tmp_path / "pids"
    pids.mkdir()
    env = {**os.environ, "PYTHONPATH": str(REPO), "PIDS": str(pids)}
    proc = subprocess.Popen([sys.executable, "-c", "from pipelinegen.cli import main; main()", "run", "--plain",
                             "--no-bundle", "-j", "2", "--out", str(tmp_path / "out"), *extra], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, pids


def _wait_for_pids(pids: Path, count: int, seconds: float = 30) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = [int(p.read_text()) for p in pids.glob("*.pid") if p.read_text().strip()]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"only {list(pids.iterdir())} after {seconds} s")


_TREE = ('sh -c \'sleep 300 & echo $! > "$PIDS/grandchild-$PIPELINEGEN_SPLIT.pid"; wait\' & '
         'echo $$ > "$PIDS/child-$PIPELINEGEN_SPLIT.pid"; wait')


@pytest.mark.slow
def test_kill_9_of_the_runner_kills_every_cell_process_tree_and_the_next_run_reclaims_its_work_dir(tmp_path):
    proc, pids = _start_run(tmp_path, _TREE)
    found = _wait_for_pids(pids, 4)
    work_dirs = [p for p in Path(tempfile.gettempdir()).glob(f"{WORK_PREFIX}*")
                 if (p / OWNER_FILE).exists() and (p / OWNER_FILE).read_text().split()[0] == str(proc.pid)]
    assert work_dirs
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    for pid in found:
        assert wait_dead(pid, 10), f"pid {pid} outlived the runner"
    deadline = time.monotonic() + 10
    while any(d.exists() for d in work_dirs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(d.exists() for d in work_dirs)  # the guard removed it


def test_the_next_run_reclaims_work_dirs_whose_owner_is_dead_only(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = tmp_path / f"{WORK_PREFIX}old-1"
    stale.mkdir()
    (stale / OWNER_FILE).write_text(f"{dead.pid} 1\n")
    (stale / "big").write_text("x")
    live = tmp_path / f"{WORK_PREFIX}live-1"
    live.mkdir()
    from pipelinegen.run.workspace import _start_time

    (live / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
    foreign = tmp_path / f"{WORK_PREFIX}nostamp"
    foreign.mkdir()
    reused = tmp_path / f"{WORK_PREFIX}reused"  # the pid runs, but it is another process (started later)
    reused.mkdir()
    (reused / OWNER_FILE).write_text(f"{os.getpid()} 1\n")
    removed = reclaim_stale_work_dirs(tmp_path)
    assert sorted(p.name for p in removed) == sorted([stale.name, reused.name])
    assert live.exists() and foreign.exists() and not stale.exists()


@pytest.mark.slow
def test_one_ctrl_c_ends_the_run_cleanly(tmp_path):
    proc, pids = _start_run(tmp_path, _TREE, extra=("--kill-grace", "2"))
    found = _wait_for_pids(pids, 4)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, output
    assert "Traceback" not in output
    for pid in found:
        assert wait_dead(pid, 10)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["complete"] is False and summary["status"] == "interrupted"
    assert not any(alive(pid) for pid in found)


@pytest.mark.parametrize("cell_id", ["../../victim", "../victim", "a/../../victim"])
def test_a_cell_id_that_is_a_path_deletes_and_writes_nothing_outside(cell_id, tmp_path):
    """Plan cell ids are plain names; one built by API that is not must not steer rmtree or the log."""
    victim = tmp_path / "victim"
    (victim / "attempt-1").mkdir(parents=True)
    (victim / "attempt-1" / "keep.txt").write_text("keep\n")
    (tmp_path / "work" / "a").mkdir(parents=True)  # so that work/../victim resolves
    summary, cells, out = _run(tmp_path, make_cell(cell_id, "true"))
    assert (victim / "attempt-1" / "keep.txt").read_text() == "keep\n"
    assert cells[cell_id].status == "error" and summary.exit_code == 2
    assert not list(tmp_path.glob("*.log")) and not (tmp_path / "victim" / "attempt-1.log").exists()
