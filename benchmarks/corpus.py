"""Cassandra-shaped JUnit corpora for the results benchmarks (deterministic for a given seed).

    python benchmarks/corpus.py DIR --shape dense --size-mb 64     # write a corpus, print its figures

Shapes (sizes are targets; files stop at the first test case past them):
- dense: Cassandra's unit tests as Ant's junit formatter writes them: ~32 KB files (2,000 per 64 MB,
  ~100 test cases each, ~200k test cases per 64 MB), 2 % failures with a stack trace and the test's
  output, 3 % skipped, and the suite's own system-out/system-err after the test cases. The worst case
  per byte for a per-test-case reader, and what trunk's `ant test` produces.
- logheavy: few test cases per file, most bytes in the suite's system-out (the old benchmark corpus:
  ~50 test cases per MB). Measures text throughput, not per-test-case cost.
- surefire: Maven Surefire shape: <testsuites> wrapper, properties, flakyFailure/rerunFailure children,
  per-test-case system-out on every test.
- pytest: python dtests / cqlsh tests as pytest writes them: classname is a module path, failure and
  error on one case, xfail as skipped, no suite output.
- broken: a broken build (a missing class, a node that never starts): every test fails, each with a stack
  trace and ~66 KB of its output, more than the 64 KiB a bundle keeps of one text. Files of ~0.4-1.1 MB, so
  both JUnit readers (tree and streaming) see them. Memory must not follow the failures' output.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

SHAPES = ("dense", "logheavy", "surefire", "pytest", "broken")

STACK = "".join(f"\tat org.apache.cassandra.db.ColumnFamilyStore$Frame{i}.apply(ColumnFamilyStore.java:{300 + i * 7})\n"
                for i in range(36))
LOG_LINE = ("INFO  [main] 2026-11-20 10:11:12,001 ColumnFamilyStore.java:385 - Initializing system.local "
            "<keyspace & table>\n")
PACKAGES = ("db", "db.compaction", "io.sstable", "service", "cql3.validation.operations", "net", "utils",
            "index.sai.cql", "repair", "streaming")


def _failure(rng: random.Random, cls: str, name: str, lines: int) -> str:
    return (f'  <testcase classname="{cls}" name="{name}" time="{rng.uniform(0.5, 30):.3f}">\n'
            f'    <failure message="expected:&lt;{rng.randint(0, 9)}&gt; but was:&lt;{rng.randint(10, 99)}&gt;"'
            f' type="junit.framework.AssertionFailedError">junit.framework.AssertionFailedError: expected:&lt;1&gt;'
            f"\n{STACK}</failure>\n"
            f"    <system-out><![CDATA[{LOG_LINE * lines}]]></system-out>\n  </testcase>\n")


def _pass(rng: random.Random, cls: str, name: str) -> str:
    return f'  <testcase classname="{cls}" name="{name}" time="{rng.random() * 2:.3f}" />\n'


def _skip(cls: str, name: str) -> str:
    return f'  <testcase classname="{cls}" name="{name}" time="0.000">\n    <skipped message="@Ignore" />\n  </testcase>\n'


def _dense(rng: random.Random, index: int, file_bytes: int) -> str:
    cls = f"org.apache.cassandra.{PACKAGES[index % len(PACKAGES)]}.Generated{index}Test"
    head = (f'<?xml version="1.0" encoding="UTF-8" ?>\n<testsuite errors="0" failures="0" hostname="agent-{index % 7}" '
            f'name="{cls}" tests="0" time="{rng.uniform(5, 90):.3f}" timestamp="2026-11-20T10:11:12">\n'
            '  <properties>\n    <property name="java.version" value="17.0.9" />\n'
            '    <property name="cassandra.test.use_prepared" value="true" />\n  </properties>\n')
    parts = [head]
    size = len(head)
    suite_out = LOG_LINE * 70
    tail = (f"  <system-out><![CDATA[{suite_out}]]></system-out>\n"
            "  <system-err><![CDATA[WARN  [main] 2026-11-20 10:11:12,002 jvm options: -Xss256k\n]]></system-err>\n"
            "</testsuite>\n")
    budget = file_bytes - len(tail)
    case = 0
    while size < budget:
        name = f"test{['Insert', 'Select', 'Compact', 'Flush', 'Repair'][case % 5]}{case}"
        roll = rng.random()
        if roll < 0.02:
            body = _failure(rng, cls, name, 24)
        elif roll < 0.05:
            body = _skip(cls, name)
        else:
            body = _pass(rng, cls, name)
        parts.append(body)
        size += len(body)
        case += 1
    parts.append(tail)
    return "".join(parts)


def _logheavy(rng: random.Random, index: int, file_bytes: int) -> str:
    cls = f"org.apache.cassandra.distributed.test.Generated{index}Test"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name="{cls}" hostname="agent" time="12.5">\n']
    for case in range(rng.randint(20, 80)):
        roll = rng.random()
        name = f"test{case}"
        parts.append(_failure(rng, cls, name, 200) if roll < 0.02 else _skip(cls, name) if roll < 0.05
                     else _pass(rng, cls, name))
    size = sum(map(len, parts))
    out = LOG_LINE * max(1, (file_bytes - size) // len(LOG_LINE))
    parts.append(f"<system-out><![CDATA[{out}]]></system-out>\n<system-err><![CDATA[]]></system-err>\n</testsuite>\n")
    return "".join(parts)


def _surefire(rng: random.Random, index: int, file_bytes: int) -> str:
    cls = f"org.apache.cassandra.sidecar.Generated{index}Test"
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n<testsuite name="{cls}" tests="0">\n'
             '<properties><property name="surefire.version" value="3.2.5"/></properties>\n']
    size = len(parts[0])
    case = 0
    while size < file_bytes:
        name = f"test{case}"
        roll = rng.random()
        out = f"<system-out><![CDATA[{LOG_LINE * 3}]]></system-out>"
        if roll < 0.02:
            body = _failure(rng, cls, name, 10)
        elif roll < 0.04:
            body = (f'<testcase classname="{cls}" name="{name}" time="2.0"><flakyFailure message="timeout" '
                    f'type="java.util.concurrent.TimeoutException"><stackTrace>{STACK}</stackTrace>'
                    f"<system-out>attempt 1</system-out></flakyFailure>{out}</testcase>\n")
        elif roll < 0.05:
            body = (f'<testcase classname="{cls}" name="{name}" time="2.0"><error message="boom" type="java.io.IOError">'
                    f'{STACK}</error><rerunError message="boom again" type="java.io.IOError"><stackTrace>{STACK}'
                    f"</stackTrace></rerunError>{out}</testcase>\n")
        else:
            body = f'<testcase classname="{cls}" name="{name}" time="{rng.random():.3f}">{out}</testcase>\n'
        parts.append(body)
        size += len(body)
        case += 1
    parts.append("</testsuite>\n</testsuites>\n")
    return "".join(parts)


def _pytest(rng: random.Random, index: int, file_bytes: int) -> str:
    module = f"dtest.generated_{index}_test"
    parts = ['<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0" failures="0" '
             'skipped="0" tests="0" time="30.0" hostname="agent">']
    size = len(parts[0])
    case = 0
    while size < file_bytes:
        cls = f"{module}.TestGenerated{case // 20}"
        name = f"test_case_{case}[vnodes]"
        roll = rng.random()
        if roll < 0.02:
            body = (f'<testcase classname="{cls}" name="{name}" time="12.0"><failure message="AssertionError: '
                    f'assert 1 == 2">def {name[:-8]}(self):\n&gt;       assert 1 == 2\nE       assert 1 == 2\n'
                    f'</failure><error message="failed on teardown">ccmlib.node.NodeError: node1 died</error>'
                    f"<system-out><![CDATA[{LOG_LINE * 20}]]></system-out></testcase>")
        elif roll < 0.05:
            body = f'<testcase classname="{cls}" name="{name}" time="0.0"><skipped type="pytest.xfail" message="known"/></testcase>'
        else:
            body = f'<testcase classname="{cls}" name="{name}" time="{rng.uniform(1, 60):.3f}"/>'
        parts.append(body)
        size += len(body)
        case += 1
    parts.append("</testsuite></testsuites>")
    return "".join(parts)


def _broken(rng: random.Random, index: int, file_bytes: int) -> str:
    cls = f"org.apache.cassandra.{PACKAGES[index % len(PACKAGES)]}.Broken{index}Test"
    parts = [f'<?xml version="1.0" encoding="UTF-8" ?>\n<testsuite name="{cls}" tests="0" hostname="agent">\n']
    size = len(parts[0])
    case = 0
    while size < file_bytes:
        body = _failure(rng, cls, f"test{case}", 600)
        parts.append(body)
        size += len(body)
        case += 1
    parts.append("</testsuite>\n")
    return "".join(parts)


_BUILDERS = {"dense": (_dense, 33_000), "logheavy": (_logheavy, 1024 * 1024), "surefire": (_surefire, 64 * 1024),
             "pytest": (_pytest, 96 * 1024), "broken": (_broken, 768 * 1024)}


def generate(directory: Path, size_mb: float, shape: str = "dense", seed: int = 7) -> list[Path]:
    """Write about *size_mb* MB of *shape*-shaped JUnit XML under *directory*; returns the files, sorted.

    Files go into sub-directories of 250 (as per-split artifact directories would), each one cell.
    """
    if shape not in _BUILDERS:
        raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
    build, mean = _BUILDERS[shape]
    rng = random.Random(seed)
    directory = Path(directory)
    target = int(size_mb * 1024 * 1024)
    written = index = 0
    files: list[Path] = []
    while written < target:
        file_bytes = mean if shape == "dense" else int(mean * rng.uniform(0.5, 1.5))
        data = build(rng, index, min(file_bytes, max(4096, target - written))).encode()
        cell = directory / f"split-{index // 250 + 1}"
        cell.mkdir(parents=True, exist_ok=True)
        path = cell / f"TEST-generated-{index}.xml"
        path.write_bytes(data)
        files.append(path)
        written += len(data)
        index += 1
    return sorted(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--shape", choices=SHAPES, default="dense")
    parser.add_argument("--size-mb", type=float, default=64)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    files = generate(args.directory, args.size_mb, args.shape, args.seed)
    total = sum(f.stat().st_size for f in files)
    cases = sum(f.read_bytes().count(b"<testcase ") for f in files)
    print(f"{args.shape}: {len(files)} files, {total / 2**20:.1f} MB, {cases} test cases "
          f"({cases / (total / 2**20):.0f} per MB) in {args.directory}")


if __name__ == "__main__":
    sys.exit(main())
