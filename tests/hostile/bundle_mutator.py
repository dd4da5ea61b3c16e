"""One generator of malformed result bundles: every archive shape a hostile producer could hand us.

A hostile producer rebuilds digests.sha256 and the attestation after its edit (`redigest`), so that the
structural flaw is the only thing wrong: a reader that ignores it would print CERTIFIED.

SHAPES maps a name to a function (members, tmp) -> raw bundle bytes; each must be refused by the one
strict reader (results/archive.py iter_members), hence by verify, summary, diff and history ingest.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import zstandard

from pipelinegen.fsutil import sha256_bytes
from pipelinegen.plan.cell import Parameters
from pipelinegen.results import attest
from pipelinegen.results.bundle import write_bundle
from pipelinegen.results.manifest import (
    ATTESTATION,
    DIGESTS,
    MANIFEST,
    SIGNATURE,
    CellRef,
    Producer,
    Subject,
    dumps,
)
from tests.signing_helpers import allowed_signers, keypair  # noqa: F401 - allowed_signers re-exported

COMMIT = "0123456789abcdef0123456789abcdef01234567"
CELL = CellRef("unit_1of1", "unit 1/1", "unit")

Members = list[tuple[str, bytes]]


def good_bundle(tmp: Path, name: str = "good.tar.zst", sign_key: Path | None = None) -> Path:
    """A small certified bundle: one passing cell with a JUnit file and a log."""
    junit = tmp / f"{name}-junit" / "TEST-org.A.xml"
    junit.parent.mkdir(parents=True, exist_ok=True)
    junit.write_text('<?xml version="1.0"?><testsuite name="org.A"><testcase classname="org.A" name="t1" '
                     'time="0.1"/><testcase classname="org.A" name="t2" time="0.1"/></testsuite>')
    log = tmp / f"{name}-unit.log"
    log.write_text("INFO starting\nINFO done\n")
    return write_bundle(tmp / name, subject=Subject("https://example.invalid/repo.git", COMMIT, "trunk"),
                        parameters=Parameters(profile="pre-commit"), producer=Producer("local", host="h"),
                        results=[{"cell": CELL, "status": "passed", "junit": [junit], "logs": [log]}],
                        cells=[CELL], sign_key=sign_key)


def members_of(path: Path) -> Members:
    """(name, bytes) of a bundle written by pipelinegen, read with plain tarfile (not the reader under test)."""
    raw = zstandard.ZstdDecompressor().stream_reader(open(path, "rb")).read()
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]


def redigest(members: Members, sign_key: Path | None = None) -> Members:
    """Recompute digests.sha256 and the attestation over *members* (and re-sign, given a key), as a forger would."""
    content = dict(members)
    listed = sorted(name for name, _ in members if name not in (DIGESTS, ATTESTATION, SIGNATURE))
    digests = "".join(f"{sha256_bytes(content[n])}  {n}\n" for n in listed).encode()
    try:
        manifest = json.loads(content[MANIFEST])
        stmt = dumps(attest.statement(manifest, sha256_bytes(content[MANIFEST]), sha256_bytes(digests)))
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        stmt = b"{}"  # a manifest no statement can describe: the reader must refuse it before the attestation
    out: Members = []
    for name, data in members:
        if name == DIGESTS:
            data = digests
        elif name == ATTESTATION:
            data = stmt
        elif name == SIGNATURE and sign_key is not None:
            data = attest.sign(stmt, sign_key)
        out.append((name, data))
    return out


def _info(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname, info.mode = size, kind, link, 0o644
    return info


def tar_bytes(members: Members, extra: Callable[[tarfile.TarFile], None] | None = None,
              fmt: int = tarfile.PAX_FORMAT) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for name, data in members:
            tar.addfile(_info(name, len(data)), io.BytesIO(data))
        if extra is not None:
            extra(tar)
    return buffer.getvalue()


def zstd(data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=3).compress(data)


def with_member(members: Members, name: str, data: bytes) -> Members:
    """*members* plus one more regular file, listed in digests and re-attested."""
    return redigest([*members, (name, data)])


def _special(kind: bytes, name: str = "cells/unit_1of1/logs/extra.log", link: str = "") -> Callable:
    def shape(members: Members, tmp: Path) -> bytes:
        return zstd(tar_bytes(members, lambda tar: tar.addfile(_info(name, 0, kind, link))))
    return shape


def _duplicate(which: str) -> Callable:
    def shape(members: Members, tmp: Path) -> bytes:
        content = dict(members)
        second = content.get(which, b"{}")
        if which == MANIFEST:
            manifest = json.loads(second)
            manifest["cells"][0]["tests"]["failed"] = 0  # a second, different manifest
            second = dumps(manifest)
        return zstd(tar_bytes([*members, (which, second)]))
    return shape


def _appended_frame(members: Members, tmp: Path) -> bytes:
    evil = tar_bytes([("cells/unit_1of1/logs/hidden.log", b"hidden\n")])
    return zstd(tar_bytes(members)) + zstd(evil)


def _skippable_frame(members: Members, tmp: Path) -> bytes:
    # A zstd skippable frame (magic 0x184D2A5?): every zstd tool ignores it; a bundle must still not carry it.
    payload = b"hidden payload"
    return zstd(tar_bytes(members)) + b"\x50\x2a\x4d\x18" + len(payload).to_bytes(4, "little") + payload


def _trailing(garbage: bytes) -> Callable:
    def shape(members: Members, tmp: Path) -> bytes:
        return zstd(tar_bytes(members)) + garbage
    return shape


def _second_archive_in_frame(members: Members, tmp: Path) -> bytes:
    return zstd(tar_bytes(members) + tar_bytes([("cells/unit_1of1/logs/hidden.log", b"hidden\n")]))


def _unsafe_name(name: str) -> Callable:
    def shape(members: Members, tmp: Path) -> bytes:
        return zstd(tar_bytes(with_member(members, name, b"x\n")))
    return shape


def _huge_declared(name: str, size: int) -> Callable:
    """A real member of *size* zero bytes: a few KB compressed, refused on its header before reading."""
    def shape(members: Members, tmp: Path) -> bytes:
        return zero_member_bundle(tmp / "zeros.tar.zst", members, name, size).read_bytes()
    return shape


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        buffer[:n] = b"\0" * n
        self.left -= n
        return n


def zero_member_bundle(path: Path, members: Members, name: str, size: int) -> Path:
    """A real bundle whose member *name* is *size* zero bytes (streamed: tiny on disk, huge inside)."""
    cctx = zstandard.ZstdCompressor(level=1)
    with open(path, "wb") as raw, cctx.stream_writer(raw, closefd=False) as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_info(name, size), _Zeros(size))
        for n, d in members:
            if n != name:
                tar.addfile(_info(n, len(d)), io.BytesIO(d))
    return path


def _pax_bomb(members: Members, tmp: Path) -> bytes:
    header = tarfile.TarInfo("././@PaxHeader")
    header.type = tarfile.XHDTYPE
    body = b"%d comment=%s\n"
    filler = b"a" * (8 << 20)
    record = body % (len(body % (0, filler)) + 6, filler)
    header.size = len(record)
    blocks = header.tobuf(tarfile.USTAR_FORMAT) + record + b"\0" * (-len(record) % 512)
    return zstd(blocks + tar_bytes(members))


def _gnu_sparse(members: Members, tmp: Path) -> bytes:
    return zstd(tar_bytes(members, lambda tar: tar.addfile(_info("cells/unit_1of1/logs/s.log", 0,
                                                                  tarfile.CONTTYPE))))


def _pax_sparse(members: Members, tmp: Path) -> bytes:
    """A GNU sparse 1.0 member (pax headers): 1 KiB in the archive, 3 GiB once expanded."""
    def add(tar: tarfile.TarFile) -> None:
        info = _info("cells/unit_1of1/logs/sparse.log")
        info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                            "GNU.sparse.name": "cells/unit_1of1/logs/sparse.log", "GNU.sparse.realsize": str(3 << 30)}
        body = b"1\n0\n512\n".ljust(512, b"\0") + b"x" * 512
        info.size = len(body)
        tar.addfile(info, io.BytesIO(body))
    return zstd(tar_bytes(members, add))


SHAPES: dict[str, Callable[[Members, Path], bytes]] = {
    "symlink member": _special(tarfile.SYMTYPE, link="/etc/passwd"),
    "symlink over a listed member": _special(tarfile.SYMTYPE, name="cells/unit_1of1/logs/x.log", link="../junit.xml"),
    "hard link member": _special(tarfile.LNKTYPE, link=MANIFEST),
    "character device member": _special(tarfile.CHRTYPE),
    "block device member": _special(tarfile.BLKTYPE),
    "fifo member": _special(tarfile.FIFOTYPE),
    "directory member": _special(tarfile.DIRTYPE, name="cells/unit_1of1/"),
    "contiguous-file member": _gnu_sparse,
    "pax sparse member": _pax_sparse,
    "duplicated attestation": _duplicate(ATTESTATION),
    "duplicated signature": _duplicate(SIGNATURE),
    "duplicated manifest": _duplicate(MANIFEST),
    "duplicated digests": _duplicate(DIGESTS),
    "duplicated junit": _duplicate("cells/unit_1of1/junit.xml"),
    "appended zstd frame": _appended_frame,
    "appended skippable frame": _skippable_frame,
    "trailing garbage": _trailing(b"garbage after the frame\n"),
    "trailing zero bytes": _trailing(b"\0" * 1024),
    "trailing single byte": _trailing(b"\x01"),
    "second archive inside the frame": _second_archive_in_frame,
    "absolute member name": _unsafe_name("/tmp/pwned"),
    "dot-dot member name": _unsafe_name("cells/../../pwned.log"),
    "dot member name": _unsafe_name("cells/./unit_1of1/logs/a.log"),
    "backslash member name": _unsafe_name("cells\\..\\pwned"),
    "control character member name": _unsafe_name("cells/unit_1of1/logs/a\nb.log"),
    "oversized pax header": _pax_bomb,
    "manifest declared larger than its limit": _huge_declared(MANIFEST, 65 << 20),
}


def sign_key(tmp: Path, name: str = "ci") -> Path:
    return keypair(tmp, f"key_{name}")


class _Stream(io.RawIOBase):
    """head, then *size* copies of *fill*, then tail: a member of any size without holding it."""

    def __init__(self, head: bytes, size: int, tail: bytes, fill: bytes = b"a") -> None:
        self.parts, self.left, self.tail, self.fill = [head] if head else [], size, tail, fill

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.parts:
            data = self.parts.pop()
        elif self.left:
            n = min(len(buffer), self.left)
            self.left -= n
            data = self.fill * n
        elif self.tail:
            data, self.tail = self.tail, b""
        else:
            return 0
        buffer[:len(data)] = data
        return len(data)


def text_node_bomb(path: Path, members: Members, size: int) -> Path:
    """A bundle whose junit.xml holds one failing test with a *size*-byte <system-out> and a suite-level
    one as big: libxml2 hands such text to the reader whole unless the reader bounds it."""
    name = "cells/unit_1of1/junit.xml"
    head = (b'<?xml version="1.0"?><testsuites><testsuite name="org.A"><testcase classname="org.A" name="t1">'
            b'<failure message="boom"/><system-out>')
    middle = b"END</system-out></testcase><system-out>"
    tail = b"END</system-out></testsuite></testsuites>"
    cctx = zstandard.ZstdCompressor(level=1)
    with open(path, "wb") as raw, cctx.stream_writer(raw, closefd=False) as out, \
            tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for n, d in members:
            if n == name:
                body = io.BufferedReader(_Stream(head, size, middle), 1 << 20)
                second = io.BufferedReader(_Stream(b"", size, tail, b"s"), 1 << 20)
                tar.addfile(_info(n, len(head) + size + len(middle) + size + len(tail)),
                            io.BufferedReader(_Chain(body, second), 1 << 20))
            else:
                tar.addfile(_info(n, len(d)), io.BytesIO(d))
    return path


class _Chain(io.RawIOBase):
    def __init__(self, *streams) -> None:
        self.streams = list(streams)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while self.streams:
            data = self.streams[0].read(len(buffer))
            if data:
                buffer[:len(data)] = data
                return len(data)
            self.streams.pop(0)
        return 0
