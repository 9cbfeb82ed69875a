"""`cliply keys rotate`: re-encrypt every stored secret under the newest key.

Works row by row, each row in its own short transaction under a row lock, so the service
keeps running: while rotation is under way old and new ciphertexts sit side by side and
every key in TOKEN_ENCRYPTION_KEYS still decrypts. Rows that cannot be decrypted (their key
was removed from the setting) are left untouched and reported at the end.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import structlog
from sqlalchemy import or_, select

from cliply.accounts.models import ConnectedAccount, OAuthState
from cliply.accounts.tokens import ACCESS, REFRESH, account_aad, keyring, state_aad
from cliply.crypto import CryptoError, Keyring
from cliply.db.engine import owner_session

log = structlog.get_logger(__name__)


class RotationIncomplete(CryptoError):
    """Some stored secrets could not be re-encrypted; `failures` says which and why."""

    def __init__(self, rotated: int, failures: list[str]) -> None:
        shown = "; ".join(failures[:10]) + (" …" if len(failures) > 10 else "")
        super().__init__(
            f"re-encrypted {rotated} secret(s) but {len(failures)} could not be read "
            f"(add their old key back to TOKEN_ENCRYPTION_KEYS and run again): {shown}",
            code="rotation-incomplete",
        )
        self.rotated = rotated
        self.failures = failures


@dataclass
class RotationReport:
    rotated: int = 0
    failures: list[str] = field(default_factory=list)


def _stale(ring: Keyring, value: str | None) -> bool:
    if not value:
        return False
    try:
        return ring.needs_rotation(value)
    except CryptoError:
        return True  # malformed: let the rotation report it


def _rotate_account(ring: Keyring, account_id: uuid.UUID, report: RotationReport) -> None:
    with owner_session() as db:
        account = db.scalar(
            select(ConnectedAccount).where(ConnectedAccount.id == account_id).with_for_update()
        )
        if account is None:
            return
        for purpose, attr in ((ACCESS, "access_token_enc"), (REFRESH, "refresh_token_enc")):
            value: str | None = getattr(account, attr)
            if not _stale(ring, value):
                continue
            assert value is not None
            try:
                new = ring.rotate(value, account_aad(account.workspace_id, account.id, purpose))
            except CryptoError as exc:
                report.failures.append(f"connected_accounts {account.id} {purpose}: {exc.code}")
                continue
            setattr(account, attr, new)
            report.rotated += 1


def _rotate_state(ring: Keyring, nonce: str, report: RotationReport) -> None:
    with owner_session() as db:
        state = db.scalar(select(OAuthState).where(OAuthState.nonce == nonce).with_for_update())
        if state is None or not _stale(ring, state.code_verifier_enc):
            return
        try:
            state.code_verifier_enc = ring.rotate(
                state.code_verifier_enc, state_aad(state.workspace_id, state.nonce)
            )
        except CryptoError as exc:
            report.failures.append(f"oauth_states {state.nonce}: {exc.code}")
            return
        report.rotated += 1


def rotate_report(ring: Keyring | None = None) -> RotationReport:
    """Rotate everything it can; the report lists what it could not."""
    ring = ring or keyring()
    current_prefix = f"v1:{ring.current}:"
    report = RotationReport()
    with owner_session() as db:
        # Only rows holding a value under another key (prefix compare, no decryption).
        account_ids = list(
            db.scalars(
                select(ConnectedAccount.id).where(
                    or_(
                        ConnectedAccount.access_token_enc.not_like(current_prefix + "%"),
                        ConnectedAccount.refresh_token_enc.not_like(current_prefix + "%"),
                    )
                )
            )
        )
        nonces = list(
            db.scalars(
                select(OAuthState.nonce).where(
                    OAuthState.code_verifier_enc.not_like(current_prefix + "%")
                )
            )
        )
    for account_id in account_ids:
        _rotate_account(ring, account_id, report)
    for nonce in nonces:
        _rotate_state(ring, nonce, report)
    log.info("keys.rotated", rotated=report.rotated, failed=len(report.failures))
    return report


def rotate_all() -> int:
    """Re-encrypt every stored secret under the current key; returns how many were rewritten.

    Raises RotationIncomplete (a CryptoError) when some could not be decrypted.
    """
    report = rotate_report()
    if report.failures:
        raise RotationIncomplete(report.rotated, report.failures)
    return report.rotated
