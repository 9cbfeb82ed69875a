"""Built-in periodic tasks of the job system: stale reclamation, pruning, temp-file cleanup."""

from __future__ import annotations

import shutil
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy import Connection, text

from cliply.config import get_settings
from cliply.db.engine import get_engine
from cliply.jobs import queue, scratch
from cliply.jobs.registry import periodic

log = structlog.get_logger("cliply.jobs.tasks")

TMP_MAX_AGE_S = 86400.0
# A scratch folder is only judged once it is this old (its attempt surely is in the table).
SCRATCH_MIN_AGE_S = 60.0


def prune_finished(conn: Connection, older_than: datetime, batch: int = 5000) -> int:
    """Delete finished jobs (events cascade) that ended before `older_than`; returns the count."""
    total = 0
    while True:
        n = conn.execute(
            text("""
            DELETE FROM jobs WHERE id IN (
              SELECT id FROM jobs
              WHERE status IN ('succeeded', 'failed', 'cancelled') AND finished_at < :before
              LIMIT :batch)"""),
            {"before": older_than, "batch": batch},
        ).rowcount
        total += n
        if n < batch:
            return total


def cleanup_temp_files(
    root: Path, max_age_s: float, now: float | None = None, pattern: str = "*"
) -> int:
    """Remove entries directly under `root` (matching `pattern`) not modified for `max_age_s`;
    returns the count."""
    if not root.is_dir():
        return 0
    cutoff = (time.time() if now is None else now) - max_age_s
    removed = 0
    for entry in root.glob(pattern):
        try:
            if entry.lstat().st_mtime >= cutoff:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except FileNotFoundError:  # removed by someone else meanwhile
            continue
        except OSError as exc:
            log.warning("temp cleanup skipped an entry", path=str(entry), error=str(exc))
    return removed


@periodic("jobs.reclaim_stale", every_s=60)
def reclaim_stale_jobs() -> None:
    with get_engine().begin() as conn:
        n = queue.reclaim_stale(
            conn, get_settings().job_stale_after_s, reclaimer="scheduler", after_restart=True
        )
    if n:
        log.info("reclaimed stale jobs", count=n)


@periodic("jobs.prune_finished", every_s=3600)
def prune_finished_jobs() -> None:
    before = datetime.now(UTC) - timedelta(days=get_settings().job_retention_days)
    with get_engine().begin() as conn:
        n = prune_finished(conn, before)
    if n:
        log.info("pruned finished jobs", count=n)


# Temp files are per machine, so the task is per host: once per tick on every machine.
@periodic(f"tmp.cleanup@{socket.gethostname()}"[:100], every_s=3600)
def cleanup_temp() -> None:
    data = get_settings().cliply_data_dir
    n = cleanup_temp_files(data / "tmp", TMP_MAX_AGE_S)
    # Temp folders handlers made directly under work/ (before per-attempt scratch folders).
    n += cleanup_temp_files(data / "work", TMP_MAX_AGE_S, pattern="cliply-*")
    with get_engine().begin() as conn:
        n += scratch.prune_stale(conn, scratch.scratch_root(), SCRATCH_MIN_AGE_S)
    if n:
        log.info("removed old temp files", count=n)
