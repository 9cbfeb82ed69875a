"""Cursor pagination, the one way every list endpoint pages: keyset over a unique sort key.

`paginate` walks a select in the order of `keys` (newest first by default: `created_at`, then
the id to break ties), and returns one page of rows plus an opaque cursor for the next page
(None on the last). A cursor holds the last row's key values, so pages stay stable while rows
are added. The keys must be non-null and, taken together, unique.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, literal, tuple_
from sqlalchemy.orm import QueryableAttribute, Session

from cliply.errors import BadRequest

T = TypeVar("T")
# A sort key: a mapped attribute (Job.created_at) or any SQL expression.
Key = ColumnElement[Any] | QueryableAttribute[Any]
DEFAULT_LIMIT = 50
MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    """The shape of every list the API returns: the items and the cursor of the next page."""

    items: list[T]
    next_cursor: str | None = None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _typed(value: Any, key: ColumnElement[Any]) -> Any:
    kind = key.type.python_type
    if kind is datetime:
        return datetime.fromisoformat(str(value))
    if kind is uuid.UUID:
        return uuid.UUID(str(value))
    if kind in (int, float, str) and isinstance(value, bool):
        raise ValueError("not a key value")
    return kind(value)


def decode_cursor(cursor: str, keys: Sequence[ColumnElement[Any]]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(keys):
            raise ValueError("wrong length")
        return [_typed(v, k) for v, k in zip(raw, keys, strict=True)]
    except (ValueError, TypeError, NotImplementedError):
        raise BadRequest("The cursor is not valid.", code="invalid-cursor") from None


def encode_offset(offset: int) -> str:
    """The cursor of a list ranked in memory (e.g. by a computed metric): a position."""
    return encode_cursor(["offset", offset])


def decode_offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        tag, offset = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if tag != "offset" or not isinstance(offset, int) or offset < 0:
            raise ValueError("not an offset cursor")
        return offset
    except (ValueError, TypeError):
        raise BadRequest("The cursor is not valid.", code="invalid-cursor") from None


def _column(key: Key) -> ColumnElement[Any]:
    return key.expression if isinstance(key, QueryableAttribute) else key


def paginate(
    db: Session,
    stmt: Select[*tuple[Any, ...]],
    sort_keys: Sequence[Key],
    cursor: str | None,
    limit: int,
    *,
    descending: bool = True,
) -> tuple[list[Any], str | None]:
    """One page of `stmt` in `keys` order (all descending, or all ascending).

    Returns the rows (the entity itself for a one-entity select, else tuples of the selected
    columns) and the next page's cursor."""
    keys = [_column(k) for k in sort_keys]
    width = len(stmt.column_descriptions)  # entities or columns selected (not their columns)
    if cursor:
        after = [literal(v, k.type) for v, k in zip(decode_cursor(cursor, keys), keys, strict=True)]
        row, mark = tuple_(*keys), tuple_(*after)
        stmt = stmt.where(row < mark if descending else row > mark)
    order = [k.desc() if descending else k.asc() for k in keys]
    rows = db.execute(stmt.add_columns(*keys).order_by(*order).limit(limit + 1)).all()
    nxt = encode_cursor(rows[limit - 1][width:]) if len(rows) > limit else None
    items = [r[0] if width == 1 else tuple(r[:width]) for r in rows[:limit]]
    return items, nxt
