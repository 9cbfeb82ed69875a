"""/api/v1/posts: published (and in-flight) posts, filterable by clip, account, status."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from cliply.api.deps import DB
from cliply.db.pagination import Page
from cliply.publishing import forms, service
from cliply.publishing.schemas import PostOut
from cliply.workspaces.deps import HeaderTenant

router = APIRouter(tags=["posts"])


@router.get("/posts", response_model=Page[PostOut])
def list_posts(
    tenant: HeaderTenant,
    db: DB,
    clip_id: uuid.UUID | None = None,
    account_id: uuid.UUID | None = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    platform: Annotated[str | None, Query(max_length=20)] = None,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Page[PostOut]:
    tenant.require("posts.read")
    rows, nxt = service.list_posts(
        db,
        tenant.workspace_id,
        clip_id=clip_id,
        account_id=account_id,
        status=status,
        platform=platform,
        cursor=cursor,
        limit=limit,
    )
    return Page[PostOut](items=[PostOut.model_validate(p) for p in rows], next_cursor=nxt)


@router.get("/posts/{post_id}", response_model=PostOut)
def get_post(post_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> PostOut:
    tenant.require("posts.read")
    return PostOut.model_validate(service.get_post(db, tenant.workspace_id, post_id))


@router.get(
    "/accounts/{account_id}/post-form",
    response_model=forms.PostForm,
    summary="The fields a post to this account asks for (TikTok: from creator_info, live)",
)
def post_form(account_id: uuid.UUID, tenant: HeaderTenant, db: DB) -> forms.PostForm:
    tenant.require("schedules.read")
    return forms.post_form(db, tenant.workspace_id, account_id)
