"""Metrics collection across domains: which accounts are due (publishing's posts, our
states), the account's token (accounts), the platform's metrics query (platforms), then the
snapshots (ours) and `gone` marks (publishing).

One METRICS_COLLECT job per connected account reads its due posts in the adapter's batch
size. Each batch is committed on its own (snapshots and next due times together), so a
retried job carries on with the posts still due: nothing is lost or written twice. Quota
units are taken before each call and a run stops before the daily quota would be passed.

Where the adapter also reads an analytics report (YouTube Analytics) and the account granted
its scope, each batch is followed by one report call for the batch's posts still shown. The
report has its own daily quota: when it is spent (ours or the platform's count), the run goes
on with the counters alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any, Final, TypeVar

import structlog

from cliply.accounts.service import (
    AccountUnusable,
    account_ref,
    ensure_access_token,
    get_account,
    usable_reason,
)
from cliply.accounts.tokens import TokensUnreadable
from cliply.analytics import service
from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.errors import PermanentError, RetryableError
from cliply.integrations.oauth_common import (
    IntegrationError,
    TokenExpired,
    UpstreamRateLimited,
    UpstreamRejected,
)
from cliply.jobs import queue
from cliply.jobs.registry import JobContext
from cliply.platforms import registry
from cliply.platforms.base import (
    AccountRef,
    DetailedMetrics,
    MetricsDetail,
    Platform,
    PostMetrics,
    analytics_access,
    parse_scopes,
    retry_policy,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

METRICS_COLLECT: Final = "METRICS_COLLECT"
MAX_REFRESHES: Final = 2
RATE_LIMIT_TRIES: Final = 3
POSTS_PER_COMMIT: Final = 100  # where no quota is taken per call (a commit costs ~10 ms)
MAX_WAIT_S: Final = 60.0  # a longer Retry-After ends the attempt instead of holding a slot
# Platform answers meaning the day's quota is spent: waiting minutes will not help (YouTube's
# quotaExceeded / dailyLimitExceeded, as our errors spell codes).
QUOTA_CODES: Final = frozenset({"quota-exceeded", "daily-limit-exceeded"})


class AccountTokens:
    """`TokenCaller` over an account's stored token: refreshed once the platform says 401
    (a failed refresh marks the account needs_reconnect, in accounts.service)."""

    def __init__(self, account_id: uuid.UUID) -> None:
        self.account_id = account_id
        self._current = ensure_access_token(account_id)
        self.calls = 0

    @property
    def current(self) -> str:
        return self._current

    def refresh(self) -> str:
        self._current = ensure_access_token(self.account_id, rejected=self._current)
        return self._current

    def call(self, fn: Callable[[str], T]) -> T:
        refreshes = 0
        while True:
            self.calls += 1
            try:
                return fn(self._current)
            except TokenExpired:
                if refreshes >= MAX_REFRESHES:
                    raise
                refreshes += 1
                self.refresh()


def _patient(fn: Callable[[], T]) -> T:
    """`fn` (a platform call), waiting out a short rate limit (Retry-After) a few times; a
    long one ends the attempt (the job retries later with backoff)."""
    policy = retry_policy()
    attempt = 0
    while True:
        try:
            return fn()
        except UpstreamRateLimited as exc:
            attempt += 1
            wait = exc.retry_after_s or 0.0
            if exc.code in QUOTA_CODES or attempt > RATE_LIMIT_TRIES or wait > MAX_WAIT_S:
                raise
            policy.wait(attempt, wait)


def _read(
    adapter: Platform, caller: AccountTokens, ref: AccountRef, ids: list[str]
) -> list[PostMetrics]:
    return _patient(lambda: adapter.metrics(caller, ref, ids))


class _Detail:
    """The analytics-report step of a run: its quota, and why it stopped (the counters go on
    without it)."""

    def __init__(self, adapter: DetailedMetrics, caller: AccountTokens, ref: AccountRef) -> None:
        self.adapter, self.caller, self.ref = adapter, caller, ref
        self.calls = 0
        self.units = 0
        self.stopped: str | None = None

    def read(
        self, due: Sequence[service.DuePost], readings: Sequence[PostMetrics], day: date
    ) -> dict[str, MetricsDetail]:
        shown = {r.platform_post_id for r in readings if not r.gone}
        wanted = [d for d in due if d.platform_post_id in shown]
        if self.stopped is not None or not wanted:
            return {}
        a = self.adapter
        with owner_session() as db:
            ok = service.reserve_quota(
                db, a.detail_quota_bucket, a.detail_quota_units, a.detail_daily_quota(), day
            )
        if not ok:
            self.stopped = "quota"
            log.warning("metrics.detail_quota_reached", bucket=a.detail_quota_bucket)
            return {}
        self.units += a.detail_quota_units
        self.calls += 1
        start = min(d.published_at for d in wanted).date()
        ids = [d.platform_post_id for d in wanted]
        try:
            return _patient(lambda: a.metrics_detail(self.caller, self.ref, ids, start, day))
        except UpstreamRateLimited as exc:
            if exc.code not in QUOTA_CODES:
                raise
            self.stopped = "quota"  # the platform's own count: the report's quota is spent
        except UpstreamRejected as exc:
            if exc.upstream_status != 403:
                raise
            # The grant no longer covers the report (revoked in the Google account).
            self.stopped = "forbidden"
        log.warning("metrics.detail_stopped", reason=self.stopped)
        return {}


def scan() -> int:
    """Queue one METRICS_COLLECT per account with posts due (one at a time per account)."""
    at = service.now()
    with owner_session() as db:
        due = service.due_accounts(db, at)
        for account_id, workspace_id in due:
            queue.enqueue(
                db,
                METRICS_COLLECT,
                {"account_id": str(account_id)},
                workspace_id=workspace_id,
                priority=-1,
                max_attempts=5,
                dedupe_key=f"metrics:{account_id}",
            )
    return len(due)


@dataclass
class CollectResult:
    account_id: str
    platform: str = ""
    due: int = 0
    calls: int = 0
    quota_units: int = 0
    snapshots: int = 0
    unchanged: int = 0
    gone: int = 0
    skipped: int = 0
    stopped: str | None = None  # quota | needs_reconnect | reconnect_for_analytics | ...
    # The analytics report (YouTube Analytics), where the account granted it.
    detail_calls: int = 0
    detail_quota_units: int = 0
    detail_stopped: str | None = None  # quota | forbidden (the counters went on)


def collect_account(ctx: JobContext) -> dict[str, Any]:
    account_id = uuid.UUID(str(ctx.payload["account_id"]))
    if ctx.workspace_id is None:
        raise PermanentError("METRICS_COLLECT needs a workspace.", code="invalid-payload")
    out = CollectResult(account_id=str(account_id))
    at = service.now()
    s = get_settings()
    with owner_session() as db:
        account = get_account(db, ctx.workspace_id, account_id)
        adapter = registry.get(account.platform)
        out.platform = adapter.name
        ref = account_ref(account)
        reason = usable_reason(account)
        access = analytics_access(adapter, parse_scopes(account.scopes))
        due = service.due_posts(db, account_id, at, s.metrics_posts_per_job)
    out.due = len(due)
    if reason is not None:
        out.stopped = "needs_reconnect"
        return asdict(out)
    if access == "reconnect":
        # Connected before the metrics scope was asked for: publishing works, analytics not.
        out.stopped = "reconnect_for_analytics"
        return asdict(out)
    if not due:
        return asdict(out)
    try:
        caller = AccountTokens(account_id)
        detail = (
            _Detail(adapter, caller, ref)
            if isinstance(adapter, DetailedMetrics) and access == "full"
            else None
        )
        batch_size = max(1, adapter.metrics_batch)
        if not adapter.metrics_quota_units:
            # No units to take per call: several calls' posts share one transaction.
            batch_size = max(batch_size, POSTS_PER_COMMIT)
        for start in range(0, len(due), batch_size):
            batch = due[start : start + batch_size]
            if adapter.metrics_quota_units:
                with owner_session() as db:
                    ok = service.reserve_quota(
                        db,
                        adapter.name,
                        adapter.metrics_quota_units,
                        s.youtube_daily_quota_units,
                        at.date(),
                    )
                if not ok:
                    out.stopped = "quota"
                    log.warning("metrics.quota_reached", platform=adapter.name)
                    break
                out.quota_units += adapter.metrics_quota_units
            try:
                readings = _read(adapter, caller, ref, [d.platform_post_id for d in batch])
            except UpstreamRateLimited as exc:
                if exc.code not in QUOTA_CODES:
                    raise
                out.stopped = "quota"  # the platform's own count says the day's quota is spent
                log.warning("metrics.platform_quota_exceeded", platform=adapter.name)
                break
            details = detail.read(batch, readings, at.date()) if detail is not None else {}
            with owner_session() as db:
                rec = service.record_readings(db, batch, readings, at, details)
            out.snapshots += rec.snapshots
            out.unchanged += rec.unchanged
            out.gone += rec.gone
            out.skipped += rec.skipped
            ctx.progress(min(1.0, (start + len(batch)) / len(due)))
        out.calls = caller.calls
        if detail is not None:
            out.detail_calls, out.detail_quota_units = detail.calls, detail.units
            out.detail_stopped = detail.stopped
    except (AccountUnusable, TokensUnreadable) as exc:
        log.warning("metrics.account_unusable", account_id=str(account_id), error=str(exc))
        out.stopped = "needs_reconnect"
        return asdict(out)
    except IntegrationError as exc:
        if exc.retryable:
            raise RetryableError(f"{adapter.name}: {exc.message}", code=exc.code) from None
        raise PermanentError(f"{adapter.name}: {exc.message}", code=exc.code) from None
    ctx.event("metrics_collected", f"{out.snapshots} snapshots", **asdict(out))
    return asdict(out)
