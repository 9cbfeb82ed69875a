"""A brand kit for `cliply process` (no server): a JSON file with the API's settings
(`PUT /api/v1/brand` fields) and the paths of its files, validated like uploads.

    {"font": "fonts/Acme.ttf", "logo": "logo.png", "logo_corner": "bottom-right",
     "logo_opacity": 0.8, "caption_active_color": "#FFD400", "caption_position": "top",
     "intro": "intro.mp4", "outro": "outro.mp4"}

Relative paths are read from the JSON file's folder.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from cliply.brand import assets
from cliply.brand.schemas import BrandIn
from cliply.errors import ValidationFailed
from cliply.media.brand import CaptionBrand, LogoOverlay
from cliply.pipeline.steps import BrandSpec

FILES = ("font", "logo", "intro", "outro")


def _path(base: Path, value: Any, kind: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ValidationFailed(f"brand {kind}: give the file's path as a string.")
    path = (base / value).expanduser()
    if not path.is_file():
        raise ValidationFailed(f"brand {kind}: no such file {path}.")
    return path


def brand_from_file(path: Path, work: Path) -> BrandSpec:
    """Read and validate the kit; the font is copied alone into a folder under `work` (the
    renderer's font folder). Raises ValidationFailed (or a file's own 4xx error)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationFailed(f"brand file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValidationFailed("The brand file must hold a JSON object.")
    base = Path(path).parent
    files = {k: _path(base, raw.pop(k), k) for k in FILES if k in raw}
    try:
        kit = BrandIn.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        ) from None
    digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode())
    font_path: Path | None = None
    family: str | None = None
    if "font" in files:
        family = assets.check_font(files["font"]).family
        folder = work / "brand-font"
        folder.mkdir(parents=True, exist_ok=True)
        font_path = Path(shutil.copyfile(files["font"], folder / files["font"].name))
    if "logo" in files:
        assets.check_logo(files["logo"])
    for kind in ("intro", "outro"):
        if kind in files:
            assets.check_clip(files[kind], kind)
    for kind in FILES:
        if kind in files:
            digest.update(assets.sha256_of(files[kind]).encode())
    return BrandSpec(
        captions=CaptionBrand(
            font_family=family,
            primary=kit.caption_color,
            active=kit.caption_active_color,
            outline=kit.caption_outline_color,
            position=kit.caption_position,
            position_y=kit.caption_position_y,
            size=kit.caption_size,
        ),
        font_path=font_path,
        logo=LogoOverlay(
            path=files["logo"],
            corner=kit.logo_corner or "top-right",
            opacity=1.0 if kit.logo_opacity is None else kit.logo_opacity,
            scale=kit.logo_scale or 0.18,
        )
        if "logo" in files
        else None,
        intro=files.get("intro"),
        outro=files.get("outro"),
        digest=digest.hexdigest()[:16],
    )
