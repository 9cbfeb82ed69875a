"""Instagram Reels (Instagram API with Facebook Login): resumable container, publish, insights.

Exactly-once: the container id (with its upload URL) is committed right after the container
is made and before the first byte. A later attempt reads the container first:
- PUBLISHED: an earlier attempt published it; the media is found among the account's recent
  media by its caption (the API links no container to its media), nothing is sent again;
- FINISHED: uploaded and processed, never published: publish it;
- IN_PROGRESS: continue the upload from the last offset the upload host acknowledged (the
  reference records it after every acknowledged chunk: Meta documents no way to ask the host),
  then wait;
- ERROR / EXPIRED: this container never became a post: a new one is made.
A media_publish is only ever sent for a container that is not PUBLISHED. The account's 24 h
publishing cap is read before a new container is made: at the cap the job waits instead of
burning attempts on Meta's error 9/2207042.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import structlog

from cliply.config import get_settings
from cliply.errors import ValidationFailed
from cliply.integrations.meta import (
    IG_ERROR,
    IG_EXPIRED,
    IG_FINISHED,
    IG_IN_PROGRESS,
    IG_PUBLISHED,
    MetaClient,
)
from cliply.integrations.oauth_common import (
    TokenSet,
    TransientError,
    UpstreamRateLimited,
    UpstreamRejected,
)
from cliply.platforms import meta
from cliply.platforms.base import (
    AccountRef,
    Authorization,
    Connection,
    Identity,
    PostMetrics,
    PostText,
    Published,
    PublishSession,
    PublishTarget,
    TokenCaller,
    check_privacy,
)

log = structlog.get_logger(__name__)

CAPTION_MAX: Final = 2200
HASHTAGS_MAX: Final = 30
SCOPES: Final = (
    "instagram_basic",
    "instagram_content_publish",
    "instagram_manage_insights",
    "pages_show_list",
    "pages_read_engagement",
)
REQUIRED: Final = ("instagram_basic", "instagram_content_publish")
INSIGHTS: Final = ("views", "likes", "comments", "shares")


class Instagram:
    name: Final = "instagram"
    label: Final = "Instagram"
    job_kind: Final = "PUBLISH_INSTAGRAM"
    metrics_batch: Final = 1
    metrics_quota_units: Final = 0
    metrics_scope: Final[str | None] = None
    # Reels from a business account are public.
    privacy_choices: Mapping[str, str] = {"public": "PUBLIC"}

    def configured(self) -> bool:
        return meta.configured()

    def daily_post_cap(self) -> int | None:
        return get_settings().instagram_daily_post_limit

    # --- OAuth ------------------------------------------------------------------------------

    def authorize(self, redirect_uri: str, state: str) -> Authorization:
        return meta.authorize(redirect_uri, state, SCOPES)

    def connect(self, code: str, redirect_uri: str, verifier: str) -> Connection:
        with meta.client() as graph:
            tokens, pages = meta.user_grant(graph, code, redirect_uri, REQUIRED)
        linked = [p for p in pages if p.instagram_id]
        if not linked:
            raise meta.refuse_no_page(
                "None of the Facebook Pages you granted has an Instagram professional account "
                "linked; link one in the Page's settings, then connect again."
            )
        page = linked[0]  # the first one granted in Facebook's dialog
        assert page.instagram_id is not None
        identity = Identity(
            external_id=page.instagram_id,
            display_name=page.instagram_username or page.name,
            avatar_url=page.instagram_picture_url,
            info={
                "username": page.instagram_username,
                "page_id": page.id,
                "page_name": page.name,
                "other_accounts": [p.instagram_username or p.instagram_id for p in linked[1:]],
            },
        )
        return Connection(tokens=tokens, identity=identity)

    def refresh(self, refresh_token: str, account: AccountRef) -> TokenSet:
        with meta.client() as graph:
            return graph.long_lived(refresh_token)

    def revoke(self, access_token: str, refresh_token: str | None, account: AccountRef) -> None:
        with meta.client() as graph:
            graph.revoke(refresh_token or access_token)

    # --- text -------------------------------------------------------------------------------

    def validate(self, text: PostText) -> None:
        check_privacy(self, text.privacy)
        full = meta.post_text(text, CAPTION_MAX + 1)
        if len(full) > CAPTION_MAX:
            raise ValidationFailed(
                f"Instagram captions (with hashtags) have at most {CAPTION_MAX} characters.",
                code="caption-too-long",
                platform=self.name,
            )
        if full.count("#") > HASHTAGS_MAX:
            raise ValidationFailed(
                f"Instagram allows at most {HASHTAGS_MAX} hashtags in a caption.",
                code="too-many-hashtags",
                platform=self.name,
            )

    # --- publishing -------------------------------------------------------------------------

    def publish(
        self, target: PublishTarget, path: Path, size: int, session: PublishSession
    ) -> Published:
        ig_user = target.account.external_id
        caption = meta.post_text(target.text, CAPTION_MAX)
        with meta.client() as graph:
            if target.upload_ref is not None:
                container, url = meta.split_ref(target.upload_ref)
                status = session.call(lambda t: graph.container_status(t, container))
                session.event("instagram_container", f"container is {status.status_code}")
                if status.status_code == IG_PUBLISHED:
                    return self._find_published(graph, session, ig_user, caption)
                if status.status_code == IG_FINISHED:
                    return self._publish(graph, session, ig_user, container)
                if status.status_code == IG_IN_PROGRESS:
                    held = meta.acknowledged(target.upload_ref)
                    if held < size:
                        self._upload(graph, session, container, url, path, start=held)
                    return self._finish(graph, session, ig_user, container, caption)
                # ERROR or EXPIRED: this container never became a post; make a new one.
            self._check_cap(graph, session, ig_user)
            share = bool(target.text.options.get("share_to_feed", True))
            handle = session.call(
                lambda t: graph.create_reel_container(
                    t, ig_user, caption=caption, share_to_feed=share
                )
            )
            session.record_upload_ref(f"{handle.id} {handle.upload_url}", "uploading")
            session.event("instagram_container", "container created", container_id=handle.id)
            self._upload(graph, session, handle.id, handle.upload_url, path, start=0)
            return self._finish(graph, session, ig_user, handle.id, caption)

    def _check_cap(self, graph: MetaClient, session: PublishSession, ig_user: str) -> None:
        limit = session.call(lambda t: graph.publishing_limit(t, ig_user))
        total = limit.quota_total or get_settings().instagram_daily_post_limit
        if limit.quota_usage >= total:
            raise UpstreamRateLimited(
                f"The Instagram account published {limit.quota_usage} of its {total} posts "
                "allowed in 24 h; publishing later.",
                code="publishing-limit-reached",
                retry_after_s=float(limit.quota_duration_s or 86400) / 24,
                platform=self.name,
            )

    def _upload(
        self,
        graph: MetaClient,
        session: PublishSession,
        container: str,
        url: str,
        path: Path,
        *,
        start: int,
    ) -> None:
        acked = [start]

        def chunk_done(done: int, total: int) -> None:
            # Recorded (committed) before the next chunk: a later attempt goes on from here.
            acked[0] = done
            session.record_upload_ref(f"{container} {url} {done}", "uploading")
            session.progress(0.1 + 0.7 * done / total, "uploading")

        def send(token: str) -> None:
            # After a 401 and a refresh, go on from what the host acknowledged.
            graph.upload(
                token,
                url,
                path,
                start=acked[0],
                chunk_size=get_settings().meta_upload_chunk_bytes,
                progress=chunk_done,
            )

        session.call(send)

    def _finish(
        self,
        graph: MetaClient,
        session: PublishSession,
        ig_user: str,
        container: str,
        caption: str,
    ) -> Published:
        session.record_status("processing")
        last: list[str] = [IG_IN_PROGRESS]

        def ready() -> bool:
            status = session.call(lambda t: graph.container_status(t, container))
            last[0] = status.status_code
            if status.status_code == IG_ERROR:
                raise UpstreamRejected(
                    f"Instagram could not process the video: {status.status or 'ERROR'}",
                    code="container-error",
                    platform=self.name,
                )
            if status.status_code == IG_EXPIRED:
                raise TransientError(
                    "The Instagram container expired before it was published.",
                    code="container-expired",
                    platform=self.name,
                )
            return status.status_code in (IG_FINISHED, IG_PUBLISHED)

        def timeout() -> None:
            raise TransientError(
                f"The Instagram container is still {last[0]}.",
                code="container-pending",
                platform=self.name,
            )

        meta.poll(session, ready, "instagram container", timeout)
        if last[0] == IG_PUBLISHED:  # published by an attempt we lost track of
            return self._find_published(graph, session, ig_user, caption)
        return self._publish(graph, session, ig_user, container)

    def _publish(
        self, graph: MetaClient, session: PublishSession, ig_user: str, container: str
    ) -> Published:
        media_id = session.call(lambda t: graph.publish_container(t, ig_user, container))
        session.after_upload(media_id)
        media = session.call(lambda t: graph.media(t, media_id))
        return Published(platform_post_id=media_id, url=media.permalink)

    def _find_published(
        self, graph: MetaClient, session: PublishSession, ig_user: str, caption: str
    ) -> Published:
        recent = session.call(lambda t: graph.recent_media(t, ig_user))
        for media in recent:  # newest first
            if media.caption == caption:
                return Published(platform_post_id=media.id, url=media.permalink)
        session.event("instagram_published_unmatched", "published, but the media was not found")
        return Published(platform_post_id=None, url=None)

    # --- metrics ----------------------------------------------------------------------------

    def metrics(
        self, caller: TokenCaller, account: AccountRef, post_ids: Sequence[str]
    ) -> list[PostMetrics]:
        out: list[PostMetrics] = []
        with meta.client() as graph:
            for media_id in post_ids:
                try:
                    values = caller.call(
                        lambda t, m=media_id: graph.media_insights(t, m, INSIGHTS)  # type: ignore[misc]
                    )
                except UpstreamRejected as exc:  # deleted (100/33) or no longer ours
                    log.info("instagram.media_gone", media_id=media_id, error=str(exc))
                    out.append(PostMetrics(platform_post_id=media_id, gone=True))
                    continue
                out.append(
                    PostMetrics(
                        platform_post_id=media_id,
                        views=_num(values.get("views")),
                        likes=_num(values.get("likes")),
                        comments=_num(values.get("comments")),
                        shares=_num(values.get("shares")),
                        raw=values,
                    )
                )
        return out


def _num(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
