"""What a cell attempt really used: CPU time and peak memory of its whole process tree.

CPU time comes from the kernel (wait4's rusage of the cell's leader, which includes every descendant it
reaped: a test JVM, its forked workers). Peak memory is the larger of two readings: the resident set of
the whole process group sampled every SAMPLE_S seconds (a sum over processes, so pages shared between them
count more than once: a slight overestimate, and a peak shorter than the interval can be missed) and the
largest single process's own high-water mark (rusage ru_maxrss, exact). Linux only; elsewhere the usage is
reported as unmeasured, never as zero.
"""

from __future__ import annotations

import os
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

SAMPLE_S = 0.5
_PAGE_MB = (os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096) / 2**20
PROC = Path("/proc")


@dataclass(frozen=True)
class Usage:
    cpu_s: float | None  # user + system seconds of the tree; None: not measured
    peak_rss_mb: float | None
    method: str  # how it was measured, stored with the figures

    def as_dict(self) -> dict:
        return {"cpu_seconds": None if self.cpu_s is None else round(self.cpu_s, 3),
                "peak_memory_mb": None if self.peak_rss_mb is None else round(self.peak_rss_mb, 1),
                "usage_method": self.method}


UNMEASURED = Usage(None, None, "not measured")


def group_rss_mb(pgid: int, proc: Path = PROC) -> float:
    """Resident memory (MiB) of every process whose process group is *pgid*."""
    total_pages = 0
    try:
        entries = list(proc.iterdir())
    except OSError:
        return 0.0
    for entry in entries:
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        fields = stat[stat.rfind(")") + 2:].split()
        # after "pid (comm) ": state ppid pgrp ... field 24 (rss, pages) is index 21
        if len(fields) > 21 and fields[2] == str(pgid):
            total_pages += int(fields[21])
    return total_pages * _PAGE_MB


def wait_measured(proc: subprocess.Popen, sample_s: float = SAMPLE_S) -> tuple[int, Usage]:
    """Wait for *proc* (a process-group leader) like Popen.wait(), and measure what its tree used."""
    if not PROC.is_dir() or not hasattr(os, "wait4"):
        return proc.wait(), UNMEASURED
    peak = [0.0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], group_rss_mb(proc.pid))
            done.wait(sample_s)

    sampler = threading.Thread(target=sample, name=f"usage-{proc.pid}", daemon=True)
    sampler.start()
    try:
        _pid, status, rusage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # already reaped elsewhere: nothing to measure
        done.set()
        return proc.wait(), UNMEASURED
    finally:
        done.set()
    sampler.join(timeout=5)
    proc.returncode = os.waitstatus_to_exitcode(status)
    largest_process_mb = rusage.ru_maxrss / 1024  # KiB on Linux
    return proc.returncode, Usage(cpu_s=rusage.ru_utime + rusage.ru_stime,
                                  peak_rss_mb=max(peak[0], largest_process_mb),
                                  method=f"process group RSS sampled every {sample_s:g} s; rusage of the tree")
