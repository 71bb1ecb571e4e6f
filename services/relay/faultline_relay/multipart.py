"""A small, bounded ``multipart/form-data`` parser for bodies already in memory (pure).

The minidump endpoint reads its body under the relay's size limits first (and undoes a
``Content-Encoding``), so the form is parsed from bytes rather than from the request
stream. Parsing is linear in the body size; the number of parts and the size of each
part's header block are capped, so a hostile body costs at most a bounded amount of work.
Only what form uploads use is understood (RFC 7578): ``Content-Disposition`` with
``name``/``filename``/``filename*``, and ``Content-Type``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

MAX_PARTS = 1000
MAX_PART_HEADER_BYTES = 16 * 1024
_MAX_BOUNDARY = 200
_PARAM = re.compile(r';\s*([^=;\s]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')
_QUOTED_PAIR = re.compile(r"\\(.)")


class MultipartError(ValueError):
    """The body is not a well-formed ``multipart/form-data`` body."""


@dataclass(frozen=True)
class FormPart:
    """One field of the form: a file when ``filename`` is set, otherwise a text field."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def is_file(self) -> bool:
        return self.filename is not None

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def header_params(value: str) -> tuple[str, dict[str, str]]:
    """A header value's main token (lower case) and its ``; name=value`` parameters."""
    main, _, _ = value.partition(";")
    params: dict[str, str] = {}
    for match in _PARAM.finditer(value[len(main):]):
        raw = match.group(2).strip()
        if len(raw) >= 2 and raw.startswith('"') and raw.endswith('"'):
            raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
        params.setdefault(match.group(1).lower(), raw)
    return main.strip().lower(), params


def boundary_of(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` Content-Type; :class:`MultipartError` else."""
    media_type, params = header_params(content_type or "")
    if media_type != "multipart/form-data":
        raise MultipartError("expected a multipart/form-data body")
    boundary = params.get("boundary", "")
    if not 0 < len(boundary) <= _MAX_BOUNDARY or not boundary.isascii() or any(
        ch in boundary for ch in "\r\n"
    ):
        raise MultipartError("multipart/form-data without a usable boundary")
    return boundary


def _is_delimiter_end(body: bytes, pos: int) -> bool:
    """Whether a boundary match ending at ``pos`` is a real delimiter (RFC 2046 §5.1.1):
    followed by ``--``, or by optional blanks and a line break."""
    if body.startswith(b"--", pos):
        return True
    while pos < len(body) and body[pos] in b" \t":
        pos += 1
    return body.startswith(b"\r\n", pos) or body.startswith(b"\n", pos)


def _find_delimiter(body: bytes, delimiter: bytes, start: int) -> int:
    """The index of the line break before the next delimiter line at or after ``start``."""
    needle = b"\n" + delimiter
    pos = start
    while True:
        found = body.find(needle, pos)
        if found < 0:
            raise MultipartError("multipart body is truncated (no closing boundary)")
        if _is_delimiter_end(body, found + len(needle)):
            return found
        pos = found + 1


def _split_part(part: bytes) -> tuple[bytes, bytes]:
    """The part's header block and its content."""
    for blank in (b"\r\n", b"\n"):
        if part.startswith(blank):
            return b"", part[len(blank):]
    window = part[: MAX_PART_HEADER_BYTES + 4]
    ends = [(i, len(sep)) for sep in (b"\r\n\r\n", b"\n\n") if (i := window.find(sep)) >= 0]
    if not ends:
        raise MultipartError(
            f"multipart part headers missing or over {MAX_PART_HEADER_BYTES} bytes"
        )
    index, length = min(ends)
    return part[:index], part[index + length:]


def _headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last = ""
    for line in block.decode("utf-8", errors="replace").splitlines():
        if line[:1] in (" ", "\t") and last:  # an obsolete folded continuation line
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise MultipartError("malformed header line in a multipart part")
        last = name.strip().lower()
        headers.setdefault(last, value.strip())
    return headers


def _filename(params: dict[str, str]) -> str | None:
    extended = params.get("filename*")
    if extended is not None:
        charset, _, rest = extended.partition("'")
        _, _, encoded = rest.partition("'")
        if charset.lower() in ("utf-8", "iso-8859-1") and encoded:
            return unquote(encoded, encoding=charset.lower(), errors="replace")
    return params.get("filename")


def _form_part(raw: bytes) -> FormPart | None:
    block, data = _split_part(raw)
    headers = _headers(block)
    kind, params = header_params(headers.get("content-disposition", ""))
    name = params.get("name")
    if kind != "form-data" or name is None:
        return None  # not a form field (RFC 7578 requires both); nothing to use
    return FormPart(name, _filename(params), headers.get("content-type"), data)


def parse_multipart(body: bytes, boundary: str, max_parts: int = MAX_PARTS) -> list[FormPart]:
    """The form's fields in order; :class:`MultipartError` when the body is malformed."""
    delimiter = b"--" + boundary.encode("ascii")
    if body.startswith(delimiter) and _is_delimiter_end(body, len(delimiter)):
        pos = len(delimiter)
    else:  # a preamble before the first delimiter is allowed and ignored
        pos = _find_delimiter(body, delimiter, 0) + 1 + len(delimiter)
    parts: list[FormPart] = []
    seen = 0
    while not body.startswith(b"--", pos):
        seen += 1
        if seen > max_parts:
            raise MultipartError(f"multipart body has more than {max_parts} parts")
        line_end = body.find(b"\n", pos)
        if line_end < 0:
            raise MultipartError("multipart body is truncated")
        start = line_end + 1
        end = _find_delimiter(body, delimiter, start)
        content_end = end - 1 if end > start and body[end - 1] == 0x0D else end
        part = _form_part(body[start:content_end])
        if part is not None:
            parts.append(part)
        pos = end + 1 + len(delimiter)
    return parts
