"""Crop plans: where a vertical (or square) window sits in the source over time.

`plan_crop` follows the main speaker's face with a camera that has a dead zone (small head
movements do not move it), a speed cap (no whip pans) and a hard cut when the scene cuts. With no
face it falls back to a centre crop or a "blur" layout (whole picture fitted over a blurred,
zoomed copy). `video_filter` turns a plan into an ffmpeg filtergraph fragment: a `crop` whose x/y
are piecewise-linear expressions of `t`, so the render stays a single ffmpeg pass.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cliply.media.errors import BAD_ARGUMENT, MediaError
from cliply.media.faces import Box, analyse, main_speaker
from cliply.media.probe import ProbeResult, probe

Layout = Literal["track", "center", "blur"]

ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "16:9": (1920, 1080),
}
"""Output size for each supported aspect ratio."""

_CUT_EPS = 0.001


@dataclass(frozen=True)
class CropKeyframe:
    t: float
    """Source time in seconds."""
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class CropPlan:
    layout: Layout
    aspect: str
    source_width: int
    source_height: int
    keyframes: tuple[CropKeyframe, ...]
    scene_cuts: tuple[float, ...] = ()
    face_coverage: float = 0.0
    face_boxes: tuple[tuple[float, float, float, float, float], ...] = field(default=())
    """(t, x, y, w, h) of the followed face at each sample where it was seen (diagnostics)."""
    samples: int = 0
    """Frames analysed for faces (diagnostics: follows `sample_fps`)."""

    def box_at(self, t: float) -> CropKeyframe:
        """The crop at source time `t`, interpolated exactly as the render filter does."""
        kfs = self.keyframes
        if t <= kfs[0].t:
            return CropKeyframe(t, kfs[0].x, kfs[0].y, kfs[0].w, kfs[0].h)
        for a, b in itertools.pairwise(kfs):
            if a.t <= t < b.t:
                k = (t - a.t) / (b.t - a.t)
                return CropKeyframe(t, a.x + (b.x - a.x) * k, a.y + (b.y - a.y) * k, a.w, a.h)
        last = kfs[-1]
        return CropKeyframe(t, last.x, last.y, last.w, last.h)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropPlan:
        return cls(
            layout=data["layout"],
            aspect=data["aspect"],
            source_width=int(data["source_width"]),
            source_height=int(data["source_height"]),
            keyframes=tuple(CropKeyframe(**k) for k in data["keyframes"]),
            scene_cuts=tuple(float(c) for c in data.get("scene_cuts", ())),
            face_coverage=float(data.get("face_coverage", 0.0)),
            face_boxes=tuple(
                (float(t), float(x), float(y), float(w), float(h))
                for t, x, y, w, h in data.get("face_boxes", ())
            ),
            samples=int(data.get("samples", 0)),
        )


def aspect_size(aspect: str) -> tuple[int, int]:
    try:
        return ASPECTS[aspect]
    except KeyError:
        raise MediaError(
            f"unknown aspect {aspect!r}; choose one of {sorted(ASPECTS)}", code=BAD_ARGUMENT
        ) from None


def crop_size(src_w: int, src_h: int, aspect: str) -> tuple[int, int]:
    """Largest even-sized window of `aspect` that fits in the source."""
    ow, oh = aspect_size(aspect)
    ratio = ow / oh
    if src_w / src_h > ratio:
        ch = src_h
        cw = round(src_h * ratio)
    else:
        cw = src_w
        ch = round(src_w / ratio)
    return max(2, cw // 2 * 2), max(2, ch // 2 * 2)


def static_plan(
    src_w: int, src_h: int, *, aspect: str = "9:16", layout: Layout = "center", t: float = 0.0
) -> CropPlan:
    """A plan without face analysis: a centred crop, or the blur layout (whole frame)."""
    if layout == "blur":
        kf = CropKeyframe(t, 0.0, 0.0, float(src_w), float(src_h))
    else:
        cw, ch = crop_size(src_w, src_h, aspect)
        kf = CropKeyframe(t, (src_w - cw) / 2, (src_h - ch) / 2, float(cw), float(ch))
    return CropPlan(
        layout="blur" if layout == "blur" else "center",
        aspect=aspect,
        source_width=src_w,
        source_height=src_h,
        keyframes=(kf,),
    )


def plan_crop(
    source: str | Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    aspect: str = "9:16",
    fallback: Literal["center", "blur"] = "blur",
    sample_fps: float = 3.0,
    analysis_width: int = 480,
    dead_zone: float = 0.08,
    max_speed: float = 1.5,
    cut_threshold: float = 0.5,
    min_face_coverage: float = 0.25,
    probe_result: ProbeResult | None = None,
) -> CropPlan:
    """Analyse [start, end) of `source` and plan a crop following the main speaker.

    dead_zone: how far (share of the crop size) the face may drift before the camera moves.
    max_speed: the fastest pan, in crop sizes per second.
    min_face_coverage: share of samples that must show a face to follow one; otherwise the
    `fallback` layout is used.
    """
    info = probe_result or probe(source)
    src_w, src_h = info.display_width, info.display_height
    stop = info.duration if end is None else min(end, info.duration)
    if stop <= start:
        raise MediaError(f"empty clip window {start}..{stop}", code=BAD_ARGUMENT)
    cw, ch = crop_size(src_w, src_h, aspect)
    if cw >= src_w and ch >= src_h:
        return static_plan(src_w, src_h, aspect=aspect, t=start)

    samples = analyse(
        source,
        start=start,
        end=stop,
        src_width=src_w,
        src_height=src_h,
        fps=sample_fps,
        analysis_width=analysis_width,
        cut_threshold=cut_threshold,
    )
    if not samples:
        return static_plan(src_w, src_h, aspect=aspect, layout=fallback, t=start)
    speaker = main_speaker(samples)
    seen = [b for b in speaker if b is not None]
    coverage = len(seen) / len(samples)
    cuts = tuple(s.t for s in samples if s.cut)
    face_boxes = tuple(
        (s.t, b.x, b.y, b.w, b.h) for s, b in zip(samples, speaker, strict=True) if b is not None
    )
    if coverage < min_face_coverage:
        plan = static_plan(src_w, src_h, aspect=aspect, layout=fallback, t=start)
        return CropPlan(
            layout=plan.layout,
            aspect=aspect,
            source_width=src_w,
            source_height=src_h,
            keyframes=plan.keyframes,
            scene_cuts=cuts,
            face_coverage=coverage,
            face_boxes=face_boxes,
            samples=len(samples),
        )

    horizontal = cw < src_w
    length, size = (src_w, cw) if horizontal else (src_h, ch)
    targets = [None if b is None else (b.cx if horizontal else b.cy) for b in speaker]
    scene_ids = np.cumsum([1 if s.cut else 0 for s in samples])
    times = [s.t for s in samples]
    centres = _follow(
        times,
        _fill_gaps(targets, scene_ids, default=length / 2),
        scene_ids,
        lo=size / 2,
        hi=length - size / 2,
        dead=dead_zone * size,
        vmax=max_speed * size,
    )
    keyframes: list[CropKeyframe] = []
    fixed = (src_h - ch) / 2 if horizontal else (src_w - cw) / 2
    for i, (t, c) in enumerate(zip(times, centres, strict=True)):
        pos = round(c - size / 2, 1)
        if i > 0 and scene_ids[i] != scene_ids[i - 1]:
            prev = keyframes[-1]
            keyframes.append(CropKeyframe(t - _CUT_EPS, prev.x, prev.y, prev.w, prev.h))
        x, y = (pos, fixed) if horizontal else (fixed, pos)
        keyframes.append(CropKeyframe(t, x, y, float(cw), float(ch)))
    return CropPlan(
        layout="track",
        aspect=aspect,
        source_width=src_w,
        source_height=src_h,
        keyframes=tuple(_simplify(keyframes)),
        scene_cuts=cuts,
        face_coverage=coverage,
        face_boxes=face_boxes,
        samples=len(samples),
    )


def _fill_gaps(targets: list[float | None], scene_ids: Any, *, default: float) -> list[float]:
    """Within each scene, hold/interpolate the face position where it was not detected, then
    median-filter it (3 samples) so one bad detection cannot move the camera."""
    out: list[float] = [default] * len(targets)
    n = len(targets)
    i = 0
    while i < n:
        j = i
        while j < n and scene_ids[j] == scene_ids[i]:
            j += 1
        idx = [k for k in range(i, j) if targets[k] is not None]
        if idx:
            vals = [float(targets[k]) for k in idx]  # type: ignore[arg-type]
            filled = np.interp(np.arange(i, j), idx, vals)
            if j - i >= 3:
                padded = np.concatenate([[filled[0]], filled, [filled[-1]]])
                filled = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
            out[i:j] = [float(v) for v in filled]
        i = j
    return out


def _follow(
    times: list[float],
    targets: list[float],
    scene_ids: Any,
    *,
    lo: float,
    hi: float,
    dead: float,
    vmax: float,
) -> list[float]:
    """Camera centre per sample: still inside the dead zone, eased and speed-capped outside
    it, and snapped to the target at a scene cut."""
    cams: list[float] = []
    for i, (t, target) in enumerate(zip(times, targets, strict=True)):
        goal = min(max(target, lo), hi)
        if i == 0 or scene_ids[i] != scene_ids[i - 1]:
            cams.append(goal)
            continue
        cam = cams[-1]
        diff = goal - cam
        if abs(diff) > dead:
            step = 0.7 * (diff - np.sign(diff) * dead / 2)
            cap = vmax * max(t - times[i - 1], 1e-3)
            cam += float(np.clip(step, -cap, cap))
        cams.append(min(max(cam, lo), hi))
    return cams


def _simplify(kfs: list[CropKeyframe], tol: float = 0.5) -> list[CropKeyframe]:
    """Drop keyframes that linear interpolation between the kept ones already gives (within
    `tol` px for every dropped point), keeping both keyframes of each cut."""
    if len(kfs) <= 2:
        return kfs
    kept = [kfs[0]]
    anchor = 0
    for i in range(1, len(kfs) - 1):
        c = kfs[i + 1]
        if c.t - kfs[i].t <= 2 * _CUT_EPS or kfs[i].t - kfs[i - 1].t <= 2 * _CUT_EPS:
            kept.append(kfs[i])
            anchor = i
            continue
        a = kfs[anchor]
        if any(_off_line(a, kfs[j], c, tol) for j in range(anchor + 1, i + 1)):
            kept.append(kfs[i])
            anchor = i
    kept.append(kfs[-1])
    return kept


def _off_line(a: CropKeyframe, b: CropKeyframe, c: CropKeyframe, tol: float) -> bool:
    k = (b.t - a.t) / (c.t - a.t) if c.t > a.t else 0.0
    return abs(a.x + (c.x - a.x) * k - b.x) > tol or abs(a.y + (c.y - a.y) * k - b.y) > tol


def _piecewise(points: list[tuple[float, float]]) -> str:
    """ffmpeg expression of `t`: linear interpolation through points, held at both ends.

    Written as a flat sum of gated segments, not nested if()s, so hundreds of keyframes stay
    shallow for the expression parser."""
    if all(abs(v - points[0][1]) < 0.05 for _, v in points):
        return f"{points[0][1]:.1f}"
    terms = [f"{points[0][1]:.1f}*lt(t,{points[0][0]:.3f})"]
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        if t1 <= t0:
            continue
        gate = f"gte(t,{t0:.3f})*lt(t,{t1:.3f})"
        if abs(v1 - v0) < 0.05:
            terms.append(f"{v0:.1f}*{gate}")
        else:
            slope = (v1 - v0) / (t1 - t0)
            terms.append(f"({v0:.1f}+{slope:.4f}*(t-{t0:.3f}))*{gate}")
    terms.append(f"{points[-1][1]:.1f}*gte(t,{points[-1][0]:.3f})")
    return "+".join(terms)


def video_filter(
    plan: CropPlan, *, clip_start: float, width: int, height: int, in_label: str, out_label: str
) -> str:
    """Filtergraph fragment from `in_label` to `out_label`: reframe and scale to width x height.

    Filter time `t` starts at 0 at the clip start (input seeking re-zeroes timestamps), so
    keyframe times are shifted by `clip_start`.
    """
    if plan.layout == "blur":
        bw, bh = max(2, width // 8 // 2 * 2), max(2, height // 8 // 2 * 2)
        return (
            f"[{in_label}]split=2[bgsrc][fgsrc];"
            f"[bgsrc]scale={bw}:{bh}:force_original_aspect_ratio=increase,"
            f"crop={bw}:{bh},boxblur=4:2,scale={width}:{height},setsar=1[bg];"
            f"[fgsrc]scale={width}:{height}:force_original_aspect_ratio=decrease,setsar=1[fg];"
            f"[bg][fg]overlay=(W-w)/2:(H-h)/2[{out_label}]"
        )
    first = plan.keyframes[0]
    xs = [(k.t - clip_start, k.x) for k in plan.keyframes]
    ys = [(k.t - clip_start, k.y) for k in plan.keyframes]
    cw, ch = int(first.w), int(first.h)
    return (
        f"[{in_label}]crop={cw}:{ch}:x='{_piecewise(xs)}':y='{_piecewise(ys)}',"
        f"scale={width}:{height},setsar=1[{out_label}]"
    )


def face_box_at(plan: CropPlan, t: float) -> Box | None:
    """The followed face nearest to `t` (diagnostics and tests)."""
    if not plan.face_boxes:
        return None
    bt, x, y, w, h = min(plan.face_boxes, key=lambda b: abs(b[0] - t))
    return Box(x, y, w, h) if abs(bt - t) < 1.0 else None
