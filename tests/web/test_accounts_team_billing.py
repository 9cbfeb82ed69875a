"""Accounts, team and billing pages in a real browser (E2E steps 5 and 6, password reset)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.web.conftest import PASSWORD, check_page, drop_file, log_in, new_page, sign_up

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _link(mail: str, path: str) -> str:
    m = re.search(r"http://127\.0\.0\.1:\d+(" + re.escape(path) + r"\?token=[\w-]+)", mail)
    assert m, mail
    return m.group(1)


def test_password_reset_by_emailed_token(page, studio):
    email = sign_up(page)
    page.click("text=Log out")
    page.click("text=Forgot your password?")
    check_page(page, "forgot-password")
    page.fill("#f-email", email)
    page.click("main button[type=submit]")
    assert "we have emailed it a link" in page.inner_text("main")
    mail = next(m for m in reversed(studio.mails()) if email in m)
    link = _link(mail, "/password/reset")
    page.goto(link)
    check_page(page, "reset-password")
    page.fill("#f-password", "short")
    page.click("main button[type=submit]")
    assert page.locator("#err-password").inner_text() == "Use at least 10 characters."
    page.fill("#f-password", "a brand new password")
    page.click("main button[type=submit]")
    page.wait_for_url("**/projects?reset=1")
    # The link is single use, and the old password no longer works.
    page.click("text=Log out")
    page.goto(link)
    page.fill("#f-password", "another new password")
    page.click("main button[type=submit]")
    assert "already used" in page.locator("[role=alert]").inner_text()
    page.goto("/login")
    page.fill("#f-email", email)
    page.fill("#f-password", PASSWORD)
    page.click("main button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "Wrong email or password."


def test_step5_invite_a_viewer_who_cannot_edit(processed_project, page, browser, studio):
    log_in(page, processed_project.email)
    page.goto("/team")
    viewer = f"viewer-{uuid.uuid4().hex[:8]}@example.com"
    page.fill("#f-email", "not-an-email")
    page.click("main form[action='/team/invitations'] button[type=submit]")
    assert page.locator("#err-email").is_visible()
    page.fill("#f-email", viewer)
    page.select_option("#f-role", "viewer")
    page.click("main form[action='/team/invitations'] button[type=submit]")
    shown = page.locator("#invite-link").input_value()
    check_page(page, "team")
    mail = next(m for m in reversed(studio.mails()) if viewer in m)
    link = _link(mail, "/invitations/accept")
    assert shown.endswith(link)

    from tests.web.conftest import ConsoleErrors

    errors = ConsoleErrors()
    ctx, vpage = new_page(browser, studio, errors)
    try:
        vpage.goto(link)
        check_page(vpage, "accept-invitation")
        vpage.click("text=Create an account to join")
        assert vpage.locator("#f-email").input_value() == viewer
        vpage.fill("#f-password", PASSWORD)
        vpage.click("main button[type=submit]")
        vpage.wait_for_url("**/invitations/accept?token=*")
        vpage.click("main button[type=submit]")
        vpage.wait_for_url("**/projects?joined=1")
        assert "You are viewer here" in vpage.inner_text("main")
        # The viewer sees the clips but no way to change them.
        vpage.goto(f"/projects/{processed_project.project_id}/clips")
        assert vpage.locator(".clip-card").count() >= 1
        assert vpage.locator("a:has-text('Edit'), #bulk-delete, #bulk-schedule").count() == 0
        assert vpage.locator("text=New project").count() == 1  # nav, but the page refuses:
        errors.allow("403")
        vpage.goto("/projects/new")
        assert "does not allow this" in vpage.inner_text("main")
        # Even a hand-made API call from the viewer's page is refused by the API.
        status = vpage.evaluate(
            """async (id) => (await fetch('/api/v1/clips/' + id, {method: 'PATCH',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token':
                document.querySelector('meta[name=csrf-token]').content},
                body: JSON.stringify({title: 'hacked'})})).status""",
            processed_project.clip_ids[0],
        )
        assert status == 403
        # The viewer can leave; with no workspace left, they are offered to create one.
        vpage.goto("/team")
        vpage.click("text=Leave workspace")
        vpage.wait_for_url("**/workspaces/new")
        assert not errors.unexpected(), errors.unexpected()
    finally:
        ctx.close()
    # After leaving, the viewer is gone from the owner's team page.
    page.goto("/team")
    assert page.locator("tr", has_text=viewer).count() == 0
    (left,) = studio.sql("SELECT count(*) FROM audit_log WHERE action = 'member.remove'")
    assert left[0] >= 1


def test_step6_plan_limit_shows_the_upgrade_path(page, studio, talk_file, console_errors):
    from cliply.billing.gate import period_bounds

    sign_up(page, workspace="Limited")
    (ws,) = studio.sql(
        "SELECT w.id FROM workspaces w JOIN workspace_members m ON m.workspace_id = w.id "
        "JOIN users u ON u.id = m.user_id WHERE w.name = 'Limited' ORDER BY w.created_at DESC "
        "LIMIT 1"
    )
    studio.sql(
        "INSERT INTO workspace_usage (workspace_id, metric, period_start, quantity) "
        "VALUES (:w, 'projects', :p, 10)",
        w=ws[0],
        p=period_bounds()[0],
    )
    page.goto("/billing")
    check_page(page, "billing")
    assert "10 of 10" in page.inner_text("main")
    console_errors.allow("402")
    page.goto("/projects/new")
    check_page(page, "new-project")
    drop_file(page, "#dropzone", talk_file)
    dialog = page.locator("#limit-dialog")
    dialog.wait_for(state="visible")
    assert "projects" in dialog.inner_text().lower()
    assert "Pro plan lifts this limit" in dialog.inner_text()
    assert "project" in page.locator("#upload-form .field-error").inner_text().lower()
    page.screenshot(path=str(studio.data_dir / "limit-dialog.png"))
    page.click("#limit-upgrade")
    page.wait_for_url("**/billing?upgrade=pro")
    assert page.locator("[data-highlight]").inner_text().startswith("Pro")
    # Upgrading goes to Stripe Checkout (faked; the browser never leaves loopback).
    seen: list[str] = []

    def checkout(route):
        seen.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<title>Checkout</title>")

    page.route("https://checkout.stripe.com/**", checkout)
    page.click("text=Upgrade to Pro")
    page.wait_for_url("https://checkout.stripe.com/**")
    assert seen and "/c/pay/cs_" in seen[0]


def test_jobs_page_for_owners(processed_project, page, studio):
    log_in(page, processed_project.email)
    page.goto("/jobs")
    assert "No failed jobs" in page.inner_text("main")
    check_page(page, "jobs")
    page.click("a:has-text('All')")
    page.click("td a:has-text('TRANSCRIBE')")
    assert "succeeded" in page.inner_text(".timeline")
    check_page(page, "job")
    # A failed job can be retried from the page.
    (ws,) = studio.sql(
        "SELECT workspace_id FROM projects WHERE id = CAST(:p AS uuid)",
        p=processed_project.project_id,
    )
    (job,) = studio.sql(
        "INSERT INTO jobs (workspace_id, kind, status, attempts, max_attempts, error) "
        "VALUES (:w, 'STUDIO_TEST_NOOP', 'failed', 5, 5, 'it broke') RETURNING id::text",
        w=ws[0],
    )
    page.goto("/jobs")
    row = page.locator("tr", has_text="STUDIO_TEST_NOOP")
    assert "it broke" in row.inner_text()
    row.locator("button:has-text('Retry')").click()
    page.wait_for_load_state("load")
    page.wait_for_function("() => !document.body.innerText.includes('it broke')")
    # Queued again by this user (a worker may even have picked it up since).
    events = studio.sql(
        "SELECT event, message FROM job_events WHERE job_id = CAST(:j AS uuid)", j=job[0]
    )
    assert [e for e in events if e[0] == "retried" and (e[1] or "").startswith("user:")]
