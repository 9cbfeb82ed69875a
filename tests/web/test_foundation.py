"""The Studio's security plumbing in a real browser and over plain HTTP against `cliply serve`."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.web.conftest import check_page, sign_up

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_signup_creates_session_cookie_csp_and_workspace(page, studio):
    response = page.goto("/signup")
    csp = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    check_page(page, "signup")
    sign_up(page)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["cliply_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    # No token in web storage: the session lives only in the HttpOnly cookie.
    stored = page.evaluate(
        "() => [...Object.entries(localStorage), ...Object.entries(sessionStorage)]"
    )
    assert not [kv for kv in stored if "cls_" in kv[1] or "token" in kv[0].lower()], stored
    # The JSON API accepts the cookie + CSRF header from the page's own scripts.
    me = page.evaluate("() => fetch('/api/v1/auth/me').then(r => r.json())")
    assert "@example.com" in me["email"]


def test_state_change_without_csrf_token_is_refused(page, studio, studio_user):
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=studio.base_url, cookies=cookies) as c:
        # A form post with the session cookie but no token (what a cross-site form would send).
        r = c.post("/workspaces/new", data={"name": "Evil"})
        assert r.status_code == 403 and r.json()["type"].endswith("csrf-failed")
        # The same for the JSON API reached with the cookie.
        r = c.post("/api/v1/workspaces", json={"name": "Evil"})
        assert r.status_code == 403
        # With the page's token it works.
        token = re.search(r'name="csrf-token" content="([^"]+)"', c.get("/projects").text)[1]
        r = c.post("/api/v1/workspaces", json={"name": "Fine"}, headers={"X-CSRF-Token": token})
        assert r.status_code == 201, r.text
        # Bearer clients are unchanged: no cookie, no CSRF, their own auth.
    r = httpx.post(studio.url("/api/v1/workspaces"), json={"name": "x"})
    assert r.status_code == 401


def test_login_logout_and_bad_password_message(page, studio):
    email = sign_up(page)
    page.click("text=Log out")
    page.wait_for_url("**/login?bye=1")
    page.goto("/projects")
    page.wait_for_url("**/login?next=/projects")
    page.fill("#f-email", email)
    page.fill("#f-password", "wrong password!!")
    page.click("main button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Wrong email or password."
    check_page(page, "login")
    page.fill("#f-password", "correct horse battery")
    page.click("main button[type=submit]")
    page.wait_for_url("**/projects")
