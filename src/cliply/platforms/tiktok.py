"""TikTok: Login Kit (OAuth v2 + PKCE), Content Posting API direct post, Display API metrics.

Exactly-once: TikTok cannot be searched for a post of ours, so the `publish_id` is the only
handle: it is committed right after init and before the first chunk. A later attempt asks for
its status first. PUBLISH_COMPLETE: record it. The whole file uploaded (or TikTok does not say
how much): wait for it, never upload again. Upload incomplete, or FAILED: nothing was posted
(TikTok never publishes an incomplete upload), so a fresh init is safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import structlog

from cliply.config import get_settings
from cliply.integrations.oauth_common import IntegrationError, TokenSet
from cliply.integrations.tiktok import (
    DEFAULT_SCOPES,
    STATUS_FAILED,
    STATUS_PUBLISH_COMPLETE,
    CreatorInfo,
    PublishStatus,
    TikTokClient,
    TikTokPostInfo,
    post_url,
)
from cliply.platforms.base import (
    AccountRef,
    Audience,
    Authorization,
    Connection,
    Identity,
    PlatformNotConfigured,
    PostField,
    PostMetrics,
    PostText,
    Published,
    PublishRefused,
    PublishSession,
    PublishTarget,
    TokenCaller,
    check_privacy,
    missing_tags,
    retry_policy,
)

log = structlog.get_logger(__name__)

CAPTION_MAX: Final = 2200
# video.list lets the metrics query read the account's videos (Display API).
SCOPES: Final = (*DEFAULT_SCOPES, "video.list")
METRICS_BATCH: Final = 20  # ids per /v2/video/query/ call


def caption(text: PostText) -> str:
    """TikTok has one text field: the caption (or the title), then the hashtags."""
    body = (text.caption or text.title).strip()
    tags = " ".join(missing_tags(body, text.hashtags))
    full = f"{body} {tags}".strip() if tags else body
    return full[:CAPTION_MAX]


class TikTok:
    name: Final = "tiktok"
    label: Final = "TikTok"
    job_kind: Final = "PUBLISH_TIKTOK"
    metrics_batch: Final = METRICS_BATCH
    metrics_quota_units: Final = 0
    metrics_scope: Final[str | None] = "video.list"
    privacy_choices: Mapping[str, str] = {
        "public": "PUBLIC_TO_EVERYONE",
        "followers": "FOLLOWER_OF_CREATOR",
        "friends": "MUTUAL_FOLLOW_FRIENDS",
        "private": "SELF_ONLY",
    }

    def client(self) -> TikTokClient:
        s = get_settings()
        if not s.tiktok_client_key or s.tiktok_client_secret is None:
            raise PlatformNotConfigured(
                "TikTok is not set up on this server (TIKTOK_CLIENT_KEY / TIKTOK_CLIENT_SECRET).",
                platform=self.name,
            )
        return TikTokClient(
            auth_base=s.tiktok_auth_base,
            api_base=s.tiktok_api_base,
            client_key=s.tiktok_client_key,
            client_secret=s.tiktok_client_secret.get_secret_value(),
            chunk_size=s.tiktok_chunk_size,
            retry=retry_policy(),
        )

    def configured(self) -> bool:
        s = get_settings()
        return bool(s.tiktok_client_key and s.tiktok_client_secret is not None)

    def daily_post_cap(self) -> int | None:
        return None

    # --- OAuth ------------------------------------------------------------------------------

    def authorize(self, redirect_uri: str, state: str) -> Authorization:
        with self.client() as tiktok:
            pkce = tiktok.new_pkce()
            url = tiktok.authorize_url(redirect_uri, state, pkce.challenge, scopes=SCOPES)
        return Authorization(url=url, verifier=pkce.verifier)

    def connect(self, code: str, redirect_uri: str, verifier: str) -> Connection:
        with self.client() as tiktok:
            tokens = tiktok.exchange_code(code, redirect_uri, verifier)
            user = tiktok.user_info(tokens.access_token)
            info: dict[str, object] = {"union_id": user.union_id}
            try:
                creator = tiktok.creator_info(tokens.access_token)
                info["username"] = creator.username
            except IntegrationError as exc:  # needs video.publish; publishing re-reads it
                log.info("tiktok.creator_info_unavailable", error=str(exc))
        if not tokens.refresh_token:
            log.warning("tiktok.no_refresh_token")
        identity = Identity(
            external_id=user.open_id or tokens.open_id or "",
            display_name=user.display_name,
            avatar_url=user.avatar_url,
            info=info,
        )
        return Connection(tokens=tokens, identity=identity)

    def refresh(self, refresh_token: str, account: AccountRef) -> TokenSet:
        with self.client() as tiktok:
            return tiktok.refresh(refresh_token)

    def revoke(self, access_token: str, refresh_token: str | None, account: AccountRef) -> None:
        with self.client() as tiktok:
            tiktok.revoke(access_token)

    # --- text -------------------------------------------------------------------------------

    def validate(self, text: PostText) -> None:
        check_privacy(self, text.privacy)

    def post_fields(self, audience: Audience | None) -> list[PostField]:
        off = audience.disabled if audience else frozenset()
        switches = {
            "disable_comments": "Turn off comments",
            "disable_duet": "Turn off Duet",
            "disable_stitch": "Turn off Stitch",
        }
        return [
            PostField(name="caption", label="Caption", kind="textarea", max_length=CAPTION_MAX),
            *[
                PostField(
                    name=name,
                    label=label,
                    kind="bool",
                    disabled=name in off,
                    forced=True if name in off else None,
                    help="Turned off in this account's TikTok settings." if name in off else None,
                    default=name in off,
                )
                for name, label in switches.items()
            ],
            PostField(
                name="ai_generated",
                label="AI-generated content",
                kind="bool",
                default=False,
                help="Label the video as AI-generated.",
            ),
        ]

    def audience(self, caller: TokenCaller) -> Audience:
        """The creator's current options (creator_info): a post form offers only these and
        pre-selects none, as TikTok's app review requires."""
        with self.client() as tiktok:
            info: CreatorInfo = caller.call(tiktok.creator_info)
        ours = {v: k for k, v in self.privacy_choices.items()}
        off = {
            "disable_comments": info.comment_disabled,
            "disable_duet": info.duet_disabled,
            "disable_stitch": info.stitch_disabled,
        }
        return Audience(
            privacy=tuple(ours[o] for o in info.privacy_level_options if o in ours),
            disabled=frozenset(k for k, v in off.items() if v),
            max_duration_s=info.max_video_post_duration_sec or None,
        )

    # --- publishing -------------------------------------------------------------------------

    def publish(
        self, target: PublishTarget, path: Path, size: int, session: PublishSession
    ) -> Published:
        with self.client() as tiktok:
            info = session.call(tiktok.creator_info)
            ref = target.upload_ref
            if ref is not None:
                status = session.call(lambda t: tiktok.fetch_status(t, ref))
                session.event(
                    "tiktok_status",
                    f"previous upload is {status.status}",
                    publish_id=ref,
                    uploaded_bytes=status.uploaded_bytes,
                )
                # FAILED posted nothing (a refusal for good already ended the schedule, so
                # this is a retry or the user's second try): like an incomplete upload, start
                # anew.
                if status.status != STATUS_FAILED:
                    if status.is_final:
                        return _published(info, status)
                    if status.uploaded_bytes is None or status.uploaded_bytes >= size:
                        # The file is there (or TikTok does not say): only waiting is safe.
                        session.record_status("processing")
                        return _published(info, _wait(tiktok, session, ref))
            post_info = self._post_info(target, info)
            upload = session.call(lambda t: tiktok.init_video_upload(t, post_info, size))
            session.record_upload_ref(upload.publish_id, "uploading")
            session.event(
                "tiktok_init",
                "upload initialised",
                publish_id=upload.publish_id,
                chunks=upload.plan.total_chunk_count,
            )
            tiktok.upload_chunks(
                upload,
                path,
                progress=lambda done, total: session.progress(
                    0.1 + 0.7 * done / total, "uploading"
                ),
            )
            session.after_upload(upload.publish_id)
            session.record_status("processing")
            status = _wait(tiktok, session, upload.publish_id)
            if status.status != STATUS_PUBLISH_COMPLETE:
                session.event(
                    "tiktok_status", f"ended as {status.status}", publish_id=upload.publish_id
                )
            return _published(info, status)

    def _post_info(self, target: PublishTarget, info: CreatorInfo) -> TikTokPostInfo:
        privacy = self.privacy_choices.get(target.text.privacy)
        if privacy is None or privacy not in info.privacy_level_options:
            allowed = ", ".join(info.privacy_level_options) or "none"
            raise PublishRefused(
                f"TikTok does not offer privacy {target.text.privacy!r} for this account "
                f"(it allows {allowed}).",
                code="privacy-not-allowed",
            )
        limit = info.max_video_post_duration_sec
        if limit and target.duration_s > limit:
            raise PublishRefused(
                f"The clip lasts {target.duration_s:.0f} s; this TikTok account may post up "
                f"to {limit} s.",
                code="clip-too-long",
            )
        opts = target.text.options
        return TikTokPostInfo(
            title=caption(target.text),
            privacy_level=privacy,
            # The creator's own settings win: TikTok refuses a post enabling what they
            # disabled.
            disable_comment=bool(opts.get("disable_comments")) or info.comment_disabled,
            disable_duet=bool(opts.get("disable_duet")) or info.duet_disabled,
            disable_stitch=bool(opts.get("disable_stitch")) or info.stitch_disabled,
            is_aigc=bool(opts.get("ai_generated")),
        )

    # --- metrics ----------------------------------------------------------------------------

    def metrics(
        self, caller: TokenCaller, account: AccountRef, post_ids: Sequence[str]
    ) -> list[PostMetrics]:
        out: list[PostMetrics] = []
        with self.client() as tiktok:
            for start in range(0, len(post_ids), METRICS_BATCH):
                batch = list(post_ids[start : start + METRICS_BATCH])
                videos = caller.call(lambda t, b=batch: tiktok.query_videos(t, b))  # type: ignore[misc]
                found = {str(v.get("id")): v for v in videos}
                for post_id in batch:
                    v = found.get(post_id)
                    if v is None:  # deleted, or made private: TikTok leaves it out, not saying
                        out.append(
                            PostMetrics(
                                platform_post_id=post_id, gone=True, gone_reason="unavailable"
                            )
                        )
                        continue
                    out.append(
                        PostMetrics(
                            platform_post_id=post_id,
                            views=_int(v.get("view_count")),
                            likes=_int(v.get("like_count")),
                            comments=_int(v.get("comment_count")),
                            shares=_int(v.get("share_count")),
                            duration_s=float(v["duration"]) if v.get("duration") else None,
                            raw=v,
                        )
                    )
        return out


def _int(value: object) -> int | None:
    try:
        return int(value) if value is not None else None  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def _published(info: CreatorInfo, status: PublishStatus) -> Published:
    post_id = status.post_ids[0] if status.post_ids else None
    url = post_url(info.username, post_id) if post_id and info.username else None
    return Published(platform_post_id=post_id, url=url)


def _wait(tiktok: TikTokClient, session: PublishSession, publish_id: str) -> PublishStatus:
    s = get_settings()
    return session.call(
        lambda t: tiktok.wait_for_publish(
            t,
            publish_id,
            timeout_s=s.publish_poll_timeout_s,
            initial_interval_s=s.publish_poll_interval_s,
            max_interval_s=max(s.publish_poll_interval_s, 30.0),
        )
    )
