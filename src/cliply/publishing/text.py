"""Post text per platform from a schedule's title, caption and hashtags."""

from __future__ import annotations

from typing import Final

TIKTOK_CAPTION_MAX: Final = 2200
YOUTUBE_DESCRIPTION_MAX_BYTES: Final = 4900  # below YouTube's 5000, room for #Shorts


def _missing_tags(text: str, hashtags: tuple[str, ...]) -> list[str]:
    lower = text.lower()
    return [f"#{t}" for t in hashtags if f"#{t.lower()}" not in lower]


def tiktok_caption(title: str, caption: str, hashtags: tuple[str, ...]) -> str:
    """TikTok has one text field: the caption (or the title), then the hashtags."""
    text = (caption or title).strip()
    tags = " ".join(_missing_tags(text, hashtags))
    full = f"{text} {tags}".strip() if tags else text
    return full[:TIKTOK_CAPTION_MAX]


def youtube_description(caption: str, hashtags: tuple[str, ...]) -> str:
    text = caption.strip()
    tags = " ".join(_missing_tags(text, hashtags))
    full = f"{text}\n\n{tags}".strip() if tags else text
    # YouTube refuses '<' and '>' in descriptions.
    full = full.replace("<", "").replace(">", "")
    data = full.encode("utf-8")[:YOUTUBE_DESCRIPTION_MAX_BYTES]
    return data.decode("utf-8", errors="ignore")
