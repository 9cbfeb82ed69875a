"""How many jobs a workspace may run at once: its plan's `concurrent_jobs`.

`workspace_job_caps` is the one place the cap is looked up. The plan belongs to billing, which
sits above jobs (it registers periodic tasks here), so billing's resolver is handed down by
the assembly (`cliply.app.install_hooks` calls `set_cap_resolver`). Workers keep the answers
for a few seconds (`CapCache`) so a claim rarely pays for the lookup.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable

from sqlalchemy import Connection
from sqlalchemy.orm import Session

CAP_CACHE_TTL_S = 15.0

# {workspace_id: jobs it may have running at once} for the given workspaces.
CapResolver = Callable[[Session, list[uuid.UUID]], dict[uuid.UUID, int]]
_resolver: CapResolver | None = None


def set_cap_resolver(resolver: CapResolver) -> None:
    global _resolver
    _resolver = resolver


def workspace_job_caps(
    db: Session | Connection, workspace_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """{workspace_id: jobs it may have running at once, across all workers}."""
    ids = list(dict.fromkeys(workspace_ids))
    if not ids:
        return {}
    if _resolver is None:
        # Claiming without caps would let one workspace run past its plan: refuse loudly.
        raise RuntimeError("no job cap resolver installed (call cliply.app.install_hooks())")
    # The billing resolver reads ORM objects; a Session over the caller's connection joins
    # its transaction without committing or rolling it back.
    session = db if isinstance(db, Session) else Session(bind=db)
    return _resolver(session, ids)


def workspace_job_cap(db: Session | Connection, workspace_id: uuid.UUID) -> int:
    return workspace_job_caps(db, [workspace_id])[workspace_id]


class CapCache:
    """Caps looked up recently (a plan change reaches workers within `ttl_s`)."""

    def __init__(self, ttl_s: float = CAP_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._caps: dict[uuid.UUID, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def known(self) -> dict[uuid.UUID, int]:
        now = time.monotonic()
        with self._lock:
            for ws in [w for w, (_, exp) in self._caps.items() if exp <= now]:
                del self._caps[ws]
            return {ws: cap for ws, (cap, _) in self._caps.items()}

    def get_many(self, db: Session | Connection, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
        wanted = set(ids)
        known = self.known()
        missing = wanted - known.keys()
        if missing:
            fresh = workspace_job_caps(db, missing)
            expires = time.monotonic() + self.ttl_s
            with self._lock:
                for ws, cap in fresh.items():
                    self._caps[ws] = (cap, expires)
            known.update(fresh)
        return {ws: known[ws] for ws in wanted if ws in known}
