"""Timelines for editors: a clip as an OpenTimelineIO file, an FCPXML and SRT captions.

Each describes the clip as a cut of the *source* video (a reference to the source file, the
in and out points in source time) plus the 9:16 (or 1:1) reframe as crop keyframes, so a
creator can finish the clip in Premiere, DaVinci Resolve (OTIO) or Final Cut Pro (FCPXML)
from the original footage rather than the rendered MP4.
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import opentimelineio as otio

from cliply.media.errors import BAD_ARGUMENT, MediaError
from cliply.media.reframe import CropKeyframe
from cliply.transcribe.formats import to_srt
from cliply.transcribe.models import Segment, Transcript, Word

EXPORT_FORMATS = ("otio", "fcpxml", "srt")
MEDIA_TYPES = {
    "otio": "application/vnd.opentimelineio+json",
    "fcpxml": "application/xml",
    "srt": "application/x-subrip",
}
FCPXML_VERSION = "1.10"


@dataclass(frozen=True)
class ClipTimeline:
    """One clip as a cut of its source."""

    name: str
    source_url: str  # file:// URL (local runs) or the name the editor will relink
    source_duration: float
    fps: float
    source_width: int
    source_height: int
    start: float  # in point, source seconds
    end: float  # out point, source seconds
    out_width: int
    out_height: int
    keyframes: Sequence[CropKeyframe] = ()  # source time; (x, y, w, h) in source pixels

    def __post_init__(self) -> None:
        if not self.end > self.start >= 0:
            raise MediaError(f"bad clip range {self.start}..{self.end}", code=BAD_ARGUMENT)
        if self.fps <= 0:
            raise MediaError(f"bad frame rate {self.fps}", code=BAD_ARGUMENT)

    @property
    def rate(self) -> Fraction:
        """The frame rate as a fraction (29.97 → 30000/1001)."""
        for ntsc in (24, 30, 60):
            if abs(self.fps - ntsc * 1000 / 1001) < 0.01:
                return Fraction(ntsc * 1000, 1001)
        return Fraction(self.fps).limit_denominator(1001)

    def frame(self, seconds: float) -> int:
        """The frame at `seconds` (halves round up, not to even)."""
        return math.floor(seconds * self.rate + Fraction(1, 2))

    def clip_keyframes(self) -> list[CropKeyframe]:
        """Crop keyframes inside [start, end], on the clip's own clock (t = 0 at the in
        point), with one at each edge so the crop is defined for the whole clip."""
        kfs = sorted(self.keyframes, key=lambda k: k.t)
        if not kfs:
            return []
        out: list[CropKeyframe] = []
        for t in (self.start, *(k.t for k in kfs if self.start < k.t < self.end), self.end):
            box = _box_at(kfs, t)
            out.append(CropKeyframe(round(t - self.start, 3), box.x, box.y, box.w, box.h))
        return out


def _box_at(kfs: Sequence[CropKeyframe], t: float) -> CropKeyframe:
    if t <= kfs[0].t:
        return kfs[0]
    for a, b in itertools.pairwise(kfs):
        if a.t <= t < b.t:
            k = (t - a.t) / (b.t - a.t)
            return CropKeyframe(t, a.x + (b.x - a.x) * k, a.y + (b.y - a.y) * k, a.w, a.h)
    return kfs[-1]


def _atomic_write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# --- OpenTimelineIO --------------------------------------------------------------------------


def otio_json(tl: ClipTimeline) -> str:
    """The clip as an OTIO timeline: one video track with one clip whose source range is the
    in/out points on the source media; crop keyframes in the clip's metadata (OTIO has no
    core crop effect) as source-pixel boxes, plus the output size."""
    rate = float(tl.rate)
    ref = otio.schema.ExternalReference(
        target_url=tl.source_url,
        available_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(0, rate),
            otio.opentime.RationalTime(tl.frame(tl.source_duration), rate),
        ),
    )
    clip = otio.schema.Clip(
        name=tl.name,
        media_reference=ref,
        source_range=otio.opentime.TimeRange(
            otio.opentime.RationalTime(tl.frame(tl.start), rate),
            otio.opentime.RationalTime(tl.frame(tl.end) - tl.frame(tl.start), rate),
        ),
    )
    crop: dict[str, Any] = {
        "output_size": [tl.out_width, tl.out_height],
        "source_size": [tl.source_width, tl.source_height],
        "units": "source pixels; t in seconds from the clip's in point",
        "keyframes": [
            {
                "t": k.t,
                "x": round(k.x, 2),
                "y": round(k.y, 2),
                "w": round(k.w, 2),
                "h": round(k.h, 2),
            }
            for k in tl.clip_keyframes()
        ],
    }
    clip.metadata["cliply"] = {"crop": crop}
    clip.effects.append(
        otio.schema.Effect(name="Reframe", effect_name="Crop", metadata={"cliply": crop})
    )
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    track.append(clip)
    audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
    audio.append(clip.clone())
    timeline = otio.schema.Timeline(name=tl.name)
    timeline.tracks.append(track)
    timeline.tracks.append(audio)
    text: str = otio.adapters.write_to_string(timeline, "otio_json")
    return text


# --- FCPXML ----------------------------------------------------------------------------------


def _t(frames: int, rate: Fraction) -> str:
    """An FCPXML time: a rational number of seconds on the frame grid ("1001/30000s")."""
    value = Fraction(frames) / rate
    return (
        f"{value.numerator}s"
        if value.denominator == 1
        else f"{value.numerator}/{value.denominator}s"
    )


def fcpxml(tl: ClipTimeline) -> str:
    """The clip as an FCPXML 1.10 project: the source as an asset, one asset-clip with the
    in point (`start`) and length (`duration`) on the source, in a sequence of the output
    size; the reframe as `adjust-crop` trim keyframes (percent of the source frame per edge)."""
    rate = tl.rate
    frame_duration = _t(1, rate)
    root = ET.Element("fcpxml", version=FCPXML_VERSION)
    resources = ET.SubElement(root, "resources")
    ET.SubElement(
        resources,
        "format",
        id="r1",
        name=f"FFVideoFormat{tl.source_height}p",
        frameDuration=frame_duration,
        width=str(tl.source_width),
        height=str(tl.source_height),
    )
    ET.SubElement(
        resources,
        "format",
        id="r2",
        name="FFVideoFormatRateUndefined",
        frameDuration=frame_duration,
        width=str(tl.out_width),
        height=str(tl.out_height),
    )
    asset = ET.SubElement(
        resources,
        "asset",
        id="r3",
        name=Path(tl.source_url).name or tl.name,
        start="0s",
        duration=_t(tl.frame(tl.source_duration), rate),
        hasVideo="1",
        hasAudio="1",
        format="r1",
    )
    ET.SubElement(asset, "media-rep", kind="original-media", src=tl.source_url)
    library = ET.SubElement(root, "library")
    event = ET.SubElement(library, "event", name="Cliply")
    project = ET.SubElement(event, "project", name=tl.name)
    length = tl.frame(tl.end) - tl.frame(tl.start)
    sequence = ET.SubElement(
        project, "sequence", format="r2", duration=_t(length, rate), tcStart="0s"
    )
    spine = ET.SubElement(sequence, "spine")
    clip = ET.SubElement(
        spine,
        "asset-clip",
        ref="r3",
        name=tl.name,
        offset="0s",
        start=_t(tl.frame(tl.start), rate),
        duration=_t(length, rate),
        format="r1",
    )
    kfs = tl.clip_keyframes()
    if kfs:
        crop = ET.SubElement(clip, "adjust-crop", mode="trim")
        first = _edges(kfs[0], tl)
        rect = ET.SubElement(crop, "trim-rect", {k: f"{v:.3f}" for k, v in first.items()})
        if len(kfs) > 1:
            for edge in ("left", "right", "top", "bottom"):
                param = ET.SubElement(rect, "param", name=edge)
                anim = ET.SubElement(param, "keyframeAnimation")
                for k in kfs:
                    # Keyframe times are in the clip's source time (its start + offset).
                    ET.SubElement(
                        anim,
                        "keyframe",
                        time=_t(tl.frame(tl.start + k.t), rate),
                        value=f"{_edges(k, tl)[edge]:.3f}",
                    )
    ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + body + "\n"


def _edges(k: CropKeyframe, tl: ClipTimeline) -> dict[str, float]:
    """The crop box as the share (percent) of the source cut off each edge."""
    w, h = tl.source_width, tl.source_height
    return {
        "left": 100.0 * max(0.0, k.x) / w,
        "right": 100.0 * max(0.0, w - k.x - k.w) / w,
        "top": 100.0 * max(0.0, k.y) / h,
        "bottom": 100.0 * max(0.0, h - k.y - k.h) / h,
    }


# --- SRT -------------------------------------------------------------------------------------


def clip_srt(words: Sequence[Word], start: float, end: float) -> str:
    """SRT captions of [start, end) on the clip's clock (0 at the in point)."""
    inside = [
        w.model_copy(
            update={
                "start": round(max(0.0, w.start - start), 3),
                "end": round(min(end, w.end) - start, 3),
            }
        )
        for w in words
        if w.end > start and w.start < end
    ]
    if not inside:
        return ""
    segment = Segment(
        start=inside[0].start,
        end=inside[-1].end,
        text=" ".join(w.text for w in inside),
        words=inside,
    )
    return to_srt(Transcript(duration=round(end - start, 3), segments=[segment]))


def write_exports(
    tl: ClipTimeline, words: Sequence[Word], folder: Path, stem: str, formats: Sequence[str]
) -> dict[str, Path]:
    """Write the asked formats as `folder/stem.<fmt>`; returns format → path."""
    unknown = sorted(set(formats) - set(EXPORT_FORMATS))
    if unknown:
        raise MediaError(
            f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(EXPORT_FORMATS)}",
            code=BAD_ARGUMENT,
        )
    makers = {
        "otio": lambda: otio_json(tl),
        "fcpxml": lambda: fcpxml(tl),
        "srt": lambda: clip_srt(words, tl.start, tl.end),
    }
    return {
        fmt: _atomic_write(folder / f"{stem}.{fmt}", makers[fmt]().encode("utf-8"))
        for fmt in dict.fromkeys(formats)
    }
