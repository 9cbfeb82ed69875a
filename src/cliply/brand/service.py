"""The brand kit: read, change, attach and remove its files, and hand the render its look.

One kit per workspace (a row appears on the first change). Files are validated before they
are stored, under content-addressed keys, so a render that is reading the old font is never
given half of a new one; the replaced object is deleted once the row points elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from cliply.brand import assets
from cliply.brand.models import BrandKit
from cliply.brand.schemas import BrandIn
from cliply.errors import NotFound
from cliply.media.brand import CaptionBrand, LogoOverlay
from cliply.pipeline.sources import local_source
from cliply.pipeline.steps import BrandSpec
from cliply.storage import ObjectNotFound, Storage
from cliply.storage.keys import brand_asset_key

AssetKind = Literal["font", "logo", "intro", "outro"]
ASSET_KINDS: tuple[AssetKind, ...] = ("font", "logo", "intro", "outro")
CONTENT_TYPES = {
    "ttf": "font/ttf",
    "otf": "font/otf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "mp4": "video/mp4",
}


def get_kit(db: Session, workspace_id: uuid.UUID) -> BrandKit | None:
    return db.scalar(select(BrandKit).where(BrandKit.workspace_id == workspace_id))


def _kit_for_update(db: Session, workspace_id: uuid.UUID) -> BrandKit:
    kit = db.scalar(select(BrandKit).where(BrandKit.workspace_id == workspace_id).with_for_update())
    if kit is None:
        kit = BrandKit(workspace_id=workspace_id)
        db.add(kit)
        db.flush()
        db.refresh(kit)
    return kit


def update_kit(db: Session, workspace_id: uuid.UUID, change: BrandIn) -> BrandKit:
    """Apply the fields the change names (null resets a nullable one)."""
    kit = _kit_for_update(db, workspace_id)
    for name in change.model_fields_set:
        setattr(kit, name, getattr(change, name))
    db.flush()
    db.refresh(kit)
    return kit


@dataclass(frozen=True)
class StoredAsset:
    key: str
    filename: str
    facts: assets.FontFacts | assets.LogoFacts | assets.ClipFacts


def store_asset(
    storage: Storage, workspace_id: uuid.UUID, kind: AssetKind, staged: Path, filename: str
) -> StoredAsset:
    """Validate the staged file and put it in storage (no database: runs outside the
    transaction). Raises the asset's 4xx error when it is not what `kind` needs."""
    facts: assets.FontFacts | assets.LogoFacts | assets.ClipFacts
    if kind == "font":
        facts = assets.check_font(staged)
    elif kind == "logo":
        facts = assets.check_logo(staged)
    else:
        facts = assets.check_clip(staged, kind)
    digest = assets.sha256_of(staged)[:32]
    key = brand_asset_key(workspace_id, kind, digest, facts.ext)
    if not storage.exists(key):
        storage.put_file(key, staged, content_type=CONTENT_TYPES[facts.ext])
    return StoredAsset(key=key, filename=filename[:300], facts=facts)


def attach_asset(
    db: Session, workspace_id: uuid.UUID, kind: AssetKind, stored: StoredAsset
) -> tuple[BrandKit, str | None]:
    """Point the kit at a stored file; returns the kit and the key it replaced (to delete)."""
    kit = _kit_for_update(db, workspace_id)
    old: str | None = getattr(kit, f"{kind}_key")
    setattr(kit, f"{kind}_key", stored.key)
    setattr(kit, f"{kind}_filename", stored.filename)
    facts = stored.facts
    if isinstance(facts, assets.FontFacts):
        kit.font_family = facts.family
    elif isinstance(facts, assets.LogoFacts):
        kit.logo_width, kit.logo_height = facts.width, facts.height
    else:
        setattr(kit, f"{kind}_duration_s", facts.duration)
    db.flush()
    db.refresh(kit)
    return kit, (old if old != stored.key else None)


def detach_asset(
    db: Session, workspace_id: uuid.UUID, kind: AssetKind
) -> tuple[BrandKit | None, str | None]:
    """Remove a file from the kit; returns the kit and the key to delete (None: had none)."""
    kit = get_kit(db, workspace_id)
    if kit is None:
        return None, None
    kit = _kit_for_update(db, workspace_id)
    old: str | None = getattr(kit, f"{kind}_key")
    setattr(kit, f"{kind}_key", None)
    setattr(kit, f"{kind}_filename", None)
    if kind == "font":
        kit.font_family = None
    elif kind == "logo":
        kit.logo_width = kit.logo_height = None
    else:
        setattr(kit, f"{kind}_duration_s", None)
    db.flush()
    db.refresh(kit)
    return kit, old


def delete_object(storage: Storage, key: str | None) -> None:
    """Delete a file the kit no longer points at (keys are per workspace and content)."""
    if key is not None:
        storage.delete(key)


def asset_key(db: Session, workspace_id: uuid.UUID, kind: AssetKind) -> str:
    kit = get_kit(db, workspace_id)
    key = getattr(kit, f"{kind}_key") if kit is not None else None
    if key is None:
        raise NotFound(f"The brand kit has no {kind}.", code="brand-file-not-found")
    return str(key)


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(Path(key).suffix.lstrip("."), "application/octet-stream")


# --- what the render draws ------------------------------------------------------------------


def _digest(kit: BrandKit) -> str:
    data = [
        kit.caption_color,
        kit.caption_active_color,
        kit.caption_outline_color,
        kit.caption_position,
        kit.caption_position_y,
        kit.caption_size,
        kit.font_key,
        kit.font_family,
        kit.logo_key,
        kit.logo_corner if kit.logo_key else None,
        kit.logo_opacity if kit.logo_key else None,
        kit.logo_scale if kit.logo_key else None,
        kit.intro_key,
        kit.outro_key,
    ]
    raw = json.dumps(data, separators=(",", ":")).encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _draws_anything(kit: BrandKit) -> bool:
    return any(
        v is not None
        for v in (
            kit.caption_color,
            kit.caption_active_color,
            kit.caption_outline_color,
            kit.caption_position,
            kit.caption_position_y,
            kit.caption_size,
            kit.font_key,
            kit.logo_key,
            kit.intro_key,
            kit.outro_key,
        )
    )


def brand_digest(db: Session, workspace_id: uuid.UUID) -> str | None:
    """Identifies what the kit draws (None: no kit, or one that changes nothing)."""
    kit = get_kit(db, workspace_id)
    return _digest(kit) if kit is not None and _draws_anything(kit) else None


def _local_copy(storage: Storage, key: str, cache_root: Path) -> Path:
    try:
        return local_source(storage, key, cache_root)
    except ObjectNotFound:
        raise NotFound(
            "A brand kit file is missing from storage.", code="brand-file-not-found"
        ) from None


def _font_folder(storage: Storage, key: str, cache_root: Path) -> Path:
    """The font alone in a folder of its own: libass loads every font in its fontsdir."""
    src = _local_copy(storage, key, cache_root)
    folder = cache_root / "brand-fonts" / hashlib.sha256(key.encode()).hexdigest()[:32]
    target = folder / Path(key).name
    if not target.is_file() or target.stat().st_size != src.stat().st_size:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{uuid.uuid4().hex}.part"
        shutil.copyfile(src, tmp)
        tmp.replace(target)
    return target


def render_brand(
    db: Session, workspace_id: uuid.UUID, storage: Storage, cache_root: Path
) -> BrandSpec | None:
    """The kit as the render draws it, its files copied locally (cached); None: no brand."""
    kit = get_kit(db, workspace_id)
    if kit is None or not _draws_anything(kit):
        return None
    captions = CaptionBrand(
        font_family=kit.font_family if kit.font_key else None,
        primary=kit.caption_color,
        active=kit.caption_active_color,
        outline=kit.caption_outline_color,
        position=kit.caption_position,  # type: ignore[arg-type]
        position_y=kit.caption_position_y,
        size=kit.caption_size,
    )
    logo = None
    if kit.logo_key:
        logo = LogoOverlay(
            path=_local_copy(storage, kit.logo_key, cache_root),
            corner=kit.logo_corner,  # type: ignore[arg-type]
            opacity=kit.logo_opacity,
            scale=kit.logo_scale,
        )
    return BrandSpec(
        captions=captions,
        font_path=_font_folder(storage, kit.font_key, cache_root) if kit.font_key else None,
        logo=logo,
        intro=_local_copy(storage, kit.intro_key, cache_root) if kit.intro_key else None,
        outro=_local_copy(storage, kit.outro_key, cache_root) if kit.outro_key else None,
        digest=_digest(kit),
    )


def defaults(db: Session, workspace_id: uuid.UUID) -> tuple[str | None, str | None]:
    """The kit's default caption style and aspect for new clips (None: the server's)."""
    kit = get_kit(db, workspace_id)
    if kit is None:
        return None, None
    return kit.default_caption_style, kit.default_aspect
