"""Isolated working copies: the local equivalent of a fresh checkout plus `unstash` on a Jenkins agent."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from pipelinegen.plan.cell import Checkout

# Never copied into a cell's working copy: VCS data, build output (comes from the stash instead, as on CI),
# and the places where runs write their results and working copies.
EXCLUDED_TOP_LEVEL = frozenset({".git", "build", "results", ".pipelinegen", ".venv", "node_modules"})
EXCLUDED_ANYWHERE = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache"})


class WorkspaceError(Exception):
    """A working copy could not be prepared (the cell is an `error`, not a test failure)."""


def matching_files(root: Path, patterns: Iterable[str]) -> list[Path]:
    """Files under *root* matching any glob pattern (`**` recurses), relative to *root*, sorted, no duplicates."""
    found: set[Path] = set()
    for pattern in split_patterns(patterns):
        if pattern.endswith("**"):  # Ant/Jenkins meaning: everything below; Python 3.11's glob: directories only
            pattern += "/*"
        for path in root.glob(pattern):
            if path.is_file():
                found.add(path.relative_to(root))
    return sorted(found)


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
    argv = ["git", "clone", "--quiet", "--depth", "1", *(["--branch", branch] if branch else []), url, str(dest)]
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
    target = workdir / checkout.directory
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
