"""Compression sniffing on non-seekable streams, and the gzip writer."""
from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import sys
import tarfile
import threading

import pytest

from hithe.archive import compress_gzip_writer, extract_tar, open_decompressed, write_tree_tar
from hithe.errors import InvalidParameter

COMPRESSORS = {
    "gzip": gzip.compress,
    "bzip2": bz2.compress,
    "xz": lzma.compress,
    "none": lambda b: b,
}


def sample_tar() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for name, data in (("etc/hostname", b"box\n"), ("bin/tool", os.urandom(200_000))):
            ti = tarfile.TarInfo(name)
            ti.size, ti.mode = len(data), 0o755
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


class Pipe:
    """Feed bytes through a real pipe in small, uneven writes (like a socket)."""

    def __init__(self, data: bytes, chunk: int = 3) -> None:
        r, w = os.pipe()
        self.reader = os.fdopen(r, "rb", buffering=0)  # raw: short reads, no seek
        self._w = w
        self._thread = threading.Thread(target=self._feed, args=(data, chunk))
        self._thread.start()

    def _feed(self, data: bytes, chunk: int) -> None:
        with os.fdopen(self._w, "wb", buffering=0) as out:
            pos, step = 0, chunk
            try:
                while pos < len(data):
                    out.write(data[pos:pos + step])
                    pos += step
                    step = 4096 if step < 4096 else chunk  # first bytes trickle in
            except BrokenPipeError:
                pass

    def close(self) -> None:
        self.reader.close()
        self._thread.join()


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_extract_sniffs_compression_on_a_pipe(tmp_path, kind):
    raw = sample_tar()
    pipe = Pipe(COMPRESSORS[kind](raw))
    assert not pipe.reader.seekable()
    try:
        stats = extract_tar(pipe.reader, str(tmp_path))
    finally:
        pipe.close()
    assert (tmp_path / "etc/hostname").read_bytes() == b"box\n"
    assert stats.files == 2


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_open_decompressed_gives_the_plain_bytes(kind):
    raw = sample_tar()
    pipe = Pipe(COMPRESSORS[kind](raw), chunk=1)
    try:
        out = open_decompressed(pipe.reader).read()
    finally:
        pipe.close()
    assert out == raw


def test_tiny_and_empty_inputs_pass_through():
    assert open_decompressed(io.BytesIO(b"")).read() == b""
    assert open_decompressed(io.BytesIO(b"BZ")).read() == b"BZ"  # shorter than any magic


def test_zstd_without_the_module_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "zstandard", None)  # makes `import zstandard` fail
    with pytest.raises(InvalidParameter, match="zstd-compressed layers need the zstandard module"):
        open_decompressed(io.BytesIO(b"\x28\xb5\x2f\xfd" + b"\x00" * 20))


def test_zstd_with_the_module(tmp_path):
    zstandard = pytest.importorskip("zstandard")
    data = zstandard.ZstdCompressor().compress(sample_tar())
    extract_tar(io.BytesIO(data), str(tmp_path))
    assert (tmp_path / "etc/hostname").read_bytes() == b"box\n"


def test_corrupt_gzip_is_invalid_parameter(tmp_path):
    data = bytearray(gzip.compress(sample_tar()))
    data[len(data) // 2: len(data) // 2 + 64] = b"\x00" * 64
    with pytest.raises(InvalidParameter):
        extract_tar(io.BytesIO(bytes(data)), str(tmp_path))


def test_truncated_gzip_is_invalid_parameter(tmp_path):
    data = gzip.compress(sample_tar())
    with pytest.raises(InvalidParameter):
        extract_tar(io.BytesIO(data[:-6]), str(tmp_path))  # CRC/length trailer cut off


def test_gzip_writer_is_deterministic_and_readable(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src/f").write_text("content")
    outs = []
    for _ in range(2):
        buf = io.BytesIO()
        gz = compress_gzip_writer(buf)
        write_tree_tar(str(tmp_path / "src"), gz)
        gz.close()
        assert not buf.closed  # the caller's stream stays usable
        outs.append(buf.getvalue())
    assert outs[0] == outs[1]
    assert outs[0][:2] == b"\x1f\x8b" and outs[0][4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert not outs[0][3] & 0x08  # no file name recorded
    extract_tar(io.BytesIO(outs[0]), str(tmp_path / "dst"))
    assert (tmp_path / "dst/f").read_text() == "content"
