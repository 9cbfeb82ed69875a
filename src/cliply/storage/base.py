"""The object storage interface shared by the local filesystem and S3-compatible backends."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

DEFAULT_CHUNK = 1024 * 1024


class StorageError(Exception):
    """A storage operation failed; `code` is stable."""

    code = "storage_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class InvalidKey(StorageError):
    code = "invalid_key"


class ObjectNotFound(StorageError):
    code = "object_not_found"


class InvalidRange(StorageError):
    code = "invalid_range"


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
