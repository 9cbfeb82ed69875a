"""tus 1.0 protocol pieces: metadata and offset headers, staging files, and the write lease.

Each PATCH appends its stream to the upload's staging file under CLIPLY_DATA_DIR/uploads;
the staging file's size is the upload's offset, so a PATCH cut off mid-way keeps exactly what
arrived and the client resumes from there (HEAD). Resumable uploads need every PATCH of one
upload to reach a process that sees the same CLIPLY_DATA_DIR/uploads (one machine, sticky
routing, or a shared volume).

The write lease: one PATCH at a time may write an upload. The holder's token sits in
`<id>.lease`; every chunk is appended under a short flock of that file after checking the
token, so a PATCH whose writer vanished (a dropped connection without FIN/RST, a killed
process) can be taken over once the writer made no progress for `takeover_after_s`: the old
writer finds the token changed and stops before writing another byte.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import fcntl
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.requests import ClientDisconnect

from cliply.errors import BadRequest, CliplyError, Conflict
from cliply.ingest.staging import is_disk_full, storage_full
from cliply.ingest.text import client_text, header_int

TUS_VERSION = "1.0.0"
TUS_EXTENSIONS = "creation,termination"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
UPLOAD_TTL = timedelta(days=2)
MAX_METADATA_CHARS = 4096


def upload_expiry(now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) + UPLOAD_TTL


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
        key = client_text(parts[0], "Upload-Metadata keys", code="invalid-upload-metadata")
        out[key] = client_text(
            value, f"Upload-Metadata value of {key!r}", code="invalid-upload-metadata"
        )
    return out


def parse_offset(value: str | None, header: str = "Upload-Offset") -> int:
    return header_int(value, header)


def staging_path(root: Path, upload_id: uuid.UUID) -> Path:
    return root / f"{upload_id}.part"


def lease_path(staging: Path) -> Path:
    return staging.with_suffix(".lease")


def discard_staging(staging: Path) -> None:
    """Remove an upload's staging file and its lease (abandoned, expired or finished)."""
    staging.unlink(missing_ok=True)
    lease_path(staging).unlink(missing_ok=True)


def current_offset(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _locked() -> Conflict:
    return Conflict("Another request is writing this upload.", code="upload-locked", status=423)


class LeaseLost(Exception):
    """Another PATCH took this upload over (this writer made no progress for too long)."""


class WriteLease:
    """The right to append to one staging file; see the module docstring."""

    def __init__(self, staging: Path, token: str, lease_fd: int, data_fd: int) -> None:
        self.staging, self.token = staging, token
        self._lease_fd, self._data_fd = lease_fd, data_fd

    @contextlib.contextmanager
    def _mutex(self) -> Iterator[None]:
        fcntl.flock(self._lease_fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lease_fd, fcntl.LOCK_UN)

    def _owner(self) -> str:
        return os.pread(self._lease_fd, 200, 0).decode("ascii", "replace").strip()

    def offset(self) -> int:
        return os.fstat(self._data_fd).st_size

    def append(self, data: bytes) -> None:
        """Append `data` while still the holder. A full disk truncates back to where this
        chunk began (nothing half-written) and raises StorageFull."""
        with self._mutex():
            if self._owner() != self.token:
                raise LeaseLost
            start = os.fstat(self._data_fd).st_size
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._data_fd, view) :]
            except OSError as exc:
                os.ftruncate(self._data_fd, start)
                if is_disk_full(exc):
                    raise storage_full() from exc
                raise

    def sync(self) -> None:
        try:
            os.fsync(self._data_fd)
        except OSError as exc:
            if is_disk_full(exc):
                raise storage_full() from exc
            raise

    def release(self) -> None:
        with contextlib.suppress(OSError), self._mutex():
            if self._owner() == self.token:
                os.ftruncate(self._lease_fd, 0)
        os.close(self._data_fd)
        os.close(self._lease_fd)


def _last_progress(lease_fd: int, staging: Path) -> float:
    """When the holder last did something: took the lease or appended bytes."""
    times = [os.fstat(lease_fd).st_mtime]
    with contextlib.suppress(FileNotFoundError):
        times.append(staging.stat().st_mtime)
    return max(times)


def acquire(staging: Path, takeover_after_s: float) -> WriteLease:
    """Take the write lease of `staging`: 423 while a live writer holds it; a holder without
    progress for `takeover_after_s` seconds is taken over."""
    lease_fd = os.open(lease_path(staging), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lease_fd, fcntl.LOCK_EX)
        try:
            owner = os.pread(lease_fd, 200, 0).strip()
            if owner and time.time() - _last_progress(lease_fd, staging) < takeover_after_s:
                raise _locked()
            token = uuid.uuid4().hex
            os.ftruncate(lease_fd, 0)
            os.pwrite(lease_fd, token.encode(), 0)  # also marks the moment of taking it
            data_fd = os.open(staging, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        finally:
            fcntl.flock(lease_fd, fcntl.LOCK_UN)
    except BaseException:
        os.close(lease_fd)
        raise
    return WriteLease(staging, token, lease_fd, data_fd)


def check_offset(offset: int, have: int) -> None:
    if offset != have:
        raise Conflict(
            f"Upload-Offset is {offset} but the server has {have} bytes.",
            code="offset-mismatch",
            upload_offset=have,
        )


async def receive_body(
    chunks: AsyncIterator[bytes],
    append: Callable[[bytes], None],
    remaining: int,
    idle_timeout_s: float,
) -> CliplyError | None:
    """Append a PATCH body (at most `remaining` bytes) through `append`. Returns the error to
    answer once progress is recorded (too many bytes, an idle body); raises 409 when another
    PATCH took the upload over."""
    stream = chunks.__aiter__()
    while True:
        try:
            # A client that vanished without FIN/RST sends nothing: end the PATCH after the
            # idle timeout rather than hold the upload for as long as the dead socket lives.
            chunk = await asyncio.wait_for(anext(stream), idle_timeout_s)
        except StopAsyncIteration:
            return None
        except TimeoutError:
            return CliplyError(
                f"No bytes arrived for {idle_timeout_s:g} s; resume from HEAD's Upload-Offset.",
                code="upload-idle-timeout",
                status=408,
            )
        except ClientDisconnect:
            return None  # keep what arrived; the client resumes from HEAD's offset
        try:
            if len(chunk) > remaining:
                append(chunk[:remaining])
                return BadRequest(
                    "The request carried more bytes than the upload's length.",
                    code="upload-exceeds-length",
                )
            append(chunk)
        except LeaseLost:
            # Raised, not returned: the new holder records progress, this request nothing.
            raise Conflict(
                "Another request took this upload over; resume from HEAD's Upload-Offset.",
                code="upload-taken-over",
            ) from None
        remaining -= len(chunk)
