"""Prometheus metrics for the queue: depth (refreshed per scrape) and worker-side outcomes.

Worker counters and histograms are per process (each worker may serve its own /metrics,
WORKER_METRICS_PORT); the depth gauge is read from the database by the API at scrape time.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text

from cliply.db.engine import get_engine

QUEUE_DEPTH = Gauge("cliply_jobs", "Jobs queued or running, by kind and status", ["kind", "status"])
OLDEST_QUEUED_AGE = Gauge(
    "cliply_jobs_oldest_queued_seconds", "Age of the oldest due queued job, by kind", ["kind"]
)
JOB_DURATION = Histogram(
    "cliply_job_duration_seconds",
    "Handler run time, by kind and outcome",
    ["kind", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
CLAIM_LATENCY = Histogram(
    "cliply_job_claim_seconds",
    "Time one claim (database round trips) takes",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
JOB_OUTCOMES = Counter(
    "cliply_jobs_finished_total", "Finished job attempts, by kind and outcome", ["kind", "outcome"]
)
JOB_FAILURES = Counter(
    "cliply_job_failures_total", "Failed job attempts, by kind and error code", ["kind", "code"]
)
JOBS_RECLAIMED = Counter("cliply_jobs_reclaimed_total", "Stale running jobs put back in the queue")

_seen: set[tuple[str, str]] = set()
# The labelled children of the per-job metrics, looked up once per (kind, outcome): `labels()`
# takes a lock and builds a key on every call, which a busy worker pays per job.
_finished_children: dict[tuple[str, str], tuple[Histogram, Counter]] = {}


def finished(kind: str, outcome: str, elapsed_s: float) -> None:
    """Count one finished job attempt and observe its run time."""
    children = _finished_children.get((kind, outcome))
    if children is None:
        children = (JOB_DURATION.labels(kind, outcome), JOB_OUTCOMES.labels(kind, outcome))
        _finished_children[kind, outcome] = children
    children[0].observe(elapsed_s)
    children[1].inc()


def refresh_queue_depth() -> None:
    """Read queued/running counts into the gauge (an API scrape hook)."""
    with get_engine().connect() as conn:
        rows = conn.execute(
            text("""
            SELECT kind, status, count(*),
                   EXTRACT(EPOCH FROM now() - min(run_at) FILTER (WHERE run_at <= now()))
            FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind, status""")
        ).all()
    current = {(str(r[0]), str(r[1])): (int(r[2]), r[3]) for r in rows}
    for key in _seen - current.keys():
        QUEUE_DEPTH.labels(*key).set(0)
        if key[1] == "queued":
            OLDEST_QUEUED_AGE.labels(key[0]).set(0)
    for (kind, status), (count, age) in current.items():
        QUEUE_DEPTH.labels(kind, status).set(count)
        if status == "queued":
            OLDEST_QUEUED_AGE.labels(kind).set(float(age or 0))
    _seen.update(current.keys())
