"""Test media made on the spot: espeak-ng speech with known words, ffmpeg lavfi pictures.

Nothing is downloaded. Every function writes into a path the caller owns (usually tmp_path).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "ffmpeg"
ESPEAK = shutil.which("espeak-ng") or "espeak-ng"


# Output options for a small, widely playable H.264 video stream, encoded fast.
H264_FAST = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def ffmpeg_lavfi(out: Path, sources: list[str], *args: str) -> Path:
    """Run ffmpeg with each of `sources` as a lavfi input, then `args`, writing `out`."""
    inputs = [arg for source in sources for arg in ("-f", "lavfi", "-i", source)]
    run([FFMPEG, "-y", *inputs, *args, str(out)])
    return out


def speech_wav(path: Path, text: str, *, wpm: int = 150, voice: str = "en-us") -> Path:
    """Speak `text` with espeak-ng into a WAV file (22.05 kHz mono)."""
    run([ESPEAK, "-v", voice, "-s", str(wpm), "-w", str(path), text])
    return path


def silence_wav(path: Path, seconds: float) -> Path:
    return ffmpeg_lavfi(path, ["anullsrc=r=22050:cl=mono"], "-t", f"{seconds}")


def concat_wavs(out: Path, parts: list[Path]) -> Path:
    """Join WAV files end to end (all mono; resampled to 22.05 kHz)."""
    args: list[str] = [FFMPEG, "-y"]
    for p in parts:
        args += ["-i", str(p)]
    filt = "".join(
        f"[{i}:a]aresample=22050,aformat=channel_layouts=mono[a{i}];" for i in range(len(parts))
    )
    filt += "".join(f"[a{i}]" for i in range(len(parts))) + f"concat=n={len(parts)}:v=0:a=1[out]"
    run([*args, "-filter_complex", filt, "-map", "[out]", str(out)])
    return out


def talk_audio(
    tmp: Path, sentences: list[str], *, gap: float = 0.6, wpm: int = 150
) -> tuple[Path, list[tuple[float, float, str]]]:
    """Speak each sentence separately and join them with pauses.

    Returns the WAV and, for each sentence, its (start, end, text) on the joined timeline,
    so tests know when each word was said to within a sentence.
    """
    parts: list[Path] = []
    timeline: list[tuple[float, float, str]] = []
    t = 0.0
    gap_wav = silence_wav(tmp / "gap.wav", gap)
    for i, sentence in enumerate(sentences):
        p = speech_wav(tmp / f"s{i}.wav", sentence, wpm=wpm)
        d = duration(p)
        timeline.append((t, t + d, sentence))
        parts += [p, gap_wav]
        t += d + gap
    out = concat_wavs(tmp / "talk.wav", parts)
    return out, timeline


def video_with_audio(
    out: Path,
    audio: Path,
    *,
    size: str = "640x360",
    rate: int = 25,
    source: str = "testsrc2",
) -> Path:
    """A video whose picture is an ffmpeg lavfi source and whose sound is `audio`."""
    return ffmpeg_lavfi(
        out,
        [f"{source}=size={size}:rate={rate}"],
        *("-i", str(audio), "-shortest", *H264_FAST, "-c:a", "aac", "-b:a", "96k"),
    )


def silent_video(out: Path, seconds: float = 2.0, size: str = "320x240") -> Path:
    return ffmpeg_lavfi(out, [f"testsrc2=size={size}:rate=25"], "-t", str(seconds), *H264_FAST)


def duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


TOPIC_SENTENCES: list[list[str]] = [
    [
        "Have you ever wondered why bread rises in the oven?",
        "Yeast eats the sugar in the dough and breathes out carbon dioxide.",
        "The gas gets trapped by gluten, so the loaf grows tall and soft.",
        "Bakers let the dough rest for hours so the yeast can do its work.",
    ],
    [
        "Saving money is easier than most people think.",
        "Put ten percent of every paycheck into a separate account.",
        "After one year you will have more than a month of income saved.",
        "Compound interest then makes your savings grow every single year.",
    ],
    [
        "Running every morning changed my life completely.",
        "My heart got stronger and I slept better at night.",
        "Start with ten minutes of slow jogging and add a little each week.",
        "Good running shoes protect your knees from injury.",
    ],
]


# --- media package helpers (appended) -------------------------------------------------------

# The astronaut's face in skimage.data.astronaut() (512x512), as OpenCV's frontal cascade finds it.
ASTRONAUT_FACE = (177, 66, 95, 95)
_FACE_CROP = (130, 20, 190, 200)  # x, y, w, h of the region written to the PNG


def astronaut_png(path: Path) -> tuple[Path, tuple[float, float, float, float]]:
    """Write the astronaut's head and shoulders to a PNG; return it and the face box inside it."""
    import cv2
    from skimage import data

    x, y, w, h = _FACE_CROP
    img = data.astronaut()[y : y + h, x : x + w]
    cv2.imwrite(str(path), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    fx, fy, fw, fh = ASTRONAUT_FACE
    return path, (float(fx - x), float(fy - y), float(fw), float(fh))


def moving_face_video(
    out: Path,
    tmp: Path,
    *,
    seconds: float = 4.0,
    size: str = "640x360",
    x_expr: str = "40+100*t",
    y: int = 80,
    cut_at: float | None = None,
    audio: Path | None = None,
    face_scale: float = 1.0,
) -> tuple[Path, tuple[float, float, float, float]]:
    """A talking-head stand-in: the astronaut PNG moving over a plain background.

    The PNG's top-left is at (x_expr(t), y); the face box within the PNG is returned so the
    face centre at time t is x_expr(t) + fx + fw/2. With `cut_at`, the background switches
    colour at that time (a scene cut). Sound is `audio` or a 220 Hz tone. `face_scale`
    enlarges the picture (and the returned face box) for big frames.
    """
    png, face = astronaut_png(tmp / "astronaut.png")
    if face_scale != 1.0:
        face = (
            face[0] * face_scale,
            face[1] * face_scale,
            face[2] * face_scale,
            face[3] * face_scale,
        )
    bg = f"color=c=0x304a6e:s={size}:r=25:d={seconds}"
    chain = "[0:v]"
    if cut_at is not None:
        chain += f"drawbox=c=0xc08030:t=fill:enable='gte(t,{cut_at})',"
    chain += "format=yuv420p[bg];"
    if face_scale != 1.0:
        chain += f"[1:v]scale=iw*{face_scale}:ih*{face_scale}[fg];"
    else:
        chain += "[1:v]null[fg];"
    chain += f"[bg][fg]overlay=x='{x_expr}':y={y}:shortest=1:eval=frame,format=yuv420p[v]"
    audio_in = ["-i", str(audio)] if audio else ["-f", "lavfi", "-i", f"sine=f=220:d={seconds}"]
    ffmpeg_lavfi(
        out,
        [bg],
        *("-loop", "1", "-i", str(png), *audio_in, "-filter_complex", chain),
        *("-map", "[v]", "-map", "2:a", "-t", str(seconds)),
        *(*H264_FAST, "-c:a", "aac", "-b:a", "96k"),
    )
    return out, face
