"""`cliply process`: the whole pipeline on one file or URL, locally, without server or database.

Writes into OUT: transcript.{json,srt,vtt}, clips/NN-title-slug.mp4 (+ .jpg thumbnails) and
clips.json (times, scores, reasons, files). Exit codes: 0 done, 1 processing failed, 2 bad
input (missing file, not a video, no audio, refused URL, bad options).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from cliply.config import get_settings
from cliply.highlights import HighlightError
from cliply.ingest.download import download_url, limits_from_settings, policy_from_settings
from cliply.ingest.ssrf import UrlRefused
from cliply.media import MediaError
from cliply.media.export import EXPORT_FORMATS, write_exports
from cliply.pipeline import config, steps
from cliply.pipeline.batch import ClipRender, render_clips
from cliply.pipeline.options import ClipOptions, ResolvedOptions
from cliply.pipeline.steps import BrandSpec
from cliply.transcribe.base import TranscriptionError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Stages:
    """One rich progress bar per pipeline stage."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    @contextmanager
    def stage(self, label: str, total: float = 1.0) -> Iterator[Callable[[float], None]]:
        task: TaskID = self.progress.add_task(label, total=total)

        def update(done: float) -> None:
            self.progress.update(task, completed=max(0.0, min(total, done)))

        try:
            yield update
        finally:
            self.progress.update(task, completed=total)


def run_local(
    source: str,
    out: Path,
    top_k: int | None = None,
    aspect: str = "9:16",
    caption_style: str | None = None,
    min_s: float | None = None,
    max_s: float | None = None,
    transcript_only: bool = False,
    console: Console | None = None,
    language: str | None = None,
    exports: Sequence[str] = (),
    layout: str = "auto",
    prompt: str | None = None,
    fx: Mapping[str, Any] | None = None,
    brand: BrandSpec | None = None,
) -> int:
    """Run the pipeline on `source` (path or http(s) URL) into `out`; returns the exit code.
    `exports`: editor files written next to each clip (otio, fcpxml, srt). `layout`: auto or
    a reframe layout to force (track, split, screen, fit). `fx`: caption
    effects and jump cuts (ClipOptions fields: keyword_emphasis, emoji, mask_profanity, bleep,
    remove_fillers, max_silence_s). `brand`: a brand kit drawn on every clip."""
    console = console or Console(stderr=True)
    unknown = sorted(set(exports) - set(EXPORT_FORMATS))
    if unknown:
        return _bad(
            console,
            f"unknown export format(s) {', '.join(unknown)}; choose from "
            + ", ".join(EXPORT_FORMATS),
        )
    try:
        options = config.clip_options(
            ClipOptions(
                min_s=min_s,
                max_s=max_s,
                top_k=top_k,
                aspect=aspect,
                caption_style=caption_style,
                language=language,
                layout=layout,  # validated by the model
                prompt=prompt,
                **dict(fx or {}),
            ),
            None,
        )
    except ValidationError as exc:
        return _bad(
            console,
            "; ".join(
                f"{e['loc'][0]}: {e['msg']}" if e["loc"] else str(e["msg"]) for e in exc.errors()
            ),
        )
    out = Path(out)
    try:
        with tempfile.TemporaryDirectory(prefix="cliply-process-") as tmp_name:
            # A timeline always travels with its captions (SRT).
            wanted = (
                (*dict.fromkeys(exports), "srt") if exports and "srt" not in exports else exports
            )
            return _run(
                source,
                out,
                Path(tmp_name),
                options,
                transcript_only,
                console,
                tuple(wanted),
                brand=brand,
            )
    except UrlRefused as exc:
        return _bad(console, f"URL refused ({exc.code}): {exc.message}")
    except MediaError as exc:
        return _bad(console, f"{_media_reason(exc.code)}: {exc.message}")
    except TranscriptionError as exc:
        console.print(f"[red]error:[/] transcription failed ({exc.code}): {exc.message}")
        return EXIT_FAILED
    except HighlightError as exc:
        console.print(f"[red]error:[/] highlight detection failed: {exc.message}")
        return EXIT_FAILED
    except (steps.NoSpeech, steps.TooLittleSpeech) as exc:
        console.print(f"[red]error:[/] {exc.code}: {exc.detail}")
        return EXIT_FAILED


def _bad(console: Console, message: str) -> int:
    console.print(f"[red]error:[/] {message}")
    return EXIT_BAD_INPUT


def _media_reason(code: str) -> str:
    return {
        "media-not-found": "no such file",
        "not-a-video": "not a video",
        "no-video-stream": "no video stream",
        "no-audio-stream": "no audio stream",
        "zero-length": "empty video",
        "truncated": "the file is incomplete",
        "too-long": "the video is too long",
        "bad-dimensions": "unsupported picture size",
    }.get(code, code)


def _run(
    source: str,
    out: Path,
    tmp: Path,
    options: ResolvedOptions,
    transcript_only: bool,
    console: Console,
    exports: tuple[str, ...] = (),
    brand: BrandSpec | None = None,
) -> int:
    settings = get_settings()
    is_url = source.lower().startswith(("http://", "https://"))
    if not is_url and not Path(source).is_file():
        return _bad(console, f"no such file: {source}")
    limits = config.source_limits(None, settings)
    columns = (
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        stages = _Stages(bar)
        if is_url:
            with stages.stage("download") as update:
                got = download_url(
                    source,
                    tmp / "download",
                    policy=policy_from_settings(),
                    limits=limits_from_settings(limits.max_duration_s),
                    progress=lambda f, _msg: update(f),
                )
            video = got.path
        else:
            video = Path(source)
        with stages.stage("probe"):
            info = steps.inspect_source(video, limits)
        out.mkdir(parents=True, exist_ok=True)
        wav = tmp / "audio.wav"
        with stages.stage("extract audio"):
            steps.speech_wav(video, wav)
        with stages.stage("transcribe") as update:
            result = steps.transcribe(
                wav,
                config.transcriber_chain(settings),
                update,
                language=options.language,
                release_models_after_s=config.release_models_after_s(settings),
            )
        transcript = result.transcript
        for fmt, text in steps.transcript_documents(transcript).items():
            (out / f"transcript.{fmt}").write_text(text, encoding="utf-8")
        if transcript_only:
            bar.stop()
            steps.require_speech(transcript)
            console.print(
                f"transcript by [bold]{result.engine}[/]: {len(transcript.words())} words in {out}"
            )
            return EXIT_OK
        with stages.stage("find highlights"):
            steps.require_speech(transcript)
            found = steps.find_highlights(
                transcript,
                wav,
                options,
                config.llm_client(settings),
                release_models_after_s=config.release_models_after_s(settings),
            )
            steps.require_clips(found, transcript)
        spec = config.render_spec(
            options.aspect,
            options.caption_style,
            settings=settings,
            layout=options.layout,
            fx=options.caption_fx(),
        )
        if brand is not None:
            spec = replace(spec, brand=brand)
        clips_dir = out / "clips"
        clips_dir.mkdir(exist_ok=True)
        words = transcript.words()
        records: list[dict[str, Any]] = []
        failures = 0
        with stages.stage("render clips", total=max(1, len(found.highlights))) as update:
            stems = [
                f"{i + 1:02d}-{steps.slugify(h.title)}" for i, h in enumerate(found.highlights)
            ]
            jobs = [
                ClipRender(
                    h.start,
                    h.end,
                    clips_dir / f"{stem}.mp4",
                    clips_dir / f"{stem}.jpg",
                    spec=replace(spec, keywords=tuple(h.hashtags)),
                )
                for h, stem in zip(found.highlights, stems, strict=True)
            ]
            # Clips may encode side by side: the bar shows the sum of their fractions.
            fractions = [0.0] * len(jobs)

            def clip_progress(i: int, f: float) -> None:
                fractions[i] = max(fractions[i], f)
                update(sum(fractions))

            # The next clip's face analysis runs while this one encodes (pipeline.batch).
            for i, done in render_clips(
                video,
                info,
                words,
                jobs,
                spec=spec,
                work_dir=tmp,
                progress=clip_progress,
                parallel=config.render_clips_at_once(),
            ):
                h, stem = found.highlights[i], stems[i]
                record: dict[str, Any] = {
                    "rank": i + 1,
                    "title": h.title,
                    "start": round(h.start, 3),
                    "end": round(h.end, 3),
                    "duration": round(h.end - h.start, 3),
                    "score": round(h.score, 1),
                    "hashtags": h.hashtags,
                    "reasons": steps.reasons_json(h.reasons),
                    "text": h.text,
                }
                if isinstance(done, MediaError):
                    failures += 1
                    record["error"] = f"{done.code}: {done.message}"
                elif not isinstance(done, steps.RenderedClip):
                    raise done
                else:
                    for made in (done.mp4, done.jpg):
                        made.chmod(0o644)  # temp-file renames leave 0600
                    record.update(
                        file=f"clips/{stem}.mp4",
                        thumbnail=f"clips/{stem}.jpg",
                        width=done.width,
                        height=done.height,
                        layout=done.layout,
                        layouts=done.layouts(),
                        loudness_lufs=done.loudness_lufs,
                        seconds_removed=done.seconds_removed,
                        rendered_duration=round(done.duration, 3),
                    )
                    if exports:
                        timeline = steps.clip_timeline(
                            h.title or stem,
                            source if is_url else Path(source).resolve().as_uri(),
                            info,
                            start=h.start,
                            end=h.end,
                            width=done.width,
                            height=done.height,
                            plan=done.crop_plan,
                        )
                        written = write_exports(
                            timeline,
                            steps.export_words(words, spec, start=h.start, end=h.end, cut=done.cut),
                            clips_dir,
                            stem,
                            exports,
                        )
                        record["exports"] = {f: f"clips/{p.name}" for f, p in written.items()}
                records.append(record)
                update(i + 1)
    summary = {
        "source": source,
        "duration": info.duration,
        "transcript_engine": result.engine,
        "language": transcript.language,
        "language_probability": transcript.language_probability,
        "embedder": steps.embedder_label(found.embedder_name),
        "notes": found.notes,
        "prompt": options.prompt,
        "clips": records,
    }
    (out / "clips.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    _print_table(records, out)
    return EXIT_FAILED if failures else EXIT_OK


def _print_table(records: list[dict[str, Any]], out: Path) -> None:
    table = Table(title=f"{len(records)} clip(s) in {out}")
    for col, justify in (
        ("#", "right"),
        ("score", "right"),
        ("start", "right"),
        ("length", "right"),
        ("title", "left"),
        ("file", "left"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in records:
        table.add_row(
            str(r["rank"]),
            f"{r['score']:.0f}",
            _clock(r["start"]),
            f"{r['duration']:.0f}s",
            r["title"],
            r.get("file") or r.get("error", ""),
        )
    Console().print(table)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"
