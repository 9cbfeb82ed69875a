"""Staging files for incoming uploads (CLIPLY_DATA_DIR/uploads), handing them to storage, and
what a full disk means: 507 for the client (never its fault), nothing half-written."""

from __future__ import annotations

import errno
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cliply.errors import CliplyError
from cliply.storage import LocalStorage, Storage
from cliply.storage.keys import VIDEO_EXTENSIONS


class StorageFull(CliplyError):
    """The server has no room for the bytes: 507, retry later."""

    status, code, title = 507, "insufficient-storage", "Insufficient storage"


FULL_MESSAGE = "The server has no room to store this upload right now; try again later."


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


def storage_full() -> StorageFull:
    return StorageFull(FULL_MESSAGE)


def staging_root(data_dir: Path) -> Path:
    root = data_dir / "uploads"
    root.mkdir(parents=True, exist_ok=True)
    return root


def extension_of(filename: str | None) -> str:
    """Extension for the storage key (probing decides what the file really is)."""
    ext = Path(filename or "").suffix.lower().lstrip(".")
    return ext if ext in VIDEO_EXTENSIONS else "mp4"


def move_to_storage(staging: Path, storage: Storage, key: str) -> None:
    """Hand a finished staging file to storage: a rename on the same disk, else a copy.
    A full disk raises StorageFull; the staging file is then kept (the caller decides)."""
    if isinstance(storage, LocalStorage):
        target = storage.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(staging, target)
            return
        except OSError:
            pass  # another filesystem: copy below
    try:
        storage.put_file(key, staging, content_type="application/octet-stream")
    except OSError as exc:
        if is_disk_full(exc):
            raise storage_full() from exc
        raise
    staging.unlink(missing_ok=True)


@dataclass(frozen=True)
class DiskStatus:
    path: Path
    free_bytes: int
    total_bytes: int
    min_free_bytes: int

    @property
    def low(self) -> bool:
        return self.free_bytes < self.min_free_bytes


def disk_status(data_dir: Path, min_free_bytes: int) -> DiskStatus:
    """Free space where uploads are staged (the data dir's filesystem)."""
    path = data_dir if data_dir.exists() else data_dir.parent
    usage = shutil.disk_usage(path)
    return DiskStatus(path, usage.free, usage.total, min_free_bytes)
