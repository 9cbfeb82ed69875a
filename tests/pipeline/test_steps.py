"""The shared steps' small decisions: word snapping, output size, option defaults."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cliply.billing.plans import PLANS
from cliply.pipeline.config import clip_options
from cliply.pipeline.options import ClipOptions
from cliply.pipeline.steps import render_size, slugify, snap_to_words
from cliply.transcribe.models import Word

WORDS = [
    Word(text=t, start=s, end=e)
    for t, s, e in [
        ("Saving", 1.0, 1.4),
        ("money", 1.5, 1.9),
        ("is", 2.0, 2.1),
        ("easy.", 2.2, 2.8),
        ("Put", 4.0, 4.2),
        ("ten", 4.3, 4.6),
        ("percent", 4.7, 5.2),
        ("away.", 5.3, 5.9),
    ]
]


def test_snap_moves_to_nearest_word_boundaries() -> None:
    assert snap_to_words(WORDS, 1.6, 4.5) == (1.5, 4.6)  # inside words
    assert snap_to_words(WORDS, 3.2, 9.0) == (4.0, 5.9)  # in a pause / past the end
    assert snap_to_words(WORDS, 0.0, 0.1) == (1.0, 1.4)  # at least one word
    assert snap_to_words([], 1.23, 4.56) == (1.23, 4.56)


def test_render_size_respects_plan_height() -> None:
    assert render_size("9:16", None) == (1080, 1920)
    assert render_size("9:16", PLANS["basic"].max_render_height) == (720, 1280)
    assert render_size("16:9", 720) == (1280, 720)
    assert render_size("1:1", 2160) == (1080, 1080)


def test_options_defaults_and_plan_cap() -> None:
    basic = PLANS["basic"]
    opts = clip_options({"top_k": 50, "min_s": 30}, basic.clips_per_project)
    assert opts.top_k == basic.clips_per_project and opts.min_s == 30 and opts.max_s == 60
    assert clip_options({"max_s": 15}, None).min_s < 15
    with pytest.raises(ValidationError):
        ClipOptions(min_s=30, max_s=20)
    with pytest.raises(ValidationError):
        ClipOptions(caption_style="comic-sans")


def test_slugify() -> None:
    assert slugify("Why does bread rise? Yeast!") == "why-does-bread-rise-yeast"
    assert slugify("¿¿??") == "clip"
