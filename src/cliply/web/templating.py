"""Jinja2 environment of the Studio pages and `render`, which every page response goes through.

`render` puts into every template: `request`, `bs` (the BrowserSession or None),
`csrf_token`, `asset()` (URL of a bundled file) and whatever the page passes.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cliply import __version__
from cliply.config import get_settings
from cliply.web import session as web_session

HERE = Path(__file__).parent
DIST = HERE / "static" / "dist"
templates = Jinja2Templates(directory=str(HERE / "templates"))


@lru_cache(maxsize=256)
def _digest(name: str) -> str:
    path = DIST / name
    if not path.is_file():
        return __version__
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10]


def asset(name: str) -> str:
    """`/static/dist/<name>?v=<content hash>`: cache-busted URL of a built file."""
    return f"/static/dist/{name}?v={_digest(name)}"


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    h, m = divmod(s // 60, 60)
    return f"{h}:{m:02d}:{s % 60:02d}" if h else f"{m}:{s % 60:02d}"


def fmt_bytes(n: float | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


templates.env.globals.update(asset=asset, version=__version__)
templates.env.filters.update(duration=fmt_duration, filesize=fmt_bytes)


def browser_session(request: Request) -> web_session.BrowserSession | None:
    bs: web_session.BrowserSession | None = getattr(request.state, "browser_session", None)
    return bs


def secure_cookies(request: Request) -> bool:
    return request.url.scheme == "https" or get_settings().public_base_url.startswith("https://")


def render(  # a form shown again with its errors answers 200: browsers log 4xx documents
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    bs = browser_session(request)
    new_anon = None
    if bs is not None:
        csrf = bs.csrf_token
    else:
        anon = request.cookies.get(web_session.ANON_COOKIE, "")
        if not anon:
            anon = new_anon = secrets.token_urlsafe(24)
        csrf = web_session.csrf_token_for(anon)
    ctx: dict[str, Any] = {"bs": bs, "csrf_token": csrf, **(context or {})}
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    if new_anon is not None:
        response.set_cookie(
            web_session.ANON_COOKIE,
            new_anon,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )
    return response
