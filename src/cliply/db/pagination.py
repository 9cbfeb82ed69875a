"""Cursor pagination over (created_at, id), newest first: stable under inserts."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from cliply.errors import BadRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(created_at: datetime, id_: uuid.UUID | int) -> str:
    raw = json.dumps([created_at.isoformat(), str(id_)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        ts, id_ = json.loads(raw)
        return datetime.fromisoformat(ts), str(id_)
    except (ValueError, TypeError):
        raise BadRequest("The cursor is not valid.", code="invalid-cursor") from None


def paginate(
    db: Session,
    stmt: Select[Any],
    created: InstrumentedAttribute[Any],
    ident: InstrumentedAttribute[Any],
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], str | None]:
    if cursor:
        ts, id_ = decode_cursor(cursor)
        stmt = stmt.where(or_(created < ts, and_(created == ts, ident < id_)))
    rows = list(db.scalars(stmt.order_by(created.desc(), ident.desc()).limit(limit + 1)))
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        nxt = encode_cursor(getattr(last, created.key), getattr(last, ident.key))
    return rows, nxt
