"""Periodic tasks: access tokens renewed before they expire; finished OAuth flows forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import delete

from cliply.accounts.models import OAuthState
from cliply.accounts.service import refresh_due
from cliply.db.engine import owner_session
from cliply.jobs.registry import periodic

log = structlog.get_logger(__name__)

# Kept a while after expiry so a late replay is still recognised as such in the logs.
STATE_RETENTION = timedelta(days=1)


@periodic("refresh_tokens", every_s=300)
def refresh_tokens() -> int:
    n = refresh_due()
    if n:
        log.info("accounts.tokens_refreshed", count=n)
    return n


@periodic("oauth_states.cleanup", every_s=3600)
def cleanup_oauth_states() -> int:
    """Delete OAuth flows that expired over a day ago (their encrypted verifiers with them)."""
    cutoff = datetime.now(UTC) - STATE_RETENTION
    with owner_session() as db:
        gone = db.scalars(
            delete(OAuthState).where(OAuthState.expires_at < cutoff).returning(OAuthState.nonce)
        ).all()
    return len(gone)
