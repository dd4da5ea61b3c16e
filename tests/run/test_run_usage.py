"""`pipelinegen run` records what each cell attempt used (peak memory, CPU time) and the bundle carries it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import zstandard
from rich.console import Console

from pipelinegen.run.executor import Executor, RunOptions
from pipelinegen.run.output import ResultDirectory
from pipelinegen.run.progress import PlainProgress
from pipelinegen.run.usage import group_rss_mb, wait_measured
from tests.run_helpers import make_cell, make_plan, pipelinegen

# A child process (not the cell's shell itself) holds ~160 MiB and burns ~1 s of CPU: the whole tree is measured.
HOG = (f"{sys.executable} -c \"import time; x = bytearray(160 << 20); x[::4096] = b'1' * len(x[::4096]); "
       "t = time.process_time(); exec('while time.process_time() - t < 1.0: pass'); time.sleep(1.2)\"")


def test_wait_measured_sees_the_memory_and_cpu_of_grandchildren():
    proc = subprocess.Popen(["bash", "-c", HOG], start_new_session=True)
    returncode, usage = wait_measured(proc)
    assert returncode == 0 and proc.returncode == 0
    assert usage.peak_rss_mb is not None and usage.peak_rss_mb >= 150, usage
    assert usage.cpu_s is not None and usage.cpu_s >= 0.9, usage
    assert "sampled" in usage.method


def test_group_rss_counts_only_the_group():
    assert group_rss_mb(os.getpgrp()) > 0
    assert group_rss_mb(2**22 + 12345) == 0.0  # no such group


def test_run_records_usage_per_attempt_and_the_bundle_carries_it(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    out = tmp_path / "out"
    cell = make_cell("hog_1", HOG)
    plan = make_plan(cell)
    writer = ResultDirectory(out)
    writer.write_plan(plan, list(plan.cells))
    executor = Executor(plan, list(plan.cells), repo, out, tmp_path / "work",
                        RunOptions(jobs=1, jdk_homes={"17": Path("/usr/lib/jvm/x")}),
                        PlainProgress(Console(file=open(os.devnull, "w"))), writer)
    summary = executor.run()
    usage = summary.cells[0].attempts[0].usage
    assert usage["peak_memory_mb"] >= 150 and usage["cpu_seconds"] >= 0.9, usage
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["cells"][0]["attempts"][0]["usage"]["peak_memory_mb"] >= 150

    bundle = tmp_path / "b.tar.zst"
    result = pipelinegen("results", "collect", str(out), "--commit", "a" * 40, "-o", str(bundle), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with bundle.open("rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as stream, \
            tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if member.name.endswith("manifest.json"):
                manifest = json.loads(tar.extractfile(member).read())
                break
    (recorded,) = manifest["cells"][0]["usage"]
    assert recorded["attempt"] == 1 and recorded["peak_memory_mb"] >= 150 and recorded["cpu_seconds"] >= 0.9
    verify = pipelinegen("results", "verify", str(bundle), cwd=tmp_path)
    assert "schema" not in verify.stdout + verify.stderr  # the new field is part of the manifest schema
