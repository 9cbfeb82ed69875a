"""Several clips rendered back to back with the next crop plan made ahead."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

from cliply.media import MediaError
from cliply.pipeline import config, steps
from cliply.pipeline.batch import ClipRender, render_clips
from cliply.transcribe.models import Word


@pytest.mark.parametrize(("lookahead", "parallel"), [(0, 1), (1, 1), (1, 2)])
def test_clips_render_in_order_and_a_bad_one_does_not_stop_the_rest(
    talk_video: tuple[Path, list[tuple[float, float, str]]],
    fast_render: None,
    tmp_path: Path,
    lookahead: int,
    parallel: int,
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
            parallel=parallel,
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


def test_parallel_clips_encode_at_once_and_come_back_in_order(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With `parallel` = 2 two clips are in their encode at the same time (a barrier only two
    concurrent renders can pass), the later one may finish first, and results still come
    back by index, a failing clip's error in its place."""
    import threading
    import time

    from cliply.media.probe import ProbeResult
    from cliply.pipeline import batch

    both = threading.Barrier(2, timeout=20)
    finished: list[int] = []

    def fake_plan(source: Path, info: ProbeResult, *, start: float, **_kw: object) -> float:
        return start  # stands in for the crop plan

    def fake_render(*_a: object, start: float, out_mp4: Path, **_kw: object) -> object:
        if start == 2.0:
            raise MediaError("cannot render this one", code="render-failed")
        if start in (0.0, 1.0):
            both.wait()  # a sequential batch never gets here twice at once: BrokenBarrierError
            if start == 0.0:
                time.sleep(0.2)  # clip 1 finishes first
        finished.append(int(start))
        return out_mp4

    monkeypatch.setattr(batch, "plan_clip", fake_plan)
    monkeypatch.setattr(batch, "render_clip_files", fake_render)
    clips = [
        ClipRender(float(i), i + 0.5, tmp_path / f"{i}.mp4", tmp_path / f"{i}.jpg")
        for i in range(4)
    ]
    info = ProbeResult.__new__(ProbeResult)
    spec = config.render_spec("9:16", "bold", max_short_side=270)
    out = list(
        batch.render_clips(
            tmp_path / "src.mp4", info, [], clips, spec=spec, work_dir=tmp_path, parallel=2
        )
    )
    assert [i for i, _ in out] == [0, 1, 2, 3]
    assert finished[:2] == [1, 0]
    assert isinstance(out[2][1], MediaError) and out[2][1].code == "render-failed"
    assert [out[i][1] for i in (0, 1, 3)] == [clips[i].out_mp4 for i in (0, 1, 3)]
    with pytest.raises(ValueError):
        next(
            batch.render_clips(tmp_path, info, [], clips, spec=spec, work_dir=tmp_path, parallel=0)
        )


def test_render_clips_at_once_setting() -> None:
    """RENDER_CLIPS_AT_ONCE, or from the cores this process may use: 1 on one core, 2 on small machines, at most 4."""
    from unittest import mock

    s = config.get_settings()
    unset = s.model_copy(update={"render_clips_at_once": None})
    assert config.render_clips_at_once(s.model_copy(update={"render_clips_at_once": 3})) == 3
    for cores, expected in ((1, 1), (2, 2), (8, 2), (12, 3), (64, 4)):
        with mock.patch.object(config, "available_cores", return_value=cores):
            assert config.render_clips_at_once(unset) == expected
