"""The one strict bundle reader (results/archive.iter_members) reads members straight from the decompressor."""

from __future__ import annotations

import io
import tarfile

import pytest
import zstandard

from pipelinegen.results import archive


def _tar(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


MEMBERS = {"manifest.json": b"{}", "cells/a/junit.xml": bytes(range(256)) * 700, "empty": b"",
           "cells/a/records.tsv": b"x" * 512, "cells/b/logs/" + "é" * 120 + ".log": b"pax header\n",
           "cells/b/logs/long.log": b"line\n" * 100_003}  # the long non-ASCII name needs a pax header


@pytest.mark.parametrize("suffix", [".tar.zst", ".tar.xz", ".tar.gz", ".tar"])
def test_members_read_whole_in_pieces_or_not_at_all_are_the_archived_bytes(tmp_path, suffix):
    staging = tmp_path / "staging"
    for name, data in MEMBERS.items():
        (staging / name).parent.mkdir(parents=True, exist_ok=True)
        (staging / name).write_bytes(data)
    path = tmp_path / f"b{suffix}"
    archive.write_tar(path, staging, list(MEMBERS))
    assert {name: handle.read() for name, handle in archive.iter_members(path)} == MEMBERS
    pieces = {}
    for name, handle in archive.iter_members(path):
        chunks = []
        while chunk := handle.read(1000):
            assert len(chunk) <= 1000
            chunks.append(chunk)
        pieces[name] = b"".join(chunks)
    assert pieces == MEMBERS
    # A reader that stops early (or never starts) still gets every member, in order.
    assert [name for name, handle in archive.iter_members(path) if handle.read(7) is not None] == list(MEMBERS)
    assert [name for name, _ in archive.iter_members(path)] == list(MEMBERS)


def test_a_member_cut_short_is_a_corrupt_archive_naming_it(tmp_path):
    raw = _tar(MEMBERS)
    cut = raw[: raw.index(b"line\n") + 1000]  # inside the last member's data; the zstd frame itself is valid
    path = tmp_path / "cut.tar.zst"
    path.write_bytes(zstandard.ZstdCompressor().compress(cut))
    with pytest.raises(archive.CorruptArchive, match="long.log"):
        for _name, handle in archive.iter_members(path):
            handle.read()


def test_damaged_compressed_data_is_a_corrupt_archive_not_a_decompressor_error(tmp_path):
    path = tmp_path / "flipped.tar.xz"
    data = bytearray(__import__("lzma").compress(_tar(MEMBERS)))
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(archive.CorruptArchive):
        for _name, handle in archive.iter_members(path):
            handle.read()
