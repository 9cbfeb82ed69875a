"""Publishing one post to TikTok (Content Posting API, direct post), exactly once.

TikTok cannot be searched for a post of ours, so the `publish_id` is the only handle: it is
committed right after init and before the first chunk. A later attempt asks for its status
first. PUBLISH_COMPLETE: record it. The whole file uploaded (or TikTok does not say how
much): wait for it, never upload again. Upload incomplete, or FAILED: nothing was posted
(TikTok never publishes an incomplete upload), so a fresh init is safe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from cliply.accounts import platforms
from cliply.config import get_settings
from cliply.integrations.tiktok import (
    STATUS_FAILED,
    STATUS_PUBLISH_COMPLETE,
    CreatorInfo,
    PublishStatus,
    TikTokClient,
    TikTokPostInfo,
    post_url,
)
from cliply.jobs.registry import JobContext
from cliply.publishing import hooks
from cliply.publishing.errors import PublishRefused
from cliply.publishing.privacy import TIKTOK_PRIVACY
from cliply.publishing.records import Published, Target, record_status, record_upload_ref
from cliply.publishing.text import tiktok_caption
from cliply.publishing.token_session import TokenSession

PLATFORM: Final = "tiktok"


def _published(info: CreatorInfo, status: PublishStatus) -> Published:
    post_id = status.post_ids[0] if status.post_ids else None
    url = post_url(info.username, post_id) if post_id and info.username else None
    return Published(platform_post_id=post_id, url=url)


def _wait(tiktok: TikTokClient, tokens: TokenSession, publish_id: str) -> PublishStatus:
    s = get_settings()
    return tokens.call(
        lambda t: tiktok.wait_for_publish(
            t,
            publish_id,
            timeout_s=s.publish_poll_timeout_s,
            initial_interval_s=s.publish_poll_interval_s,
            max_interval_s=max(s.publish_poll_interval_s, 30.0),
        )
    )


def _post_info(target: Target, info: CreatorInfo) -> TikTokPostInfo:
    privacy = TIKTOK_PRIVACY.get(target.privacy)
    if privacy is None or privacy not in info.privacy_level_options:
        allowed = ", ".join(info.privacy_level_options) or "none"
        raise PublishRefused(
            f"TikTok does not offer privacy {target.privacy!r} for this account "
            f"(it allows {allowed}).",
            code="privacy-not-allowed",
        )
    limit = info.max_video_post_duration_sec
    if limit and target.duration_s > limit:
        raise PublishRefused(
            f"The clip lasts {target.duration_s:.0f} s; this TikTok account may post up to "
            f"{limit} s.",
            code="clip-too-long",
        )
    opts = target.options
    return TikTokPostInfo(
        title=tiktok_caption(target.title, target.caption, target.hashtags),
        privacy_level=privacy,
        # The creator's own settings win: TikTok refuses a post enabling what they disabled.
        disable_comment=bool(opts.get("disable_comments")) or info.comment_disabled,
        disable_duet=bool(opts.get("disable_duet")) or info.duet_disabled,
        disable_stitch=bool(opts.get("disable_stitch")) or info.stitch_disabled,
        is_aigc=bool(opts.get("ai_generated")),
    )


def publish_tiktok(target: Target, path: Path, size: int, ctx: JobContext) -> Published:
    tokens = TokenSession(target.account_id)
    with platforms.tiktok_client() as tiktok:
        info = tokens.call(tiktok.creator_info)
        ref = target.upload_ref
        if ref is not None:
            status = tokens.call(lambda t: tiktok.fetch_status(t, ref))
            ctx.event(
                "tiktok_status",
                f"previous upload is {status.status}",
                publish_id=ref,
                uploaded_bytes=status.uploaded_bytes,
            )
            # FAILED posted nothing (a refusal for good already ended the schedule, so this
            # is a retry or the user's second try): like an incomplete upload, start anew.
            if status.status != STATUS_FAILED:
                if status.is_final:
                    return _published(info, status)
                if status.uploaded_bytes is None or status.uploaded_bytes >= size:
                    # The file is there (or TikTok does not say): only waiting is safe.
                    record_status(target.post_id, "processing")
                    return _published(info, _wait(tiktok, tokens, ref))
        post_info = _post_info(target, info)
        upload = tokens.call(lambda t: tiktok.init_video_upload(t, post_info, size))
        record_upload_ref(target.post_id, upload.publish_id, "uploading")
        ctx.event(
            "tiktok_init",
            "upload initialised",
            publish_id=upload.publish_id,
            chunks=upload.plan.total_chunk_count,
        )
        tiktok.upload_chunks(
            upload,
            path,
            progress=lambda done, total: ctx.progress(0.1 + 0.7 * done / total, "uploading"),
        )
        hooks.fire_after_upload(PLATFORM, target.post_id, upload.publish_id)
        record_status(target.post_id, "processing")
        status = _wait(tiktok, tokens, upload.publish_id)
        if status.status != STATUS_PUBLISH_COMPLETE:
            ctx.event("tiktok_status", f"ended as {status.status}", publish_id=upload.publish_id)
        return _published(info, status)
