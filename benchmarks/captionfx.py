"""Jump cuts on real speech: seconds removed per clip, and that the render matches.

The English corpus of speech_corpus.py (LibriVox reading + Asterisk prompts, real recordings
joined with 0.8 s pauses, from Debian packages into --cache) is put under a flat picture,
transcribed by Cliply's local engine, cut into consecutive clips, and each clip is rendered
with jump cuts (filler words and pauses longer than --max-silence). Printed per clip: its
length, the cuts, the seconds removed (what clips.json and the API report), the rendered
length from ffprobe and its difference from length minus removed, the loudness, and how many of
the cuts lie inside one recording (natural pauses) rather than at the 0.8 s joins, and
"voiced ms": how much of the removed audio is louder than -30 dB below the recording's peak
(10 ms frames), i.e. speech a cut may have clipped (0 = every cut fell in silence).

    uv run python benchmarks/captionfx.py [--max-silence 0.5] [--clip-s 30]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np
from benchmarks import speech_corpus as sc


def main(argv: list[str] | None = None) -> None:
    from cliply.media import probe
    from cliply.media.captionfx import CutPlan, is_filler
    from cliply.pipeline import steps
    from cliply.pipeline.steps import RenderSpec, snap_to_words
    from cliply.transcribe import local

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "cliply-bench")
    parser.add_argument("--seconds", type=float, default=150.0)
    parser.add_argument("--clip-s", type=float, default=30.0)
    parser.add_argument("--max-silence", type=float, default=0.5)
    args = parser.parse_args(argv)

    corpus = sc.build(args.cache, "en", args.seconds)
    words = (
        local.LocalTranscriber(model_cache_dir=args.cache / "models").transcribe(corpus.wav).words()
    )
    fillers = sum(1 for w in words if is_filler(w.text))
    print(
        f"{len(words)} words transcribed, {fillers} filler words; max silence {args.max_silence} s"
    )
    spec = RenderSpec(
        aspect="9:16",
        caption_style="bold",
        preset="ultrafast",
        max_short_side=540,
        cut_fillers=True,
        max_silence_s=args.max_silence,
    )
    with tempfile.TemporaryDirectory(prefix="cliply-captionfx-") as tmp_name:
        tmp = Path(tmp_name)
        video = tmp / "talk.mp4"
        picture = ["-f", "lavfi", "-i", "color=size=640x360:rate=25", "-i", str(corpus.wav)]
        encode = ["-shortest", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac"]
        subprocess.run(
            ["ffmpeg", "-v", "error", "-y", *picture, *encode, "-b:a", "96k", str(video)],
            check=True,
        )
        info = probe(video)
        print(
            f"{'clip':>4} {'start':>7} {'length':>7} {'cuts':>4} {'natural':>7} {'removed':>8}"
            f" {'rendered':>8} {'diff ms':>7} {'LUFS':>6} {'voiced ms':>9}"
        )
        pcm = _pcm(corpus.wav)
        loud = 10 ** (-30 / 20) * float(np.abs(pcm).max())
        total_len = total_removed = 0.0
        t, n = 0.0, 0
        while t + 5 < info.duration:
            start, end = snap_to_words(words, t, min(t + args.clip_s, info.duration))
            if end - start < 5:
                break
            n += 1
            done = steps.render_clip_files(
                video,
                info,
                words,
                start=start,
                end=end,
                spec=spec,
                out_mp4=tmp / f"{n}.mp4",
                out_jpg=tmp / f"{n}.jpg",
                work_dir=tmp / "work",
            )
            plan = done.cut or CutPlan()
            natural = sum(
                1
                for a, b in plan.removed
                if any(u.start <= start + a and start + b <= u.end for u in corpus.utterances)
            )
            rendered = probe(done.mp4).duration
            voiced_ms = 0
            for a, b in plan.removed:
                seg = pcm[round((start + a) * sc.RATE) : round((start + b) * sc.RATE)]
                frames = seg[: len(seg) // 160 * 160].reshape(-1, 160)
                rms = np.sqrt((frames.astype(np.float64) ** 2).mean(axis=1))
                voiced_ms += 10 * int((rms > loud).sum())
            diff = 1000 * (rendered - (end - start - done.seconds_removed))
            print(
                f"{n:>4} {start:>7.2f} {end - start:>7.2f} {len(plan.removed):>4} {natural:>7}"
                f" {done.seconds_removed:>8.2f} {rendered:>8.2f} {diff:>+7.0f}"
                f" {done.loudness_lufs if done.loudness_lufs is not None else float('nan'):>6.1f}"
                f" {voiced_ms:>9}"
            )
            total_len += end - start
            total_removed += done.seconds_removed
            t = end + 0.01
    print(
        f"total: {total_removed:.2f} s removed of {total_len:.2f} s "
        f"({100 * total_removed / max(total_len, 1e-9):.1f} %)"
    )


def _pcm(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)


if __name__ == "__main__":
    main()
