"""Encryption of stored secrets (AES-256-GCM, versioned keys) and signed OAuth `state` values.

Ciphertext format: ``v1:{key_id}:{base64url(nonce || ciphertext+tag)}``. The key id travels
with the value so old rows stay readable after a new key becomes current; `rotate` re-encrypts
under the current key. Every value is bound to associated data (for example the row's
workspace id and purpose), so a ciphertext copied into another row does not decrypt.
There is no plaintext fallback: a value that does not decrypt raises `CryptoError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cliply.errors import CliplyError

FORMAT_VERSION = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_MIN_STATE_SECRET_BYTES = 16


class CryptoError(CliplyError):
    """Encryption, decryption or state verification failed.

    Codes: invalid-key-config, unknown-key, malformed-ciphertext, decrypt-failed,
    state-invalid, state-expired.
    """

    status, code, title = 400, "crypto-error", "Cannot decrypt or verify"

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    # Accepts padded or unpadded, url-safe or standard alphabet (keys are often pasted as std).
    cleaned = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


def generate_key() -> str:
    """A new random 256-bit key, base64-encoded, for a keys setting or `cliply keys rotate`."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def associated_data(*parts: str | bytes | object) -> bytes:
    """Unambiguous associated data from parts, e.g. (workspace_id, "tiktok.refresh_token")."""
    out = bytearray()
    for part in parts:
        raw = part if isinstance(part, bytes) else str(part).encode("utf-8")
        out += len(raw).to_bytes(4, "big") + raw  # length prefix: ("ab","c") != ("a","bc")
    return bytes(out)


def _as_aad(aad: str | bytes) -> bytes:
    return aad if isinstance(aad, bytes) else aad.encode("utf-8")


@dataclass(frozen=True)
class _Parsed:
    key_id: str
    nonce: bytes
    body: bytes


class Keyring:
    """AES-256-GCM keys by id; `current` encrypts, all of them decrypt."""

    def __init__(self, keys: Mapping[str, bytes], current: str | None = None) -> None:
        if not keys:
            raise CryptoError("no encryption keys configured", code="invalid-key-config")
        for key_id, key in keys.items():
            if not _KEY_ID.match(key_id):
                raise CryptoError(
                    f"key id {key_id!r} must be 1-32 characters of letters, digits, '_' or '-'",
                    code="invalid-key-config",
                )
            if len(key) != KEY_BYTES:
                raise CryptoError(
                    f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}",
                    code="invalid-key-config",
                )
        self._keys = {kid: AESGCM(key) for kid, key in keys.items()}
        self.current = current if current is not None else next(iter(keys))
        if self.current not in self._keys:
            raise CryptoError(
                f"current key {self.current!r} is not in the keyring", code="invalid-key-config"
            )

    @classmethod
    def from_setting(cls, value: str) -> Keyring:
        """Parse ``"k2:base64key,k1:base64key"``; the first key is current."""
        keys: dict[str, bytes] = {}
        for item in (p.strip() for p in value.split(",")):
            if not item:
                continue
            key_id, sep, encoded = item.partition(":")
            if not sep:
                raise CryptoError(
                    "each key must be written as id:base64key", code="invalid-key-config"
                )
            key_id = key_id.strip()
            if key_id in keys:
                raise CryptoError(f"key id {key_id!r} appears twice", code="invalid-key-config")
            try:
                keys[key_id] = _b64d(encoded)
            except (binascii.Error, ValueError) as exc:
                raise CryptoError(
                    f"key {key_id!r} is not valid base64", code="invalid-key-config"
                ) from exc
        return cls(keys)

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plaintext: str | bytes, aad: str | bytes) -> str:
        """Encrypt under the current key, bound to `aad` (see `associated_data`)."""
        data = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        header = f"{FORMAT_VERSION}:{self.current}"
        nonce = secrets.token_bytes(NONCE_BYTES)
        body = self._keys[self.current].encrypt(nonce, data, self._full_aad(header, aad))
        return f"{header}:{_b64e(nonce + body)}"

    def decrypt(self, token: str, aad: str | bytes) -> bytes:
        parsed = self._parse(token)
        key = self._keys.get(parsed.key_id)
        if key is None:
            raise CryptoError(
                f"value was encrypted with key {parsed.key_id!r}, which is not configured "
                "(add it back to the keys setting to read it)",
                code="unknown-key",
            )
        header = f"{FORMAT_VERSION}:{parsed.key_id}"
        try:
            return key.decrypt(parsed.nonce, parsed.body, self._full_aad(header, aad))
        except InvalidTag as exc:
            raise CryptoError(
                "value does not decrypt: wrong key, altered value, or it belongs to another row",
                code="decrypt-failed",
            ) from exc

    def decrypt_text(self, token: str, aad: str | bytes) -> str:
        raw = self.decrypt(token, aad)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CryptoError("decrypted value is not UTF-8 text", code="decrypt-failed") from exc

    def key_id_of(self, token: str) -> str:
        return self._parse(token).key_id

    def needs_rotation(self, token: str) -> bool:
        """True when `token` was encrypted with a key other than the current one."""
        return self._parse(token).key_id != self.current

    def rotate(self, token: str, aad: str | bytes) -> str:
        """Re-encrypt under the current key; a value already current is returned unchanged."""
        if not self.needs_rotation(token):
            return token
        return self.encrypt(self.decrypt(token, aad), aad)

    @staticmethod
    def _full_aad(header: str, aad: str | bytes) -> bytes:
        # The header is authenticated too, so a value cannot be relabelled with another key id.
        return associated_data(header, _as_aad(aad))

    @staticmethod
    def _parse(token: str) -> _Parsed:
        if not isinstance(token, str):
            raise CryptoError("encrypted value must be a string", code="malformed-ciphertext")
        parts = token.split(":")
        if len(parts) != 3 or parts[0] != FORMAT_VERSION:
            raise CryptoError(
                f"not an encrypted value of format {FORMAT_VERSION}:key_id:data",
                code="malformed-ciphertext",
            )
        _, key_id, encoded = parts
        try:
            blob = _b64d(encoded)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError(
                "encrypted data is not valid base64", code="malformed-ciphertext"
            ) from exc
        if len(blob) < NONCE_BYTES + 16:
            raise CryptoError("encrypted data is too short", code="malformed-ciphertext")
        return _Parsed(key_id=key_id, nonce=blob[:NONCE_BYTES], body=blob[NONCE_BYTES:])


# --- signed OAuth state ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedState:
    """A state that passed verification. Record `nonce` as used to make the state single-use."""

    payload: dict[str, Any]
    nonce: str
    issued_at: float
    expires_at: float


def _secret_bytes(secret: str | bytes) -> bytes:
    raw = secret.encode("utf-8") if isinstance(secret, str) else secret
    if len(raw) < _MIN_STATE_SECRET_BYTES:
        raise CryptoError(
            f"state secret must be at least {_MIN_STATE_SECRET_BYTES} bytes",
            code="invalid-key-config",
        )
    return raw


def _state_mac(secret: bytes, body: bytes) -> bytes:
    return hmac.new(secret, b"cliply.oauth_state\x00" + body, hashlib.sha256).digest()


def sign_state(
    payload: Mapping[str, Any],
    secret: str | bytes,
    ttl_s: float,
    *,
    now: float | None = None,
) -> str:
    """A URL-safe, HMAC-SHA256-signed, expiring state carrying `payload` and a random nonce.

    The payload is signed, not encrypted: keep secrets (PKCE verifiers) out of it.
    """
    if ttl_s <= 0:
        raise CryptoError("state lifetime must be positive", code="state-invalid")
    issued = time.time() if now is None else now
    claims = {
        "p": dict(payload),
        "n": _b64e(secrets.token_bytes(16)),
        "iat": int(issued),
        "exp": int(issued + ttl_s),
    }
    try:
        body = json.dumps(claims, separators=(",", ":"), sort_keys=True).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise CryptoError("state payload must be JSON-serializable", code="state-invalid") from exc
    return f"{_b64e(body)}.{_b64e(_state_mac(_secret_bytes(secret), body))}"


def verify_state(
    state: str,
    secret: str | bytes | Sequence[str | bytes],
    *,
    now: float | None = None,
) -> VerifiedState:
    """Check signature then expiry; several secrets may be given while one is being rotated."""
    secrets_list: Iterable[str | bytes] = (
        [secret] if isinstance(secret, str | bytes) else list(secret)
    )
    keys = [_secret_bytes(s) for s in secrets_list]
    if not isinstance(state, str) or state.count(".") != 1:
        raise CryptoError("state is malformed", code="state-invalid")
    body_b64, mac_b64 = state.split(".")
    try:
        body = _b64d(body_b64)
        mac = _b64d(mac_b64)
    except (binascii.Error, ValueError) as exc:
        raise CryptoError("state is malformed", code="state-invalid") from exc
    if not any(hmac.compare_digest(mac, _state_mac(k, body)) for k in keys):
        raise CryptoError("state signature does not match", code="state-invalid")
    try:
        claims = json.loads(body)
        payload = claims["p"]
        nonce = claims["n"]
        issued_at = float(claims["iat"])
        expires_at = float(claims["exp"])
    except (ValueError, KeyError, TypeError) as exc:
        raise CryptoError("state content is malformed", code="state-invalid") from exc
    if not isinstance(payload, dict) or not isinstance(nonce, str):
        raise CryptoError("state content is malformed", code="state-invalid")
    current = time.time() if now is None else now
    if current >= expires_at:
        raise CryptoError("state has expired; start the connection again", code="state-expired")
    return VerifiedState(payload=payload, nonce=nonce, issued_at=issued_at, expires_at=expires_at)
