"""Isolated working copies: the local equivalent of a fresh checkout plus `unstash` on a Jenkins agent."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipelinegen.plan.cell import Checkout

# Never copied into a cell's working copy: VCS data, build output (comes from the stash instead, as on CI),
# and the places where runs write their results and working copies.
EXCLUDED_TOP_LEVEL = frozenset({".git", "build", "results", ".pipelinegen", ".venv", "node_modules"})
EXCLUDED_ANYWHERE = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})


class WorkspaceError(Exception):
    """A working copy could not be prepared (the cell is an `error`, not a test failure)."""


def matching_files(root: Path, patterns: Iterable[str], skipped: list[str] | None = None) -> list[Path]:
    """Regular files under *root* matching any glob pattern (`**` recurses), relative to *root*, sorted,
    no duplicates.

    Confined to *root*, whatever the pattern or the work tree holds (a cell's script is not trusted): a
    pattern with a `..` part is not searched, and a match that is a symlink, or lies below one, is left
    out, so its target (a key, /etc/shadow, another cell's files) is never copied. Each left-out pattern
    or file is appended to *skipped* with the reason, for the cell's log.
    """
    root_real = Path(os.path.realpath(root))
    found: set[Path] = set()
    for pattern in split_patterns(patterns):
        parts = [part for part in pattern.split("/") if part not in ("", ".")]
        if ".." in parts or "\x00" in pattern:
            _note(skipped, f"pattern {pattern!r}: '..' would leave the working copy; not searched")
            continue
        if not parts:
            _note(skipped, f"pattern {pattern!r} names no file; not searched")
            continue
        pattern = "/".join(parts)
        if pattern.endswith("**"):  # Ant/Jenkins meaning: everything below; Python 3.11's glob: directories only
            pattern += "/*"
        try:
            matches = list(root.glob(pattern))
        except (ValueError, IndexError, NotImplementedError) as err:  # '', '.', 'a**b': pathlib refuses them
            _note(skipped, f"pattern {pattern!r} is not a usable glob ({err or 'empty'}); not searched")
            continue
        for path in matches:
            rel = path.relative_to(root)
            if rel in found:
                continue
            problem = _unsafe_match(root, rel, root_real)
            if problem:
                _note(skipped, f"{rel.as_posix()}: {problem}; not copied")
            elif path.is_file():
                found.add(rel)
    return sorted(found)


def _note(skipped: list[str] | None, text: str) -> None:
    if skipped is not None:
        skipped.append(text)


def _unsafe_match(root: Path, rel: Path, root_real: Path) -> str | None:
    """Why root/rel must not be copied: a symlink on the way (lstat of each part), or outside root."""
    current = root
    for part in rel.parts:
        if part in ("..", ""):
            return "outside the working copy"
        current = current / part
        if current.is_symlink():
            return f"{'it' if current == root / rel else (current.relative_to(root).as_posix() + '/')} is a symlink"
    if not Path(os.path.realpath(root / rel)).is_relative_to(root_real):
        return "outside the working copy"
    return None


def confined(root: Path, rel: str | Path, what: str) -> Path:
    """root/rel for a path that must stay inside *root* (a checkout directory that is about to be deleted
    and replaced): refuses absolute paths, `..`, and a symlink anywhere on the way. Load-time validation
    rejects these too; this check holds even if that is bypassed (an API caller, a future field)."""
    rel_path = PurePosixPath(str(rel))
    if rel_path.is_absolute() or not rel_path.parts or any(p in ("..", ".") for p in rel_path.parts) \
            or "\x00" in str(rel):
        raise WorkspaceError(f"{what}: '{rel}' is not a relative path inside the cell's working copy; refusing "
                             f"to touch it")
    target = root.joinpath(*rel_path.parts)
    current = root
    for part in rel_path.parts:
        current = current / part
        if current.is_symlink():
            raise WorkspaceError(f"{what}: {current} is a symlink; refusing to replace what it points to")
    if not Path(os.path.realpath(target)).is_relative_to(Path(os.path.realpath(root))):
        raise WorkspaceError(f"{what}: '{rel}' leads outside the cell's working copy; refusing to touch it")
    return target


def split_patterns(patterns: Iterable[str]) -> list[str]:
    """Jenkins `stash includes` is a comma-separated list; accept that as well as separate patterns."""
    return [part.strip().lstrip("/") for pattern in patterns for part in pattern.split(",") if part.strip()]


def copy_source(source: Path, dest: Path, extra_excluded: Iterable[Path] = ()) -> None:
    """Copy the checkout at *source* to *dest*, leaving out VCS data, build output and run directories."""
    source = source.resolve()
    skip = {p.resolve() for p in extra_excluded}

    def ignore(directory: str, names: list[str]) -> set[str]:
        # copytree joins names onto the resolved *source* and never enters symlinked directories
        # (symlinks=True), so *directory* is already resolved: no per-directory resolve() needed
        here = Path(directory)
        ignored = {n for n in names if n in EXCLUDED_ANYWHERE or (here / n) in skip}
        if here == source:
            ignored |= {n for n in names if n in EXCLUDED_TOP_LEVEL}
        return ignored

    # copy2 keeps modification times: build tools (ant, make) compare them to decide what is up to date, so
    # sources must not look newer than the unstashed classes built from them
    shutil.copytree(source, dest, symlinks=True, ignore=ignore)


def unstash(stash_dir: Path, patterns: Iterable[str], dest: Path) -> int:
    """Copy the files of a build-once cell's workspace matching its stash patterns into *dest*; returns the count."""
    files = matching_files(stash_dir, patterns)
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(stash_dir / rel, target)
    return len(files)


@dataclass(frozen=True)
class CheckoutSource:
    """Where a second checkout comes from: `--checkout dtest=PATH` (a local directory) or
    `--checkout dtest=URL[#BRANCH]` (another repository/branch, like the dtest_repository parameter);
    neither: the directory shipped in the repository, else the pipeline's URL and branch."""

    local: Path | None = None
    url: str = ""
    branch: str = ""


def parse_checkout_source(value: str) -> CheckoutSource:
    """`PATH` or `URL[#BRANCH]` from the command line."""
    looks_remote = "://" in value or value.startswith("git@")
    if looks_remote:
        url, _, branch = value.partition("#")
        return CheckoutSource(url=url, branch=branch)
    return CheckoutSource(local=Path(value).expanduser().resolve())


def clone(url: str, branch: str, dest: Path, log, name: str) -> None:
    """Shallow clone of *url* at *branch* into *dest*; a failure is a WorkspaceError naming the way out."""
    log.write(f"pipelinegen: checkout {name}: git clone {url} ({branch or 'default branch'})\n")
    log.flush()
    argv = ["git", "clone", "--quiet", "--depth", "1", *(["--branch", branch] if branch else []), "--", url, str(dest)]
    done = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        shutil.rmtree(dest, ignore_errors=True)
        raise WorkspaceError(
            f"checkout {name}: git clone {url} failed (exit {done.returncode}); "
            f"use --checkout {name}=PATH to use a local copy"
        )


def prepare_checkout(checkout: Checkout, workdir: Path, source: CheckoutSource, log,
                     cloned: Callable[[str, str, str], Path]) -> None:
    """Make `workdir/<directory>` hold the checkout: copy a local one, keep a shipped directory, or copy a
    clone (*cloned(name, url, branch)* clones once per run and returns where)."""
    target = confined(workdir, checkout.directory, f"checkout {checkout.name} directory")
    if source.local is not None:
        if not source.local.is_dir():
            raise WorkspaceError(f"checkout {checkout.name}: {source.local} is not a directory")
        if target.exists():
            shutil.rmtree(target)
        copy_source(source.local, target)
        log.write(f"pipelinegen: checkout {checkout.name}: copied {source.local}\n")
        return
    if not source.url and target.is_dir():
        log.write(f"pipelinegen: checkout {checkout.name}: using {checkout.directory}/ shipped in the repository\n")
        return
    url = source.url or checkout.repository
    branch = source.branch if source.url else checkout.branch
    origin = cloned(checkout.name, url, branch)
    if target.exists():
        shutil.rmtree(target)
    copy_source(origin, target)
    log.write(f"pipelinegen: checkout {checkout.name}: {url} ({branch or 'default branch'})\n")


# ---- the run's temporary work directory --------------------------------------------------------------
WORK_PREFIX = "pipelinegen-run-"
OWNER_FILE = ".owner"  # "<pid> <process start time>" of the run that owns the directory


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): with the pid, it names
    one process even after the pid is reused. "" when the process does not exist."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[1].split()
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else ""


def make_work_dir(run_id: str) -> Path:
    """A fresh temp directory for the run's working copies, stamped with its owner (this process)."""
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{run_id}-"))
    (work / OWNER_FILE).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")
    return work


def reclaim_stale_work_dirs(tmp: Path | None = None) -> list[Path]:
    """Remove the work directories of runs that died without cleaning up (kill -9, power loss): only
    directories of this user, with an owner stamp naming a process that no longer runs."""
    import tempfile

    root = Path(tmp or tempfile.gettempdir())
    removed = []
    try:
        candidates = [p for p in root.iterdir() if p.name.startswith(WORK_PREFIX)]
    except OSError:
        return removed
    for path in candidates:
        try:
            if path.is_symlink() or not path.is_dir() or path.stat().st_uid != os.getuid():
                continue
            pid_text, _, started = (path / OWNER_FILE).read_text().strip().partition(" ")
            pid = int(pid_text)
        except (OSError, ValueError):
            continue  # no stamp (another tool's, or being created): not ours to judge
        current = _start_time(pid)
        if current and (not started or current == started):
            continue  # its owner still runs
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed
