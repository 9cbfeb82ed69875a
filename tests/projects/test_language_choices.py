"""The upload form's spoken-language choices are codes the API accepts as they are."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader

import cliply.web
from cliply.transcribe.languages import normalize_language
from cliply.web.pages.projects import LANGUAGE_CHOICES

TEMPLATES = Path(cliply.web.__file__).parent / "templates"


def test_every_choice_is_a_whisper_code() -> None:
    codes = [code for code, _ in LANGUAGE_CHOICES]
    assert len(set(codes)) == len(codes) and {"en", "es", "fr", "de", "pt"} <= set(codes)
    assert all(normalize_language(code) == code for code in codes)


def test_options_fieldset_offers_detection_and_the_choices() -> None:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    html = env.get_template("projects/_options.html").render(
        prefix="options.",
        idp="url",
        caption_styles=["bold"],
        aspects=["9:16"],
        languages=LANGUAGE_CHOICES,
        defaults={"top_k": 5, "min_s": 20, "max_s": 60},
    )
    assert 'name="options.language"' in html
    assert '<option value="">Detect automatically</option>' in html
    assert '<option value="es">Spanish (español)</option>' in html
