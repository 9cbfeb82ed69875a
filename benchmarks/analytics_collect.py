# ruff: noqa: ASYNC110
"""Metrics collection benchmark: one collection run over 10,000 published posts.

    uv run python benchmarks/analytics_collect.py [--posts 10000] [--accounts 10] [--slots 4]

Starts its own embedded PostgreSQL (temp dir, removed afterwards) and the fake TikTok and
YouTube servers of tests/fakes on 127.0.0.1, connects `--accounts` TikTok and as many YouTube
accounts (YouTube ones with yt-analytics.readonly), half the posts on each platform, then runs
the metrics scan and drains the METRICS_COLLECT jobs with one in-process worker
(`cliply.jobs.worker.Worker`, the code `cliply worker` runs), one platform after the other.
Prints, per platform and per 1,000 posts: API calls (counted by the fakes), quota units
(counted by Cliply, as it reserves them), snapshots written and seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# tests/fakes live at the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, text
from tests.fakes.server import RunningServer, serve
from tests.fakes.tiktok import FakeTikTok
from tests.fakes.youtube import FakeYouTube

KIND = "METRICS_COLLECT"


def _setup(tiktok_url: str, google_url: str, tt: FakeTikTok, g: FakeYouTube) -> Engine:
    data = Path(tempfile.mkdtemp(prefix="cliply-analytics-bench-"))
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    os.environ.update(
        {
            "CLIPLY_DATA_DIR": str(data),
            "LOG_LEVEL": "WARNING",
            "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "TIKTOK_CLIENT_KEY": tt.config.client_key,
            "TIKTOK_CLIENT_SECRET": tt.config.client_secret,
            "TIKTOK_AUTH_BASE": tiktok_url,
            "TIKTOK_API_BASE": tiktok_url,
            "GOOGLE_CLIENT_ID": g.config.client_id,
            "GOOGLE_CLIENT_SECRET": g.config.client_secret,
            "GOOGLE_AUTH_BASE": google_url,
            "GOOGLE_TOKEN_BASE": google_url,
            "YOUTUBE_API_BASE": google_url,
            "YOUTUBE_UPLOAD_BASE": google_url,
            "YOUTUBE_ANALYTICS_BASE": google_url,
        }
    )
    from cliply.db.embedded import embedded_url
    from cliply.db.migrate import upgrade

    url = embedded_url(data, "bench", stop_at_exit=True)
    upgrade(url)
    os.environ["DATABASE_URL"] = url.replace("postgresql+psycopg://", "postgresql://")
    from cliply.config import get_settings
    from cliply.db.engine import get_engine
    from cliply.logging import configure

    get_settings.cache_clear()
    configure("WARNING", True)
    from cliply.app import install_hooks

    install_hooks()  # also registers the METRICS_COLLECT handler
    return get_engine()


def _accounts(platform: str, n: int, tokens: list[dict[str, object]]) -> list[uuid.UUID]:
    """`n` connected accounts, each in its own premium workspace, holding the fake's tokens."""
    from cliply.accounts.models import ConnectedAccount
    from cliply.accounts.tokens import keyring, store_tokens
    from cliply.db.engine import owner_session
    from cliply.integrations.oauth_common import token_set_from_response

    ids = []
    with owner_session() as db:
        for i in range(n):
            ws = db.execute(
                text("INSERT INTO workspaces (name, plan) VALUES (:n, 'premium') RETURNING id"),
                {"n": f"bench-{platform}-{i}"},
            ).scalar_one()
            account = ConnectedAccount(
                workspace_id=ws,
                platform=platform,
                external_id=f"{platform}-{i}",
                display_name=f"{platform} {i}",
                info={},
            )
            db.add(account)
            db.flush()
            store_tokens(keyring(), account, token_set_from_response(tokens[i]))
            ids.append(account.id)
    return ids


def _posts(engine: Engine, platform: str, accounts: list[uuid.UUID], external: list[str]) -> None:
    """Published posts spread over the accounts (as the publish flow leaves them), a day old."""
    at = datetime.now(UTC) - timedelta(days=1)
    per = len(external) // len(accounts)
    with engine.begin() as conn:
        found = conn.execute(
            text("SELECT id, workspace_id FROM connected_accounts WHERE id = ANY(:ids)"),
            {"ids": accounts},
        )
        ws = {a: w for a, w in found}
        rows = [
            {
                "ws": ws[accounts[k // per]],
                "acc": accounts[k // per],
                "platform": platform,
                "ext": ext,
                "at": at,
            }
            for k, ext in enumerate(external)
        ]
        conn.execute(
            text(
                "INSERT INTO posts (workspace_id, account_id, platform, status, platform_post_id,"
                " published_at, request) VALUES (:ws, :acc, :platform, 'published', :ext, :at,"
                ' \'{"privacy": "public"}\'::jsonb)'
            ),
            rows,
        )


def _options(slots: int):  # type: ignore[no-untyped-def]
    from cliply.db.engine import database_url
    from cliply.jobs.worker import WorkerOptions

    return WorkerOptions(
        kinds=(KIND,),
        slots=slots,
        heartbeat_s=5.0,
        stale_after_s=120.0,
        poll_s=0.2,
        grace_s=5.0,
        with_scheduler=False,
        database_url=database_url(),
    )


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM jobs WHERE kind = :k AND status IN ('queued', 'running')"
                ),
                {"k": KIND},
            ).scalar_one()
        )


async def _drain(engine: Engine, slots: int) -> tuple[float, float]:
    """Scan (queue one job per account with posts due), then run until none is left: wall
    seconds, and CPU seconds of this process (worker and fakes; PostgreSQL not included)."""
    from cliply.analytics import flows
    from cliply.jobs.worker import Worker, queue_engine

    opts = _options(slots)
    worker_engine = queue_engine(opts.database_url, pool_size=slots + 3)
    worker = Worker(opts, worker_engine)
    loop = asyncio.get_running_loop()
    t0, c0 = time.perf_counter(), time.process_time()
    await loop.run_in_executor(None, flows.scan)
    task = asyncio.create_task(worker.run())
    while await loop.run_in_executor(None, _pending, engine) > 0:
        await asyncio.sleep(0.05)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    worker.request_stop()
    await task
    worker_engine.dispose()
    return elapsed, cpu


@dataclass
class Figures:
    platform: str
    posts: int
    calls: dict[str, int]
    units: dict[str, int]
    snapshots: int
    seconds: float
    cpu: float
    failed: int


def _results(engine: Engine, platform: str) -> tuple[int, int]:
    with engine.connect() as conn:
        snaps = conn.execute(
            text(
                "SELECT count(*) FROM post_metrics m JOIN posts p ON p.id = m.post_id"
                " WHERE p.platform = :p"
            ),
            {"p": platform},
        ).scalar_one()
        failed = conn.execute(
            text("SELECT count(*) FROM jobs WHERE kind = :k AND status = 'failed'"), {"k": KIND}
        ).scalar_one()
    return int(snaps), int(failed)


def _units(platforms: list[str]) -> dict[str, int]:
    from cliply.analytics import service
    from cliply.db.engine import owner_session

    with owner_session() as db:
        return {p: service.quota_used(db, p, datetime.now(UTC).date()) for p in platforms}


def _print(f: Figures) -> None:
    k = f.posts / 1000
    calls = sum(f.calls.values())
    units = sum(f.units.values())
    detail = ", ".join(f"{n} {v:,}" for n, v in f.calls.items())
    quota = ", ".join(f"{n} {v:,}" for n, v in f.units.items()) or "none counted"
    print(f"{f.platform}: {f.posts:,} posts, {f.snapshots:,} snapshots, {f.failed} failed jobs")
    print(f"  API calls    {calls:>8,}  ({detail})  = {calls / k:,.1f} per 1,000 posts")
    print(f"  quota units  {units:>8,}  ({quota})  = {units / k:,.1f} per 1,000 posts")
    print(f"  seconds      {f.seconds:>8.2f}  = {f.seconds / k:.2f} per 1,000 posts (wall)")
    print(f"  CPU seconds  {f.cpu:>8.2f}  = {f.cpu / k:.2f} per 1,000 posts (worker + fakes)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--posts", type=int, default=10_000, help="posts in all (half per platform)")
    ap.add_argument("--accounts", type=int, default=10, help="accounts per platform")
    ap.add_argument("--slots", type=int, default=4, help="worker slots")
    args = ap.parse_args()
    half = args.posts // 2 // args.accounts * args.accounts

    tt, g = FakeTikTok(), FakeYouTube()
    with serve(tt.app) as tts, serve(g.app) as gs:
        assert isinstance(tts, RunningServer) and isinstance(gs, RunningServer)
        engine = _setup(tts.direct_url, gs.direct_url, tt, g)  # no fault proxy

        # TikTok: the account's published videos, counters as the Display API reports them.
        tiktok_ids = [f"74{i:017d}" for i in range(half)]
        tt.published_posts.extend(
            {
                "post_id": i,
                "open_id": tt.config.open_id,
                "view_count": 1000 + k,
                "like_count": k % 97,
                "comment_count": k % 13,
                "share_count": k % 7,
                "duration": 30,
            }
            for k, i in enumerate(tiktok_ids)
        )
        tt_accounts = _accounts(
            "tiktok", args.accounts, [tt.issue_tokens() for _ in range(args.accounts)]
        )
        _posts(engine, "tiktok", tt_accounts, tiktok_ids)
        tt_seconds, tt_cpu = asyncio.run(_drain(engine, args.slots))
        snaps, failed = _results(engine, "tiktok")
        _print(
            Figures(
                "TikTok (video/query, 20 ids per call)",
                half,
                {"video/query": tt.video_query_calls},
                {},
                snaps,
                tt_seconds,
                tt_cpu,
                failed,
            )
        )

        # YouTube: videos.list (50 ids, 1 unit) and reports.query (1 query per 50 videos).
        youtube_ids = [f"y{i:010d}" for i in range(half)]
        g.videos.extend(
            {"id": i, "snippet": {"title": i}, "status": {"privacyStatus": "public"}}
            for i in youtube_ids
        )
        for k, i in enumerate(youtube_ids):
            g.stats[i] = {"viewCount": 2000 + k, "likeCount": k % 89}
        yt_accounts = _accounts(
            "youtube", args.accounts, [g.issue_tokens() for _ in range(args.accounts)]
        )
        _posts(engine, "youtube", yt_accounts, youtube_ids)
        yt_seconds, yt_cpu = asyncio.run(_drain(engine, args.slots))
        snaps, failed = _results(engine, "youtube")
        _print(
            Figures(
                "YouTube (videos.list + YouTube Analytics reports.query, 50 ids per call)",
                half,
                {"videos.list": g.stats_calls, "reports.query": g.analytics_calls},
                _units(["youtube", "youtube_analytics"]),
                snaps,
                yt_seconds,
                yt_cpu,
                failed,
            )
        )
        print(
            f"both: {2 * half:,} posts in {tt_seconds + yt_seconds:.2f} s"
            f" ({(tt_seconds + yt_seconds) / (2 * half / 1000):.2f} s per 1,000 posts;"
            f" CPU {tt_cpu + yt_cpu:.2f} s),"
            f" {args.accounts} accounts per platform, {args.slots} worker slots"
        )


if __name__ == "__main__":
    main()
