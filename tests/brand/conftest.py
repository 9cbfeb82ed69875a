"""Brand fixtures: a flat grey talk-free video (captions and the logo are easy to find on it)
and brand files made at test time."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import mediagen as mg
from tests.brand import files
from tests.pipeline.fixtures import fast_render, talk_video

__all__ = ["fast_render", "talk_video"]


@pytest.fixture(scope="session")
def brand_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("brand-media")


@pytest.fixture(scope="session")
def grey_video(brand_media: Path) -> Path:
    """4 s, 640x360, flat grey (128) picture and a 440 Hz tone."""
    return mg.ffmpeg_lavfi(
        brand_media / "grey.mp4",
        ["color=c=0x808080:size=640x360:rate=25:d=4", "sine=f=440:d=4"],
        *("-shortest", *mg.H264_FAST, "-c:a", "aac", "-b:a", "64k"),
    )


@pytest.fixture(scope="session")
def brand_font(brand_media: Path) -> Path:
    return files.renamed_font(brand_media / "fonts" / "brand.ttf")
