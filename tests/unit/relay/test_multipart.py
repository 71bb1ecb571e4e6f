"""The bounded multipart/form-data parser behind the minidump endpoint (pure)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultline_relay.multipart import (
    FormPart,
    MultipartError,
    boundary_of,
    header_params,
    parse_multipart,
)
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)


def encoded(data: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    """A body as httpx (a real client library) encodes it, and its Content-Type."""
    request = httpx.Request("POST", "http://x/", data=data, files=files)
    return request.read(), request.headers["content-type"]


def test_a_real_clients_form_round_trips() -> None:
    payload = b"MDMP\r\n--not-the-boundary\r\n\x00\xff" * 50
    body, content_type = encoded(
        {"sentry": '{"release": "1.0"}', "name": "é ü"},
        {"upload_file_minidump": ("crash.dmp", payload, "application/octet-stream")},
    )

    parts = parse_multipart(body, boundary_of(content_type))

    assert parts == [
        FormPart("sentry", None, None, b'{"release": "1.0"}'),
        FormPart("name", None, None, "é ü".encode()),
        FormPart("upload_file_minidump", "crash.dmp", "application/octet-stream", payload),
    ]
    assert parts[1].text() == "é ü" and parts[2].is_file


def test_preamble_lf_line_endings_and_lookalike_boundaries() -> None:
    body = (b"preamble to ignore\n--b\nContent-Disposition: form-data; name=a\n\n"
            b"line\n--bb is not a delimiter\n--b\t \n"
            b'Content-Disposition: form-data; name="f"; filename*=UTF-8\'\'na%C3%AFve.txt\n'
            b"Content-Type: text/plain\n\nx\n--b--\nepilogue")

    parts = parse_multipart(body, "b")

    assert parts == [
        FormPart("a", None, None, b"line\n--bb is not a delimiter"),
        FormPart("f", "naïve.txt", "text/plain", b"x"),
    ]


def test_parts_without_a_form_disposition_are_skipped() -> None:
    body = (b"--b\r\nContent-Type: text/plain\r\n\r\norphan\r\n"
            b"--b\r\n\r\nno headers\r\n"
            b'--b\r\nContent-Disposition: form-data; name="kept"\r\n\r\nyes\r\n--b--\r\n')
    assert [part.name for part in parse_multipart(body, "b")] == ["kept"]


@pytest.mark.parametrize(("body", "message"), [
    (b"", "truncated"),
    (b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end', "truncated"),
    (b"--b\r\nno colon here\r\n\r\nx\r\n--b--", "malformed header"),
    (b"--b\r\nX-Filler: " + b"y" * 20000 + b"\r\n\r\nx\r\n--b--", "headers missing or over"),
])
def test_malformed_bodies_raise(body: bytes, message: str) -> None:
    with pytest.raises(MultipartError, match=message):
        parse_multipart(body, "b")


def test_the_number_of_parts_is_capped() -> None:
    part = b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\nx\r\n'
    assert len(parse_multipart(part * 5 + b"--b--", "b", max_parts=5)) == 5
    with pytest.raises(MultipartError, match="more than 5 parts"):
        parse_multipart(part * 6 + b"--b--", "b", max_parts=5)


def test_boundary_and_header_parameters() -> None:
    assert boundary_of('multipart/form-data; boundary="a b;c"') == "a b;c"
    assert boundary_of("Multipart/Form-Data; charset=utf-8; boundary=xyz") == "xyz"
    for bad in (None, "text/plain; boundary=x", "multipart/form-data", 'multipart/form-data;'
                ' boundary=""', "multipart/form-data; boundary=" + "x" * 201):
        with pytest.raises(MultipartError):
            boundary_of(bad)
    assert header_params('form-data; name="a\\"b"; filename=c.txt') == (
        "form-data", {"name": 'a"b', "filename": "c.txt"}
    )


@given(st.binary(max_size=400), st.sampled_from(["b", "--", "x" * 70]))
def test_arbitrary_bytes_never_crash_the_parser(body: bytes, boundary: str) -> None:
    try:
        parts = parse_multipart(b"--" + boundary.encode() + b"\r\n" + body, boundary)
    except MultipartError:
        return
    assert all(isinstance(part, FormPart) for part in parts)
