"""Several clips of one source rendered back to back, with the next clip's face analysis
overlapping the current clip's encode.

A render is one ffmpeg process whose filter chain (decode, crop, scale, captions) is partly
single-threaded, so on a small machine a core is often idle while x264 waits for frames; the
crop plan of the next clip (ffmpeg decoding a few frames per second, OpenCV face detection)
fills it. At most `lookahead` plans are made ahead, so memory stays that of one render plus
one plan. With `parallel` > 1 that many clips encode at once (RENDER_CLIPS_AT_ONCE): one
ffmpeg leaves about a third of a 2-core machine idle even with the plan overlapping it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from cliply.errors import CliplyError
from cliply.media.probe import ProbeResult
from cliply.media.reframe import CropPlan
from cliply.pipeline.steps import RenderedClip, RenderSpec, plan_clip, render_clip_files
from cliply.transcribe.models import Word


@dataclass(frozen=True)
class ClipRender:
    """One clip to render: its source window and where its files go."""

    start: float
    end: float
    out_mp4: Path
    out_jpg: Path
    spec: RenderSpec | None = None
    """This clip's own spec (e.g. its keywords); None: the batch's."""


def render_clips(
    source: Path,
    info: ProbeResult,
    words: Sequence[Word],
    clips: Sequence[ClipRender],
    *,
    spec: RenderSpec,
    work_dir: Path,
    progress: Callable[[int, float], None] | None = None,
    lookahead: int = 1,
    parallel: int = 1,
) -> Iterator[tuple[int, RenderedClip | CliplyError]]:
    """Render `clips`, yielding (index, result) in index order as each finishes; a clip that
    fails yields its error (a MediaError, ...) and the others go on. `progress(index, fraction)`
    reports each clip being rendered. `lookahead` = 0 makes each plan just before its render;
    `parallel` clips encode at once (each ffmpeg's threads stay as the spec says). Crop plans
    take `spec`'s aspect and reframe settings (a clip's own spec may not differ there)."""
    if parallel < 1:
        raise ValueError("parallel must be at least 1")

    def plan(c: ClipRender) -> CropPlan:
        return plan_clip(source, info, start=c.start, end=c.end, spec=spec)

    def render(i: int, clip: ClipRender, made: CropPlan) -> RenderedClip | CliplyError:
        try:
            return render_clip_files(
                source,
                info,
                words,
                start=clip.start,
                end=clip.end,
                spec=clip.spec or spec,
                out_mp4=clip.out_mp4,
                out_jpg=clip.out_jpg,
                work_dir=work_dir,
                progress=_for_clip(progress, i),
                plan=made,
            )
        except CliplyError as exc:
            return exc

    with (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="clip-plan") as planner,
        ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="clip-render") as encoder,
    ):
        ahead: dict[int, Future[CropPlan]] = {}
        # Clips started or failed, oldest first: results go out in index order.
        started: deque[tuple[int, Future[RenderedClip | CliplyError] | CliplyError]] = deque()

        def schedule(upto: int) -> None:
            for j in range(upto, min(len(clips), upto + lookahead)):
                if j not in ahead:
                    ahead[j] = planner.submit(plan, clips[j])

        def oldest() -> tuple[int, RenderedClip | CliplyError]:
            i, entry = started.popleft()
            return i, entry.result() if isinstance(entry, Future) else entry

        def encoding() -> int:
            return sum(isinstance(e, Future) and not e.done() for _, e in started)

        def front_ready() -> bool:
            entry = started[0][1]
            return not isinstance(entry, Future) or entry.done()

        for i, clip in enumerate(clips):
            try:
                made = ahead.pop(i).result() if i in ahead else plan(clip)
            except CliplyError as exc:
                schedule(i + 1)
                started.append((i, exc))
            else:
                # The next plans start now, while this clip encodes.
                schedule(i + 1)
                started.append((i, encoder.submit(render, i, clip, made)))
            while started and (encoding() >= parallel or front_ready()):
                yield oldest()
        while started:
            yield oldest()


def _for_clip(progress: Callable[[int, float], None] | None, i: int) -> Callable[[float], None]:
    if progress is None:
        return lambda _f: None
    return lambda f: progress(i, f)
