"""YouTube: Google OAuth (code + PKCE), resumable upload with a marker, Data API statistics.

Exactly-once: every video carries a private marker tag naming our post. The session URI is
committed right after the session opens and before the first byte. A later attempt resumes
that session (`upload(resume=True)`: the server says what it holds, or hands back the finished
video). When the session is gone, or when an attempt ran without a recorded session, the
channel is searched for the marker first, and a new session is opened only when no video
carries it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any, Final

from cliply.config import get_settings
from cliply.errors import ValidationFailed
from cliply.integrations.google_oauth import (
    DEFAULT_SCOPES,
    SCOPE_ANALYTICS,
    SCOPE_READONLY,
    GoogleOAuthClient,
)
from cliply.integrations.oauth_common import (
    TokenExpired,
    TokenSet,
    TransientError,
    UploadSessionExpired,
)
from cliply.integrations.youtube import (
    DESCRIPTION_MAX_BYTES,
    TITLE_MAX_CHARS,
    PrivacyStatus,
    YouTubeClient,
    YouTubeVideo,
    YouTubeVideoMetadata,
    apply_shorts_convention,
    is_short,
    post_marker,
)
from cliply.platforms.base import (
    AccountRef,
    Audience,
    Authorization,
    Choice,
    Connection,
    ConnectRefused,
    Identity,
    MetricsDetail,
    PlatformNotConfigured,
    PostField,
    PostMetrics,
    PostText,
    Published,
    PublishSession,
    PublishTarget,
    TokenCaller,
    check_privacy,
    missing_tags,
    retry_policy,
)

# Below YouTube's 5000 bytes: room for the #Shorts tag added at publish time.
DESCRIPTION_BUDGET_BYTES: Final = DESCRIPTION_MAX_BYTES - 100
_MAX_TOKEN_REFRESHES: Final = 2
METRICS_BATCH: Final = 50
# Publishing needs the default scopes; analytics reports are an optional extra.
CONNECT_SCOPES: Final = (*DEFAULT_SCOPES, SCOPE_ANALYTICS)


def description(text: PostText) -> str:
    body = text.caption.strip()
    tags = " ".join(missing_tags(body, text.hashtags))
    full = f"{body}\n\n{tags}".strip() if tags else body
    # YouTube refuses '<' and '>' in descriptions.
    full = full.replace("<", "").replace(">", "")
    data = full.encode("utf-8")[:DESCRIPTION_BUDGET_BYTES]
    return data.decode("utf-8", errors="ignore")


TITLE_MAX_FORM: Final = 100


class YouTube:
    name: Final = "youtube"
    label: Final = "YouTube"
    job_kind: Final = "PUBLISH_YOUTUBE"
    metrics_batch: Final = METRICS_BATCH
    metrics_quota_units: Final = 1
    metrics_scope: Final[str | None] = SCOPE_READONLY
    detail_scope: Final = SCOPE_ANALYTICS
    detail_quota_bucket: Final = "youtube_analytics"
    detail_quota_units: Final = 1  # one query, whatever its size
    privacy_choices: Mapping[str, PrivacyStatus] = {
        "public": "public",
        "unlisted": "unlisted",
        "private": "private",
    }

    def oauth_client(self) -> GoogleOAuthClient:
        s = get_settings()
        if not s.google_client_id or s.google_client_secret is None:
            raise PlatformNotConfigured(
                "YouTube is not set up on this server (GOOGLE_CLIENT_ID / GOOGLE_CLIENT_SECRET).",
                platform=self.name,
            )
        return GoogleOAuthClient(
            auth_base=s.google_auth_base,
            token_base=s.google_token_base,
            client_id=s.google_client_id,
            client_secret=s.google_client_secret.get_secret_value(),
        )

    def client(self) -> YouTubeClient:
        s = get_settings()
        return YouTubeClient(
            api_base=s.youtube_api_base,
            upload_base=s.youtube_upload_base,
            chunk_size=s.youtube_chunk_size,
            retry=retry_policy(),
            analytics_base=s.youtube_analytics_base,
        )

    def configured(self) -> bool:
        s = get_settings()
        return bool(s.google_client_id and s.google_client_secret is not None)

    def daily_post_cap(self) -> int | None:
        return None  # bounded by the API quota, not by a post count

    def detail_daily_quota(self) -> int:
        return get_settings().youtube_analytics_daily_quota_units

    # --- OAuth ------------------------------------------------------------------------------

    def authorize(self, redirect_uri: str, state: str) -> Authorization:
        with self.oauth_client() as google:
            pkce = google.new_pkce()
            url = google.authorize_url(redirect_uri, state, pkce.challenge, scopes=CONNECT_SCOPES)
        return Authorization(url=url, verifier=pkce.verifier)

    def connect(self, code: str, redirect_uri: str, verifier: str) -> Connection:
        with self.oauth_client() as google:
            tokens = google.exchange_code(code, redirect_uri, verifier)
        with self.client() as youtube:
            channel = youtube.my_channel(tokens.access_token)
        if channel is None:
            raise ConnectRefused(
                "This Google account has no YouTube channel; create one, then connect again.",
                code="youtube-channel-missing",
            )
        identity = Identity(
            external_id=channel.id,
            display_name=channel.title or channel.id,
            avatar_url=channel.thumbnail_url,
            info={"channel_id": channel.id},
        )
        return Connection(tokens=tokens, identity=identity)

    def refresh(self, refresh_token: str, account: AccountRef) -> TokenSet:
        with self.oauth_client() as google:
            return google.refresh(refresh_token)

    def revoke(self, access_token: str, refresh_token: str | None, account: AccountRef) -> None:
        # Revoking the refresh token ends the whole grant.
        with self.oauth_client() as google:
            google.revoke(refresh_token or access_token)

    # --- text -------------------------------------------------------------------------------

    def post_fields(self, audience: Audience | None) -> list[PostField]:
        return [
            PostField(
                name="title",
                label="Title",
                kind="text",
                max_length=TITLE_MAX_FORM,
                help="Leave empty to use each clip's title.",
            ),
            PostField(name="description", label="Description", kind="textarea", max_length=5000),
            PostField(name="tags", label="Tags", kind="tags", help="Comma-separated."),
            PostField(
                name="made_for_kids",
                label="Is this video made for kids?",
                kind="choice",
                required=True,
                choices=(
                    Choice(value="false", label="No, it's not made for kids"),
                    Choice(value="true", label="Yes, it's made for kids"),
                ),
                help="YouTube requires this declaration (COPPA).",
            ),
            PostField(
                name="notify_subscribers", label="Notify subscribers", kind="bool", default=True
            ),
        ]

    def validate(self, text: PostText) -> None:
        check_privacy(self, text.privacy)
        title = text.title.strip()
        if not title:
            raise ValidationFailed("YouTube needs a title.", code="title-required")
        if len(title) > TITLE_MAX_CHARS:
            raise ValidationFailed(
                f"YouTube titles have at most {TITLE_MAX_CHARS} characters.",
                code="title-too-long",
            )
        if "<" in title or ">" in title:
            raise ValidationFailed(
                "YouTube titles may not contain '<' or '>'.", code="invalid-title"
            )

    # --- publishing -------------------------------------------------------------------------

    def metadata_for(self, target: PublishTarget) -> YouTubeVideoMetadata:
        text = target.text
        opts = text.options
        metadata = YouTubeVideoMetadata(
            title=text.title.strip(),
            description=description(text),
            tags=tuple(t.lstrip("#") for t in text.hashtags),
            privacy_status=self.privacy_choices.get(text.privacy, "private"),
            self_declared_made_for_kids=bool(opts.get("made_for_kids")),
            contains_synthetic_media=True if opts.get("ai_generated") else None,
        ).with_marker(post_marker(target.post_id))
        if target.width and target.height:
            metadata = apply_shorts_convention(
                metadata, target.width, target.height, target.duration_s
            )
        return metadata

    def publish(
        self, target: PublishTarget, path: Path, size: int, session: PublishSession
    ) -> Published:
        with self.client() as youtube:
            video: YouTubeVideo | None = None
            if target.upload_ref is not None:
                video = _upload(youtube, session, target, target.upload_ref, path, resume=True)
            elif target.attempts > 1:
                # An earlier attempt ended with no session recorded: make sure nothing landed.
                video = _find(youtube, session, target)
            if video is None:
                metadata = self.metadata_for(target)
                notify = bool(target.text.options.get("notify_subscribers", True))
                session_uri = session.call(
                    lambda t: youtube.start_resumable_upload(
                        t, metadata, size, notify_subscribers=notify
                    )
                )
                session.record_upload_ref(session_uri, "uploading")
                session.event("youtube_session", "upload session opened")
                video = _upload(youtube, session, target, session_uri, path, resume=False)
                if video is None:
                    raise TransientError(
                        "The upload session expired before the video was complete.",
                        platform=self.name,
                    )
            session.after_upload(video.id)
            short = bool(target.width and target.height) and is_short(
                target.width or 0, target.height or 0, target.duration_s
            )
            return Published(
                platform_post_id=video.id, url=video.shorts_url if short else video.url
            )

    # --- metrics ----------------------------------------------------------------------------

    def metrics(
        self, caller: TokenCaller, account: AccountRef, post_ids: Sequence[str]
    ) -> list[PostMetrics]:
        out: list[PostMetrics] = []
        with self.client() as youtube:
            for start in range(0, len(post_ids), METRICS_BATCH):
                batch = list(post_ids[start : start + METRICS_BATCH])
                found = caller.call(lambda t, b=batch: youtube.video_statistics(t, b))  # type: ignore[misc]
                for post_id in batch:
                    out.append(_metrics_of(post_id, found.get(post_id)))
        return out

    def metrics_detail(
        self,
        caller: TokenCaller,
        account: AccountRef,
        post_ids: Sequence[str],
        start: date,
        end: date,
    ) -> dict[str, MetricsDetail]:
        """YouTube Analytics per video (the account granted yt-analytics.readonly)."""
        with self.client() as youtube:
            rows = caller.call(lambda t: youtube.video_analytics(t, list(post_ids), start, end))
        return {vid: _detail_of(r) for vid, r in rows.items()}


def _detail_of(row: Mapping[str, float]) -> MetricsDetail:
    def num(key: str) -> float | None:
        value = row.get(key)
        return float(value) if value is not None else None

    views, subs = num("views"), num("subscribersGained")
    return MetricsDetail(
        views=int(views) if views is not None else None,
        watch_minutes=num("estimatedMinutesWatched"),
        avg_view_duration_s=num("averageViewDuration"),
        avg_view_percentage=num("averageViewPercentage"),
        subscribers_gained=int(subs) if subs is not None else None,
    )


def _metrics_of(post_id: str, item: dict[str, Any] | None) -> PostMetrics:
    if item is None:  # videos.list leaves out deleted videos (and other channels' private ones)
        return PostMetrics(platform_post_id=post_id, gone=True, gone_reason="deleted")
    status = item.get("status") or {}
    # Private without a publishAt: made private (a scheduled video is private until then).
    # The owner still sees its counters: they come along, for a post published private.
    private = status.get("privacyStatus") == "private" and not status.get("publishAt")
    stats = item.get("statistics") or {}

    def num(key: str) -> int | None:
        value = stats.get(key)
        return int(value) if value is not None else None

    return PostMetrics(
        platform_post_id=post_id,
        views=num("viewCount"),
        likes=num("likeCount"),
        comments=num("commentCount"),
        shares=None,  # the Data API has no share count
        raw=item,
        gone=private,
        gone_reason="private" if private else None,
    )


def _upload(
    youtube: YouTubeClient,
    session: PublishSession,
    target: PublishTarget,
    session_uri: str,
    path: Path,
    *,
    resume: bool,
) -> YouTubeVideo | None:
    """The finished video, or None when the session expired and no video has our marker."""
    refreshes = 0
    while True:
        try:
            return youtube.upload(
                session.current,
                session_uri,
                path,
                resume=resume,
                progress=lambda done, total: session.progress(
                    0.1 + 0.8 * done / total, "uploading"
                ),
            )
        except TokenExpired:
            if refreshes >= _MAX_TOKEN_REFRESHES:
                raise
            refreshes += 1
            session.refresh()
            resume = True  # carry on where the server stopped
        except UploadSessionExpired:
            session.event("youtube_session_expired", "upload session gone; looking for the video")
            return _find(youtube, session, target)


def _find(
    youtube: YouTubeClient, session: PublishSession, target: PublishTarget
) -> YouTubeVideo | None:
    marker = post_marker(target.post_id)
    return session.call(lambda t: youtube.find_video_by_marker(t, marker))
