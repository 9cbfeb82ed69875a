"""Password hashing (argon2), JWT access tokens, opaque random tokens hashed at rest."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cliply.errors import Unauthorized

_hasher = PasswordHasher()
JWT_ALG = "HS256"
JWT_AUDIENCE = "cliply-api"
JWT_ISSUER = "cliply"

# Prefixes make leaked tokens recognisable (and redactable in logs).
REFRESH_PREFIX = "clr_"
API_KEY_PREFIX = "clk_"
INVITE_PREFIX = "cli_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# A real hash to verify against when the user does not exist, so timing does not leak it.
DUMMY_HASH = _hasher.hash("not-a-real-password")


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_access_token(user_id: uuid.UUID, secret: str, ttl_s: int) -> tuple[str, datetime]:
    now = datetime.now(UTC)
    exp = now + timedelta(seconds=ttl_s)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iat": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        "aud": JWT_AUDIENCE,
        "iss": JWT_ISSUER,
        "typ": "access",
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret, algorithm=JWT_ALG), exp


def decode_access_token(token: str, secret: str) -> uuid.UUID:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[JWT_ALG],
            audience=JWT_AUDIENCE,
            issuer=JWT_ISSUER,
            options={"require": ["exp", "sub", "aud", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("The access token has expired.", code="token-expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("The access token is not valid.", code="invalid-token") from None
    if claims.get("typ") != "access":
        raise Unauthorized("The access token is not valid.", code="invalid-token")
    try:
        return uuid.UUID(str(claims["sub"]))
    except ValueError:
        raise Unauthorized("The access token is not valid.", code="invalid-token") from None


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
