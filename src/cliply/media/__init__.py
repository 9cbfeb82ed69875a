"""Media: pure functions over files (ffprobe / ffmpeg / OpenCV); no database, no HTTP."""

from cliply.media.audio import (
    AudioFeatures,
    audio_features,
    extract_audio,
    frame_features,
    iter_audio_chunks,
)
from cliply.media.captions import CAPTION_STYLES, CaptionStyle, parse_ass, write_ass
from cliply.media.errors import MediaError
from cliply.media.probe import ProbeResult, probe, validate
from cliply.media.reframe import ASPECTS, CropKeyframe, CropPlan, plan_crop, static_plan
from cliply.media.render import RenderResult, build_render_command, render_clip
from cliply.media.thumbnails import ThumbnailResult, make_thumbnail

__all__ = [
    "ASPECTS",
    "CAPTION_STYLES",
    "AudioFeatures",
    "CaptionStyle",
    "CropKeyframe",
    "CropPlan",
    "MediaError",
    "ProbeResult",
    "RenderResult",
    "ThumbnailResult",
    "audio_features",
    "build_render_command",
    "extract_audio",
    "frame_features",
    "iter_audio_chunks",
    "make_thumbnail",
    "parse_ass",
    "plan_crop",
    "probe",
    "render_clip",
    "static_plan",
    "validate",
    "write_ass",
]
