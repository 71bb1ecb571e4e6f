"""Decompression: every accepted Content-Encoding, corrupt input, and bomb safety."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard

from faultline_core.compression import (
    DecompressionError,
    PayloadTooLarge,
    UnsupportedEncoding,
    decompress,
)

MIB = 1024 * 1024
GIB = 1024 * MIB
# Varied, mildly compressible content so every decoder runs several steps.
PAYLOAD = b"".join(b'{"n":%d,"msg":"event number %d"}\n' % (i, i * 7919) for i in range(20_000))


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": lambda data: brotli.compress(data, quality=4),
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_round_trip(encoding: str) -> None:
    body = ENCODERS[encoding](PAYLOAD)

    assert decompress(body, encoding, len(PAYLOAD)) == PAYLOAD


def test_raw_deflate_is_accepted_as_deflate() -> None:
    assert decompress(_raw_deflate(PAYLOAD), "deflate", 10 * MIB) == PAYLOAD


def test_raw_deflate_whose_first_bytes_look_like_a_zlib_header() -> None:
    # A raw stream starting with a stored block whose padding bits are set: its first
    # two bytes (0x78 0x01) pass the zlib header check, so the zlib attempt fails and
    # the raw retry must decode it. Blocks: stored LEN=1 "X", then an empty final block.
    body = b"\x78\x01\x00\xfe\xffX\x03\x00"

    assert decompress(body, "deflate", MIB) == b"X"


@pytest.mark.parametrize("encoding", [None, "", "identity", " Identity "])
def test_identity(encoding: str | None) -> None:
    assert decompress(PAYLOAD, encoding, len(PAYLOAD)) == PAYLOAD


def test_encoding_names_are_case_and_whitespace_insensitive() -> None:
    assert decompress(gzip.compress(PAYLOAD), " GZip ", 10 * MIB) == PAYLOAD


def test_stacked_encodings_are_undone_in_reverse_order() -> None:
    # "gzip, br": gzip was applied first, then brotli.
    body = brotli.compress(gzip.compress(PAYLOAD), quality=4)

    assert decompress(body, "gzip, br", 10 * MIB) == PAYLOAD
    with pytest.raises(DecompressionError):
        decompress(body, "br, gzip", 10 * MIB)


def test_multi_member_gzip() -> None:
    body = gzip.compress(b"first ") + gzip.compress(b"second")

    assert decompress(body, "gzip", MIB) == b"first second"


def test_multi_frame_zstd() -> None:
    compressor = zstandard.ZstdCompressor()
    body = compressor.compress(b"first ") + compressor.compress(b"second")

    assert decompress(body, "zstd", MIB) == b"first second"


def test_empty_body_with_an_encoding_is_empty() -> None:
    assert decompress(b"", "gzip", MIB) == b""


def test_unsupported_encoding() -> None:
    with pytest.raises(UnsupportedEncoding, match="'compress'"):
        decompress(b"abc", "compress", MIB)
    with pytest.raises(UnsupportedEncoding):
        decompress(gzip.compress(b"x"), "gzip, lzma", MIB)


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_corrupt_data(encoding: str) -> None:
    body = bytearray(ENCODERS[encoding](PAYLOAD))
    body[len(body) // 2 : len(body) // 2 + 16] = b"\x00garbage garbage"

    with pytest.raises(DecompressionError, match=f"invalid {encoding}|truncated"):
        decompress(bytes(body), encoding, 10 * MIB)


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_not_compressed_at_all(encoding: str) -> None:
    with pytest.raises(DecompressionError):
        decompress(b'{"plain": "json, not compressed"}', encoding, MIB)


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_truncated_data(encoding: str) -> None:
    body = ENCODERS[encoding](PAYLOAD)

    with pytest.raises(DecompressionError, match="truncated|invalid"):
        decompress(body[: len(body) // 2], encoding, 10 * MIB)


def test_trailing_garbage_after_gzip_is_an_error() -> None:
    with pytest.raises(DecompressionError):
        decompress(gzip.compress(b"data") + b"trailing junk", "gzip", MIB)


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_limit_is_exact(encoding: str) -> None:
    body = ENCODERS[encoding](PAYLOAD)

    assert decompress(body, encoding, len(PAYLOAD)) == PAYLOAD
    with pytest.raises(PayloadTooLarge, match=str(len(PAYLOAD) - 1)):
        decompress(body, encoding, len(PAYLOAD) - 1)


def test_identity_body_over_the_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        decompress(b"x" * 101, None, 100)


# --- Decompression bombs: 1 GiB of zeros, built cheaply without compressing 1 GiB each
# time where the format allows it.

_ZEROS = bytes(16 * MIB)
_REPEAT = GIB // len(_ZEROS)


def _gzip_bomb() -> bytes:
    # Concatenated gzip members form one valid gzip body (RFC 1952).
    return gzip.compress(_ZEROS, compresslevel=9) * _REPEAT


def _deflate_bomb(wbits: int) -> bytes:
    # After a full flush the compressor state resets, so the segment for the next
    # 16 MiB of zeros is identical and can be repeated.
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first + segment * (_REPEAT - 2) + compressor.compress(_ZEROS) + compressor.flush()


def _brotli_bomb() -> bytes:
    compressor = brotli.Compressor(quality=1)
    parts: list[bytes] = [compressor.process(_ZEROS) for _ in range(_REPEAT)]
    return b"".join(parts) + bytes(compressor.finish())


def _zstd_bomb() -> bytes:
    frame = zstandard.ZstdCompressor(level=3).compress(_ZEROS)
    return frame * _REPEAT


BOMBS: dict[str, Callable[[], bytes]] = {
    "gzip": _gzip_bomb,
    "deflate-zlib": lambda: _deflate_bomb(zlib.MAX_WBITS),
    "deflate-raw": lambda: _deflate_bomb(-zlib.MAX_WBITS),
    "br": _brotli_bomb,
    "zstd": _zstd_bomb,
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_one_gib_bomb_stops_early_without_allocating_it(kind: str) -> None:
    body = BOMBS[kind]()
    encoding = kind.split("-")[0]
    assert len(body) < 4 * MIB  # it really is a bomb: tiny body, 1 GiB inside
    limit = MIB

    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(PayloadTooLarge):
            decompress(body, encoding, limit)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert elapsed < 1.0
    assert peak < limit + MIB


def test_bomb_inside_stacked_encodings_is_caught_at_the_inner_stage() -> None:
    body = brotli.compress(_gzip_bomb(), quality=1)

    with pytest.raises(PayloadTooLarge):
        decompress(body, "gzip, br", MIB)
