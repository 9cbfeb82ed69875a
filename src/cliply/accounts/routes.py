"""/api/v1/accounts: connect (OAuth), callback, list, disconnect (thin over the services)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from cliply.accounts import oauth, service
from cliply.accounts.schemas import AccountOut, ConnectIn, ConnectOut
from cliply.api.deps import DB
from cliply.api.paging import Cursor, Limit
from cliply.db.engine import owner_session
from cliply.db.pagination import Page
from cliply.platforms import registry
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(tags=["accounts"])

PlatformName = Annotated[
    str,
    Path(max_length=40, description=f"One of: {', '.join(registry.PLATFORMS)}."),
]


@router.post(
    "/accounts/{platform}/connect",
    response_model=ConnectOut,
    summary="Start connecting an account (tiktok, youtube, instagram, facebook): send the "
    "user to authorize_url",
)
def connect(
    platform: PlatformName, tenant: HeaderTenant, db: DB, body: ConnectIn | None = None
) -> ConnectOut:
    tenant.require("accounts.manage")
    started = oauth.start_connect(
        db,
        tenant.workspace_id,
        tenant.user_id,
        registry.get(platform),
        body.redirect_after if body else None,
    )
    return ConnectOut(authorize_url=started.authorize_url, expires_at=started.expires_at)


@router.get(
    "/accounts/{platform}/callback",
    response_model=AccountOut,
    responses={303: {"description": "Connected; redirect to the path given at connect"}},
    summary="OAuth redirect target (no bearer: the signed state identifies the workspace)",
)
async def callback(
    platform: PlatformName,
    code: Annotated[str | None, Query(max_length=2000)] = None,
    state: Annotated[str | None, Query(max_length=4000)] = None,
    error: Annotated[str | None, Query(max_length=200)] = None,
    error_description: Annotated[str | None, Query(max_length=1000)] = None,
) -> Response | AccountOut:
    known = registry.get(platform)
    done = await run_in_threadpool(
        lambda: oauth.complete_connect(
            known, code=code, state=state, error=error, error_description=error_description
        )
    )
    if done.redirect_after:
        sep = "&" if "?" in done.redirect_after else "?"
        target = f"{done.redirect_after}{sep}connected={known.name}&account_id={done.account_id}"
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return await run_in_threadpool(_account_out, done.workspace_id, done.account_id)


def _account_out(workspace_id: uuid.UUID, account_id: uuid.UUID) -> AccountOut:
    with owner_session() as db:
        return AccountOut.model_validate(service.get_account(db, workspace_id, account_id))


@router.get("/accounts", response_model=Page[AccountOut])
def list_accounts(
    tenant: HeaderTenant,
    db: DB,
    platform: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[AccountOut]:
    tenant.require("accounts.read")
    rows, nxt = service.page_accounts(
        db, tenant.workspace_id, platform=platform, status=status, cursor=cursor, limit=limit
    )
    return Page[AccountOut](items=[AccountOut.model_validate(a) for a in rows], next_cursor=nxt)


@router.get("/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> AccountOut:
    tenant.require("accounts.read")
    return AccountOut.model_validate(service.get_account(db, tenant.workspace_id, account_id))


# DELETE /accounts/{account_id} lives in schedules/routes.py: disconnecting also ends the
# account's pending schedules, a step the schedules domain leads (accounts sits below it).
