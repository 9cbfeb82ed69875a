"""Facebook Page Reels: video_reels start -> upload -> finish, then the video's status.

Exactly-once: the video id (with its upload URL) is committed right after `start` and before
the first byte. A later attempt reads the video's status first: published (or publishing
under way): record it or wait, never finish again; upload incomplete: continue from
`bytes_transferred`; uploaded but not finished: finish it. Only a video whose publishing
phase has not started is ever finished, so one schedule makes at most one reel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import structlog

from cliply.config import get_settings
from cliply.errors import ValidationFailed
from cliply.integrations.meta import MetaClient, VideoStatus
from cliply.integrations.oauth_common import (
    RefreshFailed,
    TokenSet,
    TransientError,
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

DESCRIPTION_MAX: Final = 2200
TITLE_MAX: Final = 255
SCOPES: Final = ("pages_show_list", "pages_read_engagement", "pages_manage_posts", "read_insights")
REQUIRED: Final = ("pages_show_list", "pages_manage_posts")


def reel_url(video_id: str) -> str:
    return f"https://www.facebook.com/reel/{video_id}"


class Facebook:
    name: Final = "facebook"
    label: Final = "Facebook"
    job_kind: Final = "PUBLISH_FACEBOOK"
    metrics_batch: Final = 1
    metrics_quota_units: Final = 0
    metrics_scope: Final[str | None] = None
    # A Page's reels are public: Meta asks apps to offer only "Public".
    privacy_choices: Mapping[str, str] = {"public": "EVERYONE"}

    def configured(self) -> bool:
        return meta.configured()

    def daily_post_cap(self) -> int | None:
        return get_settings().facebook_daily_reel_limit

    # --- OAuth ------------------------------------------------------------------------------

    def authorize(self, redirect_uri: str, state: str) -> Authorization:
        return meta.authorize(redirect_uri, state, SCOPES)

    def connect(self, code: str, redirect_uri: str, verifier: str) -> Connection:
        with meta.client() as graph:
            tokens, pages = meta.user_grant(graph, code, redirect_uri, REQUIRED)
        usable = [
            p for p in pages if p.access_token and (not p.tasks or "CREATE_CONTENT" in p.tasks)
        ]
        if not usable:
            raise meta.refuse_no_page(
                "You did not grant a Facebook Page you can post to; connect again and choose one."
            )
        page = usable[0]  # the first one granted in Facebook's dialog
        identity = Identity(
            external_id=page.id,
            display_name=page.name or page.id,
            avatar_url=page.picture_url,
            info={"page_id": page.id, "other_pages": [p.name for p in usable[1:]]},
        )
        return Connection(tokens=meta.with_access(tokens, page.access_token), identity=identity)

    def refresh(self, refresh_token: str, account: AccountRef) -> TokenSet:
        """Renew the user token, and the Page token derived from it."""
        with meta.client() as graph:
            user = graph.long_lived(refresh_token)
            try:
                page = graph.page(user.access_token, account.external_id)
            except UpstreamRejected as exc:  # the Page is gone or no longer granted
                raise RefreshFailed(
                    f"The Page is no longer available: {exc.message}",
                    permanent=True,
                    code="reconnect-required",
                    platform=self.name,
                ) from None
        return meta.with_access(user, page.access_token)

    def revoke(self, access_token: str, refresh_token: str | None, account: AccountRef) -> None:
        with meta.client() as graph:
            graph.revoke(refresh_token or access_token)

    # --- text -------------------------------------------------------------------------------

    def validate(self, text: PostText) -> None:
        check_privacy(self, text.privacy)
        if len(text.title) > TITLE_MAX:
            raise ValidationFailed(
                f"Facebook reel titles have at most {TITLE_MAX} characters.",
                code="title-too-long",
                platform=self.name,
            )
        if len(meta.post_text(text, DESCRIPTION_MAX + 1)) > DESCRIPTION_MAX:
            raise ValidationFailed(
                f"Facebook reel descriptions have at most {DESCRIPTION_MAX} characters.",
                code="caption-too-long",
                platform=self.name,
            )

    # --- publishing -------------------------------------------------------------------------

    def publish(
        self, target: PublishTarget, path: Path, size: int, session: PublishSession
    ) -> Published:
        page_id = target.account.external_id
        description = meta.post_text(target.text, DESCRIPTION_MAX)
        title = target.text.title.strip()[:TITLE_MAX]
        with meta.client() as graph:
            if target.upload_ref is not None:
                video_id, url = meta.split_ref(target.upload_ref)
                status = session.call(lambda t: graph.video_status(t, video_id))
                session.event(
                    "facebook_status",
                    f"previous video is {status.video_status}",
                    bytes_transferred=status.bytes_transferred,
                    publishing=status.publishing,
                )
                if status.video_status != "error":
                    if status.publishing not in (None, "not_started"):
                        return self._wait(graph, session, video_id)
                    if status.uploading != "complete" and status.bytes_transferred < size:
                        self._upload(graph, session, video_id, url, path, status.bytes_transferred)
                    return self._finish(graph, session, page_id, video_id, description, title)
                # An error posted nothing: start a new video.
            handle = session.call(lambda t: graph.start_reel(t, page_id))
            session.record_upload_ref(f"{handle.id} {handle.upload_url}", "uploading")
            session.event("facebook_start", "reel upload started", video_id=handle.id)
            self._upload(graph, session, handle.id, handle.upload_url, path, 0)
            return self._finish(graph, session, page_id, handle.id, description, title)

    def _upload(
        self,
        graph: MetaClient,
        session: PublishSession,
        video_id: str,
        url: str,
        path: Path,
        start: int,
    ) -> None:
        tries = [0]

        def send(token: str) -> None:
            first = (
                start if tries[0] == 0 else graph.video_status(token, video_id).bytes_transferred
            )
            tries[0] += 1
            graph.upload(
                token,
                url,
                path,
                start=first,
                offset_of=lambda: graph.video_status(token, video_id).bytes_transferred,
                progress=lambda done, total: session.progress(
                    0.1 + 0.7 * done / total, "uploading"
                ),
            )

        session.call(send)

    def _finish(
        self,
        graph: MetaClient,
        session: PublishSession,
        page_id: str,
        video_id: str,
        description: str,
        title: str,
    ) -> Published:
        session.call(
            lambda t: graph.finish_reel(t, page_id, video_id, description=description, title=title)
        )
        session.after_upload(video_id)
        return self._wait(graph, session, video_id)

    def _wait(self, graph: MetaClient, session: PublishSession, video_id: str) -> Published:
        session.record_status("processing")
        last: list[VideoStatus | None] = [None]

        def done() -> bool:
            status = session.call(lambda t: graph.video_status(t, video_id))
            last[0] = status
            if status.video_status == "error" or status.error:
                raise UpstreamRejected(
                    f"Facebook could not publish the reel: {status.error or 'error'}",
                    code="reel-error",
                    platform=self.name,
                )
            return status.published

        def timeout() -> None:
            raise TransientError(
                "The reel is still being processed.", code="reel-pending", platform=self.name
            )

        meta.poll(session, done, "facebook reel", timeout)
        info: dict[str, Any] = session.call(lambda t: graph.video(t, video_id))
        url = info.get("permalink_url")
        if isinstance(url, str) and url.startswith("/"):
            url = f"https://www.facebook.com{url}"
        return Published(platform_post_id=video_id, url=str(url) if url else reel_url(video_id))

    # --- metrics ----------------------------------------------------------------------------

    def metrics(
        self, caller: TokenCaller, account: AccountRef, post_ids: Sequence[str]
    ) -> list[PostMetrics]:
        out: list[PostMetrics] = []
        with meta.client() as graph:
            for video_id in post_ids:
                try:
                    values = caller.call(lambda t, v=video_id: graph.video_insights(t, v))  # type: ignore[misc]
                except UpstreamRejected as exc:
                    log.info("facebook.video_gone", video_id=video_id, error=str(exc))
                    out.append(PostMetrics(platform_post_id=video_id, gone=True))
                    continue
                reactions = values.get("post_video_likes_by_reaction_type")
                actions = values.get("post_video_social_actions")
                actions = actions if isinstance(actions, dict) else {}
                out.append(
                    PostMetrics(
                        platform_post_id=video_id,
                        views=_num(values.get("blue_reels_play_count")),
                        likes=sum(int(v) for v in reactions.values())
                        if isinstance(reactions, dict)
                        else None,
                        comments=_num(actions.get("COMMENT")),
                        shares=_num(actions.get("SHARE")),
                        raw=values,
                    )
                )
        return out


def _num(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None
