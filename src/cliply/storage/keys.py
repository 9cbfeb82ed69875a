"""Object keys, built from ids only (never from user text), and key validation."""

from __future__ import annotations

import re
import uuid

from cliply.storage.base import InvalidKey

VIDEO_EXTENSIONS = frozenset(
    {"mp4", "mov", "mkv", "webm", "avi", "m4v", "mpg", "mpeg", "ts", "flv", "wmv", "3gp"}
)
TRANSCRIPT_FORMATS = frozenset({"json", "srt", "vtt"})
MAX_KEY_LENGTH = 1024
_SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]*$")


def validate_key(key: str) -> str:
    """Return `key` if it is a safe relative object key, else raise InvalidKey.

    Allowed: '/'-separated segments of letters, digits, '.', '_' and '-', none empty,
    none starting with '.' (so no '..', no hidden or temporary files), no leading '/'.
    """
    if not isinstance(key, str) or not key:
        raise InvalidKey("empty object key")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey("object key too long")
    if key.startswith("/") or "\\" in key or "\x00" in key:
        raise InvalidKey(f"object key must be relative: {key!r}")
    for segment in key.split("/"):
        if not _SEGMENT.match(segment):
            raise InvalidKey(f"invalid object key segment {segment!r} in {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, or a key (optionally ending with '/')."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def _id(value: uuid.UUID | str, what: str) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidKey(f"{what} is not a UUID: {value!r}") from exc


def _ext(ext: str) -> str:
    clean = ext.lower().lstrip(".")
    if clean not in VIDEO_EXTENSIONS:
        raise InvalidKey(f"video extension {ext!r} is not allowed")
    return clean


def source_video_key(workspace_id: uuid.UUID | str, project_id: uuid.UUID | str, ext: str) -> str:
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return f"videos/{ws}/{project}/source.{_ext(ext)}"


def transcript_key(workspace_id: uuid.UUID | str, project_id: uuid.UUID | str, fmt: str) -> str:
    if fmt not in TRANSCRIPT_FORMATS:
        raise InvalidKey(f"transcript format {fmt!r} is not one of json, srt, vtt")
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return f"transcripts/{ws}/{project}/transcript.{fmt}"


def render_key(
    workspace_id: uuid.UUID | str, project_id: uuid.UUID | str, clip_id: uuid.UUID | str
) -> str:
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return f"renders/{ws}/{project}/{_id(clip_id, 'clip_id')}.mp4"


def captions_key(
    workspace_id: uuid.UUID | str, project_id: uuid.UUID | str, clip_id: uuid.UUID | str
) -> str:
    """The subtitle file (ASS) a clip's render burned in, kept next to the render."""
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return f"renders/{ws}/{project}/{_id(clip_id, 'clip_id')}.ass"


EXPORT_FORMATS = ("otio", "fcpxml", "srt")


def export_key(
    workspace_id: uuid.UUID | str,
    project_id: uuid.UUID | str,
    clip_id: uuid.UUID | str,
    fmt: str,
) -> str:
    """A clip's timeline for editors (OTIO, FCPXML) or its SRT, kept next to the render."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidKey(f"export format {fmt!r} is not one of {', '.join(EXPORT_FORMATS)}")
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return f"renders/{ws}/{project}/{_id(clip_id, 'clip_id')}.{fmt}"


def thumbnail_key(
    workspace_id: uuid.UUID | str, project_id: uuid.UUID | str, clip_id: uuid.UUID | str
) -> str:
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return f"thumbs/{ws}/{project}/{_id(clip_id, 'clip_id')}.jpg"


def preview_key(
    workspace_id: uuid.UUID | str,
    project_id: uuid.UUID | str,
    clip_id: uuid.UUID | str,
    digest: str,
) -> str:
    """A clip editor still (one look of one frame), cached by the digest of that look."""
    if not digest.isalnum() or len(digest) > 64:
        raise InvalidKey("preview digest must be alphanumeric")
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    # Under thumbs/…/project/ so deleting the project's prefixes removes them too.
    return f"thumbs/{ws}/{project}/previews/{_id(clip_id, 'clip_id')}/{digest}.jpg"


BRAND_ASSETS = frozenset({"font", "logo", "intro", "outro"})
BRAND_EXTENSIONS = frozenset({"ttf", "otf", "png", "jpg"}) | VIDEO_EXTENSIONS


def brand_asset_key(workspace_id: uuid.UUID | str, kind: str, digest: str, ext: str) -> str:
    """A brand kit's file, addressed by its content (a new upload never overwrites the file a
    running render reads); each in its own folder, so a font's folder holds only that font."""
    if kind not in BRAND_ASSETS:
        raise InvalidKey(f"unknown brand asset {kind!r}")
    if not digest.isalnum() or len(digest) > 64:
        raise InvalidKey("brand asset digest must be alphanumeric")
    if ext not in BRAND_EXTENSIONS:
        raise InvalidKey(f"brand asset extension {ext!r} is not allowed")
    return f"brand/{_id(workspace_id, 'workspace_id')}/{kind}/{digest}/{kind}.{ext}"


def upload_key(workspace_id: uuid.UUID | str, upload_id: uuid.UUID | str) -> str:
    """The assembled data of an in-progress resumable upload."""
    ws, up = _id(workspace_id, "workspace_id"), _id(upload_id, "upload_id")
    return f"uploads/{ws}/{up}/data"


def upload_part_key(workspace_id: uuid.UUID | str, upload_id: uuid.UUID | str, index: int) -> str:
    """One received piece of a resumable upload (index 0..999999)."""
    if not 0 <= index < 1_000_000:
        raise InvalidKey(f"upload part index out of range: {index}")
    ws, up = _id(workspace_id, "workspace_id"), _id(upload_id, "upload_id")
    return f"uploads/{ws}/{up}/part-{index:06d}"


def upload_prefix(workspace_id: uuid.UUID | str, upload_id: uuid.UUID | str) -> str:
    ws, up = _id(workspace_id, "workspace_id"), _id(upload_id, "upload_id")
    return f"uploads/{ws}/{up}/"


def project_prefixes(workspace_id: uuid.UUID | str, project_id: uuid.UUID | str) -> list[str]:
    """Every prefix holding a project's objects (for deleting a project)."""
    ws, project = _id(workspace_id, "workspace_id"), _id(project_id, "project_id")
    return [f"{kind}/{ws}/{project}/" for kind in ("videos", "transcripts", "renders", "thumbs")]


def workspace_prefixes(workspace_id: uuid.UUID | str) -> list[str]:
    ws = _id(workspace_id, "workspace_id")
    return [
        f"{kind}/{ws}/"
        for kind in ("videos", "transcripts", "renders", "thumbs", "uploads", "brand")
    ]
