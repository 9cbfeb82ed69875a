"""The experiments API against the real database and the fake platforms: variants become
clips of their own with one CLIP_RENDER each, scheduled across accounts with the window
between variants on one account, posts attached automatically, the rule's winner, stop by
hand, promotion (by hand and automatic), plan gating and bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cliply.db.engine import owner_session
from cliply.experiments import service
from cliply.experiments.models import Experiment
from tests.conftest import reset_caches
from tests.experiments.helpers import jobs_of, measured_post, schedules_of
from tests.publishing.helpers import World, connect, run_due_jobs, set_plan

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def _create(world: World, **body: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "clip_id": str(world.clip_id),
        "name": "Which hook?",
        "variants": [{"label": "A"}, {"label": "B", "title": "Wait for it"}],
    }
    payload.update(body)
    r = world.api.post("/api/v1/experiments", json=payload, headers=world.h)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _evaluate() -> list[Any]:
    with owner_session() as db:
        service.queue_due(db)
    return run_due_jobs([service.EXPERIMENT_EVALUATE])


def test_variants_render_schedule_spread_and_winner(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPERIMENT_ACCOUNT_WINDOW_S", "3600")
    reset_caches()
    tt, yt = connect(world, "tiktok"), connect(world, "youtube")
    exp = _create(
        world,
        variants=[
            {"label": "A"},
            {
                "label": "B",
                "title": "Wait for it",
                "hashtags": ["wow", "#shorts"],
                "caption_style": "boxed",
                "title_overlay": True,
                "thumbnail_at": 0.5,
            },
        ],
        schedule={"account_ids": [tt["id"], yt["id"]], "mode": "all", "privacy": "public"},
    )
    assert exp["status"] == "running" and exp["metric"] == "views"
    assert exp["threshold"] == 0.95 and exp["deadline_at"] is not None
    a, b = exp["variants"]
    assert a["changes"] == {}
    assert b["changes"] == {
        "title": "Wait for it",
        "hashtags": ["#wow", "#shorts"],
        "caption_style": "boxed",
        "title_overlay": True,
        "thumbnail_at": 0.5,
    }
    # Each variant is its own clip with its own CLIP_RENDER (its own look), not in the gallery.
    assert a["clip_id"] != b["clip_id"] != str(world.clip_id)
    renders = jobs_of("CLIP_RENDER")
    assert sorted(j.payload["clip_id"] for j in renders) == sorted([a["clip_id"], b["clip_id"]])
    assert {a["render_job_id"], b["render_job_id"]} == {str(j.id) for j in renders}
    assert a["clip_status"] == b["clip_status"] == "queued"
    clip_b = world.api.get(f"/api/v1/clips/{b['clip_id']}", headers=world.h).json()
    assert clip_b["title"] == "Wait for it" and clip_b["caption_style"] == "boxed"
    gallery = world.api.get(f"/api/v1/projects/{world.project_id}/clips", headers=world.h).json()
    assert [c["id"] for c in gallery["items"]] == [str(world.clip_id)]

    # Every variant on every account; on each account the two variants 1 h (the setting) apart.
    rows = schedules_of([a["clip_id"], b["clip_id"]])
    assert len(rows) == 4
    for account in (tt["id"], yt["id"]):
        times = sorted(r.scheduled_at for r in rows if str(r.account_id) == account)
        assert times[1] - times[0] == timedelta(hours=1)
    assert {r.title for r in rows if str(r.clip_id) == b["clip_id"]} == {"Wait for it"}

    # Posts of the variants, measured: B has three times the views per hour.
    pa = measured_post(world.workspace_id, a["clip_id"], tt["id"], "tiktok", views=2000)
    pb = measured_post(world.workspace_id, b["clip_id"], yt["id"], "youtube", views=6000)
    ran = _evaluate()
    assert [r.status for r in ran] == ["succeeded"], ran
    got = world.api.get(f"/api/v1/experiments/{exp['id']}", headers=world.h).json()
    assert got["status"] == "ended" and got["stop_reason"] == "threshold"
    assert got["winner_variant_id"] == b["id"] == got["leader_variant_id"]
    va, vb = got["variants"]
    assert va["post_ids"] == [str(pa)] and vb["post_ids"] == [str(pb)]
    assert vb["stats"]["p_best"] > 0.99 and va["stats"]["p_best"] < 0.01
    assert vb["stats"]["low"] < vb["stats"]["mean"] < vb["stats"]["high"]
    assert vb["stats"]["mean"] == pytest.approx(3000, rel=0.02)  # views per hour
    # The loser's posts still waiting are cancelled; the winner's stay.
    after = {(str(r.clip_id), r.status) for r in schedules_of([a["clip_id"], b["clip_id"]])}
    assert (a["clip_id"], "scheduled") not in after and (b["clip_id"], "scheduled") in after
    # Ended: nothing more to evaluate, stopping again is refused.
    with owner_session() as db:
        assert service.queue_due(db) == 0
    r = world.api.post(f"/api/v1/experiments/{exp['id']}/stop", json={}, headers=world.h)
    assert r.status_code == 409 and r.json()["type"].endswith("/experiment-ended")


def test_no_winner_on_equal_variants_then_stop_by_hand_and_promote(world: World) -> None:
    tt, yt = connect(world, "tiktok"), connect(world, "youtube")
    exp = _create(world, schedule={"account_ids": [tt["id"], yt["id"]], "mode": "split"})
    a, b = exp["variants"]
    rows = schedules_of([a["clip_id"], b["clip_id"]])
    assert sorted((str(r.clip_id), str(r.account_id)) for r in rows) == sorted(
        [(a["clip_id"], tt["id"]), (b["clip_id"], yt["id"])]
    )
    measured_post(world.workspace_id, a["clip_id"], tt["id"], "tiktok", views=3000)
    measured_post(world.workspace_id, b["clip_id"], yt["id"], "youtube", views=3000)
    assert [r.status for r in _evaluate()] == ["succeeded"]
    got = world.api.get(f"/api/v1/experiments/{exp['id']}", headers=world.h).json()
    assert got["status"] == "running" and got["winner_variant_id"] is None and got["ready"]
    assert [round(v["stats"]["p_best"], 1) for v in got["variants"]] == [0.5, 0.5]
    # No winner yet: nothing to promote.
    r = world.api.post(f"/api/v1/experiments/{exp['id']}/promote", json={}, headers=world.h)
    assert r.status_code == 409 and r.json()["type"].endswith("/experiment-no-winner")
    # Stop by hand, naming the winner; then promote it to the account that has not posted it.
    r = world.api.post(
        f"/api/v1/experiments/{exp['id']}/stop",
        json={"winner_variant_id": b["id"]},
        headers=world.h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["stop_reason"] == "manual" and r.json()["winner_variant_id"] == b["id"]
    r = world.api.post(f"/api/v1/experiments/{exp['id']}/promote", json={}, headers=world.h)
    assert r.status_code == 200, r.text
    (promoted,) = r.json()["scheduled"]
    assert promoted["account_id"] == tt["id"]
    # A was posted on TikTok just now: B waits out the window (6 h by default) there.
    a_at = next(r.scheduled_at for r in schedules_of([a["clip_id"]]))
    gap = datetime.fromisoformat(promoted["scheduled_at"]) - a_at
    assert timedelta(hours=6) <= gap < timedelta(hours=6, minutes=5)
    # Promoting again adds nothing: every account has it now.
    r = world.api.post(f"/api/v1/experiments/{exp['id']}/promote", json={}, headers=world.h)
    assert r.json()["scheduled"] == []


def test_auto_promote_and_engagement_metric(world: World) -> None:
    tt, yt = connect(world, "tiktok"), connect(world, "youtube")
    exp = _create(
        world,
        metric="engagement_rate",
        auto_promote=True,
        schedule={"account_ids": [tt["id"], yt["id"]], "mode": "split"},
    )
    a, b = exp["variants"]
    # A: 2 % engagement, B: 8 % on the same views.
    measured_post(world.workspace_id, a["clip_id"], tt["id"], "tiktok", views=5000, likes=100)
    measured_post(world.workspace_id, b["clip_id"], yt["id"], "youtube", views=5000, likes=400)
    _evaluate()
    got = world.api.get(f"/api/v1/experiments/{exp['id']}", headers=world.h).json()
    assert got["winner_variant_id"] == b["id"] and got["promoted_at"] is not None
    assert got["variants"][1]["stats"]["mean"] == pytest.approx(0.08, abs=0.005)
    on_tiktok = [r for r in schedules_of([b["clip_id"]]) if str(r.account_id) == tt["id"]]
    assert len(on_tiktok) == 1 and on_tiktok[0].status == "scheduled"


def test_deadline_stops_without_a_winner(world: World) -> None:
    tt = connect(world, "tiktok")
    exp = _create(world, schedule={"account_ids": [tt["id"]]})
    with owner_session() as db:
        row = db.get(Experiment, uuid.UUID(exp["id"]))
        assert row is not None
        row.deadline_at = datetime.now(UTC) - timedelta(seconds=1)
    assert [r.status for r in _evaluate()] == ["succeeded"]
    got = world.api.get(f"/api/v1/experiments/{exp['id']}", headers=world.h).json()
    assert (got["status"], got["stop_reason"], got["winner_variant_id"]) == (
        "ended",
        "deadline",
        None,
    )


def test_draft_then_schedule_list_and_gating(world: World) -> None:
    tt = connect(world, "tiktok")
    exp = _create(world)
    assert exp["status"] == "draft" and exp["plan"] == {}
    r = world.api.post(
        f"/api/v1/experiments/{exp['id']}/schedule",
        json={"account_ids": [tt["id"]]},
        headers=world.h,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "running" and r.json()["plan"]["account_ids"] == [tt["id"]]
    r = world.api.post(
        f"/api/v1/experiments/{exp['id']}/schedule",
        json={"account_ids": [tt["id"]]},
        headers=world.h,
    )
    assert r.status_code == 409
    page = world.api.get("/api/v1/experiments?limit=1", headers=world.h).json()
    assert [e["id"] for e in page["items"]] == [exp["id"]] and page["next_cursor"] is None
    assert world.api.get("/api/v1/experiments?status=ended", headers=world.h).json()["items"] == []
    # Pro: at most 3 variants, 3 experiments not ended.
    four = [{"label": x} for x in "ABCD"]
    r = world.api.post(
        "/api/v1/experiments",
        json={"clip_id": str(world.clip_id), "name": "x", "variants": four},
        headers=world.h,
    )
    assert r.status_code == 402 and r.json()["limit"] == "experiment_variants"
    assert r.json()["upgrade_to"] == "premium"
    _create(world)
    _create(world)
    r = world.api.post(
        "/api/v1/experiments",
        json={"clip_id": str(world.clip_id), "name": "x", "variants": four[:2]},
        headers=world.h,
    )
    assert r.status_code == 402 and r.json()["limit"] == "running_experiments"
    set_plan(world.workspace_id, "basic")
    r = world.api.get("/api/v1/experiments", headers=world.h)
    assert r.status_code == 402 and r.json()["type"].endswith("/plan-feature-unavailable")


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"variants": [{"label": "A"}]}, 422, "validation-error"),
        ({"variants": [{"label": x} for x in "ABCDEF"]}, 422, "validation-error"),
        ({"variants": [{"label": "A"}, {"label": "A"}]}, 422, "validation-error"),
        ({"metric": "likes"}, 422, "validation-error"),
        (
            {"variants": [{"label": "A"}, {"label": "B", "hook_sentence": 1}]},
            409,
            "transcript-not-ready",
        ),
        (
            {"variants": [{"label": "A"}, {"label": "B", "thumbnail_at": 9}]},
            422,
            "thumbnail-out-of-range",
        ),
        (
            {"variants": [{"label": "A"}, {"label": "B", "post_at": "9999-12-31T23:59:59"}]},
            422,
            "time-out-of-range",
        ),
        ({"deadline_at": "2001-01-01T00:00:00Z"}, 422, "schedule-in-past"),
        ({"clip_id": str(uuid.uuid4())}, 404, "clip-not-found"),
        ({"schedule": {"account_ids": [str(uuid.uuid4())]}}, 404, "account-not-found"),
    ],
)
def test_bad_input(world: World, change: dict[str, Any], status: int, code: str) -> None:
    payload: dict[str, Any] = {
        "clip_id": str(world.clip_id),
        "name": "x",
        "variants": [{"label": "A"}, {"label": "B"}],
    }
    payload.update(change)
    r = world.api.post("/api/v1/experiments", json=payload, headers=world.h)
    assert r.status_code == status, r.text
    assert r.json()["type"].endswith(f"/{code}")
    assert jobs_of("CLIP_RENDER") == []  # nothing half-created


def test_other_workspace_sees_nothing(world: World) -> None:
    from tests.foundation.helpers import make_workspace, signup_login

    exp = _create(world)
    other = signup_login(world.api)
    ws = make_workspace(world.api, other)
    set_plan(uuid.UUID(ws["id"]), "pro")
    h = other.ws(ws["id"])
    assert world.api.get(f"/api/v1/experiments/{exp['id']}", headers=h).status_code == 404
    r = world.api.post(f"/api/v1/experiments/{exp['id']}/stop", json={}, headers=h)
    assert r.status_code == 404
    body = {
        "clip_id": str(world.clip_id),
        "name": "x",
        "variants": [{"label": "A"}, {"label": "B"}],
    }
    assert world.api.post("/api/v1/experiments", json=body, headers=h).status_code == 404
