"""TikTok Content Posting: chunk rules, chunked upload, retries, drops, status polling."""

from __future__ import annotations

import hashlib
import itertools
import random
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from cliply.integrations.oauth_common import (
    InvalidUpload,
    RetryPolicy,
    TokenExpired,
    TransientError,
    UploadSessionExpired,
    UpstreamRateLimited,
    UpstreamRejected,
)
from cliply.integrations.tiktok import (
    ChunkPlan,
    ChunkRules,
    PublishFailed,
    PublishTimeout,
    TikTokPostInfo,
    plan_chunks,
)
from tests.fakes.tiktok import FakeTikTok, FakeTikTokConfig, tiktok_error_body
from tests.integrations.conftest import KIB, MIB, TikTokEnv

SMALL_RULES = ChunkRules(min_chunk=256 * KIB, max_chunk=1 * MIB, max_final_chunk=2 * MIB)
SMALL_FAKE = FakeTikTokConfig(min_chunk=256 * KIB, max_chunk=1 * MIB, max_final_chunk=2 * MIB)
POST = TikTokPostInfo(title="Clip #1 #fyp", privacy_level="SELF_ONLY", video_cover_timestamp_ms=500)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _publish(env: TikTokEnv, video: Path, chunk_size: int | None = None) -> str:
    """init + upload + wait; returns the post id."""
    token = env.fake.issue_tokens()["access_token"]
    upload = env.client.init_video_upload(token, POST, video.stat().st_size, chunk_size)
    env.client.upload_chunks(upload, video)
    status = env.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert status.status == "PUBLISH_COMPLETE"
    assert len(status.post_ids) == 1
    return status.post_ids[0]


# --- chunk rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "preferred", "expected"),
    [
        (1, 10 * MIB, (1, 1)),
        (4 * MIB, 10 * MIB, (4 * MIB, 1)),  # under 5 MB: whole
        (5 * MIB - 1, 5 * MIB, (5 * MIB - 1, 1)),
        (8 * MIB, 10 * MIB, (8 * MIB, 1)),  # fits one preferred chunk
        (12_000_000, 5 * MIB, (5 * MIB, 2)),  # final chunk takes the remainder
        (12_000_000, 1 * MIB, (5 * MIB, 2)),  # too-small preference raised to 5 MB
        (200 * MIB, 100 * MIB, (64 * MIB, 3)),  # too-large preference capped to 64 MB
    ],
)
def test_plan_chunks(size: int, preferred: int, expected: tuple[int, int]) -> None:
    plan = plan_chunks(size, preferred)
    assert (plan.chunk_size, plan.total_chunk_count) == expected
    assert plan.total_chunk_count == size // plan.chunk_size or size < 5 * MIB
    ranges = plan.ranges()
    assert ranges[0][0] == 0 and ranges[-1][1] == size - 1
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(ranges))
    assert ranges[-1][1] - ranges[-1][0] + 1 <= 128 * MIB


def test_plans_always_pass_the_fakes_validation() -> None:
    fake = FakeTikTok()
    rng = random.Random(7)
    sizes = [rng.randrange(1, 64_000 * MIB) for _ in range(400)]
    sizes += [5 * MIB - 1, 5 * MIB, 5 * MIB + 1, 64 * MIB, 64 * MIB + 1, 128 * MIB + 7]
    for size in sizes:
        for preferred in (5 * MIB, 10 * MIB, 64 * MIB):
            plan = plan_chunks(size, preferred)
            source = {
                "video_size": plan.video_size,
                "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.total_chunk_count,
            }
            assert fake._check_chunks(source) is None, (size, preferred, plan)


def test_plan_grows_chunks_to_stay_within_1000() -> None:
    for size in (20_000 * MIB, 64_000 * MIB, 1001 * 64 * MIB - 1):
        plan = plan_chunks(size, 10 * MIB)
        assert plan.total_chunk_count <= 1000
        assert 5 * MIB <= plan.chunk_size <= 64 * MIB
        assert size - (plan.total_chunk_count - 1) * plan.chunk_size <= 128 * MIB


@pytest.mark.parametrize("size", [0, -1, 1001 * 64 * MIB])
def test_plan_refuses_impossible_sizes(size: int) -> None:
    with pytest.raises(InvalidUpload):
        plan_chunks(size)


def test_fake_rejects_bad_chunk_parameters(tiktok: TikTokEnv) -> None:
    token = tiktok.fake.issue_tokens()["access_token"]
    bad = [
        (12_000_000, 5 * MIB, 3),  # count must be floor(size / chunk) = 2
        (12_000_000, 1 * MIB, 11),  # chunk below 5 MB
        (3 * MIB, 1 * MIB, 3),  # small files go whole
        (200 * MIB, 100 * MIB, 2),  # chunk above 64 MB
    ]
    for size, chunk, count in bad:
        resp = httpx.post(
            f"{tiktok.server.base_url}/v2/post/publish/video/init/",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "post_info": {"title": "t", "privacy_level": "SELF_ONLY"},
                "source_info": {
                    "source": "FILE_UPLOAD",
                    "video_size": size,
                    "chunk_size": chunk,
                    "total_chunk_count": count,
                },
            },
        )
        assert resp.status_code == 400
        assert resp.json()["error"]["code"] == "invalid_params"


def test_client_rules_must_match_the_platform(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    # A client configured for 256 KiB chunks against a platform enforcing 5 MB is refused.
    env = make_tiktok(rules=SMALL_RULES, chunk_size=256 * KIB)
    token = env.fake.issue_tokens()["access_token"]
    with pytest.raises(UpstreamRejected) as err:
        env.client.init_video_upload(token, POST, 6 * MIB)
    assert err.value.code == "invalid-params" and not err.value.retryable


# --- uploads ----------------------------------------------------------------------------------


def test_tiny_video_single_chunk(tiktok: TikTokEnv, make_video: Callable[[int], Path]) -> None:
    video = make_video(300 * KIB)
    post_id = _publish(tiktok, video)
    assert tiktok.fake.upload_puts == 1
    [post] = tiktok.fake.published_posts
    assert post["post_id"] == post_id
    assert post["sha256"] == _sha(video)
    assert post["privacy_level"] == "SELF_ONLY" and post["title"] == POST.title


def test_twelve_mb_with_documented_rules(
    tiktok: TikTokEnv, make_video: Callable[[int], Path]
) -> None:
    video = make_video(12_000_000)
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_video_upload(token, POST, video.stat().st_size, 5 * MIB)
    assert upload.plan == ChunkPlan(12_000_000, 5 * MIB, 2)
    seen: list[int] = []
    tiktok.client.upload_chunks(upload, video, progress=lambda done, total: seen.append(done))
    assert seen == [5 * MIB, 12_000_000]
    assert tiktok.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert tiktok.fake.upload_puts == 2
    assert [p["sha256"] for p in tiktok.fake.published_posts] == [_sha(video)]


@pytest.mark.parametrize("size", [256 * KIB - 1, 256 * KIB, 700 * KIB, 1300 * KIB + 17, 3 * MIB])
def test_multi_chunk_with_small_rules(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path], size: int
) -> None:
    env = make_tiktok(SMALL_FAKE, rules=SMALL_RULES, chunk_size=256 * KIB)
    video = make_video(size)
    _publish(env, video)
    plan = plan_chunks(size, 256 * KIB, SMALL_RULES)
    assert env.fake.upload_puts == plan.total_chunk_count
    assert [p["sha256"] for p in env.fake.published_posts] == [_sha(video)]


def test_fake_refuses_out_of_order_chunk(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    env = make_tiktok(SMALL_FAKE, rules=SMALL_RULES, chunk_size=256 * KIB)
    video = make_video(800 * KIB)
    token = env.fake.issue_tokens()["access_token"]
    upload = env.client.init_video_upload(token, POST, video.stat().st_size)
    data = video.read_bytes()
    resp = httpx.put(
        upload.upload_url,
        content=data[256 * KIB : 512 * KIB],
        headers={
            "Content-Type": "video/mp4",
            "Content-Range": f"bytes {256 * KIB}-{512 * KIB - 1}/{len(data)}",
        },
    )
    assert resp.status_code == 416


def test_chunk_5xx_is_retried(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    env = make_tiktok(SMALL_FAKE, rules=SMALL_RULES, chunk_size=256 * KIB)
    video = make_video(900 * KIB)
    env.faults.fail_next("PUT", "/video/", status=503, count=2)
    _publish(env, video)
    assert len([i for i in env.faults.injected if i[0] == "fail"]) == 2
    assert [p["sha256"] for p in env.fake.published_posts] == [_sha(video)]


def test_dropped_connection_mid_chunk_is_retried(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    env = make_tiktok(SMALL_FAKE, rules=SMALL_RULES, chunk_size=256 * KIB)
    video = make_video(900 * KIB)
    token = env.fake.issue_tokens()["access_token"]
    upload = env.client.init_video_upload(token, POST, video.stat().st_size)
    env.faults.drop_next("PUT", "/video/", after_body_bytes=100 * KIB)
    env.client.upload_chunks(upload, video)
    env.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert ("drop", "PUT", "/video/") in env.faults.injected
    assert len(env.fake.published_posts) == 1
    assert env.fake.published_posts[0]["sha256"] == _sha(video)


def test_lost_reply_to_final_chunk_does_not_duplicate(
    tiktok: TikTokEnv, make_video: Callable[..., Path]
) -> None:
    video = make_video(200 * KIB)
    tiktok.faults.drop_response_next("PUT", "/video/")
    _publish(tiktok, video)
    assert tiktok.fake.upload_puts == 2  # the original and the repeat
    assert len(tiktok.fake.published_posts) == 1


def test_persistent_failure_gives_transient_error(
    tiktok: TikTokEnv, make_video: Callable[..., Path]
) -> None:
    video = make_video(100 * KIB)
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_video_upload(token, POST, video.stat().st_size)
    tiktok.faults.fail_next("PUT", "/video/", status=500, count=50)
    with pytest.raises(TransientError) as err:
        tiktok.client.upload_chunks(upload, video)
    assert err.value.retryable
    assert tiktok.fake.published_posts == []


def test_backoff_grows_and_is_capped(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    env = make_tiktok()
    delays: list[float] = []
    env.client.retry = RetryPolicy(
        max_retries=6, base_delay_s=1.0, max_delay_s=4.0, jitter=False, sleep=delays.append
    )
    video = make_video(10 * KIB)
    token = env.fake.issue_tokens()["access_token"]
    upload = env.client.init_video_upload(token, POST, video.stat().st_size)
    env.faults.fail_next("PUT", "/video/", status=503, count=5)
    env.client.upload_chunks(upload, video)
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_expired_upload_url(tiktok: TikTokEnv, make_video: Callable[..., Path]) -> None:
    video = make_video(10 * KIB)
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_video_upload(token, POST, video.stat().st_size)
    tiktok.fake.advance(3601)
    with pytest.raises(UploadSessionExpired):
        tiktok.client.upload_chunks(upload, video)


def test_file_size_must_match_init(tiktok: TikTokEnv, make_video: Callable[..., Path]) -> None:
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_video_upload(token, POST, 5000)
    with pytest.raises(InvalidUpload):
        tiktok.client.upload_chunks(upload, make_video(4000))


# --- errors on init ---------------------------------------------------------------------------


def test_privacy_level_mismatch_is_permanent(tiktok: TikTokEnv) -> None:
    token = tiktok.fake.issue_tokens()["access_token"]
    post = TikTokPostInfo(title="x", privacy_level="FOLLOWER_OF_CREATOR")
    with pytest.raises(UpstreamRejected) as err:
        tiktok.client.init_video_upload(token, post, 1000)
    assert err.value.code == "privacy-level-option-mismatch"
    assert not err.value.retryable


def test_spam_risk_is_permanent(tiktok: TikTokEnv) -> None:
    token = tiktok.fake.issue_tokens()["access_token"]
    tiktok.faults.fail_next(
        "POST",
        "/v2/post/publish/video/init/",
        status=403,
        body=tiktok_error_body("spam_risk_too_many_posts", "daily post cap reached"),
    )
    with pytest.raises(UpstreamRejected) as err:
        tiktok.client.init_video_upload(token, POST, 1000)
    assert err.value.code == "spam-risk-too-many-posts"
    assert err.value.log_id


def test_spam_risk_with_http_200_is_still_an_error(tiktok: TikTokEnv) -> None:
    token = tiktok.fake.issue_tokens()["access_token"]
    tiktok.faults.fail_next(
        "POST",
        "/v2/post/publish/video/init/",
        status=200,
        body=tiktok_error_body("spam_risk_user_banned_from_posting"),
    )
    with pytest.raises(UpstreamRejected) as err:
        tiktok.client.init_video_upload(token, POST, 1000)
    assert err.value.code == "spam-risk-user-banned-from-posting"


def test_rate_limit_is_retryable_and_init_not_repeated(tiktok: TikTokEnv) -> None:
    token = tiktok.fake.issue_tokens()["access_token"]
    tiktok.faults.fail_next(
        "POST",
        "/v2/post/publish/video/init/",
        status=429,
        body=tiktok_error_body("rate_limit_exceeded"),
        headers={"Retry-After": "30"},
    )
    with pytest.raises(UpstreamRateLimited) as err:
        tiktok.client.init_video_upload(token, POST, 1000)
    assert err.value.retryable and err.value.retry_after_s == 30
    assert tiktok.fake.publishes == {}


def test_init_server_error_not_retried(tiktok: TikTokEnv) -> None:
    # init is not idempotent: a lost reply may still have created a publish.
    token = tiktok.fake.issue_tokens()["access_token"]
    tiktok.faults.fail_next("POST", "/v2/post/publish/video/init/", status=500, count=1)
    with pytest.raises(TransientError):
        tiktok.client.init_video_upload(token, POST, 1000)
    assert len(tiktok.faults.injected) == 1


def test_expired_token_on_init_then_refresh(tiktok: TikTokEnv) -> None:
    tokens = tiktok.fake.issue_tokens()
    tiktok.fake.advance(tiktok.fake.config.access_ttl_s + 5)
    with pytest.raises(TokenExpired):
        tiktok.client.init_video_upload(tokens["access_token"], POST, 1000)
    fresh = tiktok.client.refresh(tokens["refresh_token"])
    assert tiktok.client.init_video_upload(fresh.access_token, POST, 1000).publish_id


# --- status polling ---------------------------------------------------------------------------


class _ManualClock:
    """Time that moves only when the client sleeps: polling without real waits."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    def __call__(self) -> float:
        return self.t


def test_status_progresses_and_polling_backs_off(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    env = make_tiktok(FakeTikTokConfig(processing_polls=4))
    clock = _ManualClock()
    env.client.retry = RetryPolicy(sleep=clock.sleep)
    video = make_video(50 * KIB)
    token = env.fake.issue_tokens()["access_token"]
    upload = env.client.init_video_upload(token, POST, video.stat().st_size)
    assert env.client.fetch_status(token, upload.publish_id).status == "PROCESSING_UPLOAD"
    env.client.upload_chunks(upload, video)
    status = env.client.wait_for_publish(
        token, upload.publish_id, initial_interval_s=2, max_interval_s=5, clock=clock
    )
    assert status.status == "PUBLISH_COMPLETE" and status.post_ids
    assert clock.sleeps == [2, 3, 4.5, 5]


def test_status_fetch_errors_are_waited_out(
    tiktok: TikTokEnv, make_video: Callable[..., Path]
) -> None:
    video = make_video(50 * KIB)
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_video_upload(token, POST, video.stat().st_size)
    tiktok.client.upload_chunks(upload, video)
    tiktok.faults.fail_next("POST", "/v2/post/publish/status/fetch/", status=503, count=2)
    tiktok.faults.fail_next(
        "POST",
        "/v2/post/publish/status/fetch/",
        status=429,
        body=tiktok_error_body("rate_limit_exceeded"),
    )
    status = tiktok.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert status.status == "PUBLISH_COMPLETE"


def test_publish_failure_reason(tiktok: TikTokEnv, make_video: Callable[..., Path]) -> None:
    tiktok.fake.fail_publish_with("frame_rate_check_failed")
    video = make_video(50 * KIB)
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_video_upload(token, POST, video.stat().st_size)
    tiktok.client.upload_chunks(upload, video)
    with pytest.raises(PublishFailed) as err:
        tiktok.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert err.value.fail_reason == "frame_rate_check_failed"
    assert not err.value.retryable
    assert tiktok.fake.published_posts == []


def test_publish_timeout_keeps_last_status(
    make_tiktok: Callable[..., TikTokEnv], make_video: Callable[..., Path]
) -> None:
    env = make_tiktok(FakeTikTokConfig(processing_polls=1000))
    clock = _ManualClock()
    env.client.retry = RetryPolicy(sleep=clock.sleep)
    video = make_video(50 * KIB)
    token = env.fake.issue_tokens()["access_token"]
    upload = env.client.init_video_upload(token, POST, video.stat().st_size)
    env.client.upload_chunks(upload, video)
    with pytest.raises(PublishTimeout) as err:
        env.client.wait_for_publish(token, upload.publish_id, timeout_s=60, clock=clock)
    assert err.value.retryable
    assert err.value.last_status is not None
    assert err.value.last_status.status == "PROCESSING_UPLOAD"
    assert sum(clock.sleeps) == pytest.approx(60)


def test_token_expiry_while_polling(tiktok: TikTokEnv, make_video: Callable[..., Path]) -> None:
    video = make_video(50 * KIB)
    tokens = tiktok.fake.issue_tokens()
    upload = tiktok.client.init_video_upload(tokens["access_token"], POST, video.stat().st_size)
    tiktok.client.upload_chunks(upload, video)
    tiktok.fake.advance(tiktok.fake.config.access_ttl_s + 1)
    with pytest.raises(TokenExpired):
        tiktok.client.wait_for_publish(tokens["access_token"], upload.publish_id)
    fresh = tiktok.client.refresh(tokens["refresh_token"])
    status = tiktok.client.wait_for_publish(
        fresh.access_token, upload.publish_id, initial_interval_s=0.001
    )
    assert status.status == "PUBLISH_COMPLETE"
    assert len(tiktok.fake.published_posts) == 1


def test_inbox_upload_goes_to_drafts(tiktok: TikTokEnv, make_video: Callable[..., Path]) -> None:
    video = make_video(50 * KIB)
    token = tiktok.fake.issue_tokens()["access_token"]
    upload = tiktok.client.init_inbox_upload(token, video.stat().st_size)
    tiktok.client.upload_chunks(upload, video)
    status = tiktok.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert status.status == "SEND_TO_USER_INBOX"
    assert tiktok.fake.published_posts == []


def test_retry_decision_from_recorded_publish_id(
    tiktok: TikTokEnv, make_video: Callable[..., Path]
) -> None:
    """The documented exactly-once recipe: look at the recorded publish_id before re-posting."""
    video = make_video(100 * KIB)
    size = video.stat().st_size
    token = tiktok.fake.issue_tokens()["access_token"]
    abandoned = tiktok.client.init_video_upload(token, POST, size)
    tiktok.faults.fail_next("PUT", "/video/", status=500, count=50)
    with pytest.raises(TransientError):
        tiktok.client.upload_chunks(abandoned, video)
    tiktok.faults.reset()

    # Retry of the job: the recorded publish never got its bytes, so posting again is safe.
    status = tiktok.client.fetch_status(token, abandoned.publish_id)
    assert status.status == "PROCESSING_UPLOAD" and status.uploaded_bytes == 0
    upload = tiktok.client.init_video_upload(token, POST, size)
    tiktok.client.upload_chunks(upload, video)

    # A further retry sees the whole file arrived: no second upload.
    status = tiktok.client.fetch_status(token, upload.publish_id)
    assert status.uploaded_bytes == size
    tiktok.client.wait_for_publish(token, upload.publish_id, initial_interval_s=0.001)
    assert len(tiktok.fake.published_posts) == 1
