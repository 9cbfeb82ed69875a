"""The platforms Cliply publishes to, by name. Adding one = its adapter module + a line here.

Nothing outside this package names a platform: the domains look adapters up here, so a name
that is not registered is refused (404 unknown-platform) rather than taking another
platform's code path.
"""

from __future__ import annotations

from typing import Final

from cliply.errors import NotFound
from cliply.platforms.base import Platform
from cliply.platforms.facebook import Facebook
from cliply.platforms.instagram import Instagram
from cliply.platforms.tiktok import TikTok
from cliply.platforms.youtube import YouTube

_ADAPTERS: Final[tuple[Platform, ...]] = (TikTok(), YouTube(), Instagram(), Facebook())
_BY_NAME: Final[dict[str, Platform]] = {p.name: p for p in _ADAPTERS}

# The names, in display order: the one definition (API docs, validation, DB check).
PLATFORMS: Final[tuple[str, ...]] = tuple(_BY_NAME)


class UnknownPlatform(NotFound):
    code, title = "unknown-platform", "Unknown platform"


def get(name: str) -> Platform:
    """The adapter called `name`; UnknownPlatform (404) for any other name."""
    adapter = _BY_NAME.get(name)
    if adapter is None:
        raise UnknownPlatform(
            f"Unknown platform {name!r}; use one of {', '.join(PLATFORMS)}.",
            platform=name,
        )
    return adapter


def all_platforms() -> tuple[Platform, ...]:
    return _ADAPTERS


def by_job_kind(kind: str) -> Platform:
    for adapter in _ADAPTERS:
        if adapter.job_kind == kind:
            return adapter
    raise UnknownPlatform(f"No platform publishes jobs of kind {kind!r}.", kind=kind)
