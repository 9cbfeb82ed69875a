"""Several clips rendered back to back with the next crop plan made ahead."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from cliply.media import MediaError
from cliply.pipeline import config, steps
from cliply.pipeline.batch import ClipRender, render_clips
from cliply.transcribe.models import Word


@pytest.mark.parametrize("lookahead", [0, 1])
def test_clips_render_in_order_and_a_bad_one_does_not_stop_the_rest(
    talk_video: tuple[Path, list[tuple[float, float, str]]],
    fast_render: None,
    tmp_path: Path,
    lookahead: int,
) -> None:
    video, timeline = talk_video
    info = steps.inspect_source(video, config.source_limits(None))
    words = [
        Word(text=w, start=s + i * 0.3, end=s + i * 0.3 + 0.25)
        for s, _, text in timeline
        for i, w in enumerate(text.split())
    ]
    spec = config.render_spec("9:16", "bold", max_short_side=270)
    clips = [
        ClipRender(1.0, 4.0, tmp_path / "a.mp4", tmp_path / "a.jpg"),
        ClipRender(info.duration + 5, info.duration + 9, tmp_path / "b.mp4", tmp_path / "b.jpg"),
        ClipRender(6.0, 8.5, tmp_path / "c.mp4", tmp_path / "c.jpg"),
    ]
    seen: list[tuple[int, float]] = []
    results = list(
        render_clips(
            video,
            info,
            words,
            clips,
            spec=spec,
            work_dir=tmp_path / "work",
            progress=lambda i, f: seen.append((i, f)),
            lookahead=lookahead,
        )
    )
    assert [i for i, _ in results] == [0, 1, 2]
    assert isinstance(results[1][1], MediaError)
    for i in (0, 2):
        done = results[i][1]
        assert isinstance(done, steps.RenderedClip)
        assert done.mp4 == clips[i].out_mp4 and done.mp4.is_file()
        assert clips[i].start <= done.thumb_t < clips[i].end
        thumb = cv2.imread(str(done.jpg))
        assert thumb is not None and thumb.shape[:2] == (done.height, done.width)
    assert {i for i, _ in seen} >= {0, 2}
    # Nothing left behind in the work folder (captions, thumbnail candidates).
    assert not any(p.suffix in (".png", ".ass") for p in (tmp_path / "work").rglob("*"))
