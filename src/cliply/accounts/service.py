"""Connected accounts: listing, disconnecting, and keeping their access tokens fresh.

A token refresh runs under the account's row lock: TikTok rotates refresh tokens, so two
processes refreshing with the same one at once would make the second fail and wrongly ask
the user to reconnect. After taking the lock a caller re-reads the tokens and skips the
refresh when someone else already did it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cliply.accounts.models import ConnectedAccount
from cliply.accounts.tokens import (
    TokensUnreadable,
    access_token,
    keyring,
    refresh_token,
    store_tokens,
    wipe_tokens,
)
from cliply.audit.service import record as audit
from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.db.pagination import paginate
from cliply.errors import CliplyError, Conflict, NotFound
from cliply.integrations.oauth_common import IntegrationError, RefreshFailed
from cliply.platforms import registry
from cliply.platforms.base import AccountRef, parse_scopes

log = structlog.get_logger(__name__)

ACTIVE = "active"
NEEDS_RECONNECT = "needs_reconnect"
DISCONNECTED = "disconnected"
ACCOUNT_STATUSES = (ACTIVE, NEEDS_RECONNECT, DISCONNECTED)


class AccountUnusable(CliplyError):
    """The account cannot be used to post (disconnected, or the user must reconnect it)."""

    status, code, title = 409, "account-unusable", "Account cannot be used"


def _now() -> datetime:
    return datetime.now(UTC)


def list_accounts(
    db: Session, workspace_id: uuid.UUID, *, platform: str | None = None, status: str | None = None
) -> list[ConnectedAccount]:
    stmt = select(ConnectedAccount).where(ConnectedAccount.workspace_id == workspace_id)
    if platform is not None:
        stmt = stmt.where(ConnectedAccount.platform == platform)
    if status is not None:
        stmt = stmt.where(ConnectedAccount.status == status)
    return list(db.scalars(stmt.order_by(ConnectedAccount.created_at.desc())))


def page_accounts(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    platform: str | None = None,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[ConnectedAccount], str | None]:
    """One page of the workspace's accounts, newest first (GET /accounts)."""
    stmt = select(ConnectedAccount).where(ConnectedAccount.workspace_id == workspace_id)
    if platform is not None:
        stmt = stmt.where(ConnectedAccount.platform == platform)
    if status is not None:
        stmt = stmt.where(ConnectedAccount.status == status)
    keys = (ConnectedAccount.created_at, ConnectedAccount.id)
    return paginate(db, stmt, keys, cursor, limit)


def get_account(
    db: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, *, lock: bool = False
) -> ConnectedAccount:
    stmt = select(ConnectedAccount).where(
        ConnectedAccount.id == account_id, ConnectedAccount.workspace_id == workspace_id
    )
    account = db.scalar(stmt.with_for_update() if lock else stmt)
    if account is None:
        raise NotFound("No such connected account.", code="account-not-found")
    return account


def counted_accounts(db: Session, workspace_id: uuid.UUID) -> int:
    """Accounts that count against the plan's connected_accounts limit (not disconnected)."""
    return int(
        db.scalar(
            select(func.count())
            .select_from(ConnectedAccount)
            .where(
                ConnectedAccount.workspace_id == workspace_id,
                ConnectedAccount.status != DISCONNECTED,
            )
        )
        or 0
    )


def usable_reason(account: ConnectedAccount) -> str | None:
    """Why the account cannot post now, or None when it can."""
    if account.status == DISCONNECTED:
        return "The account was disconnected; connect it again to publish."
    if account.status == NEEDS_RECONNECT:
        why = f" ({account.status_reason})" if account.status_reason else ""
        return f"The account must be reconnected{why}."
    if not account.access_token_enc:
        return "The account has no stored token; connect it again."
    return None


def check_usable(account: ConnectedAccount) -> None:
    reason = usable_reason(account)
    if reason is not None:
        raise AccountUnusable(reason, account_id=str(account.id), account_status=account.status)


def account_ref(account: ConnectedAccount) -> AccountRef:
    return AccountRef(
        external_id=account.external_id,
        info=dict(account.info or {}),
        scopes=parse_scopes(account.scopes),
    )


def platforms_of(db: Session, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The platform of each account (one query)."""
    if not account_ids:
        return {}
    rows = db.execute(
        select(ConnectedAccount.id, ConnectedAccount.platform).where(
            ConnectedAccount.id.in_(account_ids)
        )
    ).tuples()
    return {account_id: platform for account_id, platform in rows}


def _revoke(account: ConnectedAccount) -> bool:
    """Tell the platform to drop our grant; False when that was not possible."""
    ring = keyring()
    try:
        registry.get(account.platform).revoke(
            access_token(ring, account), refresh_token(ring, account), account_ref(account)
        )
        return True
    except (IntegrationError, CliplyError) as exc:
        log.warning("account.revoke_failed", account_id=str(account.id), error=str(exc)[:300])
        return False


def disconnect(
    db: Session, workspace_id: uuid.UUID, account_id: uuid.UUID, user_id: uuid.UUID | None
) -> ConnectedAccount:
    """Revoke at the platform where possible and wipe the tokens (the account's schedules
    are ended by `schedules.flows.disconnect_account`, which calls this)."""
    account = get_account(db, workspace_id, account_id, lock=True)
    if account.status == DISCONNECTED:
        return account
    revoked = _revoke(account)
    wipe_tokens(account)
    account.status = DISCONNECTED
    account.status_reason = "Disconnected by a workspace member" + (
        "." if revoked else "; the platform could not be told (revoke it there too)."
    )
    audit(
        db,
        "account.disconnected",
        workspace_id=workspace_id,
        user_id=user_id,
        target_type="connected_account",
        target_id=account.id,
        data={"platform": account.platform, "revoked": revoked},
    )
    db.flush()
    return account


# --- tokens ---------------------------------------------------------------------------------


def ensure_access_token(
    account_id: uuid.UUID, *, rejected: str | None = None, margin_s: float | None = None
) -> str:
    """A usable access token: the stored one, or a refreshed one when it expires within
    `margin_s` or equals `rejected` (the token the platform just answered 401 to).

    Raises AccountUnusable (disconnected; or the refresh failed for good: the account is then
    marked needs_reconnect with the reason), TokensUnreadable, or RefreshFailed (transient).
    """
    margin = get_settings().token_refresh_margin_s if margin_s is None else margin_s
    ring = keyring()
    failure: str
    with owner_session() as db:
        account = db.scalar(
            select(ConnectedAccount).where(ConnectedAccount.id == account_id).with_for_update()
        )
        if account is None:
            raise AccountUnusable("The connected account no longer exists.")
        check_usable(account)
        current = access_token(ring, account)
        expires = account.access_expires_at
        fresh = expires is not None and expires > _now() + timedelta(seconds=margin)
        if fresh and current != rejected:
            return current
        stored_refresh = refresh_token(ring, account)
        if stored_refresh is None:
            failure = "no refresh token is stored"
        else:
            try:
                adapter = registry.get(account.platform)
                tokens = adapter.refresh(stored_refresh, account_ref(account))
            except RefreshFailed as exc:
                if not exc.permanent:
                    raise
                failure = exc.message
            else:
                store_tokens(ring, account, tokens)
                account.status_reason = None
                log.info("account.token_refreshed", account_id=str(account.id))
                return tokens.access_token
        account.status = NEEDS_RECONNECT
        account.status_reason = f"Token refresh failed: {failure}"[:1000]
        log.warning("account.needs_reconnect", account_id=str(account.id), reason=failure)
    raise AccountUnusable(
        f"The account must be reconnected (token refresh failed: {failure}).",
        account_id=str(account_id),
        account_status=NEEDS_RECONNECT,
    )


def refresh_due(margin_s: float | None = None, limit: int = 500) -> int:
    """Refresh every active account whose access token expires within the margin."""
    margin = get_settings().token_refresh_margin_s if margin_s is None else margin_s
    cutoff = _now() + timedelta(seconds=margin)
    with owner_session() as db:
        ids = list(
            db.scalars(
                select(ConnectedAccount.id)
                .where(
                    ConnectedAccount.status == ACTIVE,
                    ConnectedAccount.refresh_token_enc.is_not(None),
                    ConnectedAccount.access_expires_at <= cutoff,
                )
                .order_by(ConnectedAccount.access_expires_at)
                .limit(limit)
            )
        )
    refreshed = 0
    for account_id in ids:
        try:
            ensure_access_token(account_id, margin_s=margin)
            refreshed += 1
        except (AccountUnusable, TokensUnreadable, IntegrationError, Conflict) as exc:
            log.warning("account.refresh_skipped", account_id=str(account_id), error=str(exc))
    return refreshed
