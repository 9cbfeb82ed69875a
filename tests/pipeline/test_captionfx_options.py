"""Caption effects and jump cuts as options: validated, and each one acts, from the project
options (config.clip_options → render_spec) and from `cliply process` flags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from cliply.media import parse_ass, probe
from cliply.media.captions import EMPHASIS
from cliply.pipeline import config, steps
from cliply.pipeline.options import CaptionFx, ClipOptions, caption_fx_of
from cliply.transcribe.models import Word
from tests.pipeline.test_process_cli import _process

WORDS = [
    Word(text="the", start=1.0, end=1.3),
    Word(text="rocket", start=1.4, end=1.9),
    Word(text="um", start=2.0, end=2.4),
    Word(text="is", start=2.6, end=2.8),
    Word(text="shit", start=2.9, end=3.3),
    # a 2.2 s pause
    Word(text="today", start=5.5, end=6.0),
]


@pytest.mark.parametrize(
    "bad",
    [
        {"max_silence_s": 0.1},
        {"max_silence_s": 60},
        {"bleep": True},  # bleeping needs masking
        {"emoji": "sometimes"},
        {"remove_filler": True},  # unknown key
    ],
)
def test_bad_options_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ClipOptions.model_validate(bad)


def test_stored_options_read_back_leniently() -> None:
    assert caption_fx_of(None) == CaptionFx()
    assert caption_fx_of({"mask_profanity": True, "aspect": "9:16"}).mask_profanity
    assert caption_fx_of({"max_silence_s": -1}) == CaptionFx()  # no longer valid: defaults


def layer(tmp_path: Path, name: str, **options: Any) -> steps.CaptionLayer:
    fx = config.clip_options(options, None).caption_fx()
    spec = config.render_spec("9:16", "bold", fx=fx, keywords=("#rocket",))
    return steps.caption_layer(
        WORDS, spec, tmp_path / f"{name}.ass", start=0.5, end=7.0, width=540, height=960
    )


def shown(lay: steps.CaptionLayer) -> str:
    return " ".join(e.text for e in parse_ass(lay.ass).events)


def test_each_option_acts(tmp_path: Path) -> None:
    base = layer(tmp_path, "base")
    # Defaults: keywords emphasised, their emoji drawn, nothing masked, nothing cut.
    assert EMPHASIS in shown(base) and [o.png.exists() for o in base.emoji] == [True]
    assert "SHIT" in shown(base) and not base.cut and not base.bleeps

    assert EMPHASIS not in shown(layer(tmp_path, "e", keyword_emphasis=False))
    assert not layer(tmp_path, "j", emoji=False).emoji
    masked = layer(tmp_path, "m", mask_profanity=True)
    assert "S***" in shown(masked) and "SHIT" not in shown(masked) and not masked.bleeps
    bleeped = layer(tmp_path, "b", mask_profanity=True, bleep=True)
    assert bleeped.bleeps == ((2.4, 2.8),)

    fillers = layer(tmp_path, "f", remove_fillers=True)
    assert fillers.cut.removed and "UM" not in shown(fillers) and "UM" in shown(base)
    assert fillers.cut.seconds_removed == pytest.approx(0.7 - 2 * 0.12, abs=0.002)
    pauses = layer(tmp_path, "p", max_silence_s=1.0)
    assert pauses.cut.seconds_removed == pytest.approx(2.2 - 2 * 0.12, abs=0.002)
    # The captions move with the cut: "today" is highlighted 1.96 s earlier.
    today = [e.start for e in parse_ass(pauses.ass).events if e.active_word == "TODAY"]
    assert today == [pytest.approx(5.5 - 0.5 - 1.96, abs=0.011)]


FLAGS = ["--max-silence", "0.3", "--no-emoji", "--mask-profanity", "--export", "srt"]


def test_process_flags_reach_the_render(
    talk_video: tuple[Path, list[tuple[float, float, str]]], tmp_path: Path
) -> None:
    video, _ = talk_video
    out = tmp_path / "out"
    done = _process(
        [str(video), "--out", str(out), "--clips", "1", "--min-s", "8", "--max-s", "20", *FLAGS],
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    clip = json.loads((out / "clips.json").read_text())["clips"][0]
    # The talk pauses 0.6 s between sentences: each pause is cut down to 0.24 s.
    assert clip["seconds_removed"] > 0.3
    rendered = probe(out / clip["file"]).duration
    assert rendered == pytest.approx(clip["duration"] - clip["seconds_removed"], abs=0.1)
    assert clip["rendered_duration"] == pytest.approx(rendered, abs=0.01)
    srt = (out / clip["exports"]["srt"]).read_text()
    last_end = [line for line in srt.splitlines() if "-->" in line][-1].split()[-1]
    _, m, s = last_end.replace(",", ".").split(":")
    assert float(s) + 60 * int(m) <= rendered + 0.05  # the subtitles follow the cut clip

    bad = _process([str(video), "--out", str(out), "--max-silence", "0.05"], tmp_path)
    assert bad.returncode == 2 and "max_silence_s" in bad.stderr + bad.stdout
    bad = _process([str(video), "--out", str(out), "--bleep"], tmp_path)
    assert bad.returncode == 2 and "bleep needs mask_profanity" in bad.stderr
