"""SSRF across yt-dlp's own requests, and clear failures for clear causes.

The fake server is on loopback (allowed by the test setting URL_INGEST_ALLOW_LOOPBACK only);
its first answer for a page is harmless and the next one redirects to a private, multicast
or metadata address, so our first check passes and only a guard on yt-dlp's own requests can
catch the second. The tripwire proves nothing connected anywhere but loopback.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cliply.billing import gate
from cliply.db.engine import owner_session
from cliply.ingest.download import IngestLimits, default_project_name, download_url
from cliply.ingest.ssrf import UrlPolicy, UrlRefused, check_url
from cliply.ingest.ytdlp import GuardLog, guarded_ydl
from tests.conftest import reset_caches
from tests.pipeline.jobrunner import run_jobs
from tests.projects.helpers import owner_ws, upload

LOOPBACK = UrlPolicy(allow_loopback=True)
LIMITS = IngestLimits(
    max_bytes=50 * 1024 * 1024, max_duration_s=3600, connect_timeout_s=5, read_timeout_s=2
)
TARGETS = {
    "private": ("http://10.0.0.1/v.mp4", "url-private-address"),
    "multicast": ("http://224.0.0.1/", "url-private-address"),
    "multicast6": ("http://[ff02::1]/", "url-private-address"),
    "aws6": ("http://[fd00:ec2::254]/latest/meta-data/", "url-metadata-address"),
    "ula": ("http://[fd12:3456::1]/", "url-private-address"),
    "alibaba": ("http://100.100.100.200/latest/meta-data/", "url-metadata-address"),
    "cgnat": ("http://100.64.0.1/", "url-private-address"),
    "linklocal": ("http://169.254.1.1/", "url-private-address"),
    "nat64-metadata": ("http://[64:ff9b::a9fe:a9fe]/", "url-metadata-address"),
}
PAGE = (
    "<html><head><title>Flip talk</title></head><body>"
    '<video controls><source src="/talk.mp4" type="video/mp4"></video></body></html>'
)


class _Flip(http.server.SimpleHTTPRequestHandler):
    hits: Counter[str] = Counter()
    target = ""
    directory_root = ""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        _Flip.hits[path] += 1
        if path.startswith("/flip/"):
            if _Flip.hits[path] == 1:  # the first answer passes the first check...
                body = PAGE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            self.send_response(302)  # ...then the page moves somewhere it must not go
            self.send_header("Location", TARGETS[path.rsplit("/", 1)[1]][0])
            self.end_headers()
            return
        if path == "/hls.m3u8":
            body = (
                b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n"
                b"#EXTINF:4.0,\nhttp://10.0.0.1/seg0.ts\n#EXT-X-ENDLIST\n"
            )
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path.startswith("/gone-then-back/"):
            if _Flip.hits[path] == 1:
                self.send_error(404)
                return
            self.path = "/talk.mp4"
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        return


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        return


@pytest.fixture(scope="module")
def flip_server(
    tmp_path_factory: pytest.TempPathFactory, bad_inputs: dict[str, Path]
) -> Iterator[str]:
    root = tmp_path_factory.mktemp("flip")
    _Flip.directory_root = str(root)
    shutil.copy(bad_inputs["ok"], root / "talk.mp4")
    server = _Server(("127.0.0.1", 0), lambda *a: _Flip(*a, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_the_guard_refuses_each_target(name: str) -> None:
    url, code = TARGETS[name]
    for policy in (UrlPolicy(), LOOPBACK):
        with pytest.raises(UrlRefused) as err:
            check_url(url, policy)
        assert err.value.code == code
    if code == "url-metadata-address" or name in ("multicast", "multicast6", "linklocal"):
        with pytest.raises(UrlRefused):  # never lifted, not even for trusted LANs
            check_url(url, UrlPolicy(allow_private=True))
    assert check_url("http://127.0.0.1:9/", LOOPBACK)
    with pytest.raises(UrlRefused):
        check_url("http://10.0.0.1/", LOOPBACK)  # the test setting lifts loopback only


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_page_that_flips_to_a_private_target_is_refused_before_connecting(
    flip_server: str, tmp_path: Path, tripwire: list[str], name: str
) -> None:
    url = f"{flip_server}/flip/{uuid.uuid4().hex[:6]}/{name}"
    with pytest.raises(UrlRefused) as err:
        download_url(url, tmp_path, policy=LOOPBACK, limits=LIMITS)
    assert err.value.code == TARGETS[name][1], err.value.message
    assert _Flip.hits[url.removeprefix(flip_server)] == 2  # yt-dlp did fetch the page itself
    assert tripwire == []  # refused by decision, not by a failed connection


def test_every_ytdlp_request_goes_through_the_guard(flip_server: str, tripwire: list[str]) -> None:
    guard = GuardLog()
    ydl = guarded_ydl(LOOPBACK, {"quiet": True}, guard, 5, 5)
    path = f"/flip/{uuid.uuid4().hex[:6]}/alibaba"
    with ydl.urlopen(flip_server + path) as first:
        assert b"Flip talk" in first.read()
    with pytest.raises(Exception):
        ydl.urlopen(flip_server + path)
    assert [r.code for r in guard.refusals] == ["url-metadata-address"]
    assert tripwire == []


def test_hls_fragments_are_checked(flip_server: str, tmp_path: Path, tripwire: list[str]) -> None:
    with pytest.raises(UrlRefused) as err:
        download_url(f"{flip_server}/hls.m3u8", tmp_path, policy=LOOPBACK, limits=LIMITS)
    assert err.value.code == "url-private-address"
    assert tripwire == []


def _used(h: dict[str, str]) -> float:
    with owner_session() as db:
        return gate.current_usage(db, uuid.UUID(h["X-Workspace-ID"]), "projects")


def test_url_project_refused_on_yt_dlp_redirect_gives_quota_back(
    flip_server: str, client: TestClient, monkeypatch: pytest.MonkeyPatch, tripwire: list[str]
) -> None:
    monkeypatch.setenv("URL_INGEST_ALLOW_LOOPBACK", "true")
    reset_caches()
    _, h = owner_ws(client)
    url = f"{flip_server}/flip/{uuid.uuid4().hex[:6]}/aws6"
    r = client.post("/api/v1/projects", headers=h, json={"url": url})
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "aws6"  # from the URL's path, not its host
    assert _used(h) == 1
    ran = run_jobs(kinds=["YOUTUBE_DOWNLOAD"])
    assert [(x.kind, x.status) for x in ran] == [("YOUTUBE_DOWNLOAD", "failed")]
    p = client.get(f"/api/v1/projects/{r.json()['id']}", headers=h).json()
    assert (p["status"], p["error_code"]) == ("failed", "url-metadata-address")
    assert _used(h) == 0  # a project that never got its video does not count
    assert tripwire == []


def test_dns_failure_reads_as_a_sentence(client: TestClient, tripwire: list[str]) -> None:
    _, h = owner_ws(client)
    r = client.post("/api/v1/projects", headers=h, json={"url": "https://videos.example.com/a"})
    assert r.status_code == 422 and r.json()["type"].endswith("/url-unresolvable")
    detail = r.json()["detail"]
    assert "Errno" not in detail and "videos.example.com" in detail and detail.endswith(".")
    assert tripwire == ["resolve videos.example.com"]  # answered without a real lookup


def test_not_found_fails_at_once_with_a_clear_message_and_retry_works(
    flip_server: str, client: TestClient, monkeypatch: pytest.MonkeyPatch, tripwire: list[str]
) -> None:
    monkeypatch.setenv("URL_INGEST_ALLOW_LOOPBACK", "true")
    reset_caches()
    _, h = owner_ws(client)
    url = f"{flip_server}/gone-then-back/{uuid.uuid4().hex[:6]}/my-talk.mp4"
    r = client.post("/api/v1/projects", headers=h, json={"url": url})
    pid = r.json()["id"]
    assert r.json()["name"] == "my-talk"
    ran = run_jobs(kinds=["YOUTUBE_DOWNLOAD"])
    assert [(x.kind, x.status) for x in ran] == [("YOUTUBE_DOWNLOAD", "failed")]  # no retries
    p = client.get(f"/api/v1/projects/{pid}", headers=h).json()
    assert p["error_code"] == "url-not-found" and "404" in p["error_message"]
    assert _used(h) == 0

    # The address works now: retry from the failed stage; the project counts again.
    r = client.post(f"/api/v1/projects/{pid}/retry", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "downloading", r.text
    assert _used(h) == 1
    ran = run_jobs(kinds=["YOUTUBE_DOWNLOAD", "INGEST"])
    assert [(x.kind, x.status) for x in ran] == [
        ("YOUTUBE_DOWNLOAD", "succeeded"),
        ("INGEST", "succeeded"),
    ]
    p = client.get(f"/api/v1/projects/{pid}", headers=h).json()
    assert p["status"] == "transcribing"
    r = client.post(f"/api/v1/projects/{pid}/retry", headers=h)
    assert r.status_code == 409 and r.json()["type"].endswith("/project-not-failed")
    assert tripwire == []


def test_a_silent_server_times_out(tmp_path: Path, tripwire: list[str]) -> None:
    listener = socket.create_server(("127.0.0.1", 0))  # accepts, never answers
    try:
        port = listener.getsockname()[1]
        quick = IngestLimits(
            max_bytes=1000, max_duration_s=60, connect_timeout_s=5, read_timeout_s=0.5
        )
        with pytest.raises(UrlRefused) as err:
            download_url(f"http://127.0.0.1:{port}/v.mp4", tmp_path, policy=LOOPBACK, limits=quick)
        assert err.value.code == "url-download-failed"
        assert "stopped sending data for 0.5 s" in err.value.message
    finally:
        listener.close()
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nobody listens there: refused at once
    with pytest.raises(UrlRefused) as err:
        download_url(f"http://127.0.0.1:{port}/v.mp4", tmp_path, policy=LOOPBACK, limits=LIMITS)
    assert err.value.code == "url-unreachable" and "Could not connect" in err.value.message


def test_default_names() -> None:
    assert default_project_name("https://1.2.3.4/") == "1.2.3.4"
    assert default_project_name("https://cdn.test/v/My%20Talk.mp4") == "My Talk"
    assert default_project_name("https://www.youtube.com/watch?v=x") == "www.youtube.com"


def test_a_text_file_does_not_use_up_a_project(
    client: TestClient, bad_inputs: dict[str, Path]
) -> None:
    _, h = owner_ws(client)
    pid = upload(client, h, bad_inputs["not-a-video"])["id"]
    assert _used(h) == 1
    ran = run_jobs(kinds=["INGEST"])
    assert [(x.kind, x.status) for x in ran] == [("INGEST", "failed")]
    assert _used(h) == 0
    # Retrying probes the same file again (and fails again); a failed project can be deleted.
    r = client.post(f"/api/v1/projects/{pid}/retry", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "probing"
    assert run_jobs(kinds=["INGEST"])[0].status == "failed"
    assert _used(h) == 0
    assert client.delete(f"/api/v1/projects/{pid}", headers=h).status_code == 204
    assert client.get(f"/api/v1/projects/{pid}", headers=h).status_code == 404


def test_a_clean_hls_stream_downloads_through_the_guard(
    flip_server: str, bad_inputs: dict[str, Path], tmp_path: Path, tripwire: list[str]
) -> None:
    # The positive path of the same handler: playlist and every fragment fetched through it.
    root = Path(_Flip.directory_root)
    hls = ["-c", "copy", "-f", "hls", "-hls_time", "1", "-hls_playlist_type", "vod"]
    ffmpeg = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(bad_inputs["ok"])]
    subprocess.run([*ffmpeg, *hls, str(root / "clean.m3u8")], check=True)
    got = download_url(f"{flip_server}/clean.m3u8", tmp_path, policy=LOOPBACK, limits=LIMITS)
    assert got.via == "yt-dlp" and got.size_bytes > 10_000
    assert tripwire == []
