"""Per-attempt scratch folders: CLIPLY_DATA_DIR/work/jobs/<job id>.<attempt>.<worker tag>.

The name says which attempt owns a folder, so the cleanup task can tell a live attempt's
files from those an attempt left behind when its worker was killed: a folder whose job is no
longer running as that attempt on that worker is stale.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import time
import uuid
from pathlib import Path

import structlog
from sqlalchemy import Connection, text

from cliply.config import get_settings

log = structlog.get_logger("cliply.jobs.scratch")


def scratch_root() -> Path:
    return get_settings().cliply_data_dir / "work" / "jobs"


@functools.cache  # a worker asks for its own tag on every job
def worker_tag(worker_id: str) -> str:
    return hashlib.sha256(worker_id.encode()).hexdigest()[:16]


def attempt_dir(job_id: uuid.UUID, attempt: int, worker_id: str, root: Path | None = None) -> Path:
    return (root or scratch_root()) / f"{job_id}.{attempt}.{worker_tag(worker_id)}"


def _parse(name: str) -> tuple[uuid.UUID, int, str] | None:
    parts = name.split(".")
    if len(parts) != 3:
        return None
    try:
        return uuid.UUID(parts[0]), int(parts[1]), parts[2]
    except ValueError:
        return None


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def prune_stale(conn: Connection, root: Path, min_age_s: float, now: float | None = None) -> int:
    """Remove scratch folders of attempts that no longer run (their worker died, the job was
    reclaimed or ended) and that are older than `min_age_s`; returns how many went."""
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - min_age_s
    found: dict[Path, tuple[uuid.UUID, int, str]] = {}
    for entry in root.iterdir():
        parsed = _parse(entry.name)
        try:
            if parsed is None or not entry.is_dir() or entry.lstat().st_mtime > cutoff:
                continue
        except FileNotFoundError:
            continue
        found[entry] = parsed
    if not found:
        return 0
    rows = conn.execute(
        text("""
        SELECT id, attempts, worker_id FROM jobs
        WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'running'"""),
        {"ids": list({j for j, _, _ in found.values()})},
    ).all()
    live = {(r[0], int(r[1]), worker_tag(str(r[2]))) for r in rows if r[2] is not None}
    removed = 0
    for path, key in found.items():
        if key not in live:
            remove(path)
            removed += 1
    if removed:
        log.info("removed scratch folders of attempts that no longer run", count=removed)
    return removed
