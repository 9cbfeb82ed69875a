"""/api/v1/auth and /api/v1/api-keys: thin HTTP over auth.service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Response, status

from cliply.api.deps import DB, auth_rate_limit
from cliply.api.paging import Cursor, Limit
from cliply.auth import service
from cliply.auth.deps import CurrentPrincipal
from cliply.auth.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    LoginIn,
    RefreshIn,
    SignupIn,
    TokenPair,
    UserOut,
)
from cliply.db.pagination import Page

router = APIRouter(tags=["auth"])


@router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    dependencies=[Depends(auth_rate_limit)],
)
def signup(body: SignupIn, db: DB) -> UserOut:
    return UserOut.model_validate(service.signup(db, body.email, body.password, body.name))


@router.post("/auth/login", response_model=TokenPair, dependencies=[Depends(auth_rate_limit)])
def login(body: LoginIn, db: DB) -> TokenPair:
    user = service.authenticate(db, body.email, body.password)
    return service.issue_tokens(db, user.id)


@router.post("/auth/refresh", response_model=TokenPair, dependencies=[Depends(auth_rate_limit)])
def refresh(body: RefreshIn) -> TokenPair:
    return service.rotate_refresh(body.refresh_token)


@router.post(
    "/auth/logout", status_code=status.HTTP_204_NO_CONTENT, dependencies=[Depends(auth_rate_limit)]
)
def logout(body: RefreshIn, db: DB) -> Response:
    service.logout(db, body.refresh_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/auth/me", response_model=UserOut)
def me(principal: CurrentPrincipal, db: DB) -> UserOut:
    return UserOut.model_validate(service.get_user(db, principal.user_id))


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyIn, principal: CurrentPrincipal, db: DB) -> ApiKeyCreated:
    key, raw = service.create_api_key(db, principal.user_id, body.name, body.expires_in_days)
    return ApiKeyCreated(**ApiKeyOut.model_validate(key).model_dump(), key=raw)


@router.get("/api-keys", response_model=Page[ApiKeyOut])
def list_api_keys(
    principal: CurrentPrincipal, db: DB, cursor: Cursor = None, limit: Limit = 50
) -> Page[ApiKeyOut]:
    rows, nxt = service.list_api_keys(db, principal.user_id, cursor=cursor, limit=limit)
    return Page[ApiKeyOut](items=[ApiKeyOut.model_validate(k) for k in rows], next_cursor=nxt)


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: uuid.UUID, principal: CurrentPrincipal, db: DB) -> Response:
    service.revoke_api_key(db, principal.user_id, key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
