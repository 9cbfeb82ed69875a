"""Studio pages: team."""

from __future__ import annotations

from fastapi import APIRouter

from cliply.web.deps import PageRoute

router = APIRouter(route_class=PageRoute)
