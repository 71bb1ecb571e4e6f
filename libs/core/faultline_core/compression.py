"""Request body decompression that is safe against decompression bombs (pure).

Every decoder streams its output into a bounded sink that raises
:class:`PayloadTooLarge` as soon as the output would pass ``max_bytes``, so at most
``max_bytes`` plus one decoder step (a few hundred KiB) is ever held in memory, whatever
the compression ratio.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli
import zstandard

_CHUNK = 64 * 1024
# The largest output one zstd input byte can produce: an RLE block is 4 bytes (3 header
# + 1) and expands to at most 128 KiB.
_ZSTD_MAX_RATIO = 32 * 1024
_ZSTD_MIN_STEP = 64
# Decoders allocate their window up front; a hostile frame may declare a huge one.
_ZSTD_MAX_WINDOW = 1 << 24


class PayloadTooLarge(ValueError):
    """The decompressed body would exceed the allowed size."""


class UnsupportedEncoding(ValueError):
    """The Content-Encoding names a coding this server does not accept."""


class DecompressionError(ValueError):
    """The body is corrupt or truncated for its declared encoding."""


class _BoundedSink:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.buffer = bytearray()

    @property
    def remaining(self) -> int:
        return self.max_bytes - len(self.buffer)

    def write(self, chunk: bytes) -> None:
        if len(chunk) > self.remaining:
            raise PayloadTooLarge(f"decompressed body exceeds {self.max_bytes} bytes")
        self.buffer += chunk


def _inflate_stream(data: bytes, wbits: int, sink: _BoundedSink) -> bytes:
    """Inflate one zlib/gzip/raw stream into ``sink``; return the bytes after it.

    Input is fed in slices: zlib copies the unconsumed input on every call, which would
    make a large body quadratic.
    """
    decoder = zlib.decompressobj(wbits)
    view = memoryview(data)
    pos = 0
    while not decoder.eof and pos < len(data):
        pending = view[pos : pos + _CHUNK]
        pos += len(pending)
        while pending and not decoder.eof:
            sink.write(decoder.decompress(pending, _CHUNK))
            pending = memoryview(decoder.unconsumed_tail)
    # The input may be used up while zlib still holds output; drain it in chunks.
    while not decoder.eof:
        chunk = decoder.decompress(b"", _CHUNK)
        if not chunk:
            raise DecompressionError("compressed data is truncated")
        sink.write(chunk)
    return decoder.unused_data + data[pos:]


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    sink = _BoundedSink(max_bytes)
    rest = body
    # A gzip file may hold several members back to back (RFC 1952 §2.2).
    while rest:
        rest = _inflate_stream(rest, 16 + zlib.MAX_WBITS, sink)
    return bytes(sink.buffer)


def _looks_like_zlib(body: bytes) -> bool:
    if len(body) < 2:
        return False
    cmf, flg = body[0], body[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf * 256 + flg) % 31 == 0


def _inflate(body: bytes, max_bytes: int) -> bytes:
    # HTTP "deflate" means zlib-wrapped, but many clients send raw deflate instead.
    if _looks_like_zlib(body):
        sink = _BoundedSink(max_bytes)
        try:
            rest = _inflate_stream(body, zlib.MAX_WBITS, sink)
        except zlib.error:
            # A raw stream can start with two bytes that happen to pass the header
            # check; retry it as raw before calling it corrupt.
            pass
        else:
            if rest:
                raise DecompressionError("trailing data after the deflate stream")
            return bytes(sink.buffer)
    sink = _BoundedSink(max_bytes)
    if _inflate_stream(body, -zlib.MAX_WBITS, sink):
        raise DecompressionError("trailing data after the deflate stream")
    return bytes(sink.buffer)


def _unbrotli(body: bytes, max_bytes: int) -> bytes:
    sink = _BoundedSink(max_bytes)
    decoder = brotli.Decompressor()
    view = memoryview(body)
    for start in range(0, len(body), _CHUNK):
        if not decoder.can_accept_more_data():
            raise DecompressionError("brotli decoder stalled")
        sink.write(decoder.process(view[start : start + _CHUNK], output_buffer_limit=_CHUNK))
        # Output beyond the limit stays inside the decoder until asked for with empty
        # input; drain it before feeding more.
        while chunk := decoder.process(b"", output_buffer_limit=_CHUNK):
            sink.write(chunk)
    if not decoder.is_finished():
        raise DecompressionError("compressed data is truncated")
    return bytes(sink.buffer)


def _unzstd(body: bytes, max_bytes: int) -> bytes:
    """Decode zstd frames, feeding input in slices small enough to bound each step.

    zstandard's streaming objects cannot cap their output per call, so the input slice
    is sized from the remaining budget and the format's worst-case expansion.
    """
    sink = _BoundedSink(max_bytes)
    context = zstandard.ZstdDecompressor(max_window_size=_ZSTD_MAX_WINDOW)
    decoder = context.decompressobj()
    fed_current_frame = False
    pos = 0
    while pos < len(body):
        step = max(_ZSTD_MIN_STEP, sink.remaining // _ZSTD_MAX_RATIO)
        piece = body[pos : pos + step]
        pos += len(piece)
        fed_current_frame = True
        sink.write(decoder.decompress(piece))
        if decoder.eof:
            # Several frames may follow each other; restart after this one.
            pos -= len(decoder.unused_data)
            decoder = context.decompressobj()
            fed_current_frame = False
    if fed_current_frame:
        raise DecompressionError("compressed data is truncated")
    return bytes(sink.buffer)


def _identity(body: bytes, max_bytes: int) -> bytes:
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"body exceeds {max_bytes} bytes")
    return body


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _inflate,
    "br": _unbrotli,
    "zstd": _unzstd,
    "identity": _identity,
}

_DECODER_ERRORS = (zlib.error, brotli.error, zstandard.ZstdError)


def _codings(content_encoding: str | None) -> list[str]:
    if not content_encoding:
        return []
    return [c.strip().lower() for c in content_encoding.split(",") if c.strip()]


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding`` (possibly stacked, e.g. ``"gzip, br"``) on ``body``.

    Codings are listed in the order they were applied, so they are undone in reverse.
    Raises :class:`UnsupportedEncoding`, :class:`DecompressionError` or
    :class:`PayloadTooLarge` (as soon as any stage's output passes ``max_bytes``).
    """
    codings = _codings(content_encoding)
    for coding in codings:
        if coding not in _DECODERS:
            raise UnsupportedEncoding(f"unsupported content encoding: {coding!r}")
    data = body
    for coding in reversed(codings):
        if not data:
            # Some clients label an empty body with their usual encoding.
            return b""
        try:
            data = _DECODERS[coding](data, max_bytes)
        except _DECODER_ERRORS as exc:
            raise DecompressionError(f"invalid {coding} data: {exc}") from exc
    return _identity(data, max_bytes)
