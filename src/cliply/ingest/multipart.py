"""Streamed multipart/form-data: the `file` part goes straight to a staging file, small fields
to a dict; bytes never sit in memory (python-multipart's streaming parser)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from cliply.errors import BadRequest, CliplyError, PayloadTooLarge
from cliply.ingest.staging import is_disk_full, storage_full
from cliply.ingest.text import client_text

MAX_FIELD_BYTES = 16 * 1024


@dataclass
class MultipartUpload:
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0


class _MultipartSink:
    """python-multipart callbacks: the part named `file` goes to disk, small fields to a dict."""

    def __init__(self, out: IO[bytes], max_bytes: int) -> None:
        self.out = out
        self.max_bytes = max_bytes
        self.result = MultipartUpload()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._name: str | None = None
        self._is_file = False
        self._value = bytearray()
        self._field_bytes = 0

    def on_part_begin(self) -> None:
        self._headers, self._name, self._is_file = {}, None, False
        self._value = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = client_text(
            params.get(b"name", b"").decode("utf-8", "replace"),
            "Form field names",
            code="invalid-multipart",
        )
        filename = params.get(b"filename")
        self._is_file = self._name == "file"
        if self._is_file:
            if self.result.filename is not None:
                raise BadRequest("Send one file per request.", code="one-file-only")
            name = (filename or b"video").decode("utf-8", "replace")[:300]
            self.result.filename = client_text(name, "The filename", code="invalid-filename")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        n = end - start
        if self._is_file:
            self.result.size += n
            if self.result.size > self.max_bytes:
                raise PayloadTooLarge(
                    f"Direct uploads are limited to {self.max_bytes} bytes; use the resumable "
                    "upload (POST /api/v1/uploads) for bigger files.",
                    code="upload-too-large",
                    limit=self.max_bytes,
                )
            self.out.write(data[start:end])
        else:
            self._field_bytes += n
            if self._field_bytes > MAX_FIELD_BYTES:
                raise BadRequest("Form fields are too long.", code="form-fields-too-long")
            self._value += data[start:end]

    def on_part_end(self) -> None:
        if not self._is_file and self._name:
            value = self._value.decode("utf-8", "replace")
            self.result.fields[self._name] = client_text(
                value, f"The form field {self._name!r}", code="invalid-form-field"
            )


async def receive_multipart(
    chunks: AsyncIterator[bytes], content_type: str, dest: Path, max_bytes: int
) -> MultipartUpload:
    """Stream a multipart/form-data body into `dest` (the `file` part) and return the other
    fields. Raises BadRequest / PayloadTooLarge / StorageFull (507, a full disk); `dest` may
    then hold a partial file, which the caller removes."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data needs a boundary.", code="invalid-multipart")
    try:
        with dest.open("wb") as out:
            sink = _MultipartSink(out, max_bytes)
            parser = MultipartParser(
                boundary,
                {
                    "on_part_begin": sink.on_part_begin,
                    "on_part_data": sink.on_part_data,
                    "on_part_end": sink.on_part_end,
                    "on_header_field": sink.on_header_field,
                    "on_header_value": sink.on_header_value,
                    "on_header_end": sink.on_header_end,
                    "on_headers_finished": sink.on_headers_finished,
                },
            )
            try:
                async for chunk in chunks:
                    parser.write(chunk)
                parser.finalize()
            except (CliplyError, OSError):
                raise
            except Exception as exc:  # python-multipart's parse errors
                raise BadRequest(
                    f"Malformed multipart body: {exc}", code="invalid-multipart"
                ) from None
    except OSError as exc:
        if is_disk_full(exc):
            raise storage_full() from exc
        raise
    if sink.result.filename is None:
        raise BadRequest("Send the video in a form field named `file`.", code="file-required")
    if sink.result.size == 0:
        raise BadRequest("The uploaded file is empty.", code="empty-upload")
    return sink.result
