"""The connect flow: OAuth 2 authorization code + PKCE with a signed, single-use state.

`start_connect` signs a state (workspace, user, platform, expiry, random nonce) with the
server secret and stores the nonce with the encrypted PKCE verifier. `complete_connect`
(the callback, which carries no bearer token) trusts only that state: the signature and
expiry are checked, then the nonce row is marked used in its own committed transaction
before the code is exchanged, so a replayed callback is refused even if the first one fails
later on.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from cliply.accounts.models import ConnectedAccount, OAuthState
from cliply.accounts.service import ACTIVE, NEEDS_RECONNECT, counted_accounts
from cliply.accounts.tokens import encrypt_verifier, keyring, store_tokens, verifier_of
from cliply.audit.service import record as audit
from cliply.billing.gate import check_limit
from cliply.config import get_settings
from cliply.crypto import CryptoError, sign_state, verify_state
from cliply.db.engine import owner_session
from cliply.errors import BadRequest
from cliply.integrations.oauth_common import IntegrationError, OAuthError
from cliply.keys import app_secret
from cliply.platforms.base import (
    Connection,
    ConnectRefused,
    Platform,
    PlatformUnavailable,
)

log = structlog.get_logger(__name__)


class OAuthStateInvalid(BadRequest):
    code, title = "oauth-state-invalid", "Invalid OAuth state"


class OAuthDenied(BadRequest):
    code, title = "oauth-access-denied", "Access was not granted"


class OAuthExchangeFailed(BadRequest):
    code, title = "oauth-exchange-failed", "The platform refused the authorization code"


@dataclass(frozen=True)
class ConnectStart:
    authorize_url: str
    expires_at: datetime


@dataclass(frozen=True)
class _Flow:
    workspace_id: uuid.UUID
    user_id: uuid.UUID | None
    verifier: str
    redirect_after: str | None


@dataclass(frozen=True)
class Connected:
    account_id: uuid.UUID
    workspace_id: uuid.UUID
    redirect_after: str | None
    reconnected: bool


def _check_redirect_after(value: str | None) -> str | None:
    # Only a path on this site: anything else would make the callback an open redirect.
    if value is None or value == "":
        return None
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        raise BadRequest(
            "redirect_after must be a path on this site, such as /accounts.",
            code="invalid-redirect-after",
        )
    return value


def _has_reconnectable(db: Session, workspace_id: uuid.UUID, platform: str) -> bool:
    return (
        db.scalar(
            select(ConnectedAccount.id)
            .where(
                ConnectedAccount.workspace_id == workspace_id,
                ConnectedAccount.platform == platform,
                ConnectedAccount.status == NEEDS_RECONNECT,
            )
            .limit(1)
        )
        is not None
    )


def start_connect(
    db: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID | None,
    platform: Platform,
    redirect_after: str | None = None,
) -> ConnectStart:
    """Begin connecting an account: returns the platform's consent URL to send the user to."""
    settings = get_settings()
    redirect_after = _check_redirect_after(redirect_after)
    if not _has_reconnectable(db, workspace_id, platform.name):
        # Reconnecting an account that already counts is always allowed; a new account is
        # checked again at the callback, once we know which one it is.
        check_limit(
            db, workspace_id, "connected_accounts", current=counted_accounts(db, workspace_id)
        )
    ttl = settings.oauth_state_ttl_s
    secret = app_secret()
    state = sign_state({"w": str(workspace_id), "p": platform.name}, secret, ttl)
    nonce = verify_state(state, secret).nonce
    started = platform.authorize(redirect_uri(platform.name), state)
    expires_at = datetime.now(UTC) + timedelta(seconds=ttl)
    db.add(
        OAuthState(
            nonce=nonce,
            workspace_id=workspace_id,
            user_id=user_id,
            platform=platform.name,
            code_verifier_enc=encrypt_verifier(keyring(), workspace_id, nonce, started.verifier),
            redirect_after=redirect_after,
            expires_at=expires_at,
        )
    )
    db.flush()
    return ConnectStart(authorize_url=started.url, expires_at=expires_at)


def _verify(state: str | None) -> tuple[str, uuid.UUID, str]:
    """(nonce, workspace_id, platform) of a state whose signature and expiry check out."""
    if not state:
        raise OAuthStateInvalid("The callback has no state; start the connection again.")
    try:
        verified = verify_state(state, app_secret())
        workspace_id = uuid.UUID(str(verified.payload["w"]))
        platform = str(verified.payload["p"])
    except CryptoError as exc:
        code = "oauth-state-expired" if exc.code == "state-expired" else "oauth-state-invalid"
        raise OAuthStateInvalid(f"{exc.message}.", code=code) from None
    except (KeyError, ValueError):
        raise OAuthStateInvalid("The state does not name a workspace.") from None
    return verified.nonce, workspace_id, platform


def _claim(nonce: str, workspace_id: uuid.UUID, platform: str) -> _Flow:
    """Mark the state used (committed at once) and return its flow; refuses replays."""
    with owner_session() as db:
        row = db.scalar(
            select(OAuthState)
            .where(OAuthState.nonce == nonce, OAuthState.workspace_id == workspace_id)
            .with_for_update()
        )
        if row is None or row.platform != platform:
            raise OAuthStateInvalid("The state is unknown; start the connection again.")
        if row.used_at is not None:
            raise OAuthStateInvalid(
                "This state was already used; start the connection again.",
                code="oauth-state-replayed",
            )
        now = datetime.now(UTC)
        if row.expires_at <= now:
            raise OAuthStateInvalid(
                "The connection attempt expired; start it again.", code="oauth-state-expired"
            )
        row.used_at = now
        return _Flow(
            workspace_id=row.workspace_id,
            user_id=row.user_id,
            verifier=verifier_of(keyring(), row),
            redirect_after=row.redirect_after,
        )


def redirect_uri(platform: str) -> str:
    """Our callback URL for a platform (registered with the platform's app settings)."""
    return f"{get_settings().public_base_url.rstrip('/')}/api/v1/accounts/{platform}/callback"


def _connect(platform: Platform, code: str, verifier: str) -> Connection:
    try:
        return platform.connect(code, redirect_uri(platform.name), verifier)
    except OAuthError as exc:
        raise OAuthExchangeFailed(
            f"The platform refused the authorization code ({exc.code}): {exc.message}",
            platform_error=exc.code,
        ) from None
    except ConnectRefused as exc:
        raise OAuthExchangeFailed(exc.detail, code=exc.code, **exc.extra) from None


def complete_connect(
    platform: Platform,
    *,
    code: str | None,
    state: str | None,
    error: str | None = None,
    error_description: str | None = None,
) -> Connected:
    """Handle the platform's redirect back to us: verify and consume the state, exchange the
    code, identify the account, and store it (or refresh a reconnected one)."""
    nonce, workspace_id, state_platform = _verify(state)
    if state_platform != platform.name:
        raise OAuthStateInvalid("The state was issued for another platform.")
    flow = _claim(nonce, workspace_id, platform.name)
    if error:
        detail = f" ({error_description})" if error_description else ""
        if error == "access_denied":
            raise OAuthDenied(f"Access was not granted on {platform.label}{detail}.", error=error)
        raise OAuthDenied(f"{platform.label} refused the connection: {error}{detail}.", error=error)
    if not code:
        raise BadRequest("The callback has no authorization code.", code="oauth-code-missing")
    try:
        connection = _connect(platform, code, flow.verifier)
    except IntegrationError as exc:
        raise PlatformUnavailable(
            f"{platform.label} could not be reached to finish connecting: {exc.message}"
        ) from None
    if not connection.identity.external_id:
        raise OAuthExchangeFailed("The platform did not say which account was connected.")
    return _save(platform.name, flow, connection)


def _save(platform: str, flow: _Flow, connection: Connection) -> Connected:
    tokens, identity = connection.tokens, connection.identity
    ring = keyring()
    with owner_session() as db:
        account = db.scalar(
            select(ConnectedAccount)
            .where(
                ConnectedAccount.workspace_id == flow.workspace_id,
                ConnectedAccount.platform == platform,
                ConnectedAccount.external_id == identity.external_id,
            )
            .with_for_update()
        )
        reconnected = account is not None
        if account is None:
            # A new account counts against the plan; a reconnected one already did.
            check_limit(
                db,
                flow.workspace_id,
                "connected_accounts",
                current=counted_accounts(db, flow.workspace_id),
            )
            account = ConnectedAccount(
                id=uuid.uuid4(),
                workspace_id=flow.workspace_id,
                platform=platform,
                external_id=identity.external_id,
                created_by=flow.user_id,
            )
            db.add(account)
        account.display_name = identity.display_name[:300]
        account.avatar_url = identity.avatar_url
        account.info = {**(account.info or {}), **identity.info}
        account.status = ACTIVE
        account.status_reason = None
        store_tokens(ring, account, tokens)
        audit(
            db,
            "account.reconnected" if reconnected else "account.connected",
            workspace_id=flow.workspace_id,
            user_id=flow.user_id,
            target_type="connected_account",
            target_id=account.id,
            data={"platform": platform, "external_id": identity.external_id},
        )
        db.flush()
        return Connected(
            account_id=account.id,
            workspace_id=flow.workspace_id,
            redirect_after=flow.redirect_after,
            reconnected=reconnected,
        )
