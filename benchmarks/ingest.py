"""Ingest throughput and peak memory: results.junit.iter_testcases vs bare lxml.etree.iterparse.

    python benchmarks/ingest.py                 # 256 MB of generated JUnit
    python benchmarks/ingest.py --size-mb 1024  # the issue's 1 GB
    python benchmarks/ingest.py --bundle        # also time a full collect into a .tar.zst bundle
    python benchmarks/ingest.py --shape dense   # test cases only: the worst case per byte

Each measurement runs in a fresh subprocess so its peak RSS (ru_maxrss) is its own. "Memory flat" is
shown by running iter_testcases on a quarter of the files too: the peak should not grow with the size.
Target (issue 6): iter_testcases >= 70 % of bare iterparse MB/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STACK = "".join(f"\tat org.apache.cassandra.db.Frame{i}.method(Frame{i}.java:{i * 7})\n" for i in range(40))
LOG_LINE = "INFO  [main] 2026-11-20 10:11:12,001 ColumnFamilyStore.java:385 - Initializing system.local\n"


def generate(directory: Path, size_mb: int, file_mb: float, shape: str = "cassandra", seed: int = 7) -> list[Path]:
    """Ant/Surefire-shaped files with ~2 % failures (stack trace + output) and ~3 % skips.

    shape "cassandra": 20-80 test cases per suite, the rest of the file is the suite's log output (as
    Cassandra's per-class TEST-*.xml files are). shape "dense": test cases only, ~600 bytes each: the
    worst case for a per-test-case parser.
    """
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    target = size_mb * 1024 * 1024
    written = 0
    files: list[Path] = []
    index = 0
    while written < target:
        cls = f"org.apache.cassandra.bench.Generated{index}Test"
        parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="{cls}" hostname="agent" time="12.5">\n'
                 '<properties><property name="java.version" value="17"/></properties>\n']
        size = len(parts[0])
        budget = int(file_mb * 1024 * 1024 * (rng.uniform(0.25, 1.75) if shape == "cassandra" else 1))
        cases = rng.randint(20, 80) if shape == "cassandra" else 1 << 62
        case = 0
        while size < budget * 0.8 and case < cases:
            name = f"test{case}"
            roll = rng.random()
            if roll < 0.02:
                body = (f'<testcase classname="{cls}" name="{name}" time="1.5"><failure message="expected:&lt;1&gt;'
                        f' but was:&lt;2&gt;" type="java.lang.AssertionError">java.lang.AssertionError\n{STACK}'
                        f'</failure><system-out><![CDATA[{LOG_LINE * 200}]]></system-out></testcase>\n')
            elif roll < 0.05:
                body = f'<testcase classname="{cls}" name="{name}" time="0"><skipped message="ignored"/></testcase>\n'
            else:
                body = f'<testcase classname="{cls}" name="{name}" time="{rng.random():.3f}"/>\n'
            parts.append(body)
            size += len(body)
            case += 1
        out = LOG_LINE * max(1, (budget - size) // len(LOG_LINE))
        parts.append(f"<system-out><![CDATA[{out}]]></system-out>\n<system-err><![CDATA[]]></system-err>\n</testsuite>\n")
        path = directory / f"TEST-{cls}.xml"
        data = "".join(parts).encode()
        path.write_bytes(data)
        files.append(path)
        written += len(data)
        index += 1
    return files


def _measure_child(mode: str, files: list[str]) -> dict:
    from lxml import etree

    start = time.perf_counter()
    cpu_start = time.process_time()
    count = 0
    if mode == "bare":
        for path in files:
            for _event, elem in etree.iterparse(path, events=("end",), tag="testcase", huge_tree=True):
                count += 1
                elem.clear()
    elif mode == "ours":
        from pipelinegen.results.junit import iter_testcases

        for path in files:
            for _case in iter_testcases(path, "bench"):
                count += 1
    elif mode == "bundle":
        from pipelinegen.results.bundle import BundleWriter
        from pipelinegen.results.manifest import CellRef, Producer, Subject

        out = Path(tempfile.mkdtemp()) / "bench.tar.zst"
        ref = CellRef("bench", "bench", "bench")
        with BundleWriter(out, subject=Subject("r", "0" * 40), parameters={"profile": "bench"},
                          producer=Producer("local"), cells=[ref]) as writer:
            result = writer.add_cell(ref, status="passed", junit=[Path(p) for p in files])
        count = result.tests.total
        out.unlink()
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"mode": mode, "testcases": count, "seconds": seconds, "cpu_s": cpu, "peak_rss_mb": peak_kb / 1024}


def measure(mode: str, files: list[Path]) -> dict:
    listing = Path(tempfile.mkstemp(suffix=".json")[1])
    listing.write_text(json.dumps([str(f) for f in files]))
    try:
        proc = subprocess.run([sys.executable, __file__, "--child", mode, str(listing)],
                              capture_output=True, text=True, check=True)
    finally:
        listing.unlink()
    result = json.loads(proc.stdout)
    result["mb"] = sum(f.stat().st_size for f in files) / (1024 * 1024)
    # CPU time, not wall time: on a shared machine the wall clock measures the neighbours.
    result["mb_per_s"] = result["mb"] / result["cpu_s"]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--file-mb", type=float, default=1.0, help="mean size of each generated JUnit file")
    parser.add_argument("--shape", choices=["cassandra", "dense"], default="cassandra")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per measurement")
    parser.add_argument("--dir", type=Path, help="reuse/keep generated files here")
    parser.add_argument("--bundle", action="store_true", help="also time a full collect into a bundle")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, listing = args.child
        print(json.dumps(_measure_child(mode, json.loads(Path(listing).read_text()))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.dir or Path(tmp) / "junit"
        files = sorted(directory.glob("TEST-*.xml")) if directory.is_dir() else []
        if not files:
            start = time.perf_counter()
            files = generate(directory, args.size_mb, args.file_mb, args.shape)
            print(f"generated {len(files)} {args.shape}-shaped files, {args.size_mb} MB in "
                  f"{time.perf_counter() - start:.1f}s")
        quarter = files[: max(1, len(files) // 4)]
        def best(mode: str, subset: list[Path]) -> dict:
            return min((measure(mode, subset) for _ in range(args.repeat)), key=lambda r: r["cpu_s"])

        rows = [best("bare", files), best("ours", files), best("ours", quarter)]
        if args.bundle:
            rows.append(best("bundle", files))
        print(f"{'mode':<8} {'MB':>8} {'testcases':>10} {'wall s':>7} {'cpu s':>7} {'MB/cpu-s':>9} {'peak RSS MB':>12}")
        for r in rows:
            print(f"{r['mode']:<8} {r['mb']:>8.0f} {r['testcases']:>10} {r['seconds']:>7.2f} {r['cpu_s']:>7.2f} "
                  f"{r['mb_per_s']:>9.1f} {r['peak_rss_mb']:>12.0f}")
        ratio = rows[1]["mb_per_s"] / rows[0]["mb_per_s"]
        print(f"iter_testcases / bare iterparse throughput: {ratio:.0%} (target >= 70%)")
        print(f"peak RSS, full vs quarter of the files: {rows[1]['peak_rss_mb']:.0f} MB vs "
              f"{rows[2]['peak_rss_mb']:.0f} MB")
        if os.environ.get("KEEP"):
            print(f"files kept in {directory}")


if __name__ == "__main__":
    main()
