"""Sign up, log in, log out, password reset by emailed token; workspace creation and switch."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from cliply.api.deps import DB, auth_rate_limit
from cliply.auth import service as auth_service
from cliply.auth.schemas import SignupIn
from cliply.config import get_settings
from cliply.errors import CliplyError, NotFound
from cliply.web import session as web_session
from cliply.web.deps import PageRoute, SignedIn, redirect
from cliply.web.mailer import get_mailer
from cliply.web.templating import browser_session, render, secure_cookies
from cliply.workspaces import service as ws_service
from cliply.workspaces.schemas import WorkspaceIn

router = APIRouter(route_class=PageRoute)
RateLimited = [Depends(auth_rate_limit)]


def safe_next(url: str | None, default: str = "/projects") -> str:
    """Only local paths: `next` must not send a freshly signed-in user to another site."""
    if url and url.startswith("/") and not url.startswith("//") and "\\" not in url:
        return url
    return default


def start_session(request: Request, response: Response, db: DB, user_id: uuid.UUID) -> None:
    raw = web_session.create(db, user_id, request.headers.get("user-agent", ""))
    response.set_cookie(
        web_session.SESSION_COOKIE,
        raw,
        max_age=get_settings().web_session_ttl_s,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )


def _field_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        loc = str(e["loc"][0]) if e.get("loc") else "form"
        msg = str(e.get("msg", "Not valid"))
        if loc == "password" and "at least" in msg:
            msg = "Use at least 10 characters."
        elif loc == "email":
            msg = "Enter a valid email address."
        out.setdefault(loc, msg.removeprefix("Value error, "))
    return out


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    return redirect(request, "/projects" if browser_session(request) else "/login")


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "") -> Response:
    if browser_session(request):
        return redirect(request, safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next, ""), "errors": {}})


@router.post("/login", dependencies=RateLimited)
def login(
    request: Request,
    db: DB,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    try:
        user = auth_service.authenticate(db, email, password)
    except CliplyError as exc:
        ctx = {"next": next, "email": email, "errors": {"form": exc.detail}}
        return render(request, "auth/login.html", ctx)
    response = redirect(request, safe_next(next))
    start_session(request, response, db, user.id)
    return response


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, next: str = "", email: str = "") -> Response:
    ctx = {"next": safe_next(next, ""), "email": email, "errors": {}}
    return render(request, "auth/signup.html", ctx)


@router.post("/signup", dependencies=RateLimited)
def signup(
    request: Request,
    db: DB,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    name: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    ctx = {"next": next, "email": email, "name": name}
    try:
        body = SignupIn(email=email, password=password, name=name)
        user = auth_service.signup(db, body.email, body.password, body.name)
    except ValidationError as exc:
        return render(request, "auth/signup.html", {**ctx, "errors": _field_errors(exc)})
    except CliplyError as exc:
        return render(request, "auth/signup.html", {**ctx, "errors": {"email": exc.detail}})
    # A new account goes on to name its first workspace (unless it came to accept an invite).
    response = redirect(request, safe_next(next, "/workspaces/new"))
    start_session(request, response, db, user.id)
    return response


@router.post("/logout")
def logout(request: Request, db: DB) -> Response:
    raw = request.cookies.get(web_session.SESSION_COOKIE)
    if raw:
        web_session.destroy(db, raw)
    response = redirect(request, "/login?bye=1")
    response.delete_cookie(web_session.SESSION_COOKIE, path="/")
    return response


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_page(request: Request) -> Response:
    return render(request, "auth/forgot.html", {"errors": {}})


@router.post("/password/forgot", dependencies=RateLimited)
async def forgot(request: Request, db: DB, email: Annotated[str, Form()] = "") -> Response:
    if "@" not in email:
        ctx = {"email": email, "errors": {"email": "Enter the email address of your account."}}
        return render(request, "auth/forgot.html", ctx)
    found = await run_in_threadpool(web_session.start_reset, db, email)
    if found is not None:
        user, token = found
        link = f"{get_settings().public_base_url.rstrip('/')}/password/reset?token={token}"
        body = (
            f"Hello{' ' + user.name if user.name else ''},\n\n"
            f"Someone asked to reset the password of your Cliply account.\n"
            f"Choose a new password here (the link works once, for "
            f"{get_settings().password_reset_ttl_s // 60} minutes):\n\n{link}\n\n"
            "If it was not you, ignore this email; your password stays as it is.\n"
        )
        await run_in_threadpool(get_mailer().send, user.email, "Reset your Cliply password", body)
    # The same answer either way: the form must not tell who has an account.
    return render(request, "auth/forgot.html", {"sent": True, "email": email, "errors": {}})


@router.get("/password/reset", response_class=HTMLResponse)
def reset_page(request: Request, token: str = "") -> Response:
    return render(request, "auth/reset.html", {"token": token, "errors": {}})


@router.post("/password/reset", dependencies=RateLimited)
def reset(
    request: Request,
    db: DB,
    token: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
) -> Response:
    try:
        user = web_session.finish_reset(db, token, password)
    except CliplyError as exc:
        field = "password" if exc.code == "password-too-short" else "form"
        ctx = {"token": token, "errors": {field: exc.detail}}
        return render(request, "auth/reset.html", ctx)
    response = redirect(request, "/projects?reset=1")
    start_session(request, response, db, user.id)
    return response


# --- workspaces without a current one -----------------------------------------------------------


@router.get("/workspaces/new", response_class=HTMLResponse)
def new_workspace_page(request: Request, bs: SignedIn, db: DB) -> Response:
    first = not ws_service.list_for_user(db, bs.user_id)
    return render(request, "workspaces/new.html", {"first": first, "errors": {}})


@router.post("/workspaces/new")
def new_workspace(
    request: Request, bs: SignedIn, db: DB, name: Annotated[str, Form()] = ""
) -> Response:
    try:
        body = WorkspaceIn(name=name)
    except ValidationError:
        ctx = {"name": name, "errors": {"name": "Give the workspace a name."}}
        return render(request, "workspaces/new.html", ctx)
    ws = ws_service.create_workspace(db, bs.user_id, body.name)
    web_session.set_workspace(db, bs.id, ws.id)
    return redirect(request, "/projects/new")


@router.post("/workspaces/switch")
def switch_workspace(
    request: Request, bs: SignedIn, db: DB, workspace_id: Annotated[uuid.UUID, Form()]
) -> Response:
    if ws_service.membership(db, workspace_id, bs.user_id) is None:
        raise NotFound("No such workspace.")
    web_session.set_workspace(db, bs.id, workspace_id)
    return redirect(request, "/projects")
