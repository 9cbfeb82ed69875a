"""Publishing one post to YouTube (resumable upload), exactly once.

Every video carries a private marker tag naming our post. The session URI is committed
right after the session opens and before the first byte. A later attempt resumes that
session (`upload(resume=True)`: the server says what it holds, or hands back the finished
video). When the session is gone, or when an attempt ran without a recorded session, the
channel is searched for the marker first, and a new session is opened only when no video
carries it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from cliply.accounts import platforms
from cliply.integrations.oauth_common import TokenExpired, TransientError, UploadSessionExpired
from cliply.integrations.youtube import (
    YouTubeClient,
    YouTubeVideo,
    YouTubeVideoMetadata,
    apply_shorts_convention,
    is_short,
    post_marker,
)
from cliply.jobs.registry import JobContext
from cliply.publishing import hooks
from cliply.publishing.privacy import YOUTUBE_PRIVACY
from cliply.publishing.records import Published, Target, record_upload_ref
from cliply.publishing.text import youtube_description
from cliply.publishing.token_session import TokenSession

PLATFORM: Final = "youtube"
_MAX_TOKEN_REFRESHES: Final = 2


def metadata_for(target: Target) -> YouTubeVideoMetadata:
    opts = target.options
    metadata = YouTubeVideoMetadata(
        title=target.title.strip(),
        description=youtube_description(target.caption, target.hashtags),
        tags=target.hashtags,
        privacy_status=YOUTUBE_PRIVACY.get(target.privacy, "private"),
        self_declared_made_for_kids=bool(opts.get("made_for_kids")),
        contains_synthetic_media=True if opts.get("ai_generated") else None,
    ).with_marker(post_marker(target.post_id))
    if target.width and target.height:
        metadata = apply_shorts_convention(metadata, target.width, target.height, target.duration_s)
    return metadata


def _upload(
    youtube: YouTubeClient,
    tokens: TokenSession,
    target: Target,
    session_uri: str,
    path: Path,
    ctx: JobContext,
    *,
    resume: bool,
) -> YouTubeVideo | None:
    """The finished video, or None when the session expired and no video has our marker."""
    refreshes = 0
    while True:
        try:
            return youtube.upload(
                tokens.current,
                session_uri,
                path,
                resume=resume,
                progress=lambda done, total: ctx.progress(0.1 + 0.8 * done / total, "uploading"),
            )
        except TokenExpired:
            if refreshes >= _MAX_TOKEN_REFRESHES:
                raise
            refreshes += 1
            tokens.refresh()
            resume = True  # carry on where the server stopped
        except UploadSessionExpired:
            ctx.event("youtube_session_expired", "upload session gone; looking for the video")
            return _find(youtube, tokens, target)


def _find(youtube: YouTubeClient, tokens: TokenSession, target: Target) -> YouTubeVideo | None:
    marker = post_marker(target.post_id)
    return tokens.call(lambda t: youtube.find_video_by_marker(t, marker))


def publish_youtube(target: Target, path: Path, size: int, ctx: JobContext) -> Published:
    tokens = TokenSession(target.account_id)
    with platforms.youtube_client() as youtube:
        video: YouTubeVideo | None = None
        if target.upload_ref is not None:
            video = _upload(youtube, tokens, target, target.upload_ref, path, ctx, resume=True)
        elif target.attempts > 1:
            # An earlier attempt ended with no session recorded: make sure nothing landed.
            video = _find(youtube, tokens, target)
        if video is None:
            metadata = metadata_for(target)
            notify = bool(target.options.get("notify_subscribers", True))
            session_uri = tokens.call(
                lambda t: youtube.start_resumable_upload(
                    t, metadata, size, notify_subscribers=notify
                )
            )
            record_upload_ref(target.post_id, session_uri, "uploading")
            ctx.event("youtube_session", "upload session opened")
            video = _upload(youtube, tokens, target, session_uri, path, ctx, resume=False)
            if video is None:
                raise TransientError(
                    "The upload session expired before the video was complete.",
                    platform=PLATFORM,
                )
        hooks.fire_after_upload(PLATFORM, target.post_id, video.id)
        short = bool(target.width and target.height) and is_short(
            target.width or 0, target.height or 0, target.duration_s
        )
        return Published(platform_post_id=video.id, url=video.shorts_url if short else video.url)
