"""FastAPI dependencies: who is calling (bearer JWT or API key).

The workspace the caller acts in is resolved on top of this, in `cliply.workspaces.deps`.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from cliply.api.deps import DB
from cliply.api.ratelimit import enforce as enforce_rate_limit
from cliply.auth import service as auth_service
from cliply.auth.service import Principal
from cliply.config import get_settings
from cliply.errors import Unauthorized

bearer = HTTPBearer(auto_error=False, description="JWT access token or personal API key (clk_…)")


# The identity dependencies are async so that the context they bind (user_id, workspace_id)
# lives in the request's task and reaches every log line, including the route's (run in a
# thread with a copy of that context); their database work still runs in the threadpool.


async def current_principal(
    request: Request,
    db: DB,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized("Send `Authorization: Bearer <token>`.", code="unauthorized")
    principal = await run_in_threadpool(auth_service.resolve_bearer, db, creds.credentials)
    structlog.contextvars.bind_contextvars(user_id=str(principal.user_id))
    request.state.principal = principal
    await run_in_threadpool(
        enforce_rate_limit, f"p:{principal.key}", get_settings().rate_limit_per_minute
    )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
