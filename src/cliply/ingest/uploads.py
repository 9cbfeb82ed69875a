"""Receiving video bytes: streamed multipart (small files) and tus 1.0 resumable uploads.

Bytes never sit in memory: the multipart body is parsed as it streams (python-multipart's
streaming parser) straight into a staging file, and each tus PATCH appends its stream to the
upload's staging file under CLIPLY_DATA_DIR/uploads. The staging file's size is the upload's
offset, so a PATCH cut off mid-way keeps exactly what arrived and the client resumes from
there (HEAD). A finished file moves into object storage (a rename for local storage).

Resumable uploads need every PATCH of one upload to reach a process that sees the same
CLIPLY_DATA_DIR/uploads (one machine, sticky routing, or a shared volume).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header

from cliply.errors import BadRequest, CliplyError, Conflict, PayloadTooLarge
from cliply.storage import LocalStorage, Storage
from cliply.storage.keys import VIDEO_EXTENSIONS

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
UPLOAD_TTL = timedelta(days=2)
MAX_FIELD_BYTES = 16 * 1024
MAX_METADATA_CHARS = 4096


def staging_root(data_dir: Path) -> Path:
    root = data_dir / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    return root


def upload_expiry(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + UPLOAD_TTL


def extension_of(filename: str | None) -> str:
    """Extension for the storage key (probing decides what the file really is)."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    return ext if ext in VIDEO_EXTENSIONS else "mp4"


def move_to_storage(staging: Path, storage: Storage, key: str) -> None:
    """Hand a finished staging file to storage: a rename on the same disk, else a copy."""
    if isinstance(storage, LocalStorage):
        target = storage.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging, target)
            return
        except OSError:
            pass  # another filesystem: copy below
    storage.put_file(key, staging, content_type="application/octet-stream")
    staging.unlink(missing_ok=True)


# --- multipart ---------------------------------------------------------------------------------


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
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        filename = params.get(b"filename")
        self._is_file = self._name == "file"
        if self._is_file:
            if self.result.filename is not None:
                raise BadRequest("Send one file per request.", code="one-file-only")
            self.result.filename = (filename or b"video").decode("utf-8", "replace")[:300]

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
            self.result.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive_multipart(
    chunks: AsyncIterator[bytes], content_type: str, dest: Path, max_bytes: int
) -> MultipartUpload:
    """Stream a multipart/form-data body into `dest` (the `file` part) and return the other
    fields. Raises BadRequest / PayloadTooLarge; `dest` may hold a partial file then."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadRequest("multipart/form-data needs a boundary.", code="invalid-multipart")
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
        except CliplyError:
            raise
        except Exception as exc:  # python-multipart's parse errors
            raise BadRequest(f"Malformed multipart body: {exc}", code="invalid-multipart") from None
    if sink.result.filename is None:
        raise BadRequest("Send the video in a form field named `file`.", code="file-required")
    if sink.result.size == 0:
        raise BadRequest("The uploaded file is empty.", code="empty-upload")
    return sink.result


# --- tus ------------------------------------------------------------------------------------------


def parse_metadata(header: str | None) -> dict[str, str]:
    """tus Upload-Metadata: comma-separated `key base64value` pairs (value optional)."""
    if not header:
        return {}
    if len(header) > MAX_METADATA_CHARS:
        raise BadRequest("Upload-Metadata is too long.", code="invalid-upload-metadata")
    out: dict[str, str] = {}
    for pair in header.split(","):
        parts = pair.strip().split(" ")
        if not parts[0] or len(parts) > 2:
            raise BadRequest(
                "Upload-Metadata must be `key base64value` pairs.", code="invalid-upload-metadata"
            )
        try:
            value = base64.b64decode(parts[1], validate=True).decode() if len(parts) == 2 else ""
        except (binascii.Error, UnicodeDecodeError):
            raise BadRequest(
                f"Upload-Metadata value of {parts[0]!r} is not base64.",
                code="invalid-upload-metadata",
            ) from None
        out[parts[0]] = value
    return out


def parse_offset(value: str | None, header: str = "Upload-Offset") -> int:
    if value is None or not value.isdigit():
        raise BadRequest(f"{header} must be a non-negative integer.", code="invalid-upload-header")
    return int(value)


def staging_path(root: Path, upload_id: uuid.UUID) -> Path:
    return root / f"{upload_id}.part"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[IO[bytes]]:
    """Open the staging file for appending with an exclusive lock; 423 if another request
    is writing it (tus clients retry)."""
    fh = path.open("ab")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                "Another request is writing this upload.", code="upload-locked", status=423
            ) from None
        yield fh
    finally:
        fh.close()


def current_offset(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0
