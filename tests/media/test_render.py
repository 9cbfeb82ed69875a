"""render_clip: size, exact length, sound, loudness, face kept in frame, atomic re-render."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from cliply.media import (
    ASPECTS,
    MediaError,
    build_render_command,
    plan_crop,
    probe,
    render_clip,
    write_ass,
)
from cliply.media.faces import detect_faces, sample_frames
from cliply.media.thumbnails import sharpness
from cliply.transcribe.models import Word
from tests.media.conftest import face_centre

FAST = {"preset": "ultrafast"}


def integrated_lufs(path: Path) -> float:
    err = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", str(path), "-map", "0:a", "-af", "ebur128", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])


def test_render_follows_the_face_with_captions(
    tmp_path: Path, face_video: tuple[Path, tuple]
) -> None:
    src, face = face_video
    start, end = 1.0, 4.0
    plan = plan_crop(src, start=start, end=end)
    words = [
        Word(text=w, start=1.0 + 0.4 * i, end=1.3 + 0.4 * i)
        for i, w in enumerate(["look", "at", "this", "moving", "face", "right", "now"])
    ]
    ass = write_ass(
        words, tmp_path / "c.ass", clip_start=start, clip_end=end, width=540, height=960
    )
    seen: list[float] = []
    out = tmp_path / "out" / "clip.mp4"
    r = render_clip(
        src,
        out,
        start=start,
        end=end,
        crop_plan=plan,
        ass_path=ass,
        width=540,
        height=960,
        progress=seen.append,
        **FAST,
    )
    assert r.path == out and out.exists()
    info = probe(out)
    assert (info.display_width, info.display_height) == (540, 960)
    assert abs(info.duration - (end - start)) <= 0.1
    assert info.has_audio and info.audio_codec == "aac" and info.video_codec == "h264"
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    # The known face position is inside the planned crop at every sampled time ...
    for t in np.arange(start, end, 0.25):
        cx, _ = face_centre(face, float(t))
        box = plan.box_at(float(t))
        assert box.x + 20 < cx < box.x + box.w - 20
    # ... and the detector finds a face, roughly centred, in frames of the rendered clip.
    found = 0
    frames = list(
        sample_frames(out, start=0.0, end=3.0, fps=2.0, width=540, src_width=540, src_height=960)
    )
    for _, frame in frames:
        faces = [b for b in detect_faces(frame) if b.w > 100]
        if faces:
            found += 1
            assert 0.2 * 540 < faces[0].cx < 0.8 * 540
    assert found >= len(frames) - 1


@pytest.mark.parametrize("aspect", sorted(ASPECTS))
def test_default_sizes_per_aspect(tmp_path: Path, tone_video: Path, aspect: str) -> None:
    r = render_clip(
        tone_video, tmp_path / "a.mp4", start=0.5, end=1.5, aspect=aspect, loudnorm=False, **FAST
    )
    assert (r.width, r.height) == ASPECTS[aspect]
    assert abs(r.duration - 1.0) <= 0.1


def test_no_face_source_uses_fit_layout(tmp_path: Path, tone_video: Path) -> None:
    plan = plan_crop(tone_video, start=0.0, end=2.0, fallback="blur")
    assert plan.layout == "fit"
    out = render_clip(
        tone_video,
        tmp_path / "b.mp4",
        start=0.0,
        end=2.0,
        crop_plan=plan,
        width=360,
        height=640,
        **FAST,
    ).path
    frame = next(
        iter(
            sample_frames(
                out, start=1.0, end=1.5, fps=1.0, width=360, src_width=360, src_height=640
            )
        )
    )[1]
    # Whole 16:9 picture fitted in the middle (sharp), blurred fill above and below.
    band = frame[260:380]
    top = frame[20:120]
    assert sharpness(band) > 5 * sharpness(top)


def test_loudness_is_normalised(tmp_path: Path, tone_video: Path) -> None:
    r = render_clip(
        tone_video, tmp_path / "l.mp4", start=0.0, end=3.0, width=180, height=320, **FAST
    )
    # Source tone is around -21 LUFS; single-pass loudnorm lands near the -14 target.
    assert integrated_lufs(tone_video) < -18
    assert integrated_lufs(r.path) == pytest.approx(-14.0, abs=2.0)


def test_rerender_replaces_output_atomically(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "same.mp4"
    render_clip(tone_video, out, start=0.0, end=2.0, width=180, height=320, **FAST)
    assert abs(probe(out).duration - 2.0) <= 0.1
    render_clip(tone_video, out, start=0.0, end=1.0, width=180, height=320, **FAST)
    assert abs(probe(out).duration - 1.0) <= 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.mp4"]


def test_failed_render_leaves_nothing(tmp_path: Path, tone_video: Path) -> None:
    out = tmp_path / "x.mp4"
    with pytest.raises(MediaError) as info:
        render_clip(
            tone_video,
            out,
            start=0.0,
            end=1.0,
            width=180,
            height=320,
            ass_path=tmp_path / "missing.ass",
            preset="no-such-preset",
        )
    assert info.value.code == "render-failed"
    assert list(tmp_path.iterdir()) == []


def test_paths_with_filter_syntax_characters(tmp_path: Path, tone_video: Path) -> None:
    odd_dir = tmp_path / "we:ird, [dir]'s;"
    odd_dir.mkdir()
    ass = write_ass(
        [Word(text="hello", start=0.1, end=0.5)],
        odd_dir / "c:a,p's.ass",
        clip_start=0.0,
        clip_end=1.0,
        width=180,
        height=320,
    )
    r = render_clip(
        tone_video,
        odd_dir / "o'u:t.mp4",
        start=0.0,
        end=1.0,
        ass_path=ass,
        width=180,
        height=320,
        watermark_text="50% off: it's {great}",
        **FAST,
    )
    assert r.path.exists()


def test_bad_windows_and_sizes(tmp_path: Path, tone_video: Path) -> None:
    with pytest.raises(MediaError):
        render_clip(tone_video, tmp_path / "o.mp4", start=2.0, end=1.0)
    with pytest.raises(MediaError):
        render_clip(tone_video, tmp_path / "o.mp4", start=10.0, end=12.0)
    with pytest.raises(MediaError):
        render_clip(tone_video, tmp_path / "o.mp4", start=0, end=1, width=181, height=320)


def test_build_render_command_is_one_pass(tone_video: Path, tmp_path: Path) -> None:
    from cliply.media import static_plan

    cmd = build_render_command(
        tone_video,
        tmp_path / "o.mp4",
        start=1.5,
        end=2.5,
        crop_plan=static_plan(640, 360),
        ass_path=tmp_path / "c.ass",
    )
    assert cmd.count("-i") == 1
    assert cmd.index("-ss") < cmd.index("-i") < cmd.index("-t")
    assert cmd[cmd.index("-t") + 1] == "1.000"
    graph = cmd[cmd.index("-filter_complex") + 1]
    assert "crop=" in graph and "ass=" in graph and "loudnorm=I=-14" in graph
    assert "+faststart" in cmd and "yuv420p" in cmd and "libx264" in cmd
