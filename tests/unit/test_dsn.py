"""DSN and X-Sentry-Auth parsing, cross-checked against the real sentry-python SDK."""

from __future__ import annotations

import pytest
from sentry_sdk.consts import EndpointType
from sentry_sdk.utils import Dsn as SdkDsn

from faultline_core.dsn import Dsn, parse_dsn, parse_sentry_auth


def test_parse_sentry_auth_full_header() -> None:
    header = (
        "Sentry sentry_version=7, sentry_client=sentry.python/2.0.0, "
        "sentry_key=abc123, sentry_secret=s3cr3t"
    )

    assert parse_sentry_auth(header) == {
        "sentry_version": "7",
        "sentry_client": "sentry.python/2.0.0",
        "sentry_key": "abc123",
        "sentry_secret": "s3cr3t",
    }


@pytest.mark.parametrize(
    "header",
    [
        "sentry_key=abc123,sentry_version=7",
        "Sentry sentry_key=abc123,sentry_version=7",
        "  sentry   sentry_key = abc123 ,  sentry_version=7  ",
        "SENTRY\tsentry_key=abc123, sentry_version=7",
        'Sentry sentry_key="abc123", sentry_version="7"',
        "Sentry sentry_key=abc123, , garbage, sentry_version=7",
    ],
)
def test_parse_sentry_auth_tolerates_prefix_and_whitespace(header: str) -> None:
    auth = parse_sentry_auth(header)

    assert auth["sentry_key"] == "abc123"
    assert auth["sentry_version"] == "7"


def test_parse_sentry_auth_matches_what_the_sdk_sends() -> None:
    sdk_header = SdkDsn("https://pub:sec@example.com/5").to_auth("cli/1.0").to_header()

    auth = parse_sentry_auth(sdk_header)

    assert auth["sentry_key"] == "pub"
    assert auth["sentry_secret"] == "sec"
    assert auth["sentry_client"] == "cli/1.0"


@pytest.mark.parametrize("header", ["", "   ", "Sentry", "Sentry ", "Bearer token", "garbage"])
def test_parse_sentry_auth_rejects_headers_without_pairs(header: str) -> None:
    with pytest.raises(ValueError, match="no key=value pairs"):
        parse_sentry_auth(header)


def test_parse_dsn_basic() -> None:
    dsn = parse_dsn("https://abc123@o1.ingest.example.com/42")

    assert dsn == Dsn(
        scheme="https",
        public_key="abc123",
        secret_key=None,
        host="o1.ingest.example.com",
        port=None,
        path="",
        project_id="42",
    )
    assert str(dsn) == "https://abc123@o1.ingest.example.com/42"
    assert dsn.endpoint_url("envelope") == "https://o1.ingest.example.com/api/42/envelope/"


def test_parse_dsn_with_secret_port_and_path_prefix() -> None:
    dsn = parse_dsn("http://pub:sec@localhost:9000/sentry/relay/7/")

    assert (dsn.public_key, dsn.secret_key) == ("pub", "sec")
    assert (dsn.host, dsn.port) == ("localhost", 9000)
    assert (dsn.path, dsn.project_id) == ("/sentry/relay", "7")
    assert str(dsn) == "http://pub:sec@localhost:9000/sentry/relay/7"


def test_parse_dsn_ipv6_host_round_trips() -> None:
    dsn = parse_dsn("http://key@[::1]:8000/3")

    assert dsn.host == "::1"
    assert str(dsn) == "http://key@[::1]:8000/3"
    assert dsn.endpoint_url("store") == "http://[::1]:8000/api/3/store/"


@pytest.mark.parametrize(
    "text",
    [
        "https://abc@example.com/42",
        "http://pub:sec@localhost:9000/sentry/7",
        "https://k@host.example:8443/a/b/c/99",
        "http://k@127.0.0.1/1",
    ],
)
def test_endpoint_url_matches_the_sdk(text: str) -> None:
    ours = parse_dsn(text)
    theirs = SdkDsn(text)

    assert ours.endpoint_url("envelope") == theirs.to_auth().get_api_url(EndpointType.ENVELOPE)
    assert ours.project_id == theirs.project_id
    assert ours.public_key == theirs.public_key
    assert parse_dsn(str(ours)) == ours


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("ftp://key@example.com/1", "scheme must be http or https"),
        ("example.com/1", "scheme must be http or https"),
        ("https://example.com/1", "missing public key"),
        ("https://key@/1", "missing host"),
        ("https://key@example.com", "missing project id"),
        ("https://key@example.com/", "missing project id"),
        ("https://key@example.com:99999/1", "invalid DSN"),
        ("https://key@example.com:port/1", "invalid DSN"),
        ("", "scheme must be http or https"),
    ],
)
def test_parse_dsn_errors(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_dsn(text)
