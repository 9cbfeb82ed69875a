"""YouTube resumable upload against the fake: chunks, 308/Range, resume, exactly-once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cliply.integrations.oauth_common import (
    InvalidUpload,
    TokenExpired,
    TransientError,
    UploadSessionExpired,
    UpstreamRateLimited,
)
from cliply.integrations.youtube import (
    InvalidMetadata,
    YouTubeVideo,
    YouTubeVideoMetadata,
    apply_shorts_convention,
    post_marker,
)
from tests.fakes.youtube import FakeGoogleConfig
from tests.integrations.conftest import KIB, MIB, GoogleEnv

META = YouTubeVideoMetadata(
    title="A clip",
    description="From the long video",
    tags=("cliply",),
    privacy_status="unlisted",
)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _upload(env: GoogleEnv, video: Path, token: str, post_id: str = "p1") -> YouTubeVideo:
    meta = META.with_marker(post_marker(post_id))
    session = env.youtube.start_resumable_upload(token, meta, video.stat().st_size)
    return env.youtube.upload(token, session, video)


@pytest.mark.parametrize("size", [1, 256 * KIB, 1 * MIB, 3 * MIB + 12345])
def test_chunked_upload(google: GoogleEnv, make_video: Callable[[int], Path], size: int) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(size)
    seen: list[int] = []
    meta = META.with_marker(post_marker("p1"))
    session = google.youtube.start_resumable_upload(token, meta, size)
    result = google.youtube.upload(token, session, video, progress=lambda d, t: seen.append(d))
    assert result.id and result.title == "A clip" and result.privacy_status == "unlisted"
    assert result.upload_status == "uploaded"
    assert post_marker("p1") in result.tags
    assert google.fake.video_bytes[result.id] == _sha(video)
    assert len(google.fake.videos) == 1
    assert seen[-1] == size and seen == sorted(seen)
    assert google.fake.upload_puts == -(-size // MIB)  # one PUT per 1 MiB chunk


def test_partial_persistence_follows_range(
    make_google: Callable[..., GoogleEnv], make_video: Callable[..., Path]
) -> None:
    # The server keeps only 256 KiB of each 1 MiB chunk; the 308 Range says so.
    env = make_google(FakeGoogleConfig(persist_limit=256 * KIB))
    token = env.fake.issue_tokens()["access_token"]
    video = make_video(1 * MIB + 100)
    result = _upload(env, video, token)
    assert env.fake.video_bytes[result.id] == _sha(video)
    assert env.fake.upload_puts == 5  # 4 x 256 KiB kept, then the 100-byte tail


def test_5xx_then_resume_from_server_state(
    google: GoogleEnv, make_video: Callable[..., Path]
) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(3 * MIB)
    session = google.youtube.start_resumable_upload(token, META, 3 * MIB)
    google.faults.fail_next("PUT", "/upload/youtube/v3/videos", status=503, count=2)
    result = google.youtube.upload(token, session, video)
    assert google.fake.video_bytes[result.id] == _sha(video)
    # chunk -> 503, status query -> 503, status query -> 308: resume from what the server has.
    assert google.fake.status_queries == 1
    assert len(google.fake.videos) == 1


def test_dropped_connection_mid_chunk(google: GoogleEnv, make_video: Callable[..., Path]) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(3 * MIB)
    session = google.youtube.start_resumable_upload(token, META, 3 * MIB)
    # The first chunk is cut after 300 KiB of its body: a real TCP drop, nothing stored.
    google.faults.drop_next("PUT", "/upload/youtube/v3/videos", after_body_bytes=300 * KIB)
    result = google.youtube.upload(token, session, video)
    assert ("drop", "PUT", "/upload/youtube/v3/videos") in google.faults.injected
    assert google.fake.status_queries == 1  # asked the server, then resumed from its answer
    assert google.fake.video_bytes[result.id] == _sha(video)
    assert len(google.fake.videos) == 1


def test_lost_reply_to_final_chunk_finds_the_video(
    google: GoogleEnv, make_video: Callable[..., Path]
) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(500 * KIB)  # one chunk: its reply is the one that gets lost
    session = google.youtube.start_resumable_upload(token, META, video.stat().st_size)
    google.faults.drop_response_next("PUT", "/upload/youtube/v3/videos")
    result = google.youtube.upload(token, session, video)
    assert [v["id"] for v in google.fake.videos] == [result.id]
    assert google.fake.upload_puts == 2  # the chunk, then one `bytes */total` status query


def test_status_query_reports_progress(google: GoogleEnv, make_video: Callable[..., Path]) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(2 * MIB)
    session = google.youtube.start_resumable_upload(token, META, 2 * MIB)
    assert google.youtube.query_upload_status(token, session, 2 * MIB) == 0  # no Range yet
    result = google.youtube.upload(token, session, video)
    done = google.youtube.query_upload_status(token, session, 2 * MIB)
    assert isinstance(done, YouTubeVideo) and done.id == result.id


def test_expired_token_mid_upload_then_resume(
    google: GoogleEnv, make_video: Callable[..., Path]
) -> None:
    connected = google.fake.issue_tokens()
    token, refresh = connected["access_token"], connected["refresh_token"]
    video = make_video(3 * MIB)
    session = google.youtube.start_resumable_upload(token, META, 3 * MIB)

    def expire_after_first_chunk(done: int, total: int) -> None:
        if done == MIB:
            google.fake.advance(google.fake.config.access_ttl_s + 1)

    with pytest.raises(TokenExpired):
        google.youtube.upload(token, session, video, progress=expire_after_first_chunk)
    fresh = google.oauth.refresh(refresh)
    puts_before = google.fake.upload_puts
    result = google.youtube.upload(fresh.access_token, session, video, resume=True)
    assert google.fake.video_bytes[result.id] == _sha(video)
    assert google.fake.upload_puts - puts_before == 3  # status query + the 2 remaining chunks
    assert len(google.fake.videos) == 1


def test_expired_session_then_safe_restart(
    google: GoogleEnv, make_video: Callable[..., Path]
) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(2 * MIB)
    marker = post_marker("post-42")
    meta = META.with_marker(marker)
    session = google.youtube.start_resumable_upload(token, meta, 2 * MIB)
    google.fake.expire_sessions()
    with pytest.raises(UploadSessionExpired):
        google.youtube.upload(token, session, video)
    # The caller checks the video does not exist before starting over.
    assert google.youtube.find_video_by_marker(token, marker) is None
    session = google.youtube.start_resumable_upload(token, meta, 2 * MIB)
    result = google.youtube.upload(token, session, video)
    assert google.youtube.find_video_by_marker(token, marker) == result
    assert len(google.fake.videos) == 1


def test_completed_but_unrecorded_upload_is_found(
    google: GoogleEnv, make_video: Callable[..., Path]
) -> None:
    token = google.fake.issue_tokens()["access_token"]
    first = _upload(google, make_video(300 * KIB, "a.mp4"), token, post_id="p-1")
    second = _upload(google, make_video(310 * KIB, "b.mp4"), token, post_id="p-2")
    # A retry of post p-1 after a crash: the marker finds the finished upload, no re-upload.
    found = google.youtube.find_video_by_marker(token, post_marker("p-1"))
    assert found is not None and found.id == first.id
    assert google.youtube.find_video_by_marker(token, post_marker("p-3")) is None
    assert [v.id for v in google.youtube.list_my_uploads(token)] == [second.id, first.id]


def test_list_my_uploads_pages(google: GoogleEnv) -> None:
    token = google.fake.issue_tokens()["access_token"]
    for n in range(60):  # seed the fake's channel directly; uploads are tested above
        google.fake.videos.append(
            {"id": f"seed{n:07d}", "snippet": {"title": f"v{n}", "tags": []}, "status": {}}
        )
    uploads = google.youtube.list_my_uploads(token, max_results=55)
    assert len(uploads) == 55
    assert uploads[0].id == "seed0000059" and uploads[-1].id == "seed0000005"


def test_get_video(google: GoogleEnv, make_video: Callable[..., Path]) -> None:
    token = google.fake.issue_tokens()["access_token"]
    uploaded = _upload(google, make_video(10 * KIB), token)
    got = google.youtube.get_video(token, uploaded.id)
    assert got is not None and got.id == uploaded.id and got.url.endswith(uploaded.id)
    assert google.youtube.get_video(token, "nope") is None


def test_gives_up_after_max_retries(google: GoogleEnv, make_video: Callable[..., Path]) -> None:
    token = google.fake.issue_tokens()["access_token"]
    video = make_video(100 * KIB)
    session = google.youtube.start_resumable_upload(token, META, video.stat().st_size)
    google.faults.fail_next("PUT", "/upload/youtube/v3/videos", status=500, count=100)
    with pytest.raises(TransientError):
        google.youtube.upload(token, session, video)
    assert google.fake.videos == []


def test_start_with_expired_token(google: GoogleEnv) -> None:
    token = google.fake.issue_tokens()["access_token"]
    google.fake.advance(4000)
    with pytest.raises(TokenExpired):
        google.youtube.start_resumable_upload(token, META, 1000)


def test_start_retries_server_errors(google: GoogleEnv) -> None:
    token = google.fake.issue_tokens()["access_token"]
    google.faults.fail_next("POST", "/upload/youtube/v3/videos", status=503, count=2)
    assert google.youtube.start_resumable_upload(token, META, 1000).startswith(
        google.server.base_url
    )


def test_quota_exceeded(google: GoogleEnv) -> None:
    token = google.fake.issue_tokens()["access_token"]
    body = {
        "error": {
            "code": 403,
            "message": "quota",
            "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}],
        }
    }
    google.faults.fail_next("POST", "/upload/youtube/v3/videos", status=403, body=body)
    with pytest.raises(UpstreamRateLimited) as err:
        google.youtube.start_resumable_upload(token, META, 1000)
    assert err.value.code == "quota-exceeded" and err.value.retryable


def test_chunk_size_must_be_256k_multiple(
    google: GoogleEnv, make_video: Callable[..., Path]
) -> None:
    with pytest.raises(InvalidUpload):
        google.youtube.upload("t", "http://127.0.0.1:9/x", make_video(10), chunk_size=300 * KIB)


# --- metadata ---------------------------------------------------------------------------------


def test_scheduled_publish_requires_private() -> None:
    when = datetime.now(UTC) + timedelta(days=1)
    with pytest.raises(InvalidMetadata):
        YouTubeVideoMetadata(title="t", privacy_status="public", publish_at=when).to_resource()
    resource = YouTubeVideoMetadata(title="t", publish_at=when).to_resource()
    assert resource["status"]["privacyStatus"] == "private"
    assert resource["status"]["publishAt"].endswith("Z")


def test_fake_also_refuses_public_publish_at(google: GoogleEnv) -> None:
    token = google.fake.issue_tokens()["access_token"]
    resp = httpx.post(
        f"{google.server.base_url}/upload/youtube/v3/videos",
        params={"uploadType": "resumable", "part": "snippet,status"},
        headers={
            "Authorization": f"Bearer {token}",
            "X-Upload-Content-Length": "10",
            "X-Upload-Content-Type": "video/mp4",
        },
        json={
            "snippet": {"title": "t"},
            "status": {"privacyStatus": "public", "publishAt": "2030-01-01T00:00:00Z"},
        },
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["errors"][0]["reason"] == "invalidPublishAt"


@pytest.mark.parametrize(
    "meta",
    [
        YouTubeVideoMetadata(title=""),
        YouTubeVideoMetadata(title="x" * 101),
        YouTubeVideoMetadata(title="a <b>"),
        YouTubeVideoMetadata(title="t", description="d" * 5001),
        YouTubeVideoMetadata(title="t", tags=tuple(f"tag number {i}" for i in range(60))),
        YouTubeVideoMetadata(title="t", publish_at=datetime(2030, 1, 1)),  # naive
    ],
)
def test_invalid_metadata(meta: YouTubeVideoMetadata) -> None:
    with pytest.raises(InvalidMetadata):
        meta.to_resource()


def test_shorts_convention() -> None:
    meta = YouTubeVideoMetadata(title="Clip", description="Hello")
    assert apply_shorts_convention(meta, 1080, 1920, 59.0).description == "Hello\n\n#Shorts"
    assert apply_shorts_convention(meta, 1080, 1080, 180.0).description.endswith("#Shorts")
    assert apply_shorts_convention(meta, 1920, 1080, 30.0) == meta  # horizontal
    assert apply_shorts_convention(meta, 1080, 1920, 181.0) == meta  # too long
    tagged = YouTubeVideoMetadata(title="Clip #shorts")
    assert apply_shorts_convention(tagged, 1080, 1920, 30.0) == tagged
