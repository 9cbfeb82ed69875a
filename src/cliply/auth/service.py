"""Sign-up, login, refresh-token rotation with reuse detection, API keys, principal lookup."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cliply.auth import security
from cliply.auth.models import ApiKey, RefreshToken, User
from cliply.auth.schemas import TokenPair
from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.db.pagination import paginate
from cliply.errors import CliplyError, Conflict, NotFound, Unauthorized
from cliply.keys import app_secret


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    api_key_id: uuid.UUID | None = None

    @property
    def key(self) -> str:
        return f"key:{self.api_key_id}" if self.api_key_id else f"user:{self.user_id}"


def token_principal_key(token: str) -> str | None:
    """A stable name for the caller a bearer token claims, read without the database, or None.

    The idempotency middleware keys stored responses by it before the route runs; the route
    still authenticates the token properly (a forged one gets no further than its 401)."""
    if token.startswith(security.API_KEY_PREFIX):
        return "key:" + security.token_hash(token)[:32]
    try:
        return f"user:{security.decode_access_token(token, app_secret())}"
    except CliplyError:
        return None


def _now() -> datetime:
    return datetime.now(UTC)


def signup(db: Session, email: str, password: str, name: str = "") -> User:
    email = email.strip()
    if db.scalar(select(User.id).where(func.lower(User.email) == email.lower())):
        raise Conflict("An account with this email already exists.", code="email-taken")
    user = User(email=email, name=name, password_hash=security.hash_password(password))
    db.add(user)
    try:
        db.flush()
    except IntegrityError:
        raise Conflict("An account with this email already exists.", code="email-taken") from None
    return user


def authenticate(db: Session, email: str, password: str) -> User:
    user = db.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        security.verify_password(security.DUMMY_HASH, password)
        raise Unauthorized("Wrong email or password.", code="invalid-credentials")
    if not security.verify_password(user.password_hash, password) or not user.is_active:
        raise Unauthorized("Wrong email or password.", code="invalid-credentials")
    return user


def set_password(db: Session, user_id: uuid.UUID, new_password: str) -> User | None:
    """Replace a user's password (a reset proven by its token); None when there is no such user.

    The caller has checked the new password's rules and what entitles the change."""
    user = db.get(User, user_id)
    if user is None:
        return None
    user.password_hash = security.hash_password(new_password)
    db.flush()
    return user


def issue_tokens(db: Session, user_id: uuid.UUID, family_id: uuid.UUID | None = None) -> TokenPair:
    s = get_settings()
    access, _ = security.create_access_token(user_id, app_secret(), s.access_token_ttl_s)
    refresh = security.new_token(security.REFRESH_PREFIX)
    db.add(
        RefreshToken(
            user_id=user_id,
            family_id=family_id or uuid.uuid4(),
            token_hash=security.token_hash(refresh),
            expires_at=_now() + timedelta(seconds=s.refresh_token_ttl_s),
        )
    )
    db.flush()
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=s.access_token_ttl_s)


class RefreshReused(Unauthorized):
    code = "refresh-token-reused"


def rotate_refresh(refresh_token: str) -> TokenPair:
    """Swap a refresh token for a new pair; presenting a used one revokes its whole family.

    Runs in its own transaction so a detected reuse commits the revocation even though the
    request fails. The row lock makes two concurrent uses resolve as one rotation and one reuse.
    """
    reused = False
    with owner_session() as db:
        row = db.scalar(
            select(RefreshToken)
            .where(RefreshToken.token_hash == security.token_hash(refresh_token))
            .with_for_update()
        )
        if row is None or row.revoked_at is not None:
            raise Unauthorized("The refresh token is not valid.", code="invalid-token")
        if row.used_at is not None:
            revoke_family(db, row.family_id)
            reused = True
        elif row.expires_at <= _now():
            raise Unauthorized("The refresh token has expired.", code="token-expired")
        else:
            row.used_at = _now()
            return issue_tokens(db, row.user_id, row.family_id)
    if reused:
        raise RefreshReused(
            "This refresh token was already used; every session of this login is now signed out."
        )
    raise Unauthorized("The refresh token is not valid.", code="invalid-token")


def revoke_family(db: Session, family_id: uuid.UUID) -> None:
    db.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=_now())
    )


def logout(db: Session, refresh_token: str) -> None:
    row = db.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == security.token_hash(refresh_token))
    )
    if row is not None:
        revoke_family(db, row.family_id)


def create_api_key(
    db: Session, user_id: uuid.UUID, name: str, expires_in_days: int | None
) -> tuple[ApiKey, str]:
    raw = security.new_token(security.API_KEY_PREFIX)
    key = ApiKey(
        user_id=user_id,
        name=name,
        prefix=raw[:12],
        key_hash=security.token_hash(raw),
        expires_at=_now() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.add(key)
    db.flush()
    return key, raw


def list_api_keys(
    db: Session, user_id: uuid.UUID, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[ApiKey], str | None]:
    stmt = select(ApiKey).where(ApiKey.user_id == user_id)
    return paginate(db, stmt, (ApiKey.created_at, ApiKey.id), cursor, limit)


def revoke_api_key(db: Session, user_id: uuid.UUID, key_id: uuid.UUID) -> None:
    key = db.scalar(select(ApiKey).where(ApiKey.id == key_id, ApiKey.user_id == user_id))
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = _now()


def resolve_bearer(db: Session, token: str) -> Principal:
    """An `Authorization: Bearer` value is either a JWT access token or a personal API key."""
    if token.startswith(security.API_KEY_PREFIX):
        key = db.scalar(select(ApiKey).where(ApiKey.key_hash == security.token_hash(token)))
        if key is None or key.revoked_at is not None:
            raise Unauthorized("The API key is not valid.", code="invalid-token")
        if key.expires_at is not None and key.expires_at <= _now():
            raise Unauthorized("The API key has expired.", code="token-expired")
        if key.last_used_at is None or _now() - key.last_used_at > timedelta(minutes=1):
            key.last_used_at = _now()
        user_id, key_id = key.user_id, key.id
    else:
        user_id, key_id = security.decode_access_token(token, app_secret()), None
    active = db.scalar(select(User.is_active).where(User.id == user_id))
    if not active:
        raise Unauthorized("The account is not active.", code="invalid-token")
    return Principal(user_id=user_id, api_key_id=key_id)


def get_user(db: Session, user_id: uuid.UUID) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user
