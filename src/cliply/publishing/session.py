"""What a platform's publish flow may use during one attempt (`PublishSession`): the account's
token, refreshed on 401; the post's upload reference and status, committed at once; the
job's progress and timeline; the after-upload hooks."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from cliply.accounts.service import ensure_access_token
from cliply.integrations.oauth_common import TokenExpired
from cliply.jobs.registry import JobContext
from cliply.publishing import hooks, service

T = TypeVar("T")

# A token rejected right after a refresh twice in a row means something else is wrong.
MAX_REFRESHES = 2


class TokenSession:
    """An account's access token for the length of one attempt, refreshed on 401."""

    def __init__(self, account_id: uuid.UUID) -> None:
        self.account_id = account_id
        self._current = ensure_access_token(account_id)

    @property
    def current(self) -> str:
        return self._current

    def refresh(self) -> str:
        """A new token after the platform rejected `current` (another process may have
        refreshed already; then its token is used)."""
        self._current = ensure_access_token(self.account_id, rejected=self._current)
        return self._current

    def call(self, fn: Callable[[str], T]) -> T:
        """`fn(token)`, refreshing and calling again when the platform answers 401."""
        refreshes = 0
        while True:
            try:
                return fn(self._current)
            except TokenExpired:
                if refreshes >= MAX_REFRESHES:
                    raise
                refreshes += 1
                self.refresh()


class AttemptSession(TokenSession):
    def __init__(
        self, platform: str, account_id: uuid.UUID, post_id: uuid.UUID, ctx: JobContext
    ) -> None:
        super().__init__(account_id)
        self.platform = platform
        self.post_id = post_id
        self.ctx = ctx

    def record_upload_ref(self, ref: str, status: str = "uploading") -> None:
        service.record_upload_ref(self.post_id, ref, status)

    def record_status(self, status: str) -> None:
        service.record_status(self.post_id, status)

    def after_upload(self, ref: str) -> None:
        hooks.fire_after_upload(self.platform, self.post_id, ref)

    def event(self, name: str, message: str, **data: Any) -> None:
        self.ctx.event(name, message, **data)

    def progress(self, fraction: float, message: str | None = None) -> None:
        self.ctx.progress(fraction, message)
