"""The brand kit in Cliply Studio, in Debian's chromium against a real `cliply serve`: a file
that is not a font refused next to its field, a real font and a logo uploaded, colours,
position, corner and opacity chosen and saved, the mock-up following, and the kit kept."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.brand import files
from tests.web import seed
from tests.web.conftest import check_page

pytestmark = pytest.mark.integration


def test_brand_kit_page(
    page: Any, studio: Any, studio_user: str, console_errors: Any, tmp_path: Path
) -> None:
    ws = seed.workspace_of(studio, studio_user)
    font = files.renamed_font(tmp_path / "brand.ttf")
    page.goto("/brand")
    page.wait_for_selector("#brand[data-ready=true]")
    assert "watermark" in page.inner_text("#watermark-notice")  # basic plan
    assert page.inner_text("#font-current") == "Cliply's font (DejaVu Sans)."

    # A PNG named .ttf: refused, the message next to the field, nothing stored.
    console_errors.allow("422")
    page.set_input_files(
        "#font-file",
        files=[{"name": "fake.ttf", "mimeType": "font/ttf", "buffer": files.logo_png()}],
    )
    page.wait_for_selector("#font-file ~ .js-error, [data-error-host] .js-error")
    assert "not a TrueType or OpenType font" in page.inner_text(".js-error")
    assert studio.sql("SELECT count(*) FROM brand_kits WHERE workspace_id = :w", w=ws)[0][0] == 0

    page.set_input_files("#font-file", str(font))
    page.wait_for_selector("#font-family")
    assert page.inner_text("#font-family") == files.FAMILY
    page.wait_for_function(
        "() => document.getElementById('preview-caption').dataset.font === 'Cliply Test Brand'"
    )
    page.set_input_files(
        "#logo-file",
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": files.logo_png((120, 60))}],
    )
    page.wait_for_selector("#logo-thumb")
    assert page.is_visible("#preview-logo")

    page.check("#use-caption_active_color")
    page.fill("#f-caption_active_color", "#00ff00")
    page.select_option("#f-caption_position", "top")
    page.select_option("#f-caption_size", "0.06")
    page.select_option("#f-logo_corner", "bottom-left")
    page.fill("#f-logo_opacity", "50")
    page.select_option("#f-default_aspect", "1:1")
    assert "pos-top" in page.get_attribute("#preview-caption", "class")
    assert "corner-bottom-left" in page.get_attribute("#preview-logo", "class")
    page.click("#brand-save")
    page.wait_for_selector("#brand-saved >> text=Saved.")
    row = studio.sql(
        "SELECT caption_active_color, caption_position, caption_size, logo_corner, logo_opacity,"
        " default_aspect, font_family FROM brand_kits WHERE workspace_id = :w",
        w=ws,
    )[0]
    assert tuple(row) == ("#00FF00", "top", 0.06, "bottom-left", 0.5, "1:1", files.FAMILY)
    check_page(page, "brand")

    # Kept: the page shows the saved kit.
    page.reload()
    page.wait_for_selector("#brand[data-ready=true]")
    assert page.input_value("#f-caption_position") == "top"
    assert page.input_value("#f-logo_corner") == "bottom-left"
    assert page.is_checked("#use-caption_active_color")
    page.click('button[data-remove="logo"]')
    page.wait_for_selector("#logo-current >> text=No logo.")
    assert studio.sql("SELECT logo_key FROM brand_kits WHERE workspace_id = :w", w=ws)[0][0] is None
