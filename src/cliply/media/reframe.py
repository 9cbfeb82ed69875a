"""Crop plans: which layout each scene gets, and where its crop windows sit over time.

A plan is a list of segments (runs of scenes with one layout), switching only at scene cuts:

- track: one face (or the active speaker among several), followed by a camera with a dead zone
  (small head movements do not move it), a speed cap (no whip pans) and a hard cut at a scene
  cut or a change of speaker;
- split: two persistent faces that both speak and do not fit in one window, as a 2-up vertical
  stack, one crop around each face;
- screen: screen content (slides, a screen share: a large static area of text-like cells) with
  a face: the screen fitted on top, the speaker's face cropped below (the screen-share layout of
  OpusClip-class tools);
- fit: no face, the whole picture fitted over a blurred, zoomed copy ("blur" before);
- center: a fixed centred crop (the `center` fallback, or a source already of the aspect).

The active speaker is judged by mouth movement: frame-to-frame change in the lower third of
each face box, minus the change in the eye band (so head motion and lighting cancel out).

`video_filter` turns a plan into one ffmpeg filtergraph fragment: each segment is a trimmed
branch of the input (crop/scale/vstack/overlay with x/y as piecewise-linear expressions of
`t`), and the branches are joined by `concat`, so the render stays a single ffmpeg pass.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import cv2
import numpy as np
import numpy.typing as npt

from cliply.media.captions import SAFE_BOTTOM
from cliply.media.errors import BAD_ARGUMENT, MediaError
from cliply.media.faces import (
    Box,
    Frame,
    Sample,
    detect_faces,
    drop_blips,
    histogram,
    is_cut,
    link_faces,
    sample_frames,
)
from cliply.media.faces import mouth_motion as landmark_mouth_motion
from cliply.media.probe import ProbeResult, probe

Layout = Literal["track", "center", "fit", "split", "screen"]
LayoutChoice = Literal["auto", "track", "split", "screen", "fit"]
LAYOUT_CHOICES: tuple[str, ...] = get_args(LayoutChoice)
"""What a user may ask for: `auto` chooses per scene, the others force one layout."""

ASPECTS: dict[str, tuple[int, int]] = {
    "9:16": (1080, 1920),
    "1:1": (1080, 1080),
    "16:9": (1920, 1080),
}
"""Output size for each supported aspect ratio."""

_CUT_EPS = 0.001
_LEGACY = {"blur": "fit"}  # layout names stored by earlier versions

# Screen detection works on cells of this many analysis pixels.
_CELL = 16
# Mouth movement (mean grey-level change per pixel between samples, beyond the eye band's)
# below which a face counts as silent.
_MOUTH_SPEAKING = 2.0
# Speaker choice: movement counted per sample at most, and the cost of a change of speaker
# (in the same units: a change needs the new speaker to out-move the old by this much).
_MOUTH_CAP = 15.0
# faces.mouth_motion (normalised mouth patches, ~1 for a wide-open/closed change) in the grey
# levels of the box-based measure (measured side by side on the generated talking faces).
_LANDMARK_MOTION_SCALE = 30.0
_SWITCH_COST = 12.0
# Caption band: share of the frame height one or two caption lines take.
CAPTION_BAND = 0.12
# Lowest the caption band's bottom may go (platform captions / buttons below) and highest its
# top may go (platform top bar and the hook title above).
CAPTION_LOWEST = 0.80
CAPTION_HIGHEST = 0.16


@dataclass(frozen=True)
class CropKeyframe:
    t: float
    """Source time in seconds."""
    x: float
    y: float
    w: float
    h: float


def crop_at(kfs: Sequence[CropKeyframe], t: float) -> CropKeyframe:
    """The crop at source time `t`, interpolated exactly as the render filter does."""
    if t <= kfs[0].t:
        return CropKeyframe(t, kfs[0].x, kfs[0].y, kfs[0].w, kfs[0].h)
    for a, b in itertools.pairwise(kfs):
        if a.t <= t < b.t:
            k = (t - a.t) / (b.t - a.t)
            return CropKeyframe(t, a.x + (b.x - a.x) * k, a.y + (b.y - a.y) * k, a.w, a.h)
    last = kfs[-1]
    return CropKeyframe(t, last.x, last.y, last.w, last.h)


@dataclass(frozen=True)
class SceneLayout:
    """One segment of a plan: consecutive scenes drawn with one layout."""

    start: float
    """Source seconds; the segment runs to `end` (the next segment's start)."""
    end: float
    layout: Layout
    panels: tuple[tuple[CropKeyframe, ...], ...]
    """Crop windows (source pixels) drawn top to bottom: track/center/fit one (fit: the whole
    frame), split two (one per face), screen two (the static screen area, then the face)."""
    top: float = 1.0
    """Share of the output height the first panel takes (split 0.5; screen from its shape)."""
    faces: int = 0
    """Persistent faces seen in the segment (diagnostics)."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SceneLayout:
        return cls(
            start=float(data["start"]),
            end=float(data["end"]),
            layout=_LEGACY.get(data["layout"], data["layout"]),
            panels=tuple(tuple(CropKeyframe(**k) for k in p) for p in data["panels"]),
            top=float(data.get("top", 1.0)),
            faces=int(data.get("faces", 0)),
        )

    def panel_sizes(self, width: int, height: int) -> list[tuple[int, int]]:
        """Output (w, h) of each panel, top to bottom (even sizes summing to `height`)."""
        if len(self.panels) < 2:
            return [(width, height)]
        top = max(2, min(height - 2, round(height * self.top / 2) * 2))
        return [(width, top), (width, height - top)]


@dataclass(frozen=True)
class CropPlan:
    layout: Layout
    """The layout of most of the clip's time (per-scene layouts are in `scenes`)."""
    aspect: str
    source_width: int
    source_height: int
    keyframes: tuple[CropKeyframe, ...]
    """The primary crop over the whole clip, one window of the output aspect: the followed
    face (in split/screen segments the active speaker) or, in fit segments, the whole frame.
    Timeline exports and `box_at` use it."""
    scene_cuts: tuple[float, ...] = ()
    face_coverage: float = 0.0
    face_boxes: tuple[tuple[float, float, float, float, float], ...] = field(default=())
    """(t, x, y, w, h) of the followed face at each sample where it was seen (diagnostics)."""
    samples: int = 0
    """Frames analysed for faces (diagnostics: follows `sample_fps`)."""
    scenes: tuple[SceneLayout, ...] = ()
    """Segments in time order; empty for plans made before layouts (one segment from
    `layout` and `keyframes`)."""

    def box_at(self, t: float) -> CropKeyframe:
        """The primary crop at source time `t`, interpolated exactly as the render does."""
        return crop_at(self.keyframes, t)

    def segments(self) -> tuple[SceneLayout, ...]:
        """The plan's segments; a single one for plans without `scenes`."""
        if self.scenes:
            return self.scenes
        if self.layout == "fit":
            full = CropKeyframe(
                self.keyframes[0].t, 0.0, 0.0, self.source_width, self.source_height
            )
            panels: tuple[tuple[CropKeyframe, ...], ...] = ((full,),)
        else:
            panels = (self.keyframes,)
        t0 = self.keyframes[0].t
        return (SceneLayout(t0, float("inf"), self.layout, panels),)

    def segment_at(self, t: float) -> SceneLayout:
        segs = self.segments()
        for seg in segs:
            if t < seg.end:
                return seg
        return segs[-1]

    def layout_at(self, t: float) -> Layout:
        return self.segment_at(t).layout

    def scene_report(self) -> list[dict[str, Any]]:
        """[{start, end, layout}] per segment, source seconds (clips.json, the clip record)."""
        segs = self.segments()
        return [
            {
                "start": round(s.start, 3),
                "end": round(s.end, 3) if s.end != float("inf") else None,
                "layout": s.layout,
            }
            for s in segs
        ]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CropPlan:
        return cls(
            layout=_LEGACY.get(data["layout"], data["layout"]),
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
            scenes=tuple(SceneLayout.from_dict(s) for s in data.get("scenes", ())),
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
    return _fit_window(src_w, src_h, ow / oh)


def _fit_window(src_w: int, src_h: int, ratio: float) -> tuple[int, int]:
    if src_w / src_h > ratio:
        ch = src_h
        cw = round(src_h * ratio)
    else:
        cw = src_w
        ch = round(src_w / ratio)
    return max(2, cw // 2 * 2), max(2, ch // 2 * 2)


def static_plan(
    src_w: int, src_h: int, *, aspect: str = "9:16", layout: str = "center", t: float = 0.0
) -> CropPlan:
    """A plan without face analysis: a centred crop, or the fit layout (whole frame over a
    blurred fill; "blur" is its old name)."""
    if _LEGACY.get(layout, layout) == "fit":
        kf = CropKeyframe(t, 0.0, 0.0, float(src_w), float(src_h))
        name: Layout = "fit"
    else:
        cw, ch = crop_size(src_w, src_h, aspect)
        kf = CropKeyframe(t, (src_w - cw) / 2, (src_h - ch) / 2, float(cw), float(ch))
        name = "center"
    return CropPlan(
        layout=name, aspect=aspect, source_width=src_w, source_height=src_h, keyframes=(kf,)
    )


# --- analysis ----------------------------------------------------------------------------------


@dataclass
class _Obs:
    """One analysed sample."""

    t: float
    cut: bool
    faces: list[Box]
    """Source pixels."""
    mouth: list[float | None]
    """Per face: mouth movement since the previous sample (None: not comparable)."""
    screen: npt.NDArray[np.bool_]
    """Cells that look like static screen content (text-like, unchanged since last sample)."""
    cut_t: float = 0.0
    """With `cut`: when the new scene's first frame shows (refined between the samples)."""


def _patch(gray: Frame, b: Box, x0: float, y0: float, x1: float, y1: float) -> Any:
    h, w = gray.shape[:2]
    xa, xb = int(max(0, b.x + x0 * b.w)), int(min(w, b.x + x1 * b.w))
    ya, yb = int(max(0, b.y + y0 * b.h)), int(min(h, b.y + y1 * b.h))
    if xb - xa < 4 or yb - ya < 4:
        return None
    return cv2.resize(gray[ya:yb, xa:xb], (24, 12), interpolation=cv2.INTER_AREA).astype(np.float32)


def mouth_motion(prev: Frame, cur: Frame, before: Box, now: Box) -> float | None:
    """How much the mouth moved between two samples of one face, in grey levels per pixel.

    With landmarks (the detector's mouth patch, placed on the mouth corners and normalised),
    the detector's own measure, scaled to these units. Without (Haar boxes), the change of
    the lower third of the face box beyond the change of the eye band: each region resampled
    from its own box, so a head that moves or a camera that drifts does not count as speech."""
    if before.mouth_patch is not None and now.mouth_patch is not None:
        return _LANDMARK_MOTION_SCALE * landmark_mouth_motion(before, now)
    values: list[float] = []
    for region in ((0.22, 0.62, 0.78, 0.98), (0.12, 0.18, 0.88, 0.46)):
        a, b = _patch(prev, before, *region), _patch(cur, now, *region)
        if a is None or b is None:
            return None
        values.append(float(np.mean(np.abs(a - b))))
    return max(0.0, values[0] - values[1])


def screen_cells(gray: Frame, prev: Frame | None) -> npt.NDArray[np.bool_]:
    """Cells of `_CELL` px that look like screen content: many sharp edges on a flat ground
    (text, UI), unchanged since the previous sample when there is one."""
    h, w = gray.shape[:2]
    size = (max(1, w // _CELL), max(1, h // _CELL))
    edges = cv2.Canny(gray, 80, 160) > 0
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    flat = (np.abs(gx) + np.abs(gy)) < 24
    edge_d = cv2.resize(edges.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    flat_d = cv2.resize(flat.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    texty = (edge_d >= 0.06) & (flat_d >= 0.45)
    if prev is not None and prev.shape == gray.shape:
        diff = cv2.absdiff(gray, prev).astype(np.float32)
        texty &= cv2.resize(diff, size, interpolation=cv2.INTER_AREA) < 6.0
    return np.asarray(texty, dtype=np.bool_)


def _same_face(a: Box, b: Box) -> bool:
    d = float(np.hypot(a.cx - b.cx, a.cy - b.cy))
    return a.iou(b) > 0.3 or d < 0.5 * max(a.w, b.w)


def observe(
    source: str | Path,
    *,
    start: float,
    end: float,
    src_width: int,
    src_height: int,
    fps: float = 3.0,
    analysis_width: int = 480,
    cut_threshold: float = 0.5,
    source_fps: float = 25.0,
) -> list[_Obs]:
    """Sample the range once: faces, scene cuts, mouth movement per face, screen cells.
    Each cut is then placed on its frame by a second look at the frames between its two
    samples (tiny frames, only where there is a cut)."""
    out: list[_Obs] = []
    prev_hist: npt.NDArray[np.float32] | None = None
    prev_gray: Frame | None = None
    prev_faces: list[Box] = []
    for t, frame in sample_frames(
        source,
        start=start,
        end=end,
        fps=fps,
        width=analysis_width,
        src_width=src_width,
        src_height=src_height,
    ):
        scale = src_width / frame.shape[1]
        hist = histogram(frame)
        cut = prev_hist is not None and is_cut(prev_hist, hist, cut_threshold)
        prev_hist = hist
        gray = np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
        found = detect_faces(frame)
        mouth: list[float | None] = []
        for b in found:
            before = next((p for p in prev_faces if _same_face(p, b)), None)
            ok = prev_gray is not None and before is not None and not cut
            mouth.append(mouth_motion(prev_gray, gray, before, b) if ok else None)  # type: ignore[arg-type]
        screen = screen_cells(gray, None if cut else prev_gray)
        out.append(_Obs(t, cut, [b.scaled(scale) for b in found], mouth, screen))
        prev_gray, prev_faces = gray, found
    # A face that does not persist over two samples of its scene is a false hit.
    samples = [Sample(o.t, list(o.faces), o.cut) for o in out]
    drop_blips(samples, 2)
    for o, s in zip(out, samples, strict=True):
        kept = {id(b) for b in s.faces}
        pairs = [(b, m) for b, m in zip(o.faces, o.mouth, strict=True) if id(b) in kept]
        o.faces, o.mouth = [b for b, _ in pairs], [m for _, m in pairs]
    for i, o in enumerate(out):
        if o.cut:
            o.cut_t = _cut_frame(
                source, out[i - 1].t, o.t, src_width, src_height, max(1.0, source_fps)
            )
    return out


def _cut_frame(
    source: str | Path, a: float, b: float, src_width: int, src_height: int, fps: float
) -> float:
    """Time of the first frame of the new scene, for a cut between samples at a and b: the
    biggest histogram jump between consecutive frames from a to just past b (b when there
    is none)."""
    frames = list(
        sample_frames(
            source,
            start=a,
            end=b + 2.5 / fps,
            fps=fps,
            width=96,
            src_width=src_width,
            src_height=src_height,
        )
    )
    if len(frames) < 2:
        return b
    hists = [histogram(f) for _, f in frames]
    jumps = [
        cv2.compareHist(h0, h1, cv2.HISTCMP_BHATTACHARYYA) for h0, h1 in itertools.pairwise(hists)
    ]
    k = int(np.argmax(jumps))
    if jumps[k] < 0.25:  # no clear jump at this resolution: keep the sample's time
        return b
    # The sample's own time is where its frame was labelled; never later than that.
    return float(min(max(frames[k + 1][0], a + 0.5 / fps), b))


@dataclass
class _Track:
    """One face followed across the samples of a scene."""

    boxes: dict[int, Box] = field(default_factory=dict)
    mouth: dict[int, float] = field(default_factory=dict)

    @property
    def weight(self) -> float:
        return sum(b.area for b in self.boxes.values())

    def median_box(self) -> Box:
        bs = list(self.boxes.values())
        x, y, w, h = (float(np.median([getattr(b, k) for b in bs])) for k in ("x", "y", "w", "h"))
        return Box(x, y, w, h)


def _link(obs: list[_Obs], a: int, b: int) -> list[_Track]:
    """Faces of samples a..b-1 linked into tracks by overlap / nearness, with their mouths."""
    tracks: list[_Track] = []
    for links in link_faces([o.faces for o in obs], a, b):
        tr = _Track()
        for i, j in links.items():
            tr.boxes[i] = obs[i].faces[j]
            mouth = obs[i].mouth[j]
            if mouth is not None:
                tr.mouth[i] = mouth
        tracks.append(tr)
    return tracks


def _persistent(tracks: list[_Track], n: int, share: float) -> list[_Track]:
    """Tracks seen in at least `share` of the scene's n samples and not tiny next to the
    biggest face (a face on a poster behind the speaker), biggest first."""
    kept = [t for t in tracks if len(t.boxes) >= max(1.0, share * n)]
    if not kept:
        return []
    top = max(t.median_box().area for t in kept)
    kept = [t for t in kept if t.median_box().area >= 0.2 * top]
    return sorted(kept, key=lambda t: t.weight, reverse=True)


def active_speaker(tracks: list[_Track], a: int, b: int) -> list[int]:
    """Index (into `tracks`) of the face to show at each sample a..b-1.

    The sequence that collects the most mouth movement, less a cost per change of speaker
    (Viterbi over "who speaks"): the plan is made offline, so a change is placed where the
    new speaker starts, not a smoothing window later, and one nod or smile (movement capped
    per sample) cannot buy the two changes a flip there and back costs. A face not in the
    picture (unseen for 2 samples either side) cannot be followed."""
    n, m = b - a, len(tracks)
    if m == 1:
        return [0] * n
    gain = np.zeros((m, n))
    for j, tr in enumerate(tracks):
        for k in range(n):
            i = a + k
            if i in tr.mouth:
                gain[j, k] = min(tr.mouth[i], _MOUTH_CAP)
            elif not any(i + d in tr.boxes for d in range(-2, 3)):
                gain[j, k] = -_MOUTH_CAP
    gain[0, 0] += 0.5  # nobody speaking at all: the biggest face
    score = gain[:, 0].copy()
    back = np.zeros((m, n), dtype=np.int64)
    for k in range(1, n):
        best = int(np.argmax(score))
        move = score[best] - _SWITCH_COST
        back[:, k] = np.where(score >= move, np.arange(m), best)
        score = np.maximum(score, move) + gain[:, k]
    path = [int(np.argmax(score))]
    for k in range(n - 1, 0, -1):
        path.append(int(back[path[-1], k]))
    return path[::-1]


def _speaks(tr: _Track, share: float) -> bool:
    """Whether a face talks in its scene: followed as speaker a fair share of the time, with
    its mouth clearly moving in at least a quarter of the samples."""
    moves = np.array(list(tr.mouth.values()) or [0.0])
    return share >= 0.15 and float(np.percentile(moves, 75)) >= _MOUTH_SPEAKING


def find_screen(obs: list[_Obs], a: int, b: int, faces: list[_Track], scale: float) -> Box | None:
    """The static screen area of samples a..b-1 (source pixels), or None: the biggest
    connected block of cells that look like screen content in most samples, away from faces."""
    if b - a < 2:
        return None
    stack = np.stack([obs[i].screen for i in range(a, b)]).astype(np.float32)
    often = stack.mean(axis=0) >= 0.5
    gh, gw = often.shape
    for tr in faces:  # the face, hair and shoulders are not screen
        fb = tr.median_box().scaled(1 / scale / _CELL)
        x0, x1 = int(max(0, fb.x - 0.6 * fb.w)), int(min(gw, np.ceil(fb.x + 1.6 * fb.w)))
        y0 = int(max(0, fb.y - 0.5 * fb.h))
        often[y0:, x0:x1] = False
    mask = cv2.morphologyEx(often.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return None
    best = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    x, y, w, h, area = (int(v) for v in stats[best])
    if w * h < 0.12 * gw * gh or area < 0.35 * w * h or min(w, h) < 3:
        return None
    cells = Box(x - 0.5, y - 0.5, w + 1.0, h + 1.0)
    box = cells.scaled(_CELL * scale)
    return Box(max(0.0, box.x), max(0.0, box.y), box.w, box.h)


# --- planning ----------------------------------------------------------------------------------


@dataclass
class _Scene:
    a: int
    b: int
    layout: Layout
    faces: list[_Track]
    """Faces to show: track/screen one (the followed one is chosen per sample), split two."""
    speaker: list[int]
    """Per sample a..b-1, index into `faces` of the active speaker."""
    screen: Box | None = None


def _choose(
    obs: list[_Obs],
    a: int,
    b: int,
    *,
    choice: str,
    fallback: Layout,
    min_face_coverage: float,
    scale: float,
    crop_w: float,
) -> _Scene:
    n = b - a
    tracks = _link(obs, a, b)
    seen = _persistent(tracks, n, min_face_coverage)
    if not seen or choice == "fit":
        return _Scene(a, b, "fit" if choice == "fit" or fallback == "fit" else "center", [], [])
    speaker = active_speaker(seen, a, b)
    share = [speaker.count(k) / n for k in range(len(seen))]
    screen = find_screen(obs, a, b, seen, scale)
    if choice == "screen" or (choice == "auto" and screen is not None):
        main = seen[int(np.argmax(share))]
        return _Scene(a, b, "screen", [main], [0] * n, screen)
    pair = _persistent(seen, n, 0.5)
    if choice == "split" and len(seen) >= 2:
        pair = seen
    if len(pair) >= 2 and choice in ("auto", "split"):
        # The two faces that speak most (ties: biggest), drawn left one on top.
        order = sorted(range(len(pair)), key=lambda k: -share[seen.index(pair[k])])
        two = sorted((pair[order[0]], pair[order[1]]), key=lambda t: t.median_box().cx)
        talks = [_speaks(t, share[seen.index(t)]) for t in two]
        boxes = [t.median_box() for t in two]
        span = max(bx.x + 1.2 * bx.w for bx in boxes) - min(bx.x - 0.2 * bx.w for bx in boxes)
        # Split unless only one of them talks (then the talker is followed) or one window
        # holds both.
        if choice == "split" or (span > crop_w and (all(talks) or not any(talks))):
            pick = [0 if seen[s] is two[0] else 1 for s in speaker]
            return _Scene(a, b, "split", two, pick)
    return _Scene(a, b, "track", seen, speaker)


def plan_crop(
    source: str | Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    aspect: str = "9:16",
    fallback: str = "blur",
    sample_fps: float = 3.0,
    analysis_width: int = 480,
    dead_zone: float = 0.08,
    max_speed: float = 1.5,
    cut_threshold: float = 0.5,
    min_face_coverage: float = 0.25,
    probe_result: ProbeResult | None = None,
    layout: str = "auto",
) -> CropPlan:
    """Analyse [start, end) of `source` and plan a layout per scene.

    dead_zone: how far (share of the crop size) the face may drift before the camera moves.
    max_speed: the fastest pan, in crop sizes per second.
    min_face_coverage: share of a scene's samples that must show a face to follow it;
    otherwise the `fallback` layout ("blur"/"fit" or "center") is used.
    layout: "auto" (chosen per scene) or one of track, split, screen, fit to force it where
    the scene allows (split needs two faces, track and screen one; otherwise the next best).
    """
    if layout not in LAYOUT_CHOICES:
        raise MediaError(
            f"unknown layout {layout!r}; choose one of {', '.join(LAYOUT_CHOICES)}",
            code=BAD_ARGUMENT,
        )
    fallback_layout: Layout = "fit" if _LEGACY.get(fallback, fallback) == "fit" else "center"
    info = probe_result or probe(source)
    src_w, src_h = info.display_width, info.display_height
    stop = info.duration if end is None else min(end, info.duration)
    if stop <= start:
        raise MediaError(f"empty clip window {start}..{stop}", code=BAD_ARGUMENT)
    cw, ch = crop_size(src_w, src_h, aspect)
    if layout == "fit":
        return static_plan(src_w, src_h, aspect=aspect, layout="fit", t=start)
    if cw >= src_w and ch >= src_h and layout == "auto":
        return static_plan(src_w, src_h, aspect=aspect, t=start)

    obs = observe(
        source,
        start=start,
        end=stop,
        src_width=src_w,
        src_height=src_h,
        fps=sample_fps,
        analysis_width=analysis_width,
        cut_threshold=cut_threshold,
        source_fps=info.fps or 25.0,
    )
    if not obs:
        return static_plan(src_w, src_h, aspect=aspect, layout=fallback_layout, t=start)
    scale = src_w / max(1, round(min(analysis_width, src_w) // 2 * 2))
    cuts = [i for i, o in enumerate(obs) if o.cut]
    bounds = [0, *cuts, len(obs)]
    scenes = [
        _choose(
            obs,
            a,
            b,
            choice=layout,
            fallback=fallback_layout,
            min_face_coverage=min_face_coverage,
            scale=scale,
            crop_w=cw,
        )
        for a, b in itertools.pairwise(bounds)
        if b > a
    ]
    planner = _Planner(
        obs, src_w, src_h, aspect, start, stop, dead=dead_zone, vmax=max_speed, crop=(cw, ch)
    )
    segments = planner.segments(scenes)
    followed = planner.followed(scenes)
    keyframes = planner.primary(scenes)
    seen = [b for b in followed if b is not None]
    face_boxes = tuple(
        (o.t, b.x, b.y, b.w, b.h) for o, b in zip(obs, followed, strict=True) if b is not None
    )
    time_by: dict[Layout, float] = {}
    for seg in segments:
        time_by[seg.layout] = time_by.get(seg.layout, 0.0) + (seg.end - seg.start)
    return CropPlan(
        layout=max(time_by, key=lambda k: time_by[k]),
        aspect=aspect,
        source_width=src_w,
        source_height=src_h,
        keyframes=tuple(keyframes),
        scene_cuts=tuple(obs[i].cut_t for i in cuts),
        face_coverage=len(seen) / len(obs),
        face_boxes=face_boxes,
        samples=len(obs),
        scenes=tuple(segments),
    )


class _Planner:
    """Turns per-scene layout decisions into crop keyframes."""

    def __init__(
        self,
        obs: list[_Obs],
        src_w: int,
        src_h: int,
        aspect: str,
        start: float,
        stop: float,
        *,
        dead: float,
        vmax: float,
        crop: tuple[int, int],
    ) -> None:
        self.obs, self.src_w, self.src_h, self.aspect = obs, src_w, src_h, aspect
        self.start, self.stop, self.dead, self.vmax, self.crop = start, stop, dead, vmax, crop
        self.times = [o.t for o in obs]
        self.out_w, self.out_h = aspect_size(aspect)

    def _seg_time(self, i: int) -> float:
        if i == 0:
            return self.start
        return self.obs[i].cut_t if self.obs[i].cut else self.times[i]

    def followed(self, scenes: list[_Scene]) -> list[Box | None]:
        out: list[Box | None] = [None] * len(self.obs)
        for sc in scenes:
            for k, i in enumerate(range(sc.a, sc.b)):
                if sc.faces:
                    out[i] = sc.faces[sc.speaker[k]].boxes.get(i)
        return out

    def _switch_ids(self, scenes: list[_Scene], by_speaker: bool) -> list[int]:
        """Per sample, an id that changes at every scene cut and, with `by_speaker`, at
        every change of the followed speaker (the camera cuts there instead of panning)."""
        ids: list[int] = []
        n = 0
        for sc in scenes:
            n += 1
            prev = None
            for k in range(sc.b - sc.a):
                s = sc.speaker[k] if sc.speaker and by_speaker else 0
                if prev is not None and s != prev:
                    n += 1
                prev = s
                ids.append(n)
        return ids

    def _follow_panel(
        self,
        scenes: list[_Scene],
        boxes: list[Box | None],
        size: tuple[int, int],
        ids: list[int],
        head: float,
        only: range | None = None,
    ) -> list[CropKeyframe]:
        """Keyframes of a window of `size` following `boxes` (face centre `head` of the
        window height above its middle), snapping where `ids` change."""
        cw, ch = size
        idx = list(only) if only is not None else list(range(len(self.obs)))
        times = [self.times[i] for i in idx]
        sid = [ids[i] for i in idx]
        cxs: list[float | None] = []
        cys: list[float | None] = []
        for i in idx:
            b = boxes[i]
            cxs.append(None if b is None else b.cx)
            cys.append(None if b is None else b.cy + head * ch)
        xs = _follow(
            times,
            _fill_gaps(cxs, sid, self.src_w / 2),
            sid,
            lo=cw / 2,
            hi=self.src_w - cw / 2,
            dead=self.dead * cw,
            vmax=self.vmax * cw,
        )
        ys = _follow(
            times,
            _fill_gaps(cys, sid, self.src_h / 2),
            sid,
            lo=ch / 2,
            hi=self.src_h - ch / 2,
            dead=self.dead * ch,
            vmax=self.vmax * ch,
        )
        kfs: list[CropKeyframe] = []
        for k, (t, x, y) in enumerate(zip(times, xs, ys, strict=True)):
            if k > 0 and sid[k] != sid[k - 1]:
                prev = kfs[-1]
                # The switch lands half-way between the samples (a cut: at the later one).
                at = self.obs[idx[k]].cut_t if self.obs[idx[k]].cut else (times[k - 1] + t) / 2
                kfs.append(CropKeyframe(at - _CUT_EPS, prev.x, prev.y, prev.w, prev.h))
                kfs.append(CropKeyframe(at, round(x - cw / 2, 1), round(y - ch / 2, 1), cw, ch))
                continue
            kfs.append(CropKeyframe(t, round(x - cw / 2, 1), round(y - ch / 2, 1), cw, ch))
        return _simplify(kfs)

    def primary(self, scenes: list[_Scene]) -> list[CropKeyframe]:
        """One window of the output aspect over the whole clip (exports, thumbnails of old
        callers): the followed face, or the whole frame where a scene has none."""
        boxes = self.followed(scenes)
        ids = self._switch_ids(scenes, True)
        kfs: list[CropKeyframe] = []
        for sc in scenes:
            t0 = self._seg_time(sc.a)
            if not sc.faces:
                if kfs:
                    prev = kfs[-1]
                    kfs.append(CropKeyframe(t0 - _CUT_EPS, prev.x, prev.y, prev.w, prev.h))
                kfs.append(self._static(sc.layout, t0))
                continue
            part = self._follow_panel(scenes, boxes, self.crop, ids, 0.0, range(sc.a, sc.b))
            if kfs:
                prev = kfs[-1]
                kfs.append(CropKeyframe(t0 - _CUT_EPS, prev.x, prev.y, prev.w, prev.h))
                first = part[0]
                kfs.append(CropKeyframe(t0, first.x, first.y, first.w, first.h))
            kfs.extend(part)
        return _simplify(kfs)

    def _static(self, layout: Layout, t: float) -> CropKeyframe:
        return static_plan(
            self.src_w, self.src_h, aspect=self.aspect, layout=layout, t=t
        ).keyframes[0]

    def _face_window(self, faces: list[_Track], ratio: float) -> tuple[int, int]:
        """A window of `ratio` (w/h) around a face: about 2.5 face heights tall, never larger
        than the source nor so small the face is blown up past 2.5x."""
        fh = max(t.median_box().h for t in faces)
        ch = min(self.src_h, max(2.5 * fh, self.src_h * 0.4))
        cw = ch * ratio
        if cw > self.src_w:
            cw, ch = self.src_w, self.src_w / ratio
        return max(2, int(cw) // 2 * 2), max(2, int(ch) // 2 * 2)

    def segments(self, scenes: list[_Scene]) -> list[SceneLayout]:
        out: list[SceneLayout] = []
        groups: list[list[_Scene]] = []
        for sc in scenes:
            # Neighbouring scenes of one layout share a segment (their crops cut at the cut);
            # screen scenes keep their own (each has its own screen area).
            if groups and groups[-1][-1].layout == sc.layout and sc.layout != "screen":
                groups[-1].append(sc)
            else:
                groups.append([sc])
        ids_cam = self._switch_ids(scenes, True)
        ids_scene = self._switch_ids(scenes, False)
        for g in groups:
            a, b = g[0].a, g[-1].b
            t0 = self._seg_time(a)
            t1 = self._seg_time(b) if b < len(self.obs) else self.stop
            lay = g[0].layout
            rng = range(a, b)
            top = 1.0
            if lay in ("fit", "center"):
                panels: tuple[tuple[CropKeyframe, ...], ...] = ((self._static(lay, t0),),)
            elif lay == "track":
                boxes = self.followed(g)
                panels = (tuple(self._follow_panel(g, boxes, self.crop, ids_cam, 0.0, rng)),)
            elif lay == "split":
                top = 0.5
                ratio = self.out_w / (self.out_h * 0.5)
                size = self._face_window([f for sc in g for f in sc.faces], ratio)
                ps = []
                for slot in (0, 1):
                    boxes = [None] * len(self.obs)
                    for sc in g:
                        for i in range(sc.a, sc.b):
                            boxes[i] = sc.faces[slot].boxes.get(i)
                    ps.append(tuple(self._follow_panel(g, boxes, size, ids_scene, 0.1, rng)))
                panels = tuple(ps)
            else:  # screen
                sc = g[0]
                scr = sc.screen or Box(0.0, 0.0, float(self.src_w), float(self.src_h))
                top = min(0.55, max(0.3, self.out_w * scr.h / scr.w / self.out_h))
                ratio = self.out_w / (self.out_h * (1 - top))
                size = self._face_window(sc.faces, ratio)
                boxes = [None] * len(self.obs)
                for i in rng:
                    boxes[i] = sc.faces[0].boxes.get(i)
                face = tuple(self._follow_panel(g, boxes, size, ids_scene, 0.1, rng))
                sx, sy = round(scr.x / 2) * 2, round(scr.y / 2) * 2
                sw = min(self.src_w - sx, round(scr.w / 2) * 2)
                sh = min(self.src_h - sy, round(scr.h / 2) * 2)
                panels = ((CropKeyframe(t0, sx, sy, sw, sh),), face)
            faces = max(len(sc.faces) for sc in g)
            out.append(SceneLayout(t0, t1, lay, panels, top, faces))
        return out


def _fill_gaps(targets: list[float | None], scene_ids: Any, default: float) -> list[float]:
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
    return (
        abs(a.x + (c.x - a.x) * k - b.x) > tol
        or abs(a.y + (c.y - a.y) * k - b.y) > tol
        or (a.w, a.h) != (b.w, b.h)
    )


# --- rendering ---------------------------------------------------------------------------------


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


def _crop(kfs: Sequence[CropKeyframe], t0: float) -> str:
    """A moving crop of fixed size; keyframe times shifted so filter time 0 is source `t0`."""
    first = kfs[0]
    xs = [(k.t - t0, k.x) for k in kfs]
    ys = [(k.t - t0, k.y) for k in kfs]
    return f"crop={int(first.w)}:{int(first.h)}:x='{_piecewise(xs)}':y='{_piecewise(ys)}'"


def _segment_filter(
    seg: SceneLayout, *, t0: float, width: int, height: int, src: str, dst: str, tag: str
) -> str:
    if seg.layout == "fit":
        bw, bh = max(2, width // 8 // 2 * 2), max(2, height // 8 // 2 * 2)
        return (
            f"[{src}]split=2[{tag}bgsrc][{tag}fgsrc];"
            f"[{tag}bgsrc]scale={bw}:{bh}:force_original_aspect_ratio=increase,"
            f"crop={bw}:{bh},boxblur=4:2,scale={width}:{height},setsar=1[{tag}bg];"
            f"[{tag}fgsrc]scale={width}:{height}:force_original_aspect_ratio=decrease,"
            f"setsar=1[{tag}fg];"
            f"[{tag}bg][{tag}fg]overlay=(W-w)/2:(H-h)/2[{dst}]"
        )
    if len(seg.panels) < 2:
        return f"[{src}]{_crop(seg.panels[0], t0)},scale={width}:{height},setsar=1[{dst}]"
    (w0, h0), (w1, h1) = seg.panel_sizes(width, height)
    if seg.layout == "screen":
        # The screen fitted whole (text must stay readable), on a dark ground.
        top = (
            f"{_crop(seg.panels[0], t0)},scale={w0}:{h0}:force_original_aspect_ratio=decrease"
            f":force_divisible_by=2,pad={w0}:{h0}:(ow-iw)/2:(oh-ih)/2:color=0x101010"
        )
    else:
        top = f"{_crop(seg.panels[0], t0)},scale={w0}:{h0}"
    bottom = f"{_crop(seg.panels[1], t0)},scale={w1}:{h1}"
    return (
        f"[{src}]split=2[{tag}a][{tag}b];[{tag}a]{top},setsar=1[{tag}t];"
        f"[{tag}b]{bottom},setsar=1[{tag}u];[{tag}t][{tag}u]vstack=inputs=2[{dst}]"
    )


def video_filter(
    plan: CropPlan, *, clip_start: float, width: int, height: int, in_label: str, out_label: str
) -> str:
    """Filtergraph fragment from `in_label` to `out_label`: reframe and scale to width x height.

    Filter time `t` starts at 0 at the clip start (input seeking re-zeroes timestamps). With
    several segments the input is split, each branch trimmed to its segment (timestamps reset,
    so its keyframes are shifted by the segment's start) and drawn in its layout, and the
    branches are concatenated back in order.
    """
    segs = [s for s in plan.segments() if s.end > clip_start + _CUT_EPS]
    if len(segs) <= 1:
        seg = segs[0] if segs else plan.segments()[-1]
        return _segment_filter(
            seg, t0=clip_start, width=width, height=height, src=in_label, dst=out_label, tag="s0"
        )
    n = len(segs)
    parts = [f"[{in_label}]split={n}" + "".join(f"[g{i}]" for i in range(n))]
    for i, seg in enumerate(segs):
        a = 0.0 if i == 0 else max(0.0, seg.start - clip_start)
        trim = f"trim=start={a:.3f}"
        if i < n - 1:
            trim += f":end={segs[i + 1].start - clip_start:.3f}"
        parts.append(f"[g{i}]{trim},setpts=PTS-STARTPTS[h{i}]")
        parts.append(
            _segment_filter(
                seg,
                t0=clip_start + a,
                width=width,
                height=height,
                src=f"h{i}",
                dst=f"r{i}",
                tag=f"s{i}",
            )
        )
        # concat wants one pixel format on every input (overlay and vstack may differ).
        parts.append(f"[r{i}]format=yuv420p[o{i}]")
    parts.append("".join(f"[o{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[{out_label}]")
    return ";".join(parts)


def _cut(frame: Frame, k: CropKeyframe) -> Frame:
    h, w = frame.shape[:2]
    x = round(min(max(k.x, 0), w - k.w))
    y = round(min(max(k.y, 0), h - k.h))
    return frame[y : y + int(k.h), x : x + int(k.w)]


def compose(frame: Frame, plan: CropPlan, t: float, out_w: int, out_h: int) -> Frame:
    """Draw source frame `frame` (source pixels) at source time `t` the way the render
    does: the segment's crop(s), fitted screen, or fitted picture over a blurred fill."""
    seg = plan.segment_at(t)
    h, w = frame.shape[:2]
    if seg.layout == "fit":
        cover = max(out_w / w, out_h / h)
        bg = cv2.resize(frame, (round(w * cover), round(h * cover)), interpolation=cv2.INTER_AREA)
        y0, x0 = (bg.shape[0] - out_h) // 2, (bg.shape[1] - out_w) // 2
        canvas = cv2.GaussianBlur(bg[y0 : y0 + out_h, x0 : x0 + out_w], (0, 0), 25)
        fit = min(out_w / w, out_h / h)
        fw, fh = round(w * fit), round(h * fit)
        fg = cv2.resize(frame, (fw, fh), interpolation=cv2.INTER_AREA)
        ox, oy = (out_w - fw) // 2, (out_h - fh) // 2
        canvas[oy : oy + fh, ox : ox + fw] = fg
        return np.ascontiguousarray(canvas)
    if len(seg.panels) < 2:
        crop = _cut(frame, crop_at(seg.panels[0], t))
        return np.ascontiguousarray(cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA))
    (w0, h0), (w1, h1) = seg.panel_sizes(out_w, out_h)
    canvas = np.full((out_h, out_w, 3), 16, dtype=np.uint8)
    top = _cut(frame, crop_at(seg.panels[0], t))
    if seg.layout == "screen":
        k = min(w0 / top.shape[1], h0 / top.shape[0])
        tw, th = max(1, round(top.shape[1] * k)), max(1, round(top.shape[0] * k))
        ox, oy = (w0 - tw) // 2, (h0 - th) // 2
        canvas[oy : oy + th, ox : ox + tw] = cv2.resize(top, (tw, th), interpolation=cv2.INTER_AREA)
    else:
        canvas[:h0] = cv2.resize(top, (w0, h0), interpolation=cv2.INTER_AREA)
    bottom = _cut(frame, crop_at(seg.panels[1], t))
    canvas[h0:] = cv2.resize(bottom, (w1, h1), interpolation=cv2.INTER_AREA)
    return np.asarray(canvas, dtype=np.uint8)


# --- where things land in the output -----------------------------------------------------------


def face_box_at(plan: CropPlan, t: float) -> Box | None:
    """The followed face nearest to `t` (source pixels; diagnostics and tests)."""
    if not plan.face_boxes:
        return None
    bt, x, y, w, h = min(plan.face_boxes, key=lambda b: abs(b[0] - t))
    return Box(x, y, w, h) if abs(bt - t) < 1.0 else None


def output_boxes(plan: CropPlan, t: float, box: Box, width: int, height: int) -> list[Box]:
    """Where the source box `box` is drawn in the width x height output at source time `t`
    (one entry per panel that shows it, clipped to the panel; empty when none does)."""
    seg = plan.segment_at(t)
    out: list[Box] = []
    if seg.layout == "fit":
        k = min(width / plan.source_width, height / plan.source_height)
        ox = (width - plan.source_width * k) / 2
        oy = (height - plan.source_height * k) / 2
        return [Box(ox + box.x * k, oy + box.y * k, box.w * k, box.h * k)]
    y_off = 0.0
    for i, ((pw, ph), kfs) in enumerate(
        zip(seg.panel_sizes(width, height), seg.panels, strict=False)
    ):
        c = crop_at(kfs, t)
        kx, ky = pw / c.w, ph / c.h
        dx = dy = 0.0
        if seg.layout == "screen" and i == 0:  # fitted, centred in its panel
            kx = ky = min(kx, ky)
            dx, dy = (pw - c.w * kx) / 2, (ph - c.h * ky) / 2
        x0 = max(c.x, box.x)
        x1 = min(c.x + c.w, box.x + box.w)
        y0 = max(c.y, box.y)
        y1 = min(c.y + c.h, box.y + box.h)
        if x1 > x0 and y1 > y0:
            out.append(
                Box(
                    dx + (x0 - c.x) * kx,
                    y_off + dy + (y0 - c.y) * ky,
                    (x1 - x0) * kx,
                    (y1 - y0) * ky,
                )
            )
        y_off += ph
    return out


def shows(plan: CropPlan, t: float, box: Box, *, share: float = 0.9) -> bool:
    """Whether at least `share` of the source box `box` is visible in one panel at `t` (fit
    shows the whole frame)."""
    seg = plan.segment_at(t)
    if seg.layout == "fit":
        return True
    for kfs in seg.panels:
        c = crop_at(kfs, t)
        ix = max(0.0, min(c.x + c.w, box.x + box.w) - max(c.x, box.x))
        iy = max(0.0, min(c.y + c.h, box.y + box.h) - max(c.y, box.y))
        if ix * iy >= share * box.area:
            return True
    return False


def caption_margins(
    plan: CropPlan,
    *,
    clip_start: float,
    clip_end: float,
    width: int,
    height: int,
    band: float = CAPTION_BAND,
) -> list[tuple[float, float, int]]:
    """Where captions go so they avoid the face: (clip start s, clip end s, bottom margin px)
    per segment that needs a move from the default position (SAFE_BOTTOM above the bottom).

    Split and screen put the captions across the seam between the panels. Otherwise the face
    boxes the segment shows (in output pixels) decide: captions stay put when clear of them,
    else go just below the face or just above it (whichever is nearer the default and inside
    the platform safe area), else as low as the safe area allows."""
    out: list[tuple[float, float, int]] = []
    band_px = band * height
    pad = 0.02 * height
    default_bottom = (1 - SAFE_BOTTOM) * height
    for seg in plan.segments():
        a, b = max(seg.start, clip_start), min(seg.end, clip_end)
        if b <= a:
            continue
        bottom: float | None = None
        if len(seg.panels) >= 2:
            seam = seg.panel_sizes(width, height)[0][1]
            bottom = seam + band_px / 2
        else:
            spans = [
                (ob.y, ob.y + ob.h)
                for t, x, y, w, h in plan.face_boxes
                if a - 0.5 <= t < b
                for ob in output_boxes(
                    plan, min(max(t, a), b - _CUT_EPS), Box(x, y, w, h), width, height
                )
            ]
            if spans:
                f0 = float(np.percentile([s[0] for s in spans], 10)) - pad
                f1 = float(np.percentile([s[1] for s in spans], 90)) + pad
                if default_bottom - band_px < f1 and default_bottom > f0:
                    below, above = f1 + band_px, f0
                    fits = [
                        y
                        for y in (below, above)
                        if y <= CAPTION_LOWEST * height and y - band_px >= CAPTION_HIGHEST * height
                    ]
                    bottom = (
                        min(fits, key=lambda y: abs(y - default_bottom))
                        if fits
                        else CAPTION_LOWEST * height
                    )
        if bottom is not None:
            out.append((round(a - clip_start, 3), round(b - clip_start, 3), round(height - bottom)))
    return out
