"""A local file for a stored source video, so ffmpeg can seek in it.

Local storage hands out its own file. For S3 the object is downloaded once per machine into
CLIPLY_DATA_DIR/work/sources and reused by the jobs that follow (transcribe, detect and the
fan-out of renders), under a file lock so parallel jobs download it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import time
from pathlib import Path

from cliply.storage import LocalStorage, Storage


def local_source(storage: Storage, key: str, cache_root: Path) -> Path:
    if isinstance(storage, LocalStorage):
        path = storage.path_for(key)
        if path.is_file():
            return path
    folder = cache_root / "sources" / hashlib.sha256(key.encode()).hexdigest()[:32]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ("source" + Path(key).suffix)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        expected = storage.size(key)
        if not target.is_file() or target.stat().st_size != expected:
            tmp = folder / "download.part"
            storage.get_to_file(key, tmp)
            os.replace(tmp, target)
        os.utime(target)  # last use, for clean_cache
    return target


def clean_cache(cache_root: Path, max_age_s: float) -> int:
    """Delete cached sources unused for `max_age_s`; returns how many went."""
    removed = 0
    now = time.time()
    for path in (cache_root / "sources").glob("*/source*"):
        try:
            if now - path.stat().st_mtime > max_age_s:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
