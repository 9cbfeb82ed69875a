"""Dropshipping: the periodic re-sync re-reads the store through a real worker process; a
product gone out of stock pauses its clips' scheduled posts and back in stock resumes them,
price changes are recorded, and every action lands in dropshipping_actions with its status,
reason and the schedules it touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cliply.db.engine import owner_session
from cliply.products import flows
from cliply.products.tasks import products_resync
from tests.fakes.server import RunningServer
from tests.fakes.shopify import FakeShopify
from tests.products.helpers import rows
from tests.publishing.helpers import (
    World,
    connect,
    cron_scan,
    job_statuses,
    make_due,
    run_due_jobs,
    schedule,
    set_plan,
)

REPO = Path(__file__).resolve().parents[2]


def _worker(log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "cliply", "worker", "--kinds", flows.PRODUCTS_SYNC),
            *("--slots", "1", "--no-scheduler"),
        ],
        cwd=REPO,
        env=os.environ.copy(),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _wait_syncs(proc: subprocess.Popen[bytes], log: Path, n: int) -> None:
    deadline = time.monotonic() + 120
    while [s for k, s, _ in job_statuses() if k == flows.PRODUCTS_SYNC] != ["succeeded"] * n:
        assert proc.poll() is None, log.read_text()[-3000:]
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.1)


def _seller(w: World, store: RunningServer) -> dict[str, str]:
    set_plan(w.workspace_id, "premium")
    r = w.api.post(
        "/api/v1/products/import/shopify", json={"store_url": store.base_url}, headers=w.h
    )
    assert r.status_code == 200, r.text
    ids = {p["name"]: p["id"] for p in w.api.get("/api/v1/products", headers=w.h).json()["items"]}
    return ids


def _statuses(w: World) -> list[tuple[str, str | None]]:
    got = rows(
        "SELECT status, paused_reason FROM schedules WHERE workspace_id = :w ORDER BY scheduled_at",
        w=str(w.workspace_id),
    )
    return [(r["status"], r["paused_reason"]) for r in got]


def _actions(w: World) -> list[dict[str, Any]]:
    return rows(
        "SELECT a.kind, a.status, a.reason, a.schedule_ids, p.name FROM dropshipping_actions a "
        "JOIN products p ON p.id = a.product_id WHERE a.workspace_id = :w ORDER BY a.created_at",
        w=str(w.workspace_id),
    )


def test_out_of_stock_pauses_posts_and_back_in_stock_resumes_through_a_worker(
    world: World, store: RunningServer, shop: FakeShopify, tmp_path: Path
) -> None:
    w = world
    ids = _seller(w, store)
    assert (
        w.api.put(f"/api/v1/clips/{w.clip_id}/products/{ids['Mug']}", headers=w.h).status_code
        == 204
    )
    connect(w, "tiktok")
    first = schedule(w, "tiktok")
    second = schedule(w, "tiktok", scheduled_at="2099-01-01T12:00:00")
    assert _statuses(w) == [("scheduled", None), ("scheduled", None)]

    shop.find(1)["variants"][0]["available"] = False  # the Mug sells out
    shop.find(2)["variants"][0]["price"] = "25.00"  # the Tote Bag costs more
    log = tmp_path / "worker.log"
    proc = _worker(log)
    try:
        assert products_resync() == 1  # the periodic task: one job for the one store
        assert products_resync() == 1  # deduplicated while queued
        _wait_syncs(proc, log, 1)
        paused = [("paused", "product-out-of-stock")] * 2
        assert _statuses(w) == paused
        acts = _actions(w)
        by_kind = {a["kind"]: a for a in acts}
        assert sorted((a["name"], a["kind"], a["status"]) for a in acts) == [
            ("Mug", "out_of_stock", "done"),
            ("Tote Bag", "price_changed", "done"),
        ]
        out = by_kind["out_of_stock"]
        assert sorted(map(str, out["schedule_ids"])) == sorted([first["id"], second["id"]])
        assert out["reason"] == "The store shows it out of stock."
        assert by_kind["price_changed"]["reason"] == (
            "The store's price changed from 2250 to 2500 (cents)."
        )
        # A paused post is not published when its time comes.
        make_due(first["id"])
        assert cron_scan(w.api)["claimed"] == 0
        assert _statuses(w) == paused

        shop.find(1)["variants"][0]["available"] = True  # restocked
        assert products_resync() == 1
        _wait_syncs(proc, log, 2)
    finally:
        _stop(proc)
    assert _statuses(w)[0] == ("scheduled", None) and _statuses(w)[1] == ("scheduled", None)
    back = _actions(w)[-1]
    assert (back["name"], back["kind"], back["status"]) == ("Mug", "back_in_stock", "done")
    assert sorted(map(str, back["schedule_ids"])) == sorted([first["id"], second["id"]])
    # The resumed post whose time passed while paused goes out now.
    assert cron_scan(w.api)["schedule_ids"] == [first["id"]]
    assert [r.status for r in run_due_jobs()] == ["succeeded"]
    assert len(w.fakes.tiktok.published_posts) == 1
    mug = w.api.get(f"/api/v1/products/{ids['Mug']}", headers=w.h).json()
    assert mug["in_stock"] is True and mug["synced_at"] is not None and mug["sync_error"] is None


def test_a_clip_waits_for_all_its_products_and_removed_products_go_out_of_stock(
    world: World, store: RunningServer, shop: FakeShopify
) -> None:
    w = world
    ids = _seller(w, store)
    for name in ("Mug", "Hoodie"):
        assert (
            w.api.put(f"/api/v1/clips/{w.clip_id}/products/{ids[name]}", headers=w.h).status_code
            == 204
        )
    connect(w, "tiktok")
    schedule(w, "tiktok")
    shop.find(1)["variants"][0]["available"] = False
    shop.products = [p for p in shop.products if p["id"] != 5]  # the Hoodie leaves the store
    with owner_session() as db:
        flows.queue_resyncs(db)
    assert [r.status for r in run_due_jobs([flows.PRODUCTS_SYNC])] == ["succeeded"]
    assert _statuses(w) == [("paused", "product-out-of-stock")]
    reasons = {a["name"]: (a["kind"], a["reason"], len(a["schedule_ids"])) for a in _actions(w)}
    assert reasons == {
        "Mug": ("out_of_stock", "The store shows it out of stock.", 1),
        "Hoodie": ("out_of_stock", "The store no longer lists it; marked out of stock.", 0),
    }
    shop.find(1)["variants"][0]["available"] = True  # the Mug is back, the Hoodie is not
    with owner_session() as db:
        flows.queue_resyncs(db)
    assert [r.status for r in run_due_jobs([flows.PRODUCTS_SYNC])] == ["succeeded"]
    assert _statuses(w) == [("paused", "product-out-of-stock")]
    last = _actions(w)[-1]
    assert (last["name"], last["kind"], last["schedule_ids"]) == ("Mug", "back_in_stock", [])
    # Scheduled while a product is out of stock: it starts paused (even "publish now").
    now = schedule(w, "tiktok", scheduled_at=None)
    assert (now["status"], len(_statuses(w))) == ("paused", 2)
    # The seller marks the Hoodie in stock by hand: now nothing blocks the clip.
    r = w.api.patch(f"/api/v1/products/{ids['Hoodie']}", json={"in_stock": True}, headers=w.h)
    assert r.status_code == 200
    assert _statuses(w) == [("scheduled", None)] * 2
    assert len(_actions(w)[-1]["schedule_ids"]) == 2


def test_a_store_that_fails_is_recorded_on_its_products(
    world: World, store: RunningServer, shop: FakeShopify
) -> None:
    w = world
    ids = _seller(w, store)
    store.faults.fail_next("GET", "/products.json", status=404, body=b"gone")
    with owner_session() as db:
        flows.queue_resyncs(db)
    ran = run_due_jobs([flows.PRODUCTS_SYNC])
    assert [r.status for r in ran] == ["failed"]
    mug = w.api.get(f"/api/v1/products/{ids['Mug']}", headers=w.h).json()
    assert "no public product list" in mug["sync_error"]
