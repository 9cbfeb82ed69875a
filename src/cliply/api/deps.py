"""FastAPI dependencies shared by every route: the request's transaction, per-IP rate limits.

A request runs in one transaction (`DB`). Who is calling is resolved in `cliply.auth.deps`,
and in which workspace in `cliply.workspaces.deps`: this module knows no domain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from cliply.api.problems import outage
from cliply.api.ratelimit import enforce as enforce_rate_limit
from cliply.config import get_settings
from cliply.db.engine import get_sessionmaker


def get_db() -> Iterator[Session]:
    with get_sessionmaker()() as session, session.begin():
        yield session
    outage.up()  # committed: the database is back if it was down


# scope="function": the transaction ends (commit, or rollback on an error) once the route has
# returned and its response is built, but BEFORE that response is sent. A 2xx therefore means
# committed, and a commit that fails is answered as an error (FastAPI's default scope would
# commit after the response had gone out).
DB = Annotated[Session, Depends(get_db, scope="function")]


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def auth_rate_limit(request: Request) -> None:
    await run_in_threadpool(
        enforce_rate_limit,
        f"ip:{client_ip(request)}:{request.url.path}",
        get_settings().auth_rate_limit_per_minute,
    )
