"""The public redirect's database work: find a link by its code, count the click, answer the
product URL with UTM parameters.

It runs as the restricted role (row-level security on), first with no workspace at all: the
only way it can see a link is `cliply_resolve_short_link(code)`, which answers that one link
and nothing else. The click is then written with `app.workspace_id` set to the link's own
workspace, so the policy admits that insert and no other. Counting must never cost the
visitor the redirect: when the click cannot be written (or its commit fails) the redirect
still goes out, and the failure goes to the log and a metric.
"""

from __future__ import annotations

import structlog
from prometheus_client import Counter

from cliply.config import get_settings
from cliply.db.engine import get_sessionmaker
from cliply.db.tenancy import enter_tenant
from cliply.products import service

log = structlog.get_logger(__name__)

CLICKS_LOST = Counter(
    "cliply_link_clicks_lost_total", "Tracked-link clicks redirected but not recorded"
)


def follow(code: str, *, user_agent: str | None, country: str | None) -> str | None:
    """The target URL of the link `code` (None: no such link), after recording the click."""
    role = get_settings().database_app_role
    with get_sessionmaker()() as db:
        db.begin()
        enter_tenant(db, role=role, workspace_id=None, user_id=None)
        link = service.resolve_link(db, code)
        if link is None or not link.url:
            db.rollback()
            return None
        target = service.with_utm(link.url, link)
        try:
            enter_tenant(db, role=role, workspace_id=link.workspace_id, user_id=None)
            service.record_click(db, link, service.classify(user_agent, country))
            db.commit()
        except Exception as exc:  # any failure of the analytics write: redirect anyway
            db.rollback()
            CLICKS_LOST.inc()
            log.warning("link_click_not_recorded", link_id=str(link.link_id), error=repr(exc))
        return target
