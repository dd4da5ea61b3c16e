"""Every command that writes a file, pointed at a read-only or full file system: exit 2 naming where,
never a traceback, never a partial file (real mounts in a private user + mount namespace)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipelinegen.cli import main
from tests.hostile import bundle_mutator as bm
from tests.run_helpers import REPO


def _namespaces() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tempfile.gettempdir()}"],
        capture_output=True).returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces(), reason="needs unshare -rm to mount a file system")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("inputs")
    bundle = bm.good_bundle(tmp)
    db = tmp / "h.sqlite"
    result = CliRunner().invoke(main, ["history", "ingest", "--db", str(db), str(bundle)])
    assert result.exit_code == 0, result.output
    return bundle, db


def _commands(bundle: Path, db: Path, target: Path) -> dict[str, list[str]]:
    junit = REPO / "tests" / "fixtures" / "junit"
    return {
        "summary --html": ["results", "summary", str(bundle), "--html", str(target / "s.html")],
        "summary --junit": ["results", "summary", str(bundle), "--junit", str(target / "j.xml")],
        "collect -o": ["results", "collect", str(junit), "--commit", bm.COMMIT, "--profile", "p", "-o",
                       str(target / "b.tar.zst")],
        "flaky --html": ["flaky", "--db", str(db), "--html", str(target / "f.html")],
        "flaky --json-file": ["flaky", "--db", str(db), "--json-file", str(target / "f.json")],
        "history ingest (new DB)": ["history", "ingest", "--db", str(target / "new.sqlite"), str(bundle)],
    }


@pytest.mark.parametrize("fs", ["read-only", "full"])
def test_every_output_on_a_broken_file_system_is_exit_2_without_traceback(fs, inputs, tmp_path):
    bundle, db = inputs
    target = tmp_path / "target"
    target.mkdir()
    setup = (f"mount --bind {target} {target} && mount -o remount,bind,ro {target}" if fs == "read-only" else
             f"mount -t tmpfs -o size=64k tmpfs {target} && (head -c 1000000 /dev/zero > {target}/filler; true)")
    commands = _commands(bundle, db, target)
    report = tmp_path / "report"
    report.mkdir()
    lines = [setup]
    for k, argv in enumerate(commands.values()):
        quoted = " ".join(f"'{a}'" for a in argv)
        lines.append(f'"$PY" -c "from pipelinegen.cli import main; main()" {quoted} > {report}/{k}.out 2>&1; '
                     f'echo $? > {report}/{k}.rc; ls -A {target} > {report}/{k}.ls')
    subprocess.run(["unshare", "-rm", "sh", "-c", "\n".join(lines)], timeout=300, check=False,
                   env={**os.environ, "PY": sys.executable, "PYTHONPATH": str(REPO)})
    for k, label in enumerate(commands):
        out = (report / f"{k}.out").read_text()
        assert (report / f"{k}.rc").read_text().strip() == "2", (label, out)
        assert "Traceback" not in out, (label, out)
        assert "error" in out, (label, out)
        left = set((report / f"{k}.ls").read_text().split()) - {"filler"}
        assert not {n for n in left if n.startswith(".") and not n.endswith(("-wal", "-shm"))}, (label, left)
