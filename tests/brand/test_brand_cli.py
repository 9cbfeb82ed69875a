"""`cliply process --brand kit.json`: the kit file is validated like the API's uploads and
becomes the render's brand; a bad kit stops the run before any work, with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cliply.brand import assets
from cliply.brand.local import brand_from_file
from cliply.errors import ValidationFailed
from cliply.media import probe
from tests import mediagen as mg
from tests.brand import files


def _kit(tmp_path: Path, **extra: object) -> Path:
    files.renamed_font(tmp_path / "fonts" / "brand.ttf")
    (tmp_path / "logo.png").write_bytes(files.logo_png((100, 50)))
    kit = {
        "font": "fonts/brand.ttf",
        "logo": "logo.png",
        "logo_corner": "bottom-left",
        "logo_opacity": 0.5,
        "caption_active_color": "#00ff00",
        "caption_position": "top",
        **extra,
    }
    path = tmp_path / "kit.json"
    path.write_text(json.dumps(kit), encoding="utf-8")
    return path


def test_kit_file_becomes_the_render_brand(tmp_path: Path) -> None:
    spec = brand_from_file(_kit(tmp_path), tmp_path / "work")
    assert spec.captions.font_family == files.FAMILY and spec.captions.active == "#00FF00"
    assert spec.captions.position == "top"
    assert spec.font_path is not None and spec.fonts_dir is not None
    assert [p.name for p in spec.fonts_dir.iterdir()] == ["brand.ttf"]  # alone in its folder
    assert spec.logo is not None and spec.logo.corner == "bottom-left"
    assert spec.logo.opacity == 0.5 and spec.digest


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ({"caption_color": "red"}, ValidationFailed),
        ({"logo_opacity": 3}, ValidationFailed),
        ({"watermark": False}, ValidationFailed),
        ({"intro": "missing.mp4"}, ValidationFailed),
        ({"logo": "fonts/brand.ttf"}, assets.InvalidLogo),
        ({"font": "logo.png"}, assets.InvalidFont),
    ],
)
def test_bad_kit_files(tmp_path: Path, extra: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        brand_from_file(_kit(tmp_path, **extra), tmp_path / "work")


def test_cli_refuses_a_bad_kit_before_any_work(tmp_path: Path) -> None:
    kit = _kit(tmp_path, font="logo.png")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "cliply",
            "process",
            str(tmp_path / "no-such.mp4"),
            "--brand",
            str(kit),
        ],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "brand kit" in done.stderr and "TrueType" in done.stderr


def test_process_draws_the_kit(
    talk_video: tuple[Path, list[tuple[float, float, str]]], tmp_path: Path
) -> None:
    video, _ = talk_video
    mg.silent_video(tmp_path / "intro.mp4", seconds=1.0, size="320x240")
    kit = _kit(tmp_path, intro="intro.mp4", logo_opacity=1.0)
    out = tmp_path / "out"
    env = {**os.environ, "RENDER_PRESET": "ultrafast", "CLIPLY_DATA_DIR": str(tmp_path / "data")}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [
            *(sys.executable, "-m", "cliply", "process", str(video), "--out", str(out)),
            *("--clips", "1", "--min-s", "8", "--max-s", "20", "--brand", str(kit)),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    clip = json.loads((out / "clips.json").read_text())["clips"][0]
    mp4 = out / clip["file"]
    # The intro plays first: the clip is that much longer than its cut of the source.
    assert probe(mp4).duration == pytest.approx(clip["duration"] + 1.0, abs=0.2)
    png = tmp_path / "frame.png"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-ss", "3", "-i", str(mp4), "-frames:v", "1", str(png)],
        check=True,
    )
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    h, w, _ = img.shape
    red = (img[:, :, 0] > 200) & (img[:, :, 1] < 60) & (img[:, :, 2] < 60)
    ys, xs = np.nonzero(red)
    assert ys.size > 500 and xs.max() < w / 2 and ys.min() > h / 2  # the logo, bottom-left
