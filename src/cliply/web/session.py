"""Browser sessions: an opaque cookie, its row in `web_sessions`, and the CSRF token.

The cookie holds a random token; the table holds its sha256. The CSRF token is an HMAC of
the cookie value under the app secret, so it needs no storage and changes with the session.
Visitors without a session (log-in, sign-up, reset pages) get an anonymous random cookie
whose HMAC is their CSRF token (login CSRF is covered too).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from cliply.auth import security
from cliply.auth import service as auth_service
from cliply.auth.models import User
from cliply.config import get_settings
from cliply.errors import BadRequest, Gone
from cliply.keys import app_secret
from cliply.web.models import PasswordReset, WebSession

SESSION_COOKIE = "cliply_session"
ANON_COOKIE = "cliply_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_PREFIX = "cls_"
RESET_PREFIX = "clp_"


def _now() -> datetime:
    return datetime.now(UTC)


def csrf_token_for(cookie_value: str) -> str:
    return hmac.new(
        app_secret().encode(), b"csrf:" + cookie_value.encode(), hashlib.sha256
    ).hexdigest()


def csrf_ok(cookie_value: str, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(csrf_token_for(cookie_value), presented or "")


@dataclass(frozen=True)
class BrowserSession:
    """What a page needs about the signed-in user; resolved once per request."""

    id: uuid.UUID
    user_id: uuid.UUID
    email: str
    name: str
    current_workspace_id: uuid.UUID | None
    csrf_token: str


def create(db: Session, user_id: uuid.UUID, user_agent: str = "") -> str:
    """A new session for `user_id`; returns the cookie value."""
    raw = security.new_token(SESSION_PREFIX)
    db.add(
        WebSession(
            user_id=user_id,
            token_hash=security.token_hash(raw),
            user_agent=user_agent[:300],
            expires_at=_now() + timedelta(seconds=get_settings().web_session_ttl_s),
        )
    )
    db.flush()
    return raw


def resolve(db: Session, raw: str) -> BrowserSession | None:
    """The live session behind a cookie value, sliding its expiry; None when not valid."""
    if not raw.startswith(SESSION_PREFIX):
        return None
    row = db.execute(
        select(WebSession, User)
        .join(User, User.id == WebSession.user_id)
        .where(WebSession.token_hash == security.token_hash(raw))
    ).first()
    if row is None:
        return None
    sess, user = row
    now = _now()
    if sess.expires_at <= now or not user.is_active:
        return None
    if now - sess.last_seen_at > timedelta(minutes=5):  # fewer writes: slide at most every 5 min
        sess.last_seen_at = now
        sess.expires_at = now + timedelta(seconds=get_settings().web_session_ttl_s)
    return BrowserSession(
        id=sess.id,
        user_id=user.id,
        email=user.email,
        name=user.name,
        current_workspace_id=sess.current_workspace_id,
        csrf_token=csrf_token_for(raw),
    )


def destroy(db: Session, raw: str) -> None:
    db.execute(delete(WebSession).where(WebSession.token_hash == security.token_hash(raw)))


def destroy_all_for_user(db: Session, user_id: uuid.UUID) -> None:
    db.execute(delete(WebSession).where(WebSession.user_id == user_id))


def set_workspace(db: Session, session_id: uuid.UUID, workspace_id: uuid.UUID | None) -> None:
    db.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(current_workspace_id=workspace_id)
    )


# --- password reset -------------------------------------------------------------------------


def start_reset(db: Session, email: str) -> tuple[User, str] | None:
    """A single-use reset token for the account with `email`, or None when there is none.

    The caller answers the same either way, so the form does not reveal who has an account.
    """
    user = db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.is_active:
        return None
    raw = security.new_token(RESET_PREFIX)
    db.add(
        PasswordReset(
            user_id=user.id,
            token_hash=security.token_hash(raw),
            expires_at=_now() + timedelta(seconds=get_settings().password_reset_ttl_s),
        )
    )
    db.flush()
    return user, raw


def finish_reset(db: Session, raw: str, new_password: str) -> User:
    """Set the new password, burn the token and sign every browser session out."""
    if len(new_password) < 10:
        raise BadRequest("Use at least 10 characters.", code="password-too-short")
    row = db.scalar(
        select(PasswordReset)
        .where(PasswordReset.token_hash == security.token_hash(raw))
        .with_for_update()
    )
    if row is None or row.used_at is not None:
        raise Gone("This reset link was already used or is not valid.", code="reset-invalid")
    if row.expires_at <= _now():
        raise Gone("This reset link has expired; ask for a new one.", code="reset-expired")
    user = auth_service.set_password(db, row.user_id, new_password)
    if user is None:
        raise Gone("This reset link is not valid.", code="reset-invalid")
    row.used_at = _now()
    destroy_all_for_user(db, user.id)
    db.flush()
    return user
