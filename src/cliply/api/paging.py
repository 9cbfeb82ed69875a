"""Query parameters of every paged list endpoint (the page itself: `cliply.db.pagination`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

Cursor = Annotated[
    str | None, Query(max_length=500, description="`next_cursor` of the previous page.")
]
Limit = Annotated[int, Query(ge=1, le=100, description="Items per page.")]
