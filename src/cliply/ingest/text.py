"""Protocol text from clients: strict integers for headers, no NUL in names.

PostgreSQL refuses NUL in text and `str.isdigit()` accepts superscript or Arabic-Indic digits; both reached the
database or `int()` and ended as 500s. Every ingest header and filename goes through here.
"""

from __future__ import annotations

from cliply.errors import BadRequest

MAX_HEADER_DIGITS = 18  # fits a BIGINT with room to spare


def is_ascii_digits(value: str) -> bool:
    return 0 < len(value) <= MAX_HEADER_DIGITS and value.isascii() and value.isdigit()


def header_int(value: str | None, header: str) -> int:
    """A protocol header's non-negative integer: ASCII digits only, else 400."""
    if value is None or not is_ascii_digits(value.strip()):
        raise BadRequest(f"{header} must be a non-negative integer.", code="invalid-upload-header")
    return int(value.strip())


def optional_header_int(value: str | None) -> int | None:
    """An advisory integer header (Content-Length): None unless plain ASCII digits."""
    if value is None or not is_ascii_digits(value.strip()):
        return None
    return int(value.strip())


def client_text(value: str, what: str, *, code: str) -> str:
    """Text a client named (filename, form field): refused when it holds NUL."""
    if "\x00" in value:
        raise BadRequest(f"{what} must not contain NUL characters.", code=code)
    return value
