"""The brand kit as the render draws it: the uploaded font is the one libass uses, colours and
position follow the kit, the logo sits in its corner at its opacity, intro and outro lengthen
the clip, and the plan's watermark stays whatever the kit says."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cliply.media import probe
from cliply.media.brand import CaptionBrand, LogoOverlay
from cliply.media.render import TARGET_LUFS, measure_loudness
from cliply.pipeline.steps import BrandSpec, RenderSpec, preview_frames, render_clip_files
from cliply.transcribe.models import Word
from tests import mediagen as mg
from tests.brand import files

# One wide word of thin letters: a monospaced font draws it far wider than DejaVu Sans.
WORDS = [Word(text="iiiiiiil", start=0.2, end=3.5)]
GREEN = "#00FF00"


def _spec(brand: BrandSpec | None = None, *, watermark: bool = False) -> RenderSpec:
    return RenderSpec(
        aspect="9:16",
        caption_style="minimal",
        max_short_side=540,
        watermark=watermark,
        preset="ultrafast",
        reframe_fallback="center",
        brand=brand,
    )


def _frame(video: Path, out: Path, spec: RenderSpec) -> np.ndarray:
    [jpg] = preview_frames(
        video, probe(video), WORDS, start=0.0, end=4.0, specs=[spec], out_dir=out
    )
    return np.asarray(Image.open(jpg).convert("RGB")).astype(int)


def _text_mask(img: np.ndarray) -> np.ndarray:
    """Pixels far from the flat grey background (caption letters and their outline)."""
    return np.abs(img - 128).max(axis=2) > 60


def _width(mask: np.ndarray) -> int:
    cols = np.flatnonzero(mask.any(axis=0))
    return int(cols[-1] - cols[0] + 1) if cols.size else 0


def _rows(mask: np.ndarray) -> tuple[int, int]:
    rows = np.flatnonzero(mask.any(axis=1))
    return int(rows[0]), int(rows[-1])


def test_uploaded_font_is_the_one_drawn(grey_video: Path, brand_font: Path, tmp_path: Path) -> None:
    font_dir = tmp_path / "font"
    font_dir.mkdir()
    font = Path(shutil.copy(brand_font, font_dir / "brand.ttf"))
    plain = _frame(grey_video, tmp_path / "a", _spec())
    branded = _spec(
        BrandSpec(captions=CaptionBrand(font_family=files.FAMILY), font_path=font, digest="f")
    )
    drawn = _frame(grey_video, tmp_path / "b", branded)
    # The same caption without the font file: libass falls back to a system font.
    missing = _spec(
        BrandSpec(
            captions=CaptionBrand(font_family=files.FAMILY),
            font_path=tmp_path / "nofont" / "x.ttf",
            digest="x",
        )
    )
    (tmp_path / "nofont").mkdir()
    fallback = _frame(grey_video, tmp_path / "c", missing)

    w_plain, w_brand, w_fallback = (_width(_text_mask(i)) for i in (plain, drawn, fallback))
    assert w_plain > 20, "the default caption must be visible"
    # DejaVu Sans Mono's 'i' is about twice as wide as DejaVu Sans': only the file gives that.
    assert w_brand > 1.5 * w_plain, (w_plain, w_brand)
    assert w_fallback < 1.2 * w_plain, (w_plain, w_fallback)


def test_caption_colours_position_and_size(grey_video: Path, tmp_path: Path) -> None:
    plain = _frame(grey_video, tmp_path / "a", _spec())
    kit = BrandSpec(
        captions=CaptionBrand(primary=GREEN, active=GREEN, position="top", size=0.06), digest="c"
    )
    drawn = _frame(grey_video, tmp_path / "b", _spec(kit))
    green = (drawn[:, :, 1] > 200) & (drawn[:, :, 0] < 80) & (drawn[:, :, 2] < 80)
    assert green.sum() > 100, "the caption is drawn in the kit's colour"
    plain_top, plain_bottom = _rows(_text_mask(plain))
    top, bottom = _rows(_text_mask(drawn))
    h = drawn.shape[0]
    assert plain_top > h / 2 and bottom < h / 2, (plain_top, top, bottom)
    # Bigger: the kit's size (6 % of the height) against the style's 3.2 %.
    assert bottom - top > 1.5 * (plain_bottom - plain_top), (top, bottom, plain_top, plain_bottom)


def test_logo_in_its_corner_at_its_opacity(grey_video: Path, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(files.logo_png((200, 100)))
    kit = BrandSpec(
        logo=LogoOverlay(path=logo, corner="bottom-left", opacity=0.5, scale=0.3), digest="l"
    )
    img = _frame(grey_video, tmp_path / "a", _spec(kit))
    h, w, _ = img.shape
    red = (img[:, :, 0] - img[:, :, 1] > 60) & (img[:, :, 0] - img[:, :, 2] > 60)
    ys, xs = np.nonzero(red)
    assert ys.size > 500
    assert xs.max() < w / 2 and ys.min() > h / 2, "bottom-left"
    # 30 % of the width, aspect 2:1, 4 % margin.
    assert abs((xs.max() - xs.min() + 1) - 0.3 * w) <= 3
    assert abs(xs.min() - 0.04 * w) <= 3 and abs((h - 1 - ys.max()) - 0.04 * w) <= 3
    # Half opacity over grey 128: red ≈ (255 + 128) / 2, green and blue ≈ 128 / 2.
    centre = img[(ys.min() + ys.max()) // 2, (xs.min() + xs.max()) // 2]
    assert abs(centre[0] - 191) < 14 and abs(centre[1] - 64) < 14, centre
    # Opaque: full red.
    full = BrandSpec(logo=LogoOverlay(path=logo, corner="top-right", opacity=1.0), digest="m")
    img = _frame(grey_video, tmp_path / "b", _spec(full))
    red = (img[:, :, 0] > 230) & (img[:, :, 1] < 30)
    ys, xs = np.nonzero(red)
    assert xs.min() > w / 2 and ys.max() < h / 2, "top-right"


def test_watermark_stays_with_a_brand(grey_video: Path, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(files.logo_png((64, 64)))
    kit = BrandSpec(logo=LogoOverlay(path=logo, corner="bottom-right"), digest="w")
    marked = _frame(grey_video, tmp_path / "a", _spec(kit, watermark=True))
    clean = _frame(grey_video, tmp_path / "b", _spec(kit, watermark=False))
    h, w, _ = marked.shape
    # The watermark: top-left, at 5 % / 10 %.
    box = (slice(int(0.08 * h), int(0.16 * h)), slice(0, w // 2))
    assert _text_mask(marked[box]).sum() > 50
    assert _text_mask(clean[box]).sum() == 0


def test_intro_and_outro_lengthen_the_clip(
    grey_video: Path, brand_media: Path, tmp_path: Path
) -> None:
    intro = mg.silent_video(tmp_path / "intro.mp4", seconds=1.0, size="320x240")
    outro = mg.ffmpeg_lavfi(
        tmp_path / "outro.mp4",
        ["testsrc2=size=1280x720:rate=30:d=1.5", "sine=f=880:d=1.5"],
        *("-shortest", *mg.H264_FAST, "-c:a", "aac"),
    )
    kit = BrandSpec(intro=intro, outro=outro, digest="io")
    out = render_clip_files(
        grey_video,
        probe(grey_video),
        WORDS,
        start=0.5,
        end=3.5,
        spec=_spec(kit),
        out_mp4=tmp_path / "clip.mp4",
        out_jpg=tmp_path / "clip.jpg",
        work_dir=tmp_path / "work",
    )
    info = probe(out.mp4)
    assert info.duration == pytest.approx(1.0 + 3.0 + 1.5, abs=0.15)
    assert out.duration == pytest.approx(info.duration, abs=0.01)
    assert (info.display_width, info.display_height) == (540, 960) and info.has_audio
    assert not (tmp_path / "work" / "clip.main.mp4").exists()
    # The outro's tone (and the clip's) brought to the render's loudness target.
    loud = measure_loudness(out.mp4)
    assert loud is not None and abs(loud["input_i"] - TARGET_LUFS) < 2.0, loud
    outro_part = measure_loudness(out.mp4, start=info.duration - 1.4, end=info.duration - 0.1)
    assert outro_part is not None and abs(outro_part["input_i"] - TARGET_LUFS) < 2.5, outro_part
