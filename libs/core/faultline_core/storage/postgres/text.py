"""Text as PostgreSQL accepts it."""

from __future__ import annotations


def pg_text(value: str) -> str:
    """``value`` without NUL characters and lone surrogates, which PostgreSQL's TEXT (and
    UTF-8 itself) refuses: one such value from a client would fail its batch forever."""
    value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value
