"""Encryption of connected-account tokens and OAuth verifiers at rest (AES-256-GCM).

Each ciphertext carries its key id (see `cliply.crypto`) and is bound to the row it belongs
to: workspace, account (or OAuth nonce) and purpose. A value copied into another row or
column does not decrypt, and a value whose key is missing raises `TokensUnreadable`; nothing
ever falls back to plaintext.
"""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Final

from cliply.accounts.models import ConnectedAccount, OAuthState
from cliply.crypto import CryptoError, Keyring, associated_data
from cliply.errors import CliplyError
from cliply.integrations.oauth_common import TokenSet
from cliply.keys import token_keys_spec

ACCESS: Final = "access_token"
REFRESH: Final = "refresh_token"
VERIFIER: Final = "code_verifier"


class TokensUnreadable(CliplyError):
    """A stored secret does not decrypt (key missing from TOKEN_ENCRYPTION_KEYS, or altered)."""

    status, code, title = 503, "token-decrypt-failed", "Stored token cannot be decrypted"


@lru_cache(maxsize=4)
def _keyring(spec: str) -> Keyring:
    return Keyring.from_setting(spec)


def keyring() -> Keyring:
    """The configured keyring (TOKEN_ENCRYPTION_KEYS; the first key encrypts)."""
    try:
        return _keyring(token_keys_spec())
    except CryptoError as exc:
        raise TokensUnreadable(
            f"TOKEN_ENCRYPTION_KEYS is not usable: {exc.message}", reason=exc.code
        ) from None


def account_aad(workspace_id: uuid.UUID, account_id: uuid.UUID, purpose: str) -> bytes:
    return associated_data("connected_accounts", workspace_id, account_id, purpose)


def state_aad(workspace_id: uuid.UUID, nonce: str) -> bytes:
    return associated_data("oauth_states", workspace_id, nonce, VERIFIER)


def _decrypt(ring: Keyring, token: str, aad: bytes, what: str) -> str:
    try:
        return ring.decrypt_text(token, aad)
    except CryptoError as exc:
        raise TokensUnreadable(
            f"The stored {what} cannot be decrypted: {exc.message}", reason=exc.code
        ) from None


def store_tokens(ring: Keyring, account: ConnectedAccount, tokens: TokenSet) -> None:
    """Encrypt and keep a fresh token set (the account's id and workspace must be set)."""
    account.access_token_enc = ring.encrypt(
        tokens.access_token, account_aad(account.workspace_id, account.id, ACCESS)
    )
    if tokens.refresh_token:
        account.refresh_token_enc = ring.encrypt(
            tokens.refresh_token, account_aad(account.workspace_id, account.id, REFRESH)
        )
        account.refresh_expires_at = tokens.refresh_expires_at
    account.access_expires_at = tokens.expires_at
    if tokens.scopes:
        account.scopes = ",".join(tokens.scopes)


def wipe_tokens(account: ConnectedAccount) -> None:
    account.access_token_enc = None
    account.refresh_token_enc = None
    account.access_expires_at = None
    account.refresh_expires_at = None


def access_token(ring: Keyring, account: ConnectedAccount) -> str:
    if not account.access_token_enc:
        raise TokensUnreadable("The account has no stored access token.", reason="missing")
    aad = account_aad(account.workspace_id, account.id, ACCESS)
    return _decrypt(ring, account.access_token_enc, aad, "access token")


def refresh_token(ring: Keyring, account: ConnectedAccount) -> str | None:
    if not account.refresh_token_enc:
        return None
    aad = account_aad(account.workspace_id, account.id, REFRESH)
    return _decrypt(ring, account.refresh_token_enc, aad, "refresh token")


def encrypt_verifier(ring: Keyring, workspace_id: uuid.UUID, nonce: str, verifier: str) -> str:
    return ring.encrypt(verifier, state_aad(workspace_id, nonce))


def verifier_of(ring: Keyring, state: OAuthState) -> str:
    aad = state_aad(state.workspace_id, state.nonce)
    return _decrypt(ring, state.code_verifier_enc, aad, "PKCE verifier")
