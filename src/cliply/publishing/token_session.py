"""An account's access token for the length of one publish attempt, refreshed on 401."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from cliply.accounts.service import ensure_access_token
from cliply.integrations.oauth_common import TokenExpired

T = TypeVar("T")

# A token rejected right after a refresh twice in a row means something else is wrong.
MAX_REFRESHES = 2


class TokenSession:
    def __init__(self, account_id: uuid.UUID) -> None:
        self.account_id = account_id
        self.current = ensure_access_token(account_id)

    def refresh(self) -> str:
        """A new token after the platform rejected `current` (another process may have
        refreshed already; then its token is used)."""
        self.current = ensure_access_token(self.account_id, rejected=self.current)
        return self.current

    def call(self, fn: Callable[[str], T]) -> T:
        """`fn(token)`, refreshing and calling again when the platform answers 401."""
        refreshes = 0
        while True:
            try:
                return fn(self.current)
            except TokenExpired:
                if refreshes >= MAX_REFRESHES:
                    raise
                refreshes += 1
                self.refresh()
