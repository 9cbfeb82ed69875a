"""Auth for streaming routes: resolve the caller in a short transaction of its own.

The usual `DB` dependency keeps one transaction open for the whole request; a route that
streams gigabytes must not sit "idle in transaction" meanwhile, so it authenticates here and
opens short tenant-scoped transactions (`tenant_db`) only around its database work.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from cliply.auth.deps import bearer, current_principal
from cliply.config import get_settings
from cliply.db.engine import get_sessionmaker
from cliply.db.tenancy import enter_tenant
from cliply.workspaces.deps import Tenant, header_tenant


async def stream_tenant(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    x_workspace_id: Annotated[
        str | None,
        Header(description="Workspace to act in; optional when the caller belongs to exactly one."),
    ] = None,
) -> Tenant:
    session = get_sessionmaker()()
    try:
        await run_in_threadpool(session.begin)
        principal = await current_principal(request, session, creds)
        tenant = await header_tenant(request, session, principal, x_workspace_id)
        await run_in_threadpool(session.commit)
        return tenant
    finally:
        await run_in_threadpool(session.close)


StreamTenant = Annotated[Tenant, Depends(stream_tenant)]


@contextmanager
def tenant_db(tenant: Tenant) -> Iterator[Session]:
    """A short transaction under row-level security for `tenant`'s workspace; commits."""
    with get_sessionmaker()() as db, db.begin():
        enter_tenant(
            db,
            role=get_settings().database_app_role,
            workspace_id=tenant.workspace_id,
            user_id=tenant.user_id,
        )
        yield db
