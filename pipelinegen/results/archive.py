"""Tar archives compressed with xz or zstd: deterministic writing, one-pass streaming reading."""

from __future__ import annotations

import io
import lzma
import tarfile
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import zstandard

from pipelinegen.errors import PipelineError
from pipelinegen.fsutil import atomic_writer

SUFFIXES = (".tar.xz", ".tar.zst", ".tar.gz", ".tar")
_XZ_MAGIC = b"\xfd7zXZ\x00"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_GZ_MAGIC = b"\x1f\x8b"


class CorruptArchive(Exception):
    """The archive cannot be read to the end: truncated, bit-flipped, or not a bundle at all."""


def compression_for(path: Path) -> str:
    name = Path(path).name
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return suffix.removeprefix(".tar").lstrip(".")
    raise PipelineError.single(str(path), None, "unknown bundle file type",
                               hint="name the output *.tar.zst (fast) or *.tar.xz (smallest)")


def _tarinfo(name: str, size: int) -> tarfile.TarInfo:
    # Fixed owner and time: the same content gives the same archive bytes.
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_tar(out: Path, root: Path, names: Sequence[str]) -> None:
    """Write *names* (relative to *root*, in that order) into *out*, compressed by its suffix."""
    kind = compression_for(out)
    with atomic_writer(out) as raw:
        if kind == "zst":
            # Single-threaded: zstd's worker buffers would make peak memory grow with the bundle size.
            cctx = zstandard.ZstdCompressor(level=10, threads=0)
            with cctx.stream_writer(raw, closefd=False) as zstream:
                _write_members(tarfile.open(fileobj=zstream, mode="w|", format=tarfile.PAX_FORMAT), root, names)
        else:
            mode = "w|" + kind if kind else "w|"
            _write_members(tarfile.open(fileobj=raw, mode=mode, format=tarfile.PAX_FORMAT), root, names)


def _write_members(tar: tarfile.TarFile, root: Path, names: Sequence[str]) -> None:
    with tar:
        for name in names:
            path = root / name
            with open(path, "rb") as handle:
                tar.addfile(_tarinfo(name, path.stat().st_size), handle)


@contextmanager
def _decompressed(path: Path):
    with open(path, "rb") as raw:
        magic = raw.read(6)
        raw.seek(0)
        if magic.startswith(_ZSTD_MAGIC):
            with zstandard.ZstdDecompressor().stream_reader(raw, closefd=False) as stream:
                yield stream, "r|"
        elif magic.startswith(_XZ_MAGIC):
            yield raw, "r|xz"
        elif magic.startswith(_GZ_MAGIC):
            yield raw, "r|gz"
        else:
            yield raw, "r|"


def iter_members(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    """Yield (name, readable stream) for each regular file in archive order, in one pass.

    Each stream is valid only until the next item is requested. Any decompression or tar error
    becomes CorruptArchive, so a flipped byte is reported rather than crashing.
    """
    try:
        with _decompressed(Path(path)) as (stream, mode):
            with tarfile.open(fileobj=stream, mode=mode) as tar:
                for info in tar:
                    if not info.isfile():
                        continue
                    handle = tar.extractfile(info)
                    if handle is None:
                        continue
                    yield info.name, handle
    except (tarfile.TarError, zstandard.ZstdError, lzma.LZMAError, zlib.error, EOFError, OSError,
            ValueError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CorruptArchive(f"{path}: cannot read the archive: {err}") from err


def read_member(path: Path, wanted: str) -> bytes | None:
    for name, handle in iter_members(path):
        if name == wanted:
            return handle.read()
    return None


def open_text_member(handle: BinaryIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(handle, encoding="utf-8", errors="replace")
