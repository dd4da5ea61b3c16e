"""Tar archives compressed with xz or zstd: deterministic writing, one-pass streaming reading."""

from __future__ import annotations

import lzma
import tarfile
import zlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

import zstandard

from pipelinegen.errors import PipelineError
from pipelinegen.fsutil import atomic_writer
from pipelinegen.results.manifest import ATTESTATION, DIGESTS, MANIFEST, SIGNATURE

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
            cctx = zstandard.ZstdCompressor(level=3, threads=0)
            with cctx.stream_writer(raw, closefd=False) as zstream:
                _write_members(tarfile.open(fileobj=zstream, mode="w|", format=tarfile.PAX_FORMAT, bufsize=1 << 20),
                               root, names)
        else:
            mode = "w|" + kind if kind else "w|"
            _write_members(tarfile.open(fileobj=raw, mode=mode, format=tarfile.PAX_FORMAT), root, names)


def _write_members(tar: tarfile.TarFile, root: Path, names: Sequence[str]) -> None:
    tar.copybufsize = 1 << 20  # not 16 KiB: 64x fewer reads and compressor calls for the same bytes
    with tar:
        for name in names:
            path = root / name
            with open(path, "rb") as handle:
                tar.addfile(_tarinfo(name, path.stat().st_size), handle)


# Bounds of the reader: a 100 KB bundle can claim a 3 GiB member (zeros compress ~30000:1), so nothing
# is read before its declared size passes these, and nothing is ever read whole unless it is small.
MAX_MEMBER_BYTES = 1 << 30  # one file: a cell's junit.xml or a log
MAX_TOTAL_BYTES = 16 << 30  # every member together, uncompressed
MAX_MEMBERS = 200_000
MAX_HEADER_BYTES = 1 << 20  # a pax/GNU long-name header: tarfile reads these into memory
MAX_END_PADDING = 1 << 20  # zero blocks after the end-of-archive marker (tar pads to 10 KiB records)
# The members every reader loads into memory: much smaller bounds.
SMALL_MEMBER_LIMITS = {MANIFEST: 8 << 20, DIGESTS: 64 << 20, ATTESTATION: 4 << 20, SIGNATURE: 64 << 10}
_CHUNK = 1 << 16
_XZ_MEMLIMIT = 256 << 20  # decoder memory an xz header may claim (xz -9 needs 65 MiB)


def member_limit(name: str) -> int:
    """The largest size a member called *name* may declare."""
    return SMALL_MEMBER_LIMITS.get(name, MAX_MEMBER_BYTES)


def limit_problems(sizes: Mapping[str, int]) -> list[str]:
    """Why iter_members would refuse an archive of these members (name -> size, in archive order): what a
    writer checks before writing, so it never leaves a bundle that no reader takes."""
    problems = [f"{name} would be {_size(size)}, over the {_size(member_limit(name))} limit every reader holds it to"
                for name, size in sizes.items() if size > member_limit(name)]
    if len(sizes) > MAX_MEMBERS:
        problems.append(f"{len(sizes)} files, over the {MAX_MEMBERS} a bundle may hold")
    if sum(sizes.values()) > MAX_TOTAL_BYTES:
        problems.append(f"{_size(sum(sizes.values()))} in all, over the {_size(MAX_TOTAL_BYTES)} limit")
    return problems


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} byte{'s' * (n != 1)}"


def _name_problem(name: str) -> str | None:
    """Why *name* cannot be a member of a bundle: it must be a plain relative path (it becomes a file name
    under `results summary --html` output), without '.', '..', empty parts, backslashes or control characters."""
    if not name or len(name) > 1024:
        return "an empty or over-long name"
    if name.startswith("/") or any(part in ("", ".", "..") for part in name.split("/")):
        return "an absolute path or a '.'/'..' component"
    if any(ord(ch) < 32 or ch in "\\\x7f" for ch in name):
        return "a backslash or a control character"
    return None


class _BoundedTarInfo(tarfile.TarInfo):
    """Refuses pax and GNU long-name headers larger than MAX_HEADER_BYTES before tarfile reads them whole."""

    def _proc_member(self, tar):  # noqa: ANN001 - tarfile's own (private, stable since 3.x) hook
        if self.type in (tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE, tarfile.GNUTYPE_LONGNAME,
                         tarfile.GNUTYPE_LONGLINK) and self.size > MAX_HEADER_BYTES:
            raise tarfile.HeaderError(f"an extended header of {_size(self.size)} (limit {_size(MAX_HEADER_BYTES)})")
        return super()._proc_member(tar)


def _zstd_frame_end(raw: BinaryIO) -> int:
    """Offset just past the first zstd frame, found by walking its block headers (no decompression)."""
    head = raw.read(18)
    try:
        header = zstandard.frame_header_size(head)
        checksum = zstandard.get_frame_parameters(head).has_checksum
    except zstandard.ZstdError as err:
        raise CorruptArchive(f"not a zstd frame: {err}") from err
    offset = header
    while True:
        raw.seek(offset)
        block = raw.read(3)
        if len(block) < 3:
            raise CorruptArchive("truncated zstd frame")
        value = int.from_bytes(block, "little")
        last, kind, size = value & 1, (value >> 1) & 3, value >> 3
        if kind == 3:
            raise CorruptArchive("corrupt zstd frame (reserved block type)")
        offset += 3 + (1 if kind == 1 else size)
        if last:
            return offset + (4 if checksum else 0)


class _Decompressor:
    """A read()-able decompressed view of *raw* that holds the archive to one stream and bounded size.

    Exactly one zstd frame / xz stream / gzip member, then the end of the file: an appended frame or
    trailing bytes are refused, since digests cover only what the first frame holds. Every read returns
    at most what was asked (a decompression bomb never materialises), and the total is capped."""

    def __init__(self, raw: BinaryIO, total_limit: int) -> None:
        self._raw = raw
        self._limit = total_limit
        self.produced = 0
        magic = raw.read(6)
        raw.seek(0, 2)
        file_size = raw.tell()
        raw.seek(0)
        self._zstd = None
        self._obj = None
        if magic.startswith(_ZSTD_MAGIC):
            end = _zstd_frame_end(raw)
            if end != file_size:
                raise CorruptArchive(f"{_size(file_size - end)} after the end of the zstd frame (an appended frame "
                                     f"or trailing data: a bundle is exactly one frame)" if end < file_size
                                     else "truncated zstd frame")
            raw.seek(0)
            self._zstd = zstandard.ZstdDecompressor().stream_reader(raw, closefd=False, read_across_frames=False)
        elif magic.startswith(_XZ_MAGIC):
            self._obj = lzma.LZMADecompressor(format=lzma.FORMAT_XZ, memlimit=_XZ_MEMLIMIT)  # a header can ask for 4 GiB
        elif magic.startswith(_GZ_MAGIC):
            self._obj = zlib.decompressobj(wbits=31)
        self._pending = b""  # gzip's unconsumed input

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = _CHUNK
        data = self._read(size)
        self.produced += len(data)
        if self.produced > self._limit:
            raise CorruptArchive(f"more than {_size(self._limit)} uncompressed (limit)")
        return data

    def tell(self) -> int:
        return self.produced

    def seek(self, offset: int, whence: int = 0) -> int:
        """Forward only, by reading (and discarding) up to *offset*: tarfile seeks past a member's unread
        data and padding to the next header; it never seeks back while members are read in order."""
        if whence != 0 or offset < self.produced:
            raise CorruptArchive("the archive reader was asked to seek backwards (not a plain tar stream?)")
        while self.produced < offset:
            if not self.read(min(offset - self.produced, 1 << 20)):
                raise CorruptArchive("truncated archive (ends inside a member)")
        return self.produced

    def _read(self, size: int) -> bytes:
        if self._zstd is not None:
            return self._zstd.read(size)
        if self._obj is None:
            return self._raw.read(size)
        obj = self._obj
        while True:
            if obj.eof:
                if obj.unused_data or self._pending or self._raw.read(1):
                    raise CorruptArchive("data after the end of the compressed stream (an appended stream or "
                                         "trailing data: a bundle is exactly one stream)")
                return b""
            if isinstance(obj, lzma.LZMADecompressor):
                chunk = b"" if not obj.needs_input else self._raw.read(_CHUNK)
                if obj.needs_input and not chunk:
                    raise CorruptArchive("truncated xz stream")
                out = obj.decompress(chunk, max_length=size)
            else:
                chunk = self._pending or self._raw.read(_CHUNK)
                if not chunk:
                    raise CorruptArchive("truncated gzip stream")
                out = obj.decompress(chunk, size)
                self._pending = obj.unconsumed_tail
            if out:
                return out


def iter_members(path: Path) -> Iterator[tuple[str, BinaryIO]]:
    """Yield (name, readable stream) for each member in archive order, in one pass.

    A bundle is exactly its regular files: a symlink, hard link, device or directory member, a name seen
    twice, an unsafe name, a member larger than its limit, an appended frame or trailing data all raise
    CorruptArchive, as does any decompression or tar error (a flipped byte is reported, never a crash).
    Each stream is valid only until the next item is requested and never yields more than the size its
    header declared (checked against member_limit() before a byte of it is read).
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            stream = _Decompressor(raw, MAX_TOTAL_BYTES)
            # "r:" on a forward-only stream: tarfile parses the headers and skips to each next one, while
            # the members are read straight from the decompressor (tarfile's own stream mode copies every
            # byte through its buffer several times: a third of the CPU of reading a bundle).
            with tarfile.open(fileobj=stream, mode="r:", tarinfo=_BoundedTarInfo) as tar:
                seen: set[str] = set()
                for info in tar:
                    if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE) or info.sparse is not None:
                        kind = ("a symlink" if info.issym() else "a hard link" if info.islnk() else
                                "a directory" if info.isdir() else "a sparse file" if info.sparse is not None else
                                "a device or special file")
                        raise CorruptArchive(f"{path}: member {info.name!r} is {kind}; a bundle holds regular "
                                             f"files only")
                    problem = _name_problem(info.name)
                    if problem:
                        raise CorruptArchive(f"{path}: member {info.name!r} has {problem}")
                    if info.name in seen:
                        raise CorruptArchive(f"{path}: member {info.name} appears twice; a bundle holds each "
                                             f"file once")
                    seen.add(info.name)
                    if len(seen) > MAX_MEMBERS:
                        raise CorruptArchive(f"{path}: more than {MAX_MEMBERS} members (limit)")
                    limit = member_limit(info.name)
                    if info.size > limit:
                        raise CorruptArchive(f"{path}: member {info.name} is {_size(info.size)}, over the "
                                             f"{_size(limit)} limit for it")
                    if stream.tell() != info.offset_data:
                        raise CorruptArchive(f"{path}: member {info.name} does not start where its header ends")
                    yield info.name, _Member(stream, info.size, f"{path}: member {info.name}")
                _check_end(tar)
    except CorruptArchive as err:
        if str(err).startswith(f"{path}: "):
            raise
        raise CorruptArchive(f"{path}: {err}") from err
    except (tarfile.TarError, zstandard.ZstdError, lzma.LZMAError, zlib.error, EOFError, OSError,
            ValueError) as err:
        if isinstance(err, FileNotFoundError):
            raise
        raise CorruptArchive(f"{path}: cannot read the archive: {err}") from err


class _Member:
    """One member's bytes, read straight from the decompressed stream: at most its declared size, and a
    stream that ends early or fails to decompress raises CorruptArchive (never a decompressor's error)."""

    def __init__(self, stream: _Decompressor, size: int, where: str) -> None:
        self._stream = stream
        self._left = size
        self._where = where

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self._left if size is None or size < 0 else min(size, self._left)
        if want <= 0:
            return b""
        try:
            data = self._stream.read(want)
            if len(data) < want:  # xz/gzip hand out what one input chunk gives
                parts = [data]
                got = len(data)
                while got < want:
                    more = self._stream.read(want - got)
                    if not more:
                        break
                    parts.append(more)
                    got += len(more)
                data = b"".join(parts)
        except CorruptArchive as err:
            raise CorruptArchive(f"{self._where}: {err}") from err
        except (zstandard.ZstdError, lzma.LZMAError, zlib.error, EOFError, OSError, ValueError) as err:
            raise CorruptArchive(f"{self._where}: cannot be decompressed: {err}") from err
        if len(data) < want:
            raise CorruptArchive(f"{self._where}: truncated (the archive ends inside it)")
        self._left -= want
        return data

    def close(self) -> None:
        pass


def _check_end(tar: tarfile.TarFile) -> None:
    """After the end-of-archive marker only zero padding may follow (another archive or garbage hidden
    there would be outside every digest); reading to the end also runs the frame/stream end checks."""
    padding = 0
    while block := tar.fileobj.read(_CHUNK):
        if block.count(0) != len(block):
            raise CorruptArchive("data after the end-of-archive marker (a second archive or garbage)")
        padding += len(block)
        if padding > MAX_END_PADDING:
            raise CorruptArchive(f"more than {_size(MAX_END_PADDING)} of padding after the end of the archive")


def read_member(path: Path, wanted: str) -> bytes | None:
    """The content of one small member (its size is bounded by member_limit), or None."""
    for name, handle in iter_members(path):
        if name == wanted:
            return handle.read()
    return None

