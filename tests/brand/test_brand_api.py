"""/api/v1/brand: the kit's settings (validated), its files (validated by content, stored in
object storage, never in the row), roles, and the kit applied to previews and renders."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import text

from cliply.db.engine import get_engine
from cliply.media import parse_ass, probe
from cliply.storage import app_storage
from tests import mediagen as mg
from tests.brand import files
from tests.clips.test_clip_api import _project
from tests.clips.test_editor import _download, _real_project
from tests.foundation.helpers import add_member
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws

pytestmark = pytest.mark.integration


def _ws(h: dict[str, str]) -> uuid.UUID:
    return uuid.UUID(h["X-Workspace-ID"])


def _upload(
    client: TestClient, h: dict[str, str], kind: str, data: bytes, name: str = "f.bin"
) -> Any:
    return client.post(f"/api/v1/brand/{kind}", headers=h, files={"file": (name, data)})


def _problem(r: Any, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/" + code), r.json()


def _plan(h: dict[str, str], plan: str) -> None:
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE workspaces SET plan = :p WHERE id = :w"),
            {"p": plan, "w": h["X-Workspace-ID"]},
        )


def test_settings_are_validated_and_partial(client: TestClient) -> None:
    _, h = owner_ws(client)
    kit = client.get("/api/v1/brand", headers=h).json()
    assert kit["font"] is None and kit["logo_corner"] == "top-right" and kit["watermark"] is True
    r = client.put(
        "/api/v1/brand",
        headers=h,
        json={
            "caption_color": "#ffffff",
            "caption_active_color": "#FFE600",
            "caption_position": "top",
            "caption_size": 0.05,
            "logo_corner": "bottom-left",
            "logo_opacity": 0.4,
            "default_caption_style": "karaoke",
            "default_aspect": "1:1",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["caption_color"] == "#FFFFFF" and r.json()["logo_opacity"] == 0.4
    # Left out: kept. Null: reset.
    r = client.put("/api/v1/brand", headers=h, json={"caption_color": None, "caption_size": 0.07})
    body = r.json()
    assert body["caption_color"] is None and body["caption_size"] == 0.07
    assert body["caption_active_color"] == "#FFE600" and body["default_aspect"] == "1:1"
    bad = [
        {"caption_color": "red"},
        {"caption_color": "#12345"},
        {"caption_color": "#GGGGGG"},
        {"caption_color": "#1234567"},
        {"caption_color": 123},
        {"caption_color": "#12\u000045"},
        {"caption_position": "left"},
        {"caption_position_y": 5},
        {"caption_position_y": -0.5},
        {"caption_size": 1e308},
        {"caption_size": 10**30},
        {"caption_size": True},
        {"logo_opacity": 1.5},
        {"logo_opacity": None},
        {"logo_corner": None},
        {"logo_scale": 0},
        {"default_caption_style": "neon"},
        {"default_aspect": "2:1"},
        {"watermark": False},
    ]
    for change in bad:
        r = client.put("/api/v1/brand", headers=h, json=change)
        assert r.status_code == 422, (change, r.text)
    for raw in ('{"caption_size": NaN}', '{"logo_opacity": Infinity}', "[]", "null"):
        r = client.put(
            "/api/v1/brand", headers={**h, "Content-Type": "application/json"}, content=raw
        )
        assert r.status_code == 422, (raw, r.text)
    assert client.get("/api/v1/brand", headers=h).json()["caption_size"] == 0.07


def test_roles(client: TestClient) -> None:
    owner, h = owner_ws(client)
    ws = h["X-Workspace-ID"]
    viewer = add_member(client, owner, ws, "viewer")
    editor = add_member(client, owner, ws, "editor")
    vh, eh = viewer.ws(ws), editor.ws(ws)
    assert client.get("/api/v1/brand", headers=vh).status_code == 200
    _problem(
        client.put("/api/v1/brand", headers=vh, json={"caption_size": 0.05}),
        403,
        "insufficient-role",
    )
    _problem(_upload(client, vh, "logo", files.logo_png()), 403, "insufficient-role")
    _problem(client.delete("/api/v1/brand/logo", headers=vh), 403, "insufficient-role")
    assert client.put("/api/v1/brand", headers=eh, json={"caption_size": 0.05}).status_code == 200
    assert _upload(client, eh, "logo", files.logo_png()).status_code == 200
    # Another workspace sees its own (empty) kit.
    _, other = owner_ws(client)
    assert client.get("/api/v1/brand", headers=other).json()["logo"] is None


def test_font_upload_and_bad_fonts(client: TestClient, brand_font: Path, tmp_path: Path) -> None:
    _, h = owner_ws(client)
    good = brand_font.read_bytes()
    bad: dict[str, tuple[bytes, str]] = {
        "nul": (b"\x00" * 4096, "invalid-font"),
        "truncated": (good[: len(good) // 3], "invalid-font"),
        "header only": (good[:64], "invalid-font"),
        "png": (files.logo_png(), "invalid-font"),
        "text": (b"OTTO this is not a font at all", "invalid-font"),
        "no latin": (
            files.font_without_latin(tmp_path / "nl.ttf").read_bytes(),
            "font-missing-glyphs",
        ),
    }
    for name, (data, code) in bad.items():
        r = _upload(client, h, "font", data, "brand.ttf")
        assert r.status_code == 422, (name, r.text)
        _problem(r, 422, code)
    _problem(_upload(client, h, "font", b"", "empty.ttf"), 400, "empty-upload")
    _problem(
        _upload(client, h, "font", b"\x00" * (10 * 1024 * 1024 + 1)), 413, "brand-file-too-large"
    )
    r = client.post("/api/v1/brand/font", headers=h, content=good)
    _problem(r, 415, "unsupported-media-type")
    r = client.post("/api/v1/brand/font", headers=h, files={"other": ("x.ttf", b"abc")})
    _problem(r, 400, "file-required")
    assert app_storage().list(f"brand/{h['X-Workspace-ID']}/") == []
    assert client.get("/api/v1/brand", headers=h).json()["font"] is None

    # As a browser sends it: the boundary has capitals (it must not be lowercased).
    boundary = "----WebKitFormBoundaryQxYzAbC"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="My Brand.ttf"\r\nContent-Type: font/ttf\r\n\r\n'
        ).encode()
        + good
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = client.post(
        "/api/v1/brand/font",
        headers={**h, "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=body,
    )
    assert r.status_code == 200, r.text
    kit = r.json()
    assert kit["font_family"] == files.FAMILY and kit["font"]["filename"] == "My Brand.ttf"
    [key] = app_storage().list(f"brand/{h['X-Workspace-ID']}/")
    assert key.endswith("/font.ttf") and app_storage().read_bytes(key) == good
    link = client.get("/api/v1/brand/font", headers=h, follow_redirects=False)
    assert link.status_code == 307
    # Another font replaces it; the old object goes.
    serif = files.SERIF.read_bytes()
    assert _upload(client, h, "font", serif, "serif.ttf").json()["font_family"] == "Noto Serif"
    [key2] = app_storage().list(f"brand/{h['X-Workspace-ID']}/")
    assert key2 != key
    r = client.delete("/api/v1/brand/font", headers=h)
    assert r.status_code == 200 and r.json()["font"] is None and r.json()["font_family"] is None
    assert app_storage().list(f"brand/{h['X-Workspace-ID']}/") == []
    _problem(client.get("/api/v1/brand/font", headers=h), 404, "brand-file-not-found")
    assert client.delete("/api/v1/brand/font", headers=h).status_code == 200  # idempotent


def test_logo_and_clip_uploads(client: TestClient, tmp_path: Path) -> None:
    _, h = owner_ws(client)
    png = files.logo_png((300, 120))
    for data, code in [
        (png[: len(png) // 2], "invalid-logo"),
        (b"GIF89a" + b"\x00" * 100, "invalid-logo"),
        (files.logo_png((8, 8)), "invalid-logo"),
        (files.logo_png((5000, 20)), "invalid-logo"),
        (b"\x00" * 100, "invalid-logo"),
    ]:
        _problem(_upload(client, h, "logo", data, "logo.png"), 422, code)
    r = _upload(client, h, "logo", png, "logo.png")
    assert r.status_code == 200 and (r.json()["logo_width"], r.json()["logo_height"]) == (300, 120)
    assert _upload(client, h, "logo", files.logo_jpeg(), "l.jpg").json()["logo_width"] == 120

    intro = mg.silent_video(tmp_path / "intro.mp4", seconds=1.0)
    r = _upload(client, h, "intro", intro.read_bytes(), "intro.mp4")
    assert r.status_code == 200, r.text
    assert r.json()["intro_duration_s"] == pytest.approx(1.0, abs=0.1)
    long = mg.silent_video(tmp_path / "long.mp4", seconds=16.0)
    _problem(_upload(client, h, "outro", long.read_bytes(), "o.mp4"), 422, "invalid-brand-clip")
    _problem(_upload(client, h, "outro", png, "o.mp4"), 422, "invalid-brand-clip")
    cut = intro.read_bytes()
    _problem(_upload(client, h, "outro", cut[: len(cut) // 2], "o.mp4"), 422, "invalid-brand-clip")
    assert client.get("/api/v1/brand", headers=h).json()["outro"] is None


def test_defaults_apply_to_new_clips(client: TestClient) -> None:
    _, h = owner_ws(client)
    pid = _project(_ws(h))  # its options ask for "minimal" captions, no aspect
    client.put(
        "/api/v1/brand", headers=h, json={"default_caption_style": "boxed", "default_aspect": "1:1"}
    )
    clip = client.post(f"/api/v1/projects/{pid}/clips", headers=h, json={"start": 1, "end": 9})
    assert clip.status_code == 201, clip.text
    assert clip.json()["caption_style"] == "minimal" and clip.json()["aspect"] == "1:1"


def _frame(path: Path, at: float) -> np.ndarray:
    out = path.with_suffix(f".{at}.png")
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-y",
            "-ss",
            str(at),
            "-i",
            str(path),
            "-frames:v",
            "1",
            str(out),
        ],
        check=True,
    )
    return np.asarray(Image.open(out).convert("RGB")).astype(int)


@pytest.mark.usefixtures("fast_render")
def test_kit_is_applied_to_preview_and_render(
    client: TestClient, grey_video: Path, brand_font: Path, tmp_path: Path
) -> None:
    _, h = owner_ws(client)
    pid = _real_project(_ws(h), grey_video, [(0.3, 3.5, "iiii llll iiii")])
    clip = client.post(
        f"/api/v1/projects/{pid}/clips", headers=h, json={"start": 0.3, "end": 3.5}
    ).json()
    url = f"/api/v1/clips/{clip['id']}"
    plain = client.post(f"{url}/preview", headers=h, json={"styles": ["bold"]}).json()

    assert _upload(client, h, "font", brand_font.read_bytes(), "b.ttf").status_code == 200
    assert _upload(client, h, "logo", files.logo_png((200, 200)), "l.png").status_code == 200
    client.put(
        "/api/v1/brand",
        headers=h,
        json={"logo_corner": "bottom-right", "caption_active_color": "#00FF00"},
    )
    branded = client.post(f"{url}/preview", headers=h, json={"styles": ["bold"]}).json()
    assert branded["look"] != plain["look"]  # the kit is part of the look's digest
    # The editor's still shows the kit: the logo in its corner.
    still = client.get(
        branded["items"][0]["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""])
    )
    assert still.status_code == 200
    (tmp_path / "still.jpg").write_bytes(still.content)
    pic = np.asarray(Image.open(tmp_path / "still.jpg").convert("RGB")).astype(int)
    red = (pic[:, :, 0] > 200) & (pic[:, :, 1] < 60) & (pic[:, :, 2] < 60)
    ys, xs = np.nonzero(red)
    assert ys.size > 200 and xs.min() > pic.shape[1] / 2 and ys.min() > pic.shape[0] / 2
    [ran] = run_jobs(["CLIP_RENDER"])
    assert ran.status == "succeeded"
    mp4 = _download(client, h, clip["id"], tmp_path, "clip.mp4")
    img = _frame(mp4, 1.5)
    hh, ww, _ = img.shape
    red = (img[:, :, 0] > 200) & (img[:, :, 1] < 60) & (img[:, :, 2] < 60)
    ys, xs = np.nonzero(red)
    assert ys.size > 500 and xs.min() > ww / 2 and ys.min() > hh / 2  # bottom-right
    green = (img[:, :, 1] > 200) & (img[:, :, 0] < 90) & (img[:, :, 2] < 90)
    assert green.sum() > 50  # the active word in the kit's colour
    # Basic plan: the watermark stays (the kit has no say).
    top_left = img[int(0.08 * hh) : int(0.16 * hh), : ww // 2]
    assert (np.abs(top_left - 128).max(axis=2) > 60).sum() > 50
    ass = tmp_path / "c.ass"
    ass.write_text(client.get(f"{url}/captions.ass", headers=h).text, encoding="utf-8")
    assert parse_ass(ass).styles["Base"]["Fontname"] == files.FAMILY
    done = client.get(url, headers=h).json()
    assert probe(mp4).duration == pytest.approx(done["end"] - done["start"], abs=0.15)
