"""The shape every publishing platform has: one `Platform` adapter per platform.

An adapter owns everything that differs between platforms: the OAuth flow (authorize URL,
code exchange, refresh, revoke, scopes), which account a grant belongs to, the limits and
validation of a post's text, the publish flow, and the metrics query. The domains above
(accounts, schedules, publishing) only ever talk to adapters through this Protocol, looked up
by name in `cliply.platforms.registry`; they never branch on a platform's name.

Adapters sit below the domains: they import integrations and settings, never domain code.
What a publish flow needs from the domains (tokens refreshed on 401, the upload reference
committed before waiting, progress, hooks) comes in through `PublishSession`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final, Literal, Protocol, TypeVar, runtime_checkable

from cliply.config import get_settings
from cliply.errors import CliplyError, ValidationFailed
from cliply.integrations.oauth_common import RetryPolicy, TokenSet

T = TypeVar("T")

# Who may see a post: one vocabulary for schedules; each adapter maps the ones it offers.
Privacy = Literal["public", "unlisted", "followers", "friends", "private"]
PRIVACY_CHOICES: Final[tuple[Privacy, ...]] = (
    "public",
    "unlisted",
    "followers",
    "friends",
    "private",
)


class PlatformNotConfigured(CliplyError):
    status, code, title = 503, "platform-not-configured", "Platform not configured"


class PlatformUnavailable(CliplyError):
    """The platform failed or could not be reached; trying again later may work."""

    status, code, title = 502, "platform-unavailable", "Platform unavailable"


class ConnectRefused(CliplyError):
    """The grant cannot become an account (no YouTube channel, no Page, scopes missing)."""

    status, code, title = 400, "oauth-exchange-failed", "The platform account cannot be used"


class PublishRefused(CliplyError):
    """The post cannot be made as asked (audience not offered, clip too long, ...);
    retrying will not help. Raise sites give the specific `code`."""

    status, code, title = 422, "publish-refused", "The post cannot be made"


@dataclass(frozen=True)
class Authorization:
    """Where to send the user, and the PKCE verifier to keep ("" when the platform has none)."""

    url: str
    verifier: str


@dataclass(frozen=True)
class Identity:
    external_id: str
    display_name: str
    avatar_url: str | None
    info: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Connection:
    """A finished connect: the tokens to store for the account, and which account it is."""

    tokens: TokenSet
    identity: Identity


@dataclass(frozen=True)
class AccountRef:
    """What an adapter may need to know of a stored account (e.g. the Page id)."""

    external_id: str
    info: Mapping[str, Any]
    scopes: frozenset[str] = frozenset()  # what the account's grant allows


@dataclass(frozen=True)
class PostText:
    """A post's text and options as a schedule holds them (checked when scheduling)."""

    title: str
    caption: str
    hashtags: tuple[str, ...]
    privacy: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishTarget:
    """Everything a publish flow needs, read when the attempt starts."""

    post_id: uuid.UUID
    account_id: uuid.UUID
    account: AccountRef
    upload_ref: str | None
    attempts: int  # this attempt included
    text: PostText
    width: int | None = None
    height: int | None = None
    duration_s: float = 0.0


@dataclass(frozen=True)
class Published:
    platform_post_id: str | None
    url: str | None


# Why a post no longer shows: deleted, made private, or left out by a platform that does not
# say which of the two (TikTok).
GoneReason = Literal["deleted", "private", "unavailable"]
GONE_REASONS: Final[tuple[GoneReason, ...]] = ("deleted", "private", "unavailable")


@dataclass(frozen=True)
class PostMetrics:
    """One reading of a published post's counters; `gone` when it was deleted or hidden
    (`gone_reason` says which)."""

    platform_post_id: str
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    duration_s: float | None = None
    gone: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
    gone_reason: GoneReason | None = None


@dataclass(frozen=True)
class MetricsDetail:
    """Audience figures of one post from a platform's analytics report (YouTube Analytics),
    lifetime totals up to the report's end date."""

    views: int | None = None
    watch_minutes: float | None = None
    avg_view_duration_s: float | None = None
    avg_view_percentage: float | None = None
    subscribers_gained: int | None = None


@runtime_checkable
class DetailedMetrics(Protocol):
    """An adapter that also reads an analytics report where the account granted its scope
    (YouTube Analytics). The report has its own daily quota, counted by the collector."""

    @property
    def detail_scope(self) -> str: ...

    @property
    def detail_quota_bucket(self) -> str:
        """The name the collector counts this report's quota under (per UTC day)."""

    @property
    def detail_quota_units(self) -> int:
        """Quota units one report call costs."""

    def detail_daily_quota(self) -> int:
        """Units per day the collector may use (a setting)."""

    def metrics_detail(
        self,
        caller: TokenCaller,
        account: AccountRef,
        post_ids: Sequence[str],
        start: date,
        end: date,
    ) -> dict[str, MetricsDetail]:
        """Figures per post id (one call); posts without data are left out."""


def parse_scopes(raw: str | None) -> frozenset[str]:
    """A stored scope list (comma- or space-separated)."""
    return frozenset(x for x in (raw or "").replace(" ", ",").split(",") if x)


AnalyticsAccess = Literal["full", "basic", "reconnect"]


def analytics_access(platform: Platform, scopes: frozenset[str]) -> AnalyticsAccess:
    """What metrics collection can read for an account: "reconnect" when the grant lacks
    the metrics scope (connected before it was asked for), "basic" when it lacks the optional
    analytics-report scope, else "full". An account whose scopes were never recorded is
    assumed to hold what was asked for."""
    if not scopes:
        return "full"
    if platform.metrics_scope is not None and platform.metrics_scope not in scopes:
        return "reconnect"
    if isinstance(platform, DetailedMetrics) and platform.detail_scope not in scopes:
        return "basic"
    return "full"


@dataclass(frozen=True)
class Audience:
    """What one account may choose for a post right now (asked of the platform, where it
    says): the audiences (our vocabulary), switches the account has turned off, the
    longest video it may post. An adapter that can tell offers `audience(caller)`."""

    privacy: tuple[str, ...]
    disabled: frozenset[str] = frozenset()
    max_duration_s: int | None = None


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class PostField:
    """One field a post to this platform asks for, besides the audience (the schedule form is
    built from these; the batch scheduler maps them by name: title, caption/description,
    tags, and the switches of a schedule's options). An adapter that has some offers
    `post_fields(audience)`; one without asks for a caption only."""

    name: str
    label: str
    kind: Literal["choice", "text", "textarea", "tags", "bool"]
    required: bool = False
    choices: tuple[Choice, ...] = ()
    max_length: int | None = None
    help: str | None = None
    disabled: bool = False
    forced: bool | None = None
    default: bool | str | None = None


class TokenCaller(Protocol):
    """Calls with the account's access token, refreshing it once the platform says 401."""

    @property
    def current(self) -> str: ...

    def refresh(self) -> str: ...

    def call(self, fn: Callable[[str], T]) -> T: ...


class PublishSession(TokenCaller, Protocol):
    """What a publish flow may do besides talking to the platform."""

    def record_upload_ref(self, ref: str, status: str = "uploading") -> None:
        """Commit the platform's handle of this upload before any byte is sent or waited on."""

    def record_status(self, status: str) -> None: ...

    def after_upload(self, ref: str) -> None:
        """The platform holds the whole file; called before the result is recorded."""

    def event(self, name: str, message: str, **data: Any) -> None: ...

    def progress(self, fraction: float, message: str | None = None) -> None: ...


class Platform(Protocol):
    """One publishing platform. Instances are stateless; clients are built from settings."""

    @property
    def name(self) -> str:
        """Stable id: URLs, the accounts table, job kinds."""

    @property
    def label(self) -> str:
        """For people: "TikTok"."""

    @property
    def job_kind(self) -> str:
        """The queue kind of its publish jobs."""

    @property
    def metrics_batch(self) -> int:
        """Most post ids one metrics call reads (the collector sizes its batches by it)."""

    @property
    def metrics_quota_units(self) -> int:
        """Daily-quota units one metrics call costs (0: the platform counts no units)."""

    @property
    def metrics_scope(self) -> str | None:
        """The grant scope the metrics query needs (an account without it must reconnect
        for analytics), or None when publishing's scopes suffice."""

    @property
    def privacy_choices(self) -> Mapping[str, str]:
        """Our audience vocabulary -> the platform's value, for the audiences it offers."""

    def configured(self) -> bool:
        """Credentials are set (connecting is possible)."""

    def daily_post_cap(self) -> int | None:
        """Posts one account may publish in any 24 h through the API, when capped."""

    def authorize(self, redirect_uri: str, state: str) -> Authorization: ...

    def connect(self, code: str, redirect_uri: str, verifier: str) -> Connection:
        """Exchange the code and identify the account. Raises OAuthError (code refused),
        IntegrationError (platform trouble) or ConnectRefused."""

    def refresh(self, refresh_token: str, account: AccountRef) -> TokenSet:
        """New tokens; RefreshFailed(permanent=True) when the user must reconnect."""

    def revoke(self, access_token: str, refresh_token: str | None, account: AccountRef) -> None:
        """Tell the platform to drop our grant."""

    def validate(self, text: PostText) -> None:
        """Raise ValidationFailed when the platform would refuse this text or audience."""

    def publish(
        self, target: PublishTarget, path: Path, size: int, session: PublishSession
    ) -> Published:
        """Publish exactly once (resume or find an earlier attempt's upload)."""

    def metrics(
        self, caller: TokenCaller, account: AccountRef, post_ids: Sequence[str]
    ) -> list[PostMetrics]:
        """Current counters of published posts (the ids the platform gave them)."""


def check_privacy(platform: Platform, privacy: str) -> None:
    """422 when the platform has no such audience (TikTok has no "unlisted", YouTube no
    "followers"/"friends", Pages and Reels are public)."""
    allowed = platform.privacy_choices
    if privacy not in allowed:
        raise ValidationFailed(
            f"privacy {privacy!r} is not available on {platform.label}; "
            f"choose one of {', '.join(allowed)}.",
            code="privacy-not-supported",
            platform=platform.name,
            allowed=list(allowed),
        )


def missing_tags(text: str, hashtags: Sequence[str]) -> list[str]:
    """`#tag` for each hashtag the text does not already carry."""
    lower = text.lower()
    tags = [t.lstrip("#") for t in hashtags]
    return [f"#{t}" for t in tags if t and f"#{t.lower()}" not in lower]


def check_length(platform: Platform, what: str, text: str, limit: int, code: str) -> None:
    if len(text) > limit:
        raise ValidationFailed(
            f"{platform.label} {what} have at most {limit} characters.",
            code=code,
            platform=platform.name,
        )


def retry_policy() -> RetryPolicy:
    """Backoff of platform calls retried on 5xx and dropped connections (from settings)."""
    base = get_settings().integration_retry_base_s
    return RetryPolicy(max_retries=5, base_delay_s=base, max_delay_s=max(60.0, base))
