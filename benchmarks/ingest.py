"""`results collect` and the JUnit reader against bare lxml.etree.iterparse, on Cassandra-shaped corpora.

    python benchmarks/ingest.py                          # dense corpus, 64 MB and 256 MB (issue 16 targets)
    python benchmarks/ingest.py --shape logheavy --size-mb 128
    python benchmarks/ingest.py --smoke                  # tiny corpus: proves the benchmark still runs (CI)
    python benchmarks/ingest.py --no-flat --parts        # also: what each part of collect's output costs

Every measurement is a fresh process; its CPU time (user + sys, including interpreter start and imports)
and peak RSS come from the kernel (wait4 rusage), so the figures are the whole process's, and CPU time
rather than wall time keeps neighbours on a shared machine out of them. Each is the best of --repeat.
Modes, on the same files in the same run:
- bare:    python + lxml iterparse(tag="testcase") counting test cases, elem.clear() (the anchor);
- records: results.junit.iter_records over every file (the parse-to-records path);
- collect: `pipelinegen results collect DIR -o bundle.tar.zst` (parse, normalise, write, compress, hash);
- history ingest: `pipelinegen history ingest` of that bundle into a DB already holding another run.
--parts runs collect again with one part of its output switched off (by patching the writer in the child
process: these are measurements, not options of the tool), so the cost of each part of the bundle, and what a
bundle without it would give, are figures rather than guesses; and ingests the bundle written without junit.xml.
Targets (issue 16): records >= 0.8x and collect >= 0.5x the bare throughput on the dense corpus; collect's
peak RSS at 4x the size <= 1.15x the peak at 1x, and <= 100 MiB; history ingest >= 500,000 test cases/s.
"""

from __future__ import annotations

import argparse
import compileall
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from corpus import SHAPES, generate  # noqa: E402
from measure import best, load_line, pipelinegen, run_measured  # noqa: E402

_CHILD = {
    "bare": """
import sys
from pathlib import Path
from lxml import etree
n = 0
for path in sorted(Path(sys.argv[1]).rglob("*.xml")):
    for _event, elem in etree.iterparse(str(path), events=("end",), tag="testcase", huge_tree=True):
        n += 1
        elem.clear()
print(n)
""",
    "records": """
import sys
from pathlib import Path
from pipelinegen.results.junit import iter_records
n = 0
for path in sorted(Path(sys.argv[1]).rglob("*.xml")):
    for _record in iter_records(path, "bench"):
        n += 1
print(n)
""",
    "collect": """
import sys
from pipelinegen.cli import main
sys.argv = ["pipelinegen", "results", "collect", sys.argv[1], "--commit", sys.argv[3] if len(sys.argv) > 3 else "0" * 40,
            "--profile", "bench", "-o", sys.argv[2], "--repository", "bench"]
main()
""",
}


# --parts: collect with one part of the bundle's content switched off (the member is still written, empty).
_NO_JUNIT = """
from pipelinegen.results.normalise import JUnitStreamWriter
JUnitStreamWriter.write = JUnitStreamWriter.write_passed = lambda *args: None
"""
_NO_RECORDS = """
from pipelinegen.results.records import RecordsWriter
RecordsWriter.write = RecordsWriter.write_passed = lambda *args: None
"""
_NO_DUPLICATES = """
from pipelinegen.results.bundle import _DuplicateTracker
_DuplicateTracker.see = _DuplicateTracker.see_many = lambda *args: None
"""
PARTS = {
    "without the normalised junit.xml": _NO_JUNIT,
    "without records.tsv": _NO_RECORDS,
    "without duplicate detection": _NO_DUPLICATES,
    "without all three (parse, count, archive)": _NO_JUNIT + _NO_RECORDS + _NO_DUPLICATES,
}


def best_of(mode: str, directory: Path, repeat: int, patch: str = "", bundle: Path | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        out = bundle or Path(tmp) / "bundle.tar.zst"

        def once():
            out.unlink(missing_ok=True)
            return run_measured([sys.executable, "-c", patch + _CHILD[mode], str(directory), str(out)])

        cost = best(repeat, once)
    return {"mode": mode, "cpu_s": cost.cpu_s, "wall_s": cost.wall_s, "peak_mib": cost.peak_mib,
            "stdout": cost.stdout.strip()}


def parts(base: Path, directory: Path, repeat: int, bare_s: float, collect_s: float, ingest_s: float,
          cases: int) -> None:
    """What each part of collect's output costs, and history ingest of a bundle holding no junit.xml."""
    print(f"collect by part (each row: collect with that part switched off in the child; {repeat} runs each)")
    print(f"{'':<44} {'cpu s':>6} {'saved':>6} {'/ bare':>7}")
    print(f"{'full collect (above)':<44} {collect_s:>6.2f} {'':>6} {bare_s / collect_s:>6.2f}x")
    no_junit = base / "parts-no-junit.tar.zst"
    for label, patch in PARTS.items():
        row = best_of("collect", directory, repeat, patch, no_junit if patch == _NO_JUNIT else None)
        print(f"{label:<44} {row['cpu_s']:>6.2f} {collect_s - row['cpu_s']:>6.2f} {bare_s / row['cpu_s']:>6.2f}x")
    template = base / "history-template.sqlite"

    def once():
        db = base / "parts-history.sqlite"
        shutil.copyfile(template, db)
        try:
            return run_measured(pipelinegen("history", "ingest", str(no_junit), "--db", str(db)))
        finally:
            for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                leftover.unlink(missing_ok=True)

    cost = best(repeat, once)
    no_junit.unlink(missing_ok=True)
    print(f"history ingest of the bundle without junit.xml: {cost.cpu_s:.2f} s CPU, {cases / cost.cpu_s:,.0f} test "
          f"cases/s (with it, above: {ingest_s:.2f} s, {cases / ingest_s:,.0f}/s)")


def history_ingest(base: Path, directory: Path, repeat: int):
    """CPU of `pipelinegen history ingest` for one bundle of *directory*: into a DB that holds another run of
    the same tests (the usual case: a profile runs the same tests run after run), and into an empty DB (every
    test is new: the long way). Returns (into the DB holding a run, into an empty DB)."""
    bundles = [base / f"history-{i}.tar.zst" for i in (1, 2)]
    for i, bundle in enumerate(bundles, start=1):
        run_measured([sys.executable, "-c", _CHILD["collect"], str(directory), str(bundle), str(i) * 40])
    # As an installed package is: imports read bytecode (with PYTHONDONTWRITEBYTECODE set, as on CI
    # machines, every run would otherwise compile every module it imports).
    compileall.compile_dir(ROOT / "pipelinegen", quiet=1)
    template = base / "history-template.sqlite"
    template.unlink(missing_ok=True)
    run_measured(pipelinegen("history", "ingest", str(bundles[0]), "--db", str(template)))

    def once(start_from: Path | None):
        db = base / "history.sqlite"
        if start_from is not None:
            shutil.copyfile(start_from, db)
        try:
            return run_measured(pipelinegen("history", "ingest", str(bundles[1]), "--db", str(db)))
        finally:
            for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
                leftover.unlink(missing_ok=True)

    return best(repeat, lambda: once(template)), best(repeat, lambda: once(None))


def distinct_failures(directory: Path) -> Path:
    """A copy of the corpus whose failure texts all differ (every stack frame gets its own line number): the
    generated corpora repeat a few texts, which a compressing or deduplicating store would flatter."""
    import random
    import re

    target = directory.with_name(directory.name + "-distinct")
    if not target.is_dir():
        rnd, frame = random.Random(16), re.compile(r"\.java:\d+\)")
        for path in sorted(directory.rglob("*.xml")):
            text = frame.sub(lambda _match: f".java:{rnd.randint(10, 9999)})", path.read_text(encoding="utf-8"))
            (target / path.relative_to(directory)).parent.mkdir(parents=True, exist_ok=True)
            (target / path.relative_to(directory)).write_text(text, encoding="utf-8")
    return target


def corpus(base: Path, shape: str, size_mb: float) -> tuple[Path, float]:
    directory = base / f"{shape}-{size_mb:g}"
    if not directory.is_dir():
        start = time.perf_counter()
        generate(directory, size_mb, shape)
        print(f"generated {shape} corpus of {size_mb:g} MB in {time.perf_counter() - start:.1f} s: {directory}")
    return directory, sum(p.stat().st_size for p in directory.rglob("*.xml")) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", choices=SHAPES, default="dense")
    parser.add_argument("--size-mb", type=float, default=64, help="the 1x size; the flatness run uses 4x")
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs per measurement")
    parser.add_argument("--dir", type=Path, help="keep (and reuse) the generated corpora here")
    parser.add_argument("--no-flat", action="store_true", help="skip the 4x run (peak memory flatness)")
    parser.add_argument("--smoke", action="store_true", help="1 MB, one repeat: only proves the benchmark runs")
    parser.add_argument("--parts", action="store_true",
                        help="also time collect with each part of its output switched off (see above)")
    parser.add_argument("--distinct-failures", action="store_true",
                        help="also time history ingest on a copy of the corpus whose failure texts all differ")
    args = parser.parse_args()
    if args.smoke:
        args.size_mb, args.repeat = 1, 1
    print(f"{load_line()}; CPU seconds per whole process, "
          f"best of {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as tmp:
        base = args.dir or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        directory, mb = corpus(base, args.shape, args.size_mb)
        rows = [best_of(mode, directory, args.repeat) for mode in ("bare", "records", "collect")]
        cases = int(rows[0]["stdout"])
        if int(rows[1]["stdout"]) < cases:
            raise SystemExit(f"records saw {rows[1]['stdout']} records, bare iterparse {cases} test cases")
        print(f"{args.shape} corpus: {mb:.0f} MB, {cases:,} test cases")
        print(f"{'mode':<8} {'cpu s':>7} {'wall s':>7} {'MB/cpu-s':>9} {'ratio':>6} {'peak MiB':>9}")
        anchor = mb / rows[0]["cpu_s"]
        for r in rows:
            rate = mb / r["cpu_s"]
            print(f"{r['mode']:<8} {r['cpu_s']:>7.2f} {r['wall_s']:>7.2f} {rate:>9.1f} {rate / anchor:>5.2f}x "
                  f"{r['peak_mib']:>9.0f}")
        print(f"records / bare: {rows[1]['cpu_s'] and rows[0]['cpu_s'] / rows[1]['cpu_s']:.2f}x (target >= 0.8x); "
              f"collect / bare: {rows[0]['cpu_s'] / rows[2]['cpu_s']:.2f}x (target >= 0.5x)")
        history, history_new = history_ingest(base, directory, args.repeat)
        print(f"history ingest (whole process, a second run of the same tests into a DB holding the first): "
              f"{history.cpu_s:.2f} s CPU, {cases / history.cpu_s:,.0f} test cases/s (target >= 500,000/s), peak "
              f"{history.peak_mib:.0f} MiB; {history.cpu_s / rows[0]['cpu_s']:.2f}x the bare parse of the input")
        print(f"history ingest into an empty DB (every test new): {history_new.cpu_s:.2f} s CPU, "
              f"{cases / history_new.cpu_s:,.0f} test cases/s, peak {history_new.peak_mib:.0f} MiB")
        if args.distinct_failures:
            distinct, _empty = history_ingest(base, distinct_failures(directory), args.repeat)
            print(f"history ingest, every failure text distinct (same run shape): {distinct.cpu_s:.2f} s CPU, "
                  f"{cases / distinct.cpu_s:,.0f} test cases/s, peak {distinct.peak_mib:.0f} MiB")
        if args.parts:
            parts(base, directory, args.repeat, rows[0]["cpu_s"], rows[2]["cpu_s"], history.cpu_s, cases)
        if not args.no_flat:
            big, big_mb = corpus(base, args.shape, args.size_mb * 4)
            large = best_of("collect", big, args.repeat)
            growth = large["peak_mib"] / rows[2]["peak_mib"]
            print(f"collect peak RSS: {rows[2]['peak_mib']:.0f} MiB at {mb:.0f} MB, {large['peak_mib']:.0f} MiB at "
                  f"{big_mb:.0f} MB = {growth:.2f}x (target <= 1.15x and <= 100 MiB); "
                  f"{big_mb / large['cpu_s']:.1f} MB/cpu-s")
    print(json.dumps({"shape": args.shape, "mb": round(mb, 1), "testcases": cases,
                      **{f"{r['mode']}_cpu_s": round(r["cpu_s"], 3) for r in rows},
                      **{f"{r['mode']}_peak_mib": round(r["peak_mib"], 1) for r in rows},
                      "history_ingest_cpu_s": round(history.cpu_s, 3), "history_ingest_peak_mib": round(history.peak_mib, 1),
                      "history_ingest_empty_db_cpu_s": round(history_new.cpu_s, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
