"""Object storage on the local filesystem, with HMAC-signed download URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlencode

from cliply.storage.base import (
    DEFAULT_CHUNK,
    InvalidKey,
    ObjectNotFound,
    StorageError,
    StreamSource,
    check_range,
    iter_source,
)
from cliply.storage.keys import validate_key, validate_prefix


class _Window(io.RawIOBase):
    """A read-only view of `length` bytes of an open file from its current position."""

    def __init__(self, fh: BinaryIO, length: int) -> None:
        self._fh = fh
        self._left = length

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._left <= 0:
            return 0
        view = memoryview(buffer).cast("B")[: self._left]
        n = self._fh.readinto(view)  # type: ignore[attr-defined]
        n = n or 0
        self._left -= n
        return int(n)

    def close(self) -> None:
        self._fh.close()
        super().close()


class LocalStorage:
    """Objects are files under `root`. Writes are atomic (temp file + rename); download
    URLs are `{public_base_url}/{key}?expires=..&sig=..`, checked with `verify_token`."""

    def __init__(self, root: Path | str, *, url_secret: str | bytes, public_base_url: str) -> None:
        if not url_secret:
            raise StorageError(
                "LocalStorage needs a url_secret to sign URLs", code="storage-config"
            )
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._secret = url_secret.encode() if isinstance(url_secret, str) else url_secret
        self.public_base_url = public_base_url.rstrip("/")

    # --- paths ------------------------------------------------------------------------

    def path_for(self, key: str) -> Path:
        """The file for `key`; refuses keys that would resolve outside the root (also via
        symlinks planted inside it)."""
        validate_key(key)
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise InvalidKey(f"object key escapes the storage root: {key!r}")
        return path

    def _existing(self, key: str) -> Path:
        path = self.path_for(key)
        if not path.is_file():
            raise ObjectNotFound(f"no object {key!r}")
        return path

    # --- writes -----------------------------------------------------------------------

    def put_stream(self, key: str, data: StreamSource, *, content_type: str | None = None) -> int:
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
        written = 0
        try:
            with os.fdopen(fd, "wb") as out:
                for block in iter_source(data):
                    out.write(block)
                    written += len(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp_name, path)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        return written

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        with Path(path).open("rb") as fh:
            self.put_stream(key, fh, content_type=content_type)

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        self.put_stream(key, [data], content_type=content_type)

    # --- reads ------------------------------------------------------------------------

    def open_read(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        path = self._existing(key)
        s, e = check_range(path.stat().st_size, start, end)
        fh = path.open("rb")
        if start is None and end is None:
            return fh
        fh.seek(s)
        return io.BufferedReader(_Window(fh, e - s), buffer_size=DEFAULT_CHUNK)

    def read_bytes(self, key: str) -> bytes:
        return self._existing(key).read_bytes()

    def get_to_file(self, key: str, path: Path) -> Path:
        src = self._existing(key)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, path)
        return path

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def size(self, key: str) -> int:
        return self._existing(key).stat().st_size

    def list(self, prefix: str = "") -> list[str]:
        validate_prefix(prefix)
        # Walk only the deepest folder the prefix names, then filter by the rest.
        folder = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        if not folder.is_dir():
            return []
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for name in filenames:
                if name.startswith("."):
                    continue
                key = Path(dirpath, name).relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    # --- deletes ----------------------------------------------------------------------

    def delete(self, key: str) -> None:
        path = self.path_for(key)
        path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root:  # tidy empty folders
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for key in keys:
            self.delete(key)
        return len(keys)

    # --- signed URLs --------------------------------------------------------------------

    def _signature(self, key: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def url(self, key: str, expires_s: int = 3600) -> str:
        validate_key(key)
        expires = int(time.time()) + int(expires_s)
        query = urlencode({"expires": expires, "sig": self._signature(key, expires)})
        return f"{self.public_base_url}/{quote(key, safe='/')}?{query}"

    def verify_token(
        self, key: str, expires: int | str, sig: str, *, now: float | None = None
    ) -> bool:
        """True when `sig` is ours for `key` and `expires` and that time has not passed."""
        try:
            validate_key(key)
            exp = int(expires)
        except (InvalidKey, ValueError, TypeError):
            return False
        if exp < (time.time() if now is None else now):
            return False
        return hmac.compare_digest(self._signature(key, exp), str(sig))

    def iter_chunks(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]:
        """Chunks of an object (range optional), for streaming HTTP responses."""
        with self.open_read(key, start, end) as fh:
            while block := fh.read(DEFAULT_CHUNK):
                yield block
