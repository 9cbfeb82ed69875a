"""Caption effects: keyword emphasis in the ASS, colour emoji images, profanity masking and
jump cuts (rendered with real ffmpeg, fonts from the Debian packages)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from cliply.media import parse_ass, probe, write_ass
from cliply.media.captionfx import (
    CutPlan,
    emoji_for,
    emoji_in,
    emoji_png,
    is_profane,
    mask_word,
    plan_cuts,
    voice_activity,
)
from cliply.media.captions import EMPHASIS, emoji_box, emoji_cues
from cliply.media.export import clip_srt
from cliply.pipeline import steps
from cliply.transcribe.models import Word
from tests import mediagen as mg


def words_of(text: str, *, start: float = 1.0, pace: float = 0.4) -> list[Word]:
    out, t = [], start
    for token in text.split():
        out.append(Word(text=token, start=round(t, 3), end=round(t + pace * 0.8, 3)))
        t += pace
    return out


# --- keyword emphasis ----------------------------------------------------------------------------


def test_keywords_are_drawn_in_the_emphasis_style(tmp_path: Path) -> None:
    words = words_of("the rockets launch today from the coast")
    plain = parse_ass(write_ass(words, tmp_path / "p.ass", clip_start=0.0, clip_end=5.0))
    assert not any(EMPHASIS in e.text for e in plain.events)

    doc = parse_ass(
        write_ass(
            words,
            tmp_path / "k.ass",
            clip_start=0.0,
            clip_end=5.0,
            style="karaoke",
            keywords=["#Rocket", "coast"],
        )
    )
    style = doc.styles[EMPHASIS]
    # karaoke's emphasis colour FF5CA8 as ASS &HAABBGGRR, at 112 % size.
    assert style["PrimaryColour"] == "&H00A85CFF"
    assert (style["ScaleX"], style["ScaleY"]) == ("112", "112")
    for e in doc.events:
        # "rockets" matches the keyword "rocket" (plural), "coast" itself; no other word does.
        for word in ("rockets", "coast"):
            if word not in e.plain:
                continue
            if e.active_word == word:
                assert re.search(r"\{\\rActive\\fscx112\\fscy112\}" + word, e.text)
            else:
                assert "{\\r" + EMPHASIS + "}" + word in e.text
        assert "{\\r" + EMPHASIS + "}the" not in e.text


# --- profanity ----------------------------------------------------------------------------------


def test_masking_uses_the_word_list_and_keeps_punctuation() -> None:
    assert mask_word("fuck,") == "f***,"
    assert mask_word("Shit!") == "S***!"
    assert mask_word("classic") == "classic" and mask_word("assess") == "assess"
    assert is_profane("bullshit") and not is_profane("hello")
    # Ordinary words on better-profanity's broad list are not masked.
    assert not any(map(is_profane, ["god", "gay", "kill", "organ", "stroke", "vodka", "pot"]))


def test_profane_words_are_masked_in_captions_and_srt(tmp_path: Path) -> None:
    words = words_of("this shit is fucking great")
    spec = steps.RenderSpec(aspect="9:16", caption_style="minimal", mask_profanity=True)
    layer = steps.caption_layer(
        words, spec, tmp_path / "m.ass", start=0.0, end=4.0, width=540, height=960
    )
    text = " ".join(e.plain for e in parse_ass(layer.ass).events)
    assert "s***" in text and "f******" in text
    assert "shit" not in text and "fucking" not in text and "great" in text
    srt = clip_srt(steps.export_words(words, spec, start=0.0, end=4.0), 0.0, 4.0)
    assert "s***" in srt and "shit" not in srt and "fucking" not in srt
    # Off by default: the words stay.
    unmasked = steps.RenderSpec(aspect="9:16", caption_style="minimal")
    assert "shit" in clip_srt(steps.export_words(words, unmasked, start=0.0, end=4.0), 0.0, 4.0)


# --- emoji -------------------------------------------------------------------------------------


def saturation(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[:, :, 1].astype(int)


def test_emoji_images_come_from_the_colour_emoji_font(tmp_path: Path) -> None:
    assert emoji_for("rockets") == "🚀" and emoji_for("fire") == "🔥"
    assert emoji_for("money") == "💰" and emoji_for("the") is None
    assert emoji_in("great 👍🏽 job 👨‍👩‍👧") == ["👍🏽", "👨‍👩‍👧"]
    png = emoji_png("🔥", tmp_path, 96)
    assert png is not None and png == emoji_png("🔥", tmp_path, 96)  # cached
    img = cv2.imread(str(png), cv2.IMREAD_UNCHANGED)
    assert img.shape == (96, 96, 4)
    opaque = img[:, :, 3] > 200
    assert opaque.mean() > 0.3
    sat = saturation(np.ascontiguousarray(img[:, :, :3]))
    assert np.median(sat[opaque]) > 120  # colour, not a monochrome outline or tofu
    assert emoji_png("\U0010fffd", tmp_path, 96) is None  # no glyph: nothing drawn


def test_emoji_cues_follow_keywords_and_typed_emoji() -> None:
    words = words_of("our rocket is ready so celebrate 🎉 now", start=0.5)
    cues = emoji_cues(words, clip_start=0.0, clip_end=5.0, keywords=["rocket"])
    assert [c.emoji for c in cues] == ["🚀", "🎉"]
    rocket = words[1]
    assert cues[0].start == pytest.approx(rocket.start, abs=0.01)
    # Without keywords only the typed emoji is drawn.
    assert [c.emoji for c in emoji_cues(words, clip_start=0.0, clip_end=5.0)] == ["🎉"]


@pytest.fixture(scope="module")
def grey_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("fx") / "grey.mp4"
    return mg.ffmpeg_lavfi(
        out,
        ["color=c=gray:size=640x360:rate=25:d=6", "sine=f=300:d=6"],
        *("-shortest", *mg.H264_FAST, "-c:a", "aac", "-b:a", "64k"),
    )


def grab(video: Path, t: float, out: Path) -> np.ndarray:
    seek = ["-ss", f"{t:.2f}", "-i", str(video), "-frames:v", "1", str(out)]
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", *seek],
        check=True,
    )
    img = cv2.imread(str(out))
    assert img is not None
    return img


def test_rendered_frame_shows_the_colour_emoji_while_its_keyword_is_said(
    grey_video: Path, tmp_path: Path
) -> None:
    words = words_of("we will launch the rocket today for sure", start=0.4, pace=0.5)
    spec = steps.RenderSpec(
        aspect="9:16",
        caption_style="bold",
        preset="ultrafast",
        keywords=("rocket",),
        keyword_emoji=True,
        # A typed emoji (a caption edit) on the last word.
        word_edits=((7, "sure 🎉"),),
    )
    info = probe(grey_video)
    done = steps.render_clip_files(
        grey_video,
        info,
        words,
        start=0.0,
        end=5.5,
        spec=spec,
        out_mp4=tmp_path / "e.mp4",
        out_jpg=tmp_path / "e.jpg",
        work_dir=tmp_path / "work",
    )
    assert len(done.emoji) == 2
    rocket, party = done.emoji
    assert rocket.start == pytest.approx(words[4].start, abs=0.02)

    def colour_in(img: np.ndarray, ov: object) -> float:
        x, y = ov.x, ov.y  # type: ignore[attr-defined]
        size = cv2.imread(str(ov.png)).shape[0]  # type: ignore[attr-defined]
        return float((saturation(img[y : y + size, x : x + size]) > 100).mean())

    before = grab(done.mp4, rocket.start - 0.3, tmp_path / "before.png")
    during = grab(done.mp4, rocket.start + 0.3, tmp_path / "during.png")
    assert colour_in(before, rocket) < 0.01  # grey picture, white captions: no colour
    assert colour_in(during, rocket) > 0.15
    last = grab(done.mp4, party.start + 0.2, tmp_path / "party.png")
    assert colour_in(last, party) > 0.15
    # Nothing coloured anywhere else but the yellow active word and the emoji.
    assert (saturation(before) > 100).mean() < 0.02


# --- jump cuts -----------------------------------------------------------------------------------

RAMP = 15
TOKENS = ["the", "rocket", "um", "is", "ready", "and", "uh", "we", "fly"]
GAPS = [0.15, 0.25, 0.25, 1.4, 0.2, 0.25, 0.3, 1.1, 0.6]


@pytest.fixture(scope="module")
def spaced_talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Word]]:
    """Each word spoken on its own, with known pauses; its Word is where its WAV lies."""
    d = tmp_path_factory.mktemp("cuts")
    parts = [mg.silence_wav(d / "lead.wav", 0.5)]
    words, t = [], 0.5
    for i, (token, gap) in enumerate(zip(TOKENS, GAPS, strict=True)):
        wav = mg.speech_wav(d / f"w{i}.wav", token)
        length = mg.duration(wav)
        words.append(Word(text=token, start=round(t, 3), end=round(t + length, 3)))
        parts += [wav, mg.silence_wav(d / f"g{i}.wav", gap)]
        t += length + gap
    talk = mg.concat_wavs(d / "talk.wav", parts)
    # The picture tells the time: its brightness rises RAMP levels a second from 16.
    clock = f"color=c=black:size=320x180:rate=25,geq=lum=16+{RAMP}*T:cb=128:cr=128"
    audio = ["-i", str(talk), "-shortest", *mg.H264_FAST, "-c:a", "aac", "-b:a", "96k"]
    return mg.ffmpeg_lavfi(d / "talk.mp4", [clock], *audio), words


def unmap(plan: CutPlan, t: float) -> float:
    """Cut-clip time → clip time (the inverse of plan.map_time outside the cuts)."""
    for a, b in plan.removed:
        if t >= a:
            t += b - a
    return t


def voiced(path: Path, end: float) -> list[tuple[float, float]]:
    """Stretches with sound (the complement of ffmpeg silencedetect's silences), ignoring
    blips under 0.1 s (the AAC encoder's priming and tail)."""
    detect = ["-af", "silencedetect=noise=-40dB:d=0.12", "-f", "null", "-"]
    err = subprocess.run(
        ["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a:0", *detect],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    starts = [float(x) for x in re.findall(r"silence_start: ([\d.]+)", err)]
    ends = [float(x) for x in re.findall(r"silence_end: ([\d.]+)", err)]
    out, t = [], 0.0
    for s, e in zip(starts, ends + [end] * (len(starts) - len(ends)), strict=True):
        if s - t > 0.1:
            out.append((t, s))
        t = e
    if end - t > 0.1:
        out.append((t, end))
    return out


def test_cut_plan_never_touches_a_word(spaced_talk: tuple[Path, list[Word]]) -> None:
    _, words = spaced_talk
    none = plan_cuts(words, clip_start=0.0, clip_end=20.0, fillers=False, max_silence_s=None)
    assert not none and none.seconds_removed == 0
    plan = plan_cuts(words, clip_start=0.2, clip_end=20.0, fillers=True, max_silence_s=0.8)
    # "um" and "uh" (with the pauses around them) and the two long pauses.
    assert len(plan.removed) == 4
    for a, b in plan.removed:
        for w in words:
            if w.text in ("um", "uh"):
                continue
            s, e = w.start - 0.2, w.end - 0.2
            assert e + 0.1 <= a or s - 0.1 >= b, (w, a, b)
    assert CutPlan(((1.0, 2.0),)).map_time(2.5) == pytest.approx(1.5)
    assert CutPlan(((1.0, 2.0),)).map_time(1.5) == pytest.approx(1.0)


def test_jump_cut_render_is_shorter_by_the_seconds_removed(
    spaced_talk: tuple[Path, list[Word]], tmp_path: Path
) -> None:
    video, words = spaced_talk
    info = probe(video)
    start, end = 0.2, info.duration
    spec = steps.RenderSpec(
        aspect="9:16",
        caption_style="minimal",
        preset="ultrafast",
        cut_fillers=True,
        max_silence_s=0.8,
    )
    done = steps.render_clip_files(
        video,
        info,
        words,
        start=start,
        end=end,
        spec=spec,
        out_mp4=tmp_path / "cut.mp4",
        out_jpg=tmp_path / "cut.jpg",
        work_dir=tmp_path / "work",
        keep_captions=True,
    )
    assert done.seconds_removed > 2.5
    assert done.duration == pytest.approx(end - start - done.seconds_removed, abs=0.08)
    assert done.loudness_lufs is not None and abs(done.loudness_lufs - -14.0) < 4.5

    # Captions on the new timeline: fillers gone, each word highlighted when it is heard.
    plan = plan_cuts(words, clip_start=start, clip_end=end, fillers=True, max_silence_s=0.8)
    assert plan.seconds_removed == done.seconds_removed
    assert done.captions is not None
    events = parse_ass(done.captions).events
    said = [(e.active_word, e.start) for e in events if e.active_word]
    kept = [w for w in words if w.text not in ("um", "uh")]
    assert [w for w, _ in said] == [w.text for w in kept]
    for (_, t), w in zip(said, kept, strict=True):
        assert t == pytest.approx(plan.map_time(w.start - start), abs=0.03)

    # The picture: at each kept word, the frame shown is the one of the source at that word.
    for w in kept:
        mid = plan.map_time((w.start + w.end) / 2 - start)
        frame = grab(done.mp4, mid, tmp_path / "clock.png")
        luma = float(np.median(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)))
        source_t = start + unmap(plan, mid)
        # Y 16..235 (TV range) reads back as 0..255.
        assert luma == pytest.approx(RAMP * source_t * 255 / 219, abs=6), (w.text, source_t)

    # The sound: one voiced stretch per kept word, as long as the word was (none cut into),
    # where the captions say it is.
    heard = voiced(done.mp4, done.duration)
    source = voiced(video, info.duration)
    assert len(heard) == len(kept), heard
    for (hs, he), w in zip(heard, kept, strict=True):
        orig = next(v for v in source if v[0] < w.end and v[1] > w.start)
        assert he - hs == pytest.approx(orig[1] - orig[0], abs=0.06)
        assert hs == pytest.approx(plan.map_time(orig[0] - start), abs=0.06)


PCM = ["-f", "f32le", "-"]


def dominant_hz(path: Path, t0: float, t1: float) -> float:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-ac",
            "1",
            "-ar",
            "48000",
            *PCM,
        ],
        capture_output=True,
        check=True,
    ).stdout
    pcm = np.frombuffer(raw, dtype=np.float32)[round(t0 * 48000) : round(t1 * 48000)]
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    return float(np.fft.rfftfreq(pcm.size, 1 / 48000)[int(np.argmax(spectrum))])


def test_bleep_replaces_the_masked_word_with_a_tone(grey_video: Path, tmp_path: Path) -> None:
    words = [
        Word(text="this", start=0.5, end=0.9),
        Word(text="shit", start=1.2, end=1.8),
        Word(text="is", start=2.2, end=2.5),
        Word(text="great", start=2.6, end=3.2),
    ]
    info = probe(grey_video)

    def render(name: str, bleep: bool) -> Path:
        spec = steps.RenderSpec(
            aspect="9:16",
            caption_style="minimal",
            preset="ultrafast",
            max_short_side=360,
            mask_profanity=True,
            bleep=bleep,
        )
        return steps.render_clip_files(
            grey_video,
            info,
            words,
            start=0.0,
            end=4.0,
            spec=spec,
            out_mp4=tmp_path / f"{name}.mp4",
            out_jpg=tmp_path / f"{name}.jpg",
            work_dir=tmp_path / name,
        ).mp4

    bleeped, masked = render("bleep", True), render("mask", False)
    # The source's sound is a 300 Hz tone; the masked word's stretch becomes 1 kHz.
    assert abs(dominant_hz(bleeped, 1.25, 1.75) - 1000) < 15
    assert abs(dominant_hz(bleeped, 0.3, 1.1) - 300) < 15
    assert abs(dominant_hz(bleeped, 2.0, 3.5) - 300) < 15
    assert abs(dominant_hz(masked, 1.25, 1.75) - 300) < 15  # masking alone keeps the sound


def test_srt_export_follows_the_jump_cuts(spaced_talk: tuple[Path, list[Word]]) -> None:
    _, words = spaced_talk
    spec = steps.RenderSpec(aspect="9:16", caption_style="bold", cut_fillers=True)
    moved = steps.export_words(words, spec, start=0.2, end=12.0)
    assert [w.text for w in moved] == [w.text for w in words if w.text not in ("um", "uh")]
    plan = plan_cuts(words, clip_start=0.2, clip_end=12.0, fillers=True, max_silence_s=None)
    fly = next(w for w in words if w.text == "fly")
    srt = clip_srt(moved, 0.2, 12.0)
    # The last cue ends when "fly" ends on the cut clock.
    shifted = plan.map_time(fly.end - 0.2)
    stamp = f"--> 00:00:{int(shifted):02d},{round((shifted % 1) * 1000):03d}"
    assert srt.strip().splitlines()[-2].endswith(stamp) and plan.seconds_removed > 1.0


def test_cuts_keep_clear_of_voice_the_word_times_miss(
    spaced_talk: tuple[Path, list[Word]],
) -> None:
    video, words = spaced_talk
    info = probe(video)
    # Speech recognition put "ready" and "fly" 0.35 s late and ended "is" 0.4 s early.
    late = [
        w.model_copy(update={"start": w.start + 0.35})
        if w.text in ("ready", "fly")
        else w.model_copy(update={"end": w.end - 0.4})
        if w.text == "is"
        else w
        for w in words
    ]
    # The voice of the kept words (the fillers' voice is meant to go).
    fillers = [w for w in words if w.text in ("um", "uh")]
    islands = [
        (vs, ve)
        for vs, ve in voiced(video, info.duration)
        if not any(vs < f.end and ve > f.start for f in fillers)
    ]

    def overlaps_voice(plan: CutPlan) -> bool:
        return any(a < ve and b > vs for a, b in plan.removed for vs, ve in islands)

    blind = plan_cuts(late, clip_start=0.0, clip_end=info.duration, fillers=True, max_silence_s=0.8)
    assert overlaps_voice(blind)  # the word times alone cut into "ready"
    voice = voice_activity(video, 0.0, info.duration)
    assert voice is not None
    heard = plan_cuts(
        late, clip_start=0.0, clip_end=info.duration, fillers=True, max_silence_s=0.8, voice=voice
    )
    assert heard.removed and not overlaps_voice(heard)
    for a, b in heard.removed:  # and the pad is kept from the voice on both sides
        assert all(b + 0.1 <= vs or a - 0.1 >= ve for vs, ve in islands), (a, b)


def test_emoji_follow_a_caption_line_moved_clear_of_a_face(tmp_path: Path) -> None:
    words = words_of("our rocket is ready", start=0.5)
    doc = parse_ass(write_ass(words, tmp_path / "r.ass", clip_start=0.0, clip_end=3.0))
    (cue,) = emoji_cues(words, clip_start=0.0, clip_end=3.0, keywords=["rocket"])
    x, y, size = emoji_box(cue, doc)
    base = int(doc.styles["Base"]["MarginV"])
    # Above the caption line at the style's margin...
    assert y + size < 1920 - base
    # ...and higher by as much when the line's own margin lifts it.
    moved = emoji_box(cue, doc, margin_v=base + 400)
    assert moved == (x, y - 400, size)
