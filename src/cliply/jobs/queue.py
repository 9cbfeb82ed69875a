"""The queue's operations: each is one or two short SQL statements in the caller's transaction.

States: queued → running → succeeded | queued (retry after backoff) | failed | cancelled.
Every transition appends a `job_events` row in the same statement that makes it.

Fairness across workspaces is start-time fair queuing: at enqueue a job gets a `fair_key`
(its start tag) = max(virtual time, the workspace's last queued key + 1), where the virtual
time is the largest key now running for that kind and priority. Claims take queued jobs by
priority, then fair_key, then age; so a workspace's 500 queued jobs get keys v, v+1, …, and
another workspace's single job enqueued later gets the current virtual time and is claimed
by the next free slot, not after the 500.

The per-workspace concurrency cap is checked under a transaction-level advisory lock per
workspace: the claim first locks candidate rows (FOR UPDATE SKIP LOCKED) and takes the
locks of their workspaces (waiting, in a fixed order, for a claimer that holds one), then, in a second
statement with a fresh snapshot, counts running jobs and takes only what the cap allows.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath
from typing import Any

import psycopg
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cliply.errors import BadRequest, Conflict, NotFound
from cliply.jobs.limits import CapCache
from cliply.jobs.models import Job

DB = Session | Connection

NOTIFY_CHANNEL = "cliply_jobs"
# Advisory lock class id for per-workspace claim locks ("cj").
CLAIM_LOCK_CLASS = 0x636A
RETRY_BASE_S = 10
RETRY_MAX_S = 1800
TERMINAL = ("succeeded", "failed", "cancelled")
_LAST = 2_147_483_647  # sorts the transition event after the handler's own events


def backoff_seconds(attempts: int) -> float:
    """Delay before retry number `attempts` (1 = after the first failed attempt)."""
    return float(min(2 ** max(attempts - 1, 0) * RETRY_BASE_S, RETRY_MAX_S))


# Same formula in SQL, evaluated in the statement that schedules the retry.
_BACKOFF_SQL = f"least(power(2, greatest(attempts - 1, 0)) * {RETRY_BASE_S}, {RETRY_MAX_S})"


@dataclass(frozen=True)
class ClaimedJob:
    id: uuid.UUID
    kind: str
    payload: Any  # normally a dict; anything else is failed as invalid-payload by the worker
    workspace_id: uuid.UUID | None
    project_id: uuid.UUID | None
    attempt: int
    max_attempts: int
    cancel_requested: bool

    @classmethod
    def from_row(cls, r: Sequence[Any]) -> ClaimedJob:
        """A row of the claim statements (both claim paths select the same columns)."""
        return cls(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])


@dataclass(frozen=True)
class ClaimResult:
    jobs: list[ClaimedJob]
    # A cap cut the batch short or a cap was not known yet: claiming again right away may
    # find more.
    retry_soon: bool


@dataclass(frozen=True)
class HandlerEvent:
    """A timeline entry a handler noted with JobContext.event(); written when the job ends."""

    at: datetime
    event: str
    message: str
    data: dict[str, Any]


def _json_default(value: object) -> str:
    if isinstance(value, uuid.UUID | datetime | PurePath):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(value: Any) -> str:
    """JSON for jsonb parameters (UUIDs, datetimes and paths become strings)."""
    return json.dumps(value, default=_json_default)


def _check_job_args(kind: str, payload: Any, priority: int, max_attempts: int) -> str:
    if not isinstance(kind, str) or not kind or len(kind) > 50:
        raise BadRequest(
            "A job kind is a non-empty string of at most 50 characters.", code="invalid-job-kind"
        )
    if not isinstance(payload, dict):
        raise BadRequest("A job payload is a JSON object.", code="invalid-job-payload")
    if not isinstance(priority, int) or not -1000 <= priority <= 1000:
        raise BadRequest(
            "Job priority is an integer in [-1000, 1000].", code="invalid-job-priority"
        )
    if not isinstance(max_attempts, int) or not 1 <= max_attempts <= 100:
        raise BadRequest("max_attempts is an integer in [1, 100].", code="invalid-job-attempts")
    try:
        return dumps(payload)
    except (TypeError, ValueError) as exc:
        raise BadRequest(
            f"The job payload is not JSON: {exc}", code="invalid-job-payload"
        ) from None


def _fair_key_sql(workspace_is_null: bool) -> str:
    ws_cond = (
        "s.workspace_id IS NULL" if workspace_is_null else "s.workspace_id = CAST(:ws AS uuid)"
    )
    return f"""GREATEST(
        COALESCE(
          (SELECT max(r.fair_key) FROM jobs r
            WHERE r.status = 'running' AND r.kind = CAST(:kind AS text) AND r.priority = CAST(:priority AS int)),
          (SELECT min(q.fair_key) FROM jobs q
            WHERE q.status = 'queued' AND q.kind = CAST(:kind AS text) AND q.priority = CAST(:priority AS int)),
          0),
        COALESCE((SELECT max(s.fair_key) + 1 FROM jobs s
            WHERE s.status = 'queued' AND s.kind = CAST(:kind AS text) AND s.priority = CAST(:priority AS int)
              AND {ws_cond}), 0))"""


def _enqueue_sql(workspace_is_null: bool) -> str:
    return f"""
    WITH ins AS (
      INSERT INTO jobs (workspace_id, project_id, kind, payload, priority, fair_key, run_at,
                        max_attempts, dedupe_key)
      VALUES (CAST(:ws AS uuid), :project, CAST(:kind AS text), CAST(:payload AS jsonb),
              CAST(:priority AS int),
              {_fair_key_sql(workspace_is_null)},
              COALESCE(CAST(:run_at AS timestamptz), now()), :max_attempts, :dedupe)
      ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running')
      DO NOTHING
      RETURNING *
    ), ev AS (
      INSERT INTO job_events (job_id, workspace_id, at, event, attempt, data)
      SELECT id, workspace_id, now(), 'enqueued', 0,
             jsonb_build_object('priority', priority, 'run_at', run_at)
      FROM ins
    )
    SELECT ins.*, CASE WHEN ins.run_at <= now() THEN pg_notify('{NOTIFY_CHANNEL}', ins.kind) END
    FROM ins
    """


_ENQUEUE_SQL = {True: _enqueue_sql(True), False: _enqueue_sql(False)}


def enqueue(
    db: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    workspace_id: uuid.UUID | None,
    project_id: uuid.UUID | None = None,
    priority: int = 0,
    run_at: datetime | None = None,
    max_attempts: int = 5,
    dedupe_key: str | None = None,
) -> Job:
    """Queue a job in the caller's transaction (workers are woken when it commits).

    With `dedupe_key`, a queued or running job with the same key is returned instead of
    queueing a second one.
    """
    body = _check_job_args(kind, payload, priority, max_attempts)
    if dedupe_key is not None and (not dedupe_key or len(dedupe_key) > 200):
        raise BadRequest("dedupe_key is 1 to 200 characters.", code="invalid-job-dedupe-key")
    params = {
        "ws": workspace_id,
        "project": project_id,
        "kind": kind,
        "payload": body,
        "priority": priority,
        "run_at": run_at,
        "max_attempts": max_attempts,
        "dedupe": dedupe_key,
    }
    stmt = select(Job).from_statement(text(_ENQUEUE_SQL[workspace_id is None]))
    for _ in range(5):
        job: Job | None = db.scalars(stmt, params).first()
        if job is not None:
            return job
        # A duplicate is active: hand it back (unless it finished in between: try again).
        existing: Job | None = db.scalars(
            select(Job).where(Job.dedupe_key == dedupe_key, Job.status.in_(("queued", "running")))
        ).first()
        if existing is not None:
            return existing
    raise Conflict(
        "The job kept finishing while a duplicate was being queued.", code="job-dedupe-race"
    )


def enqueue_many(
    db: DB,
    kind: str,
    payloads: Sequence[dict[str, Any]],
    *,
    workspace_id: uuid.UUID | None,
    project_id: uuid.UUID | None = None,
    priority: int = 0,
    max_attempts: int = 5,
) -> list[uuid.UUID]:
    """Queue many jobs of one kind in one statement (fan-out); returns their ids in order."""
    if not payloads:
        return []
    bodies = [json.loads(_check_job_args(kind, p, priority, max_attempts)) for p in payloads]
    sql = f"""
    WITH base AS (SELECT {_fair_key_sql(workspace_id is None)} AS k),
    ins AS (
      INSERT INTO jobs (workspace_id, project_id, kind, payload, priority, fair_key, max_attempts)
      SELECT CAST(:ws AS uuid), :project, CAST(:kind AS text), p.value, CAST(:priority AS int),
             base.k + p.n - 1, :max_attempts
      FROM base, jsonb_array_elements(CAST(:payloads AS jsonb)) WITH ORDINALITY AS p(value, n)
      ORDER BY p.n
      RETURNING id, workspace_id, priority, run_at, fair_key
    ), ev AS (
      INSERT INTO job_events (job_id, workspace_id, at, event, attempt, data)
      SELECT id, workspace_id, now(), 'enqueued', 0,
             jsonb_build_object('priority', priority, 'run_at', run_at) FROM ins
    )
    SELECT id, pg_notify('{NOTIFY_CHANNEL}', CAST(:kind AS text)) FROM ins ORDER BY fair_key
    """
    rows = db.execute(
        text(sql),
        {
            "ws": workspace_id,
            "project": project_id,
            "kind": kind,
            "priority": priority,
            "max_attempts": max_attempts,
            "payloads": dumps(bodies),
        },
    ).all()
    return [r[0] for r in rows]


# --- claiming ---------------------------------------------------------------------------------

_CAPS_CTE = """caps AS (
  SELECT * FROM unnest(CAST(:cap_ws AS uuid[]), CAST(:cap_n AS int[])) AS c(ws, n)
)"""

# Candidates in claim order, row-locked; workspaces known to be at their cap are passed over,
# and the candidate workspaces' claim locks are taken. Skipping a workspace whose lock another
# claimer held made worker processes starve each other (every claim spans the same few
# workspaces); waiting costs at most the rest of that claimer's transaction, sent as one
# pipeline. The ids are also left in a transaction-local setting, so the take can be sent
# without waiting for this statement's rows (pipelined claim).
_CLAIM_CANDIDATES = f"""
WITH {_CAPS_CTE}, full_ws AS (
  SELECT r.workspace_id FROM jobs r JOIN caps c ON c.ws = r.workspace_id
  WHERE r.status = 'running'
  GROUP BY r.workspace_id, c.n
  HAVING count(*) >= c.n
), cand AS MATERIALIZED (
  SELECT c.id, c.workspace_id, c.priority, c.fair_key, c.created_at
  FROM unnest(CAST(:kinds AS text[])) AS k(kind)
  CROSS JOIN LATERAL (
    SELECT j.id, j.workspace_id, j.priority, j.fair_key, j.created_at FROM jobs j
    WHERE j.status = 'queued' AND j.kind = k.kind AND j.run_at <= now()
      AND (j.workspace_id IS NULL OR j.workspace_id NOT IN (SELECT workspace_id FROM full_ws))
    ORDER BY j.priority DESC, j.fair_key, j.created_at
    LIMIT :n
    FOR UPDATE OF j SKIP LOCKED
  ) c
  ORDER BY c.priority DESC, c.fair_key, c.created_at
  LIMIT :n
), keys AS (
  SELECT DISTINCT hashtext(workspace_id::text) AS k FROM cand WHERE workspace_id IS NOT NULL
), locks AS MATERIALIZED (
  -- Waited for, in key order: every claimer takes the locks it needs in the same order, so
  -- no two wait for each other; each is held only for the rest of a short transaction.
  SELECT o.k, pg_advisory_xact_lock({CLAIM_LOCK_CLASS}, o.k) AS locked
  FROM (SELECT k FROM keys ORDER BY k) o
)
SELECT cand.id, cand.workspace_id, l.n >= 0,
       set_config('cliply.claim_ids', COALESCE(string_agg(cand.id::text, ',') OVER (), ''), true)
FROM cand CROSS JOIN (SELECT count(*) AS n FROM locks) l
"""
_CLAIM_CANDIDATES_SQL = text(_CLAIM_CANDIDATES)
# A claimer that stalls while holding workspace locks (a frozen process mid-transaction) must
# not stall every other worker for long: their claims fail after this and are retried.
CLAIM_LOCK_TIMEOUT_S = 10
_CLAIM_LOCK_TIMEOUT = f"SET LOCAL lock_timeout = '{CLAIM_LOCK_TIMEOUT_S}s'"


# Written so no partial index by status matches (`status = 'queued'` would): the rows are
# looked up by primary key whatever the table's statistics say. Right after a burst of
# enqueues, before autovacuum analyses the table, the planner otherwise takes a partial index
# for "few queued rows" and filters thousands of them per claim (67 ms instead of 1 ms).
_IS_QUEUED = "j.status || '' = 'queued'"


# With the workspace locks held, a fresh snapshot counts what is running, and only what
# each cap leaves room for is taken.
def _claim_take(ids_sql: str) -> str:
    return f"""
WITH {_CAPS_CTE}, ranked AS (
  SELECT j.id, j.workspace_id, j.priority, j.fair_key, j.created_at,
         row_number() OVER (PARTITION BY j.workspace_id
                            ORDER BY j.priority DESC, j.fair_key, j.created_at) AS rn
  FROM jobs j WHERE j.id = ANY({ids_sql}) AND {_IS_QUEUED}
), pick AS (
  SELECT c.id FROM ranked c LEFT JOIN caps k ON k.ws = c.workspace_id
  WHERE c.workspace_id IS NULL
     OR c.rn <= COALESCE(k.n, 0)
               - (SELECT count(*) FROM jobs r
                  WHERE r.status = 'running' AND r.workspace_id = c.workspace_id)
  ORDER BY c.priority DESC, c.fair_key, c.created_at
  LIMIT :n
), upd AS (
  UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, worker_id = :worker,
         started_at = now(), last_heartbeat = now(), finished_at = NULL, progress = 0,
         progress_message = NULL, updated_at = now()
  -- Re-checked on the row's latest version, so a job is never started twice.
  FROM pick WHERE j.id = pick.id AND {_IS_QUEUED}
  RETURNING j.id, j.kind, j.payload, j.workspace_id, j.project_id, j.attempts, j.max_attempts,
            j.cancel_requested, j.priority, j.fair_key, j.created_at
), ev AS (
  INSERT INTO job_events (job_id, workspace_id, at, event, worker_id, attempt)
  SELECT id, workspace_id, now(), 'started', :worker, attempts FROM upd
)
SELECT id, kind, payload, workspace_id, project_id, attempts, max_attempts, cancel_requested
FROM upd ORDER BY priority DESC, fair_key, created_at
"""


_CLAIM_TAKE_SQL = text(_claim_take("CAST(:ids AS uuid[])"))


def _cap_params(caps: dict[uuid.UUID, int]) -> dict[str, Any]:
    items = list(caps.items())
    return {"cap_ws": [w for w, _ in items], "cap_n": [n for _, n in items]}


def claim(
    db: DB, worker_id: str, kinds: Sequence[str], limit: int, caps: CapCache | None = None
) -> ClaimResult:
    """Move up to `limit` due jobs of `kinds` to running for `worker_id`.

    Two statements in the caller's transaction; commit right after so the row and
    workspace locks are held only for the claim. `caps` (a worker's cache of workspace caps)
    saves looking caps up on every claim.
    """
    if limit <= 0 or not kinds:
        return ClaimResult([], False)
    caps = caps if caps is not None else CapCache(ttl_s=0.0)
    db.execute(text(_CLAIM_LOCK_TIMEOUT))
    cands = db.execute(
        _CLAIM_CANDIDATES_SQL,
        {
            "kinds": list(kinds),
            "n": limit,
            **_cap_params(caps.known()),
        },
    ).all()
    if not cands:
        return ClaimResult([], False)
    ids = [r[0] for r in cands if r[2]]
    skipped = len(ids) < len(cands)
    if not ids:
        return ClaimResult([], True)
    cand_caps = caps.get_many(db, {r[1] for r in cands if r[2] and r[1] is not None})
    rows = db.execute(
        _CLAIM_TAKE_SQL,
        {
            "ids": ids,
            "n": limit,
            "worker": worker_id,
            **_cap_params(cand_caps),
        },
    ).all()
    jobs = [ClaimedJob.from_row(r) for r in rows]
    return ClaimResult(jobs, skipped or len(jobs) < len(ids))


# --- while running ------------------------------------------------------------------------------


def heartbeat(db: DB, worker_id: str, job_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """Mark jobs alive; returns {job_id: cancel_requested} for those still held by this worker."""
    ids = list(job_ids)
    if not ids:
        return {}
    rows = db.execute(
        text("""
        UPDATE jobs SET last_heartbeat = now()
        WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'running' AND worker_id = :worker
        RETURNING id, cancel_requested"""),
        {"ids": ids, "worker": worker_id},
    ).all()
    return {r[0]: r[1] for r in rows}


def progress(
    db: DB, job_id: uuid.UUID, worker_id: str, attempt: int, fraction: float, message: str | None
) -> bool | None:
    """Record progress (also a heartbeat). True: cancel requested; None: no longer ours."""
    row = db.execute(
        text("""
        UPDATE jobs SET progress = :f, progress_message = COALESCE(:m, progress_message),
               last_heartbeat = now()
        WHERE id = :id AND status = 'running' AND worker_id = :worker AND attempts = :attempt
        RETURNING cancel_requested"""),
        {
            "f": min(1.0, max(0.0, fraction)),
            "m": message,
            "id": job_id,
            "worker": worker_id,
            "attempt": attempt,
        },
    ).first()
    return None if row is None else bool(row[0])


# --- endings --------------------------------------------------------------------------------------


def _events_json(events: Sequence[HandlerEvent]) -> str:
    if not events:
        return "[]"  # most jobs note none: skip the encoder
    return dumps(
        [
            {
                "ord": i,
                "at": e.at.isoformat(),
                "event": e.event[:30],
                "message": e.message,
                "data": e.data,
            }
            for i, e in enumerate(events)
        ]
    )


def _finish_sql(set_sql: str, event_sql: str, message_sql: str, data_sql: str) -> str:
    """One statement: update the running job (if still ours) and append its events."""
    return f"""
    WITH upd AS (
      UPDATE jobs SET {set_sql}, updated_at = now()
      WHERE id = :id AND status = 'running' AND worker_id = :worker AND attempts = :attempt
      RETURNING id, workspace_id, attempts, status, run_at, kind
    ), ev AS (
      INSERT INTO job_events (job_id, workspace_id, at, event, worker_id, attempt, message, data)
      SELECT x.job_id, x.workspace_id, x.at, x.event, :worker, x.attempt, x.message, x.data
      FROM (
        SELECT upd.id AS job_id, upd.workspace_id, e.at, e.event, upd.attempts AS attempt,
               e.message, e.data, e.ord
        FROM upd CROSS JOIN jsonb_to_recordset(CAST(:events AS jsonb))
             AS e(ord int, at timestamptz, event text, message text, data jsonb)
        UNION ALL
        SELECT upd.id, upd.workspace_id, now(), {event_sql}, upd.attempts, {message_sql},
               {data_sql}, {_LAST}
        FROM upd
      ) x ORDER BY x.ord
    )
    SELECT status, run_at FROM upd
    """


_SUCCEED_SQL = _finish_sql(
    "status = 'succeeded', result = CAST(:result AS jsonb), progress = 1, finished_at = now(), "
    "error = NULL, error_code = NULL",
    "'succeeded'",
    "NULL",
    "NULL",
)

_FAIL_NOW = "(:permanent OR attempts >= max_attempts)"
_FAIL_SQL = _finish_sql(
    f"status = CASE WHEN {_FAIL_NOW} THEN 'failed' ELSE 'queued' END, "
    f"run_at = CASE WHEN {_FAIL_NOW} THEN run_at "
    f"ELSE now() + make_interval(secs => {_BACKOFF_SQL}) END, "
    f"finished_at = CASE WHEN {_FAIL_NOW} THEN now() END, "
    "error = :error, error_code = :code",
    "CASE WHEN upd.status = 'failed' THEN 'failed' ELSE 'retry_scheduled' END",
    "CAST(:error AS text)",
    "jsonb_build_object('code', CAST(:code AS text), 'permanent', CAST(:permanent AS boolean), "
    "'retry_at', CASE WHEN upd.status = 'queued' THEN upd.run_at END)",
)

_CANCELLED_SQL = _finish_sql(
    "status = 'cancelled', finished_at = now(), cancel_requested = true",
    "'cancelled'",
    "CAST(:message AS text)",
    "NULL",
)


def succeed(
    db: DB,
    job_id: uuid.UUID,
    worker_id: str,
    attempt: int,
    result: dict[str, Any] | None,
    events: Sequence[HandlerEvent] = (),
) -> bool:
    """running → succeeded. False when the job is no longer this worker's (reclaimed)."""
    row = db.execute(
        text(_SUCCEED_SQL),
        {
            "id": job_id,
            "worker": worker_id,
            "attempt": attempt,
            "result": None if result is None else dumps(result),
            "events": _events_json(events),
        },
    ).first()
    return row is not None


@dataclass(frozen=True)
class Success:
    """One finished job for `succeed_many`."""

    job_id: uuid.UUID
    attempt: int
    result: dict[str, Any] | None
    events: Sequence[HandlerEvent] = ()


# Many jobs running → succeeded in one statement (one round trip for a batch of completions);
# per job, the same checks, row changes and events as `succeed`.
_SUCCEED_MANY = f"""
WITH d AS (
  SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS int[]),
                       CAST(:results AS jsonb[]), CAST(:events AS jsonb[]))
         AS d(id, attempt, result, events)
), upd AS (
  UPDATE jobs j SET status = 'succeeded', result = d.result, progress = 1, finished_at = now(),
         error = NULL, error_code = NULL, updated_at = now()
  FROM d
  WHERE j.id = d.id AND j.status = 'running' AND j.worker_id = :worker AND j.attempts = d.attempt
  RETURNING j.id, j.workspace_id, j.attempts, d.events
), ev AS (
  INSERT INTO job_events (job_id, workspace_id, at, event, worker_id, attempt, message, data)
  SELECT x.job_id, x.workspace_id, x.at, x.event, :worker, x.attempt, x.message, x.data
  FROM (
    SELECT upd.id AS job_id, upd.workspace_id, e.at, e.event, upd.attempts AS attempt,
           e.message, e.data, e.ord
    FROM upd CROSS JOIN jsonb_to_recordset(upd.events)
         AS e(ord int, at timestamptz, event text, message text, data jsonb)
    UNION ALL
    SELECT upd.id, upd.workspace_id, now(), 'succeeded', upd.attempts, NULL, NULL, {_LAST}
    FROM upd
  ) x ORDER BY x.job_id, x.ord
)
SELECT id FROM upd
"""
_SUCCEED_MANY_SQL = text(_SUCCEED_MANY)


def succeed_many(db: DB, worker_id: str, done: Sequence[Success]) -> set[uuid.UUID]:
    """`succeed` for a batch of jobs in one statement; returns the ids that were still ours."""
    if not done:
        return set()
    rows = db.execute(_SUCCEED_MANY_SQL, _succeed_many_params(worker_id, done)).all()
    return {r[0] for r in rows}


def _succeed_many_params(worker_id: str, done: Sequence[Success]) -> dict[str, Any]:
    return {
        "ids": [d.job_id for d in done],
        "attempts": [d.attempt for d in done],
        "results": [None if d.result is None else dumps(d.result) for d in done],
        "events": [_events_json(d.events) for d in done],
        "worker": worker_id,
    }


# --- the worker's claim: successes and claim in one transaction and one round trip ----------------


def _psycopg_sql(sql: str) -> str:
    """`:name` binds (SQLAlchemy text) → psycopg's `%(name)s` (casts `::type` stay)."""
    return re.sub(r"(?<![:\w]):(\w+)(?!:)", r"%(\1)s", sql)


_PG_SUCCEED_MANY = _psycopg_sql(_SUCCEED_MANY)
_PG_CLAIM_CANDIDATES = _psycopg_sql(_CLAIM_CANDIDATES)
_PG_CLAIM_TAKE = _psycopg_sql(
    _claim_take(
        "CAST(string_to_array(NULLIF(current_setting('cliply.claim_ids', true), ''), ',') "
        "AS uuid[])"
    )
)


def succeed_and_claim(
    db: Connection,
    worker_id: str,
    done: Sequence[Success],
    kinds: Sequence[str],
    limit: int,
    caps: CapCache,
) -> tuple[set[uuid.UUID], ClaimResult]:
    """`succeed_many(done)` then `claim(kinds, limit)`, in one transaction sent as one pipeline.

    `db` is a connection in autocommit mode (the transaction is spelled out here). The take
    reads the candidates the first claim statement left in a transaction-local setting, so
    all statements go in one round trip; each still runs with its own snapshot, taken after
    the one before it ended (the cap is counted with the workspace locks held, as in
    `claim`). Successes come first, so the claim already sees their slots free. A candidate
    whose workspace cap is not cached yet is not taken this time: its cap is looked up after
    the commit and `retry_soon` says to claim again.
    """
    raw = db.connection.driver_connection
    assert isinstance(raw, psycopg.Connection) and raw.autocommit
    known = caps.known()
    claiming = limit > 0 and bool(kinds)
    try:
        with raw.pipeline():
            cur_done = raw.cursor()
            cur_cands = raw.cursor()
            cur_take = raw.cursor()
            raw.execute("BEGIN")
            raw.execute(_CLAIM_LOCK_TIMEOUT)
            if done:
                cur_done.execute(_PG_SUCCEED_MANY, _succeed_many_params(worker_id, done))
            if claiming:
                cap_params = _cap_params(known)
                cur_cands.execute(
                    _PG_CLAIM_CANDIDATES, {"kinds": list(kinds), "n": limit, **cap_params}
                )
                cur_take.execute(_PG_CLAIM_TAKE, {"n": limit, "worker": worker_id, **cap_params})
            raw.execute("COMMIT")
        succeeded = {r[0] for r in cur_done.fetchall()} if done else set()
        cands = cur_cands.fetchall() if claiming else []
        rows = cur_take.fetchall() if claiming else []
    except BaseException:
        if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            raw.rollback()
        raise
    jobs = [ClaimedJob.from_row(r) for r in rows]
    ok = [r for r in cands if r[2]]
    unknown = {r[1] for r in ok if r[1] is not None and r[1] not in known}
    if unknown:
        caps.get_many(db, unknown)
    return succeeded, ClaimResult(jobs, len(ok) < len(cands) or len(jobs) < len(ok))


def fail(
    db: DB,
    job_id: uuid.UUID,
    worker_id: str,
    attempt: int,
    error: str,
    *,
    code: str,
    permanent: bool,
    events: Sequence[HandlerEvent] = (),
) -> str | None:
    """running → queued (retry after backoff) or failed (permanent, or attempts used up).

    Returns the new status, or None when the job is no longer this worker's.
    """
    row = db.execute(
        text(_FAIL_SQL),
        {
            "id": job_id,
            "worker": worker_id,
            "attempt": attempt,
            "error": error[:10_000],
            "code": code[:100],
            "permanent": permanent,
            "events": _events_json(events),
        },
    ).first()
    return None if row is None else str(row[0])


def mark_cancelled(
    db: DB,
    job_id: uuid.UUID,
    worker_id: str,
    attempt: int,
    message: str = "cancelled while running",
    events: Sequence[HandlerEvent] = (),
) -> bool:
    """running → cancelled, once the handler stopped after a cancel request."""
    row = db.execute(
        text(_CANCELLED_SQL),
        {
            "id": job_id,
            "worker": worker_id,
            "attempt": attempt,
            "message": message,
            "events": _events_json(events),
        },
    ).first()
    return row is not None


def release(
    db: DB, worker_id: str, job_ids: Iterable[uuid.UUID], reason: str = "worker shutting down"
) -> int:
    """Hand running jobs back to the queue (shutdown): the attempt is not counted."""
    ids = list(job_ids)
    if not ids:
        return 0
    rows = db.execute(
        text(f"""
        WITH upd AS (
          UPDATE jobs SET
            status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END,
            attempts = CASE WHEN cancel_requested THEN attempts ELSE greatest(attempts - 1, 0) END,
            finished_at = CASE WHEN cancel_requested THEN now() END,
            worker_id = NULL, run_at = now(), updated_at = now()
          WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'running' AND worker_id = :worker
          RETURNING id, workspace_id, attempts, status, kind
        ), ev AS (
          INSERT INTO job_events (job_id, workspace_id, at, event, worker_id, attempt, message)
          SELECT id, workspace_id, now(),
                 CASE WHEN status = 'queued' THEN 'released' ELSE 'cancelled' END, :worker,
                 CASE WHEN status = 'queued' THEN attempts + 1 ELSE attempts END, :reason
          FROM upd
        )
        SELECT id, CASE WHEN status = 'queued' THEN pg_notify('{NOTIFY_CHANNEL}', kind) END
        FROM upd"""),
        {"ids": ids, "worker": worker_id, "reason": reason},
    ).all()
    return len(rows)


def holds(db: DB, job_id: uuid.UUID, worker_id: str, attempt: int) -> bool:
    """Whether this attempt still holds the job (running, on `worker_id`, at `attempt`).

    Handlers check it in the transaction that writes their results, so an attempt that was
    released (shutdown) or reclaimed, and runs on, cannot overwrite what the next one does;
    the row stays share-locked until that transaction ends.
    """
    row = db.execute(
        text("""
        SELECT 1 FROM jobs
        WHERE id = :id AND status = 'running' AND worker_id = :worker AND attempts = :attempt
        FOR SHARE"""),
        {"id": job_id, "worker": worker_id, "attempt": attempt},
    ).first()
    return row is not None


def reclaim_stale(
    db: DB,
    stale_after_s: float,
    reclaimer: str | None = None,
    *,
    except_worker: str | None = None,
    after_restart: bool = False,
) -> int:
    """Running jobs whose heartbeat is older than `stale_after_s` go back to the queue.

    Their worker died (or hung); the attempt counts, so a job that kills its worker every
    time ends failed after max_attempts. A job whose cancel was requested ends cancelled.
    With `after_restart`, nothing is stale until the server has been up for `stale_after_s`:
    after a restart, live workers first get the chance to heartbeat and write the outcomes
    they held meanwhile. `except_worker`'s jobs are left alone (a worker never reclaims its
    own).
    """
    rows = db.execute(
        text(f"""
        WITH stale AS (
          SELECT id, worker_id AS prev_worker FROM jobs
          WHERE status = 'running' AND last_heartbeat < now() - make_interval(secs => :stale)
            AND worker_id IS DISTINCT FROM CAST(:except_worker AS text)
            AND (NOT :after_restart
                 OR pg_postmaster_start_time() < now() - make_interval(secs => :stale))
          FOR UPDATE SKIP LOCKED
        ), upd AS (
          UPDATE jobs j SET
            status = CASE WHEN j.cancel_requested THEN 'cancelled'
                          WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,
            finished_at = CASE WHEN j.cancel_requested OR j.attempts >= j.max_attempts
                               THEN now() END,
            error = CASE WHEN j.cancel_requested THEN j.error ELSE :error END,
            error_code = CASE WHEN j.cancel_requested THEN j.error_code ELSE 'worker-lost' END,
            worker_id = NULL, run_at = now(), updated_at = now()
          FROM stale WHERE j.id = stale.id
          RETURNING j.id, j.workspace_id, j.attempts, j.status, j.kind, stale.prev_worker
        ), ev AS (
          INSERT INTO job_events (job_id, workspace_id, at, event, worker_id, attempt, message,
                                  data)
          SELECT id, workspace_id, now(),
                 CASE status WHEN 'queued' THEN 'reclaimed' ELSE status END, :reclaimer,
                 attempts, :error,
                 jsonb_build_object('previous_worker', prev_worker, 'stale_after_s', :stale)
          FROM upd
        )
        SELECT id, CASE WHEN status = 'queued' THEN pg_notify('{NOTIFY_CHANNEL}', kind) END
        FROM upd"""),
        {
            "stale": float(stale_after_s),
            "reclaimer": reclaimer,
            "except_worker": except_worker,
            "after_restart": after_restart,
            "error": f"Worker lost: no heartbeat for {stale_after_s:g} s.",
        },
    ).all()
    return len(rows)


def fail_unknown_kinds(db: DB, known_kinds: Sequence[str], worker_id: str | None = None) -> int:
    """Fail queued jobs whose kind no handler is registered for (instead of waiting forever)."""
    rows = db.execute(
        text("""
        WITH bad AS (
          SELECT id FROM jobs
          WHERE status = 'queued' AND NOT (kind = ANY(CAST(:known AS text[])))
          LIMIT 1000 FOR UPDATE SKIP LOCKED
        ), upd AS (
          UPDATE jobs j SET status = 'failed', finished_at = now(), updated_at = now(),
                 error = 'No handler is registered for job kind ' || j.kind || '.',
                 error_code = 'unknown-kind'
          FROM bad WHERE j.id = bad.id
          RETURNING j.id, j.workspace_id, j.attempts, j.error
        ), ev AS (
          INSERT INTO job_events (job_id, workspace_id, at, event, worker_id, attempt, message,
                                  data)
          SELECT id, workspace_id, now(), 'failed', :worker, attempts, error,
                 jsonb_build_object('code', 'unknown-kind', 'permanent', true)
          FROM upd
        )
        SELECT id FROM upd"""),
        {"known": list(known_kinds), "worker": worker_id},
    ).all()
    return len(rows)


# --- user actions -----------------------------------------------------------------------------------


def cancel(db: DB, job_id: uuid.UUID, *, by: str | None = None) -> str:
    """Cancel a job: a queued one at once, a running one at its next heartbeat or progress.

    Returns the status after the call ('cancelled' or 'running' with the request noted);
    a finished job raises Conflict (cancelling a cancelled one is a no-op).
    """
    row = db.execute(
        text("""
        WITH upd AS (
          UPDATE jobs SET
            status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
            finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
            cancel_requested = true, updated_at = now()
          WHERE id = :id AND status IN ('queued', 'running') AND NOT cancel_requested
          RETURNING id, workspace_id, attempts, status
        ), ev AS (
          INSERT INTO job_events (job_id, workspace_id, at, event, attempt, message)
          SELECT id, workspace_id, now(),
                 CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'cancel_requested' END,
                 attempts, :by
          FROM upd
        )
        SELECT status FROM upd"""),
        {"id": job_id, "by": by},
    ).first()
    if row is not None:
        return str(row[0])
    current = db.execute(
        text("SELECT status, cancel_requested FROM jobs WHERE id = :id"), {"id": job_id}
    ).first()
    if current is None:
        raise NotFound("No such job.", code="job-not-found")
    status, requested = str(current[0]), bool(current[1])
    if status == "cancelled" or (status == "running" and requested):
        return status
    raise Conflict(
        f"The job already {status}; only queued or running jobs can be cancelled.",
        code="job-not-cancellable",
        status_now=status,
    )


def cancel_for_project(db: DB, project_id: uuid.UUID, *, by: str | None = None) -> int:
    """Cancel every queued or running job of a project (it is being deleted), each with its
    timeline event: queued ones at once, running ones at their next heartbeat or progress."""
    rows = db.execute(
        text("""
        WITH upd AS (
          UPDATE jobs SET
            status = CASE WHEN status = 'queued' THEN 'cancelled' ELSE status END,
            finished_at = CASE WHEN status = 'queued' THEN now() ELSE finished_at END,
            cancel_requested = true, updated_at = now()
          WHERE project_id = :pid AND status IN ('queued', 'running') AND NOT cancel_requested
          RETURNING id, workspace_id, attempts, status
        ), ev AS (
          INSERT INTO job_events (job_id, workspace_id, at, event, attempt, message)
          SELECT id, workspace_id, now(),
                 CASE WHEN status = 'cancelled' THEN 'cancelled' ELSE 'cancel_requested' END,
                 attempts, :by
          FROM upd
        )
        SELECT id FROM upd"""),
        {"pid": project_id, "by": by},
    ).all()
    return len(rows)


def retry(db: DB, job_id: uuid.UUID, *, by: str | None = None) -> None:
    """Queue a failed or cancelled job again with fresh attempts (a user's manual retry)."""
    current = db.execute(
        text("SELECT status, kind, priority, workspace_id FROM jobs WHERE id = :id FOR UPDATE"),
        {"id": job_id},
    ).first()
    if current is None:
        raise NotFound("No such job.", code="job-not-found")
    status, kind, priority, ws = str(current[0]), current[1], current[2], current[3]
    if status not in ("failed", "cancelled"):
        raise Conflict(
            f"The job is {status}; only failed or cancelled jobs can be retried.",
            code="job-not-retryable",
            status_now=status,
        )
    sql = f"""
    WITH upd AS (
      UPDATE jobs SET status = 'queued', attempts = 0, run_at = now(), finished_at = NULL,
             worker_id = NULL, cancel_requested = false, progress = 0, progress_message = NULL,
             result = NULL, fair_key = {_fair_key_sql(ws is None)}, updated_at = now()
      WHERE id = :id
      RETURNING id, workspace_id, kind
    ), ev AS (
      INSERT INTO job_events (job_id, workspace_id, at, event, attempt, message)
      SELECT id, workspace_id, now(), 'retried', 0, :by FROM upd
    )
    SELECT pg_notify('{NOTIFY_CHANNEL}', kind) FROM upd
    """
    params = {"id": job_id, "by": by, "kind": kind, "priority": priority, "ws": ws}
    try:
        with db.begin_nested():
            db.execute(text(sql), params)
    except IntegrityError:
        raise Conflict(
            "An identical job (same dedupe key) is already queued or running.",
            code="job-duplicate-active",
        ) from None
