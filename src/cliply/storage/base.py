"""The object storage interface shared by the local filesystem and S3-compatible backends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from cliply.errors import CliplyError

DEFAULT_CHUNK = 1024 * 1024


class StorageError(CliplyError):
    """A storage operation failed (the backend blinked: retryable unless a subclass says)."""

    status, code, title = 503, "storage-error", "Storage failed"
    retryable = True


class InvalidKey(StorageError):
    status, code, retryable = 400, "invalid-key", False


class ObjectNotFound(StorageError):
    status, code, retryable = 404, "object-not-found", False


class InvalidRange(StorageError):
    status, code, retryable = 416, "invalid-range", False


StreamSource = Iterable[bytes] | BinaryIO


@runtime_checkable
class Storage(Protocol):
    """Keys are validated relative paths (see storage.keys). Byte ranges follow Python
    slicing: `start` inclusive, `end` exclusive (an HTTP `bytes=a-b` is start=a, end=b+1)."""

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None: ...

    def put_stream(
        self, key: str, data: StreamSource, *, content_type: str | None = None
    ) -> int: ...

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None: ...

    def open_read(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AbstractContextManager[BinaryIO]: ...

    def iter_chunks(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]: ...

    def read_bytes(self, key: str) -> bytes: ...

    def get_to_file(self, key: str, path: Path) -> Path: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def list(self, prefix: str = "") -> list[str]: ...

    def size(self, key: str) -> int: ...

    def url(self, key: str, expires_s: int = 3600) -> str: ...


def iter_source(data: StreamSource, chunk: int = DEFAULT_CHUNK) -> Iterator[bytes]:
    """Bytes chunks from an iterable of bytes or a binary file-like object."""
    read = getattr(data, "read", None)
    if callable(read):
        while True:
            block = read(chunk)
            if not block:
                return
            yield bytes(block)
    else:
        for block in data:
            if block:
                yield bytes(block)


def check_range(size: int, start: int | None, end: int | None) -> tuple[int, int]:
    """Resolve a [start, end) request against an object of `size` bytes."""
    s = 0 if start is None else start
    e = size if end is None else min(end, size)
    if s < 0 or (end is not None and end < 0) or s > size or e < s:
        raise InvalidRange(f"byte range [{start}, {end}) does not fit an object of {size} bytes")
    return s, e
