"""The layout choice through the pipeline: RenderSpec.layout, the reported segments, caption
margins from the plan, and `cliply process --layout`."""

from __future__ import annotations

from pathlib import Path

import pytest

from cliply.media import probe
from cliply.media.captions import parse_ass
from cliply.pipeline import config, steps
from cliply.pipeline.options import ClipOptions, layout_of
from cliply.transcribe.models import Word
from tests import layoutgen as lg


@pytest.fixture(scope="module")
def two_faces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, lg.Truth]:
    path = tmp_path_factory.mktemp("two") / "two.mp4"
    (truth,) = lg.make_video(path, [lg.Scene("two", 6.0, turn=3.0)])
    return path, truth


def _render(video: Path, tmp: Path, layout: str) -> steps.RenderedClip:
    spec = steps.RenderSpec(
        aspect="9:16", caption_style="bold", max_short_side=360, preset="ultrafast", layout=layout
    )
    words = [
        Word(text=w, start=1.0 + 0.5 * i, end=1.4 + 0.5 * i)
        for i, w in enumerate(["a", "b", "c", "d", "e", "f"])
    ]
    return steps.render_clip_files(
        video,
        probe(video),
        words,
        start=0.0,
        end=6.0,
        spec=spec,
        out_mp4=tmp / f"{layout}.mp4",
        out_jpg=tmp / f"{layout}.jpg",
        work_dir=tmp,
        keep_captions=True,
    )


def test_render_clip_files_reports_layouts_and_puts_captions_on_the_seam(
    two_faces: tuple[Path, lg.Truth], tmp_path: Path
) -> None:
    video, _ = two_faces
    done = _render(video, tmp_path, "auto")
    assert done.layout == "split"
    assert done.layouts() == [{"start": 0.0, "end": 6.0, "layout": "split"}]
    assert done.captions is not None
    doc = parse_ass(done.captions)
    margins = {e.text for e in doc.events}
    assert margins  # events written
    body = done.captions.read_text()
    # Split: every caption line carries the seam margin (640 px high: band middle at 320).
    assert ",0,0,282,," in body


def test_forced_track_follows_one_face(two_faces: tuple[Path, lg.Truth], tmp_path: Path) -> None:
    video, _ = two_faces
    done = _render(video, tmp_path, "track")
    assert done.layout == "track"
    assert {s["layout"] for s in done.layouts()} == {"track"}


def test_layout_option_and_spec() -> None:
    opts = config.clip_options(ClipOptions(layout="screen"), None)
    assert opts.layout == "screen"
    assert config.render_spec("9:16", "bold", layout=opts.layout).layout == "screen"
    assert config.clip_options(ClipOptions(), None).layout == "auto"
    with pytest.raises(ValueError, match="layout"):
        ClipOptions.model_validate({"layout": "mosaic"})
    assert layout_of({"layout": "split"}) == "split"
    assert layout_of({"layout": "mosaic"}) == layout_of(None) == "auto"
