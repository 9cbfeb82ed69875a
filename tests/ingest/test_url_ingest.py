"""URL ingest: the SSRF guard, and downloads from a local HTTP server (direct and via yt-dlp)."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cliply.ingest.download import IngestLimits, download_url
from cliply.ingest.ssrf import UrlPolicy, UrlRefused, check_url
from tests.conftest import reset_caches
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws

LIMITS = IngestLimits(max_bytes=50 * 1024 * 1024, max_duration_s=3600)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/to-metadata"):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()
            return
        if self.path.startswith("/hop"):
            self.send_response(301)
            self.send_header("Location", "/talk.mp4")
            self.end_headers()
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return  # clients we refuse hang up mid-response; that is the point


@pytest.fixture(scope="module")
def media_server(
    tmp_path_factory: pytest.TempPathFactory, bad_inputs: dict[str, Path]
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("www")
    shutil.copy(bad_inputs["ok"], root / "talk.mp4")
    (root / "page.html").write_text(
        "<html><head><title>A talk</title></head><body><h1>Watch</h1>"
        '<video controls><source src="/talk.mp4" type="video/mp4"></video></body></html>'
    )
    server = _QuietServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(
    "url, code",
    [
        ("ftp://example.com/v.mp4", "url-scheme"),
        ("file:///etc/passwd", "url-scheme"),
        ("http://127.0.0.1/v.mp4", "url-private-address"),
        ("http://localhost:8000/v.mp4", "url-private-address"),
        ("http://[::1]/v.mp4", "url-private-address"),
        ("http://10.1.2.3/v.mp4", "url-private-address"),
        ("http://192.168.0.5/v.mp4", "url-private-address"),
        ("http://169.254.169.254/latest/meta-data/", "url-metadata-address"),
        ("http://[fd00:ec2::254]/latest", "url-metadata-address"),
        ("http://[::ffff:127.0.0.1]/v.mp4", "url-private-address"),
        ("http://0.0.0.0/v.mp4", "url-private-address"),
        ("http://224.0.0.1/v.mp4", "url-private-address"),
        ("http://user:pw@example.com/v.mp4", "url-invalid"),
    ],
)
def test_refused_urls(url: str, code: str) -> None:
    with pytest.raises(UrlRefused) as err:
        check_url(url, UrlPolicy())
    assert err.value.code == code


def test_every_resolved_address_is_checked() -> None:
    table = {"public.test": ["93.184.216.34"], "mixed.test": ["93.184.216.34", "10.0.0.1"]}
    policy = UrlPolicy(resolver=lambda host, port: table[host])
    assert check_url("https://public.test/v.mp4", policy).addresses == ("93.184.216.34",)
    with pytest.raises(UrlRefused):
        check_url("https://mixed.test/v.mp4", policy)
    # The explicit opt-in allows loopback, never the metadata service.
    assert check_url("http://127.0.0.1:9/v.mp4", UrlPolicy(allow_private=True))
    with pytest.raises(UrlRefused):
        check_url("http://169.254.169.254/", UrlPolicy(allow_private=True))


def test_loopback_refused_by_default(media_server: str, tmp_path: Path, client: TestClient) -> None:
    with pytest.raises(UrlRefused) as err:
        download_url(f"{media_server}/talk.mp4", tmp_path, policy=UrlPolicy(), limits=LIMITS)
    assert err.value.code == "url-private-address"
    _, h = owner_ws(client)
    r = client.post("/api/v1/projects", headers=h, json={"url": f"{media_server}/talk.mp4"})
    assert r.status_code == 422 and r.json()["type"].endswith("/url-private-address")
    assert client.get("/api/v1/projects", headers=h).json()["items"] == []


def test_redirect_to_metadata_refused(media_server: str, tmp_path: Path) -> None:
    with pytest.raises(UrlRefused) as err:
        download_url(
            f"{media_server}/to-metadata",
            tmp_path,
            policy=UrlPolicy(allow_loopback=True),
            limits=LIMITS,
        )
    assert err.value.code == "url-metadata-address"
    got = download_url(
        f"{media_server}/hop", tmp_path, policy=UrlPolicy(allow_loopback=True), limits=LIMITS
    )
    assert got.via == "direct" and got.final_url.endswith("/talk.mp4")
    small = IngestLimits(max_bytes=1000, max_duration_s=3600)
    with pytest.raises(UrlRefused) as err:
        download_url(
            f"{media_server}/talk.mp4",
            tmp_path / "s",
            policy=UrlPolicy(allow_loopback=True),
            limits=small,
        )
    assert err.value.code == "url-too-large"


@pytest.mark.parametrize("path, via", [("/talk.mp4", "direct"), ("/page.html", "yt-dlp")])
def test_url_project_from_local_server(
    media_server: str, client: TestClient, monkeypatch: pytest.MonkeyPatch, path: str, via: str
) -> None:
    monkeypatch.setenv("URL_INGEST_ALLOW_LOOPBACK", "true")
    reset_caches()
    _, h = owner_ws(client)
    r = client.post(
        "/api/v1/projects", headers=h, json={"url": media_server + path, "options": {"top_k": 3}}
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "downloading" and r.json()["source_type"] == "url"
    ran = run_jobs(kinds=["YOUTUBE_DOWNLOAD", "INGEST"])
    assert [(x.kind, x.status) for x in ran] == [
        ("YOUTUBE_DOWNLOAD", "succeeded"),
        ("INGEST", "succeeded"),
    ], ran
    assert ran[0].events[0][2]["via"] == via
    p = client.get(f"/api/v1/projects/{r.json()['id']}", headers=h).json()
    assert p["status"] == "transcribing" and 3.5 < p["duration_s"] < 4.5
    assert p["size_bytes"] > 0


def test_url_project_redirected_to_metadata_fails(
    media_server: str, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("URL_INGEST_ALLOW_LOOPBACK", "true")
    reset_caches()
    _, h = owner_ws(client)
    r = client.post("/api/v1/projects", headers=h, json={"url": media_server + "/to-metadata"})
    assert r.status_code == 201
    ran = run_jobs(kinds=["YOUTUBE_DOWNLOAD"])
    assert ran[0].status == "failed"
    p = client.get(f"/api/v1/projects/{r.json()['id']}", headers=h).json()
    assert (p["status"], p["error_code"]) == ("failed", "url-metadata-address")
