"""Fetch a video from a URL into a local file, behind the SSRF guard and the size/duration caps.

Two routes, both checked on every hop:
- direct media (the URL answers with a video/binary content type or a video file name): our
  own httpx download. Redirects are followed by hand; each hop's host is resolved, checked
  and connected to by that checked address (Host header and TLS SNI keep the name), so a
  rebinding DNS answer cannot reach an internal address.
- a page (anything else): yt-dlp extracts the media and downloads it, every request it makes
  (redirects included) going through the same guard (see ingest.ytdlp).

Failures carry a stable code and a sentence for the user; internals go to the log.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import structlog

from cliply import __version__
from cliply.config import get_settings
from cliply.ingest.ssrf import (  # RETRYABLE_CODES: re-exported
    RETRYABLE_CODES as RETRYABLE_CODES,
)
from cliply.ingest.ssrf import CheckedUrl, UrlPolicy, UrlRefused, check_url
from cliply.ingest.ytdlp import GuardLog, guarded_ydl
from cliply.storage.keys import VIDEO_EXTENSIONS

log = structlog.get_logger()
ProgressFn = Callable[[float, str], None]
MAX_REDIRECTS = 5
CHUNK = 1024 * 1024
_DIRECT_TYPES = (
    "video/",
    "application/octet-stream",
    "binary/octet-stream",
    "application/mp4",
    "application/x-matroska",
    "audio/",
)
_USER_AGENT = f"Cliply/{__version__} (+https://cliply.dev)"


@dataclass(frozen=True)
class IngestLimits:
    max_bytes: int
    max_duration_s: float
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0


@dataclass(frozen=True)
class Downloaded:
    path: Path
    filename: str
    final_url: str
    via: str  # "direct" | "yt-dlp"
    title: str | None = None
    size_bytes: int = 0


def _noop(_: float, __: str) -> None:
    return None


def _client(limits: IngestLimits) -> httpx.Client:
    # trust_env=False: no proxy from the environment may reroute the checked connection.
    return httpx.Client(
        timeout=httpx.Timeout(limits.read_timeout_s, connect=limits.connect_timeout_s),
        trust_env=False,
        headers={"User-Agent": _USER_AGENT},
    )


def default_project_name(url: str) -> str:
    """A name for a URL project before its title is known: the file or page name from the
    path ("my-talk" for .../videos/my-talk.mp4), else the host."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "Video"
    stem = PurePosixPath(unquote(parts.path)).stem.strip()
    name = stem if stem and stem.lower() not in ("index", "watch", "video", "embed") else ""
    return (name or host or "Video").replace("\x00", "")[:300]


def http_refusal(host: str, status: int) -> UrlRefused:
    """A sentence for an HTTP error answer (4xx final, 5xx worth a retry)."""
    if status in (404, 410):
        return UrlRefused(
            f"Nothing was found at that address ({host} answered {status}).", code="url-not-found"
        )
    if status in (401, 403):
        return UrlRefused(
            f"{host} refused access to the video (HTTP {status}); it may be private.",
            code="url-forbidden",
        )
    if status in (408, 429) or status >= 500:
        return UrlRefused(
            f"{host} could not serve the video right now (HTTP {status}).",
            code="url-download-failed",
        )
    return UrlRefused(f"{host} refused the request (HTTP {status}).", code="url-http-error")


def transport_refusal(host: str, exc: httpx.HTTPError, limits: IngestLimits) -> UrlRefused:
    log.info("url_ingest_transport_error", host=host, error=repr(exc))
    if isinstance(exc, httpx.ConnectTimeout):
        return UrlRefused(
            f"Could not connect to {host} within {limits.connect_timeout_s:g} s.",
            code="url-unreachable",
        )
    if isinstance(exc, httpx.ConnectError):
        return UrlRefused(f"Could not connect to {host}.", code="url-unreachable")
    if isinstance(exc, httpx.TimeoutException):
        return UrlRefused(
            f"{host} stopped sending data for {limits.read_timeout_s:g} s.",
            code="url-download-failed",
        )
    return UrlRefused(f"The connection to {host} broke off.", code="url-download-failed")


def open_guarded(
    client: httpx.Client,
    url: str,
    policy: UrlPolicy,
    limits: IngestLimits,
    *,
    headers: dict[str, str] | None = None,
) -> tuple[httpx.Response, CheckedUrl]:
    """GET `url` (streamed), following up to MAX_REDIRECTS redirects, each hop checked and
    pinned to its checked address. The caller closes the response."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        checked = check_url(current, policy)
        request = client.build_request(
            "GET",
            checked.pinned_url(),
            headers={**(headers or {}), "Host": checked.host_header},
            extensions={"sni_hostname": checked.host} if checked.scheme == "https" else {},
        )
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise transport_refusal(checked.host, exc, limits) from exc
        if response.is_redirect and "location" in response.headers:
            response.close()
            current = urljoin(current, response.headers["location"])
            continue
        if response.status_code >= 400:
            response.close()
            raise http_refusal(checked.host, response.status_code)
        return response, checked
    raise UrlRefused(f"more than {MAX_REDIRECTS} redirects", code="url-too-many-redirects")


def _is_direct(response: httpx.Response, url: str) -> bool:
    ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype.startswith(_DIRECT_TYPES):
        return True
    return _url_ext(url) in VIDEO_EXTENSIONS and not ctype.startswith("text/")


def _url_ext(url: str) -> str:
    return PurePosixPath(unquote(urlsplit(url).path)).suffix.lower().lstrip(".")


def _filename(url: str, response: httpx.Response | None) -> tuple[str, str]:
    """(display name, extension usable in a storage key)."""
    name = PurePosixPath(unquote(urlsplit(url).path)).name or "video"
    ext = _url_ext(url)
    if ext not in VIDEO_EXTENSIONS and response is not None:
        guessed = mimetypes.guess_extension(response.headers.get("content-type", "").split(";")[0])
        ext = (guessed or "").lstrip(".")
    return name[:300], ext if ext in VIDEO_EXTENSIONS else "mp4"


def _save(response: httpx.Response, dest: Path, limits: IngestLimits, progress: ProgressFn) -> int:
    declared = response.headers.get("content-length")
    total = int(declared) if declared and declared.isdigit() else None
    if total is not None and total > limits.max_bytes:
        raise UrlRefused(
            f"the file is {total} bytes; the limit is {limits.max_bytes}", code="url-too-large"
        )
    done = 0
    part = dest.with_name(dest.name + ".part")
    try:
        with part.open("wb") as out:
            for block in response.iter_bytes(CHUNK):
                done += len(block)
                if done > limits.max_bytes:
                    raise UrlRefused(
                        f"the download passed the {limits.max_bytes}-byte limit",
                        code="url-too-large",
                    )
                out.write(block)
                progress(done / total if total else 0.0, f"{done // (1024 * 1024)} MiB downloaded")
        part.replace(dest)
    except httpx.HTTPError as exc:
        host = urlsplit(str(response.request.url)).hostname or "the server"
        raise transport_refusal(host, exc, limits) from exc
    finally:
        part.unlink(missing_ok=True)
    return done


def download_url(
    url: str,
    dest_dir: Path,
    *,
    policy: UrlPolicy,
    limits: IngestLimits,
    progress: ProgressFn | None = None,
) -> Downloaded:
    """Download the video behind `url` into `dest_dir` (raises UrlRefused)."""
    report = progress or _noop
    dest_dir.mkdir(parents=True, exist_ok=True)
    with _client(limits) as client:
        response, checked = open_guarded(client, url, policy, limits)
        try:
            if _is_direct(response, checked.url):
                name, ext = _filename(checked.url, response)
                dest = dest_dir / f"source.{ext}"
                size = _save(response, dest, limits, report)
                return Downloaded(dest, name, checked.url, "direct", None, size)
        finally:
            response.close()
        return _via_ytdlp(client, checked.url, dest_dir, policy, limits, report)


# --- yt-dlp ------------------------------------------------------------------------------------


class _QuietLogger:
    def debug(self, msg: str) -> None:
        return None

    def info(self, msg: str) -> None:
        return None

    def warning(self, msg: str) -> None:
        return None

    def error(self, msg: str) -> None:
        return None


def _ydl_params(limits: IngestLimits) -> dict[str, Any]:
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "noplaylist": True,
        "logger": _QuietLogger(),
        "cachedir": False,
        # One file with picture and sound: no merge step, one URL to check.
        "format": "best",
        "max_filesize": limits.max_bytes,
        "restrictfilenames": True,
        "skip_unavailable_fragments": False,
        "fragment_retries": 1,
        "retries": 1,
    }


def _via_ytdlp(
    client: httpx.Client,
    url: str,
    dest_dir: Path,
    policy: UrlPolicy,
    limits: IngestLimits,
    report: ProgressFn,
) -> Downloaded:

    guard = GuardLog()
    ydl = _ydl(policy, _ydl_params(limits), guard, limits)
    try:
        info = ydl.extract_info(url, download=False)
    except UrlRefused:
        raise
    except Exception as exc:  # DownloadError, or a yt-dlp error it did not wrap
        raise _ytdlp_failure(guard, url, exc, "url-not-video") from None
    if info is None:
        raise UrlRefused("no video found at the URL", code="url-not-video")
    if info.get("_type") in ("playlist", "multi_video"):
        entries = [e for e in info.get("entries") or [] if e]
        if not entries:
            raise UrlRefused("the URL is an empty playlist", code="url-not-video")
        info = entries[0]
    duration = info.get("duration")
    if isinstance(duration, int | float) and duration > limits.max_duration_s:
        raise UrlRefused(
            f"the video lasts {duration:.0f} s; the limit is {limits.max_duration_s:.0f} s",
            code="url-too-long",
        )
    size = info.get("filesize") or info.get("filesize_approx")
    if isinstance(size, int | float) and size > limits.max_bytes:
        raise UrlRefused(
            f"the video is about {size:.0f} bytes; the limit is {limits.max_bytes}",
            code="url-too-large",
        )
    media_url = info.get("url")
    if not isinstance(media_url, str):
        raise UrlRefused("the page has no single-file video format", code="url-not-video")
    check_url(media_url, policy)
    title = info.get("title") if isinstance(info.get("title"), str) else None
    protocol = str(info.get("protocol") or "https")
    if protocol in ("http", "https"):
        headers = {
            k: str(v)
            for k, v in (info.get("http_headers") or {}).items()
            if k.lower() not in ("host", "cookie")
        }
        response, checked = open_guarded(client, media_url, policy, limits, headers=headers)
        try:
            ext = str(info.get("ext") or "")
            dest = dest_dir / f"source.{ext if ext in VIDEO_EXTENSIONS else 'mp4'}"
            got = _save(response, dest, limits, report)
        finally:
            response.close()
        return Downloaded(dest, _display_name(title, info), checked.url, "yt-dlp", title, got)
    return _ytdlp_download(url, dest_dir, policy, limits, report, title, info)


def _ytdlp_download(
    url: str,
    dest_dir: Path,
    policy: UrlPolicy,
    limits: IngestLimits,
    report: ProgressFn,
    title: str | None,
    info: dict[str, Any],
) -> Downloaded:
    """Streaming formats (HLS/DASH): yt-dlp downloads; every request it makes is checked."""
    guard = GuardLog()

    def hook(d: dict[str, Any]) -> None:
        if d.get("status") == "downloading":
            total = d.get("total_bytes") or d.get("total_bytes_estimate")
            done = int(d.get("downloaded_bytes") or 0)
            if done > limits.max_bytes:
                # Recorded too: yt-dlp may wrap what a hook raises in its own error.
                refusal = UrlRefused(
                    f"The video passed the {limits.max_bytes}-byte limit.", code="url-too-large"
                )
                guard.refusals.append(refusal)
                raise refusal
            report(done / total if total else 0.0, f"{done // (1024 * 1024)} MiB downloaded")

    params = {
        **_ydl_params(limits),
        "outtmpl": str(dest_dir / "source.%(ext)s"),
        "progress_hooks": [hook],
    }
    ydl = _ydl(policy, params, guard, limits)
    try:
        done = ydl.extract_info(url, download=True)
    except UrlRefused:
        raise
    except Exception as exc:  # DownloadError, or a yt-dlp error it did not wrap
        raise _ytdlp_failure(guard, url, exc, "url-download-failed") from None
    if guard.refusals:  # a refused fragment must not pass as a shorter video
        raise guard.refusals[0]
    files = [
        Path(d["filepath"])
        for d in (done or {}).get("requested_downloads") or []
        if d.get("filepath")
    ]
    if not files or not files[0].is_file():
        raise UrlRefused("yt-dlp produced no file", code="url-download-failed")
    path = files[0]
    if path.suffix.lstrip(".") not in VIDEO_EXTENSIONS:
        path = path.replace(path.with_suffix(".mp4"))
    return Downloaded(path, _display_name(title, info), url, "yt-dlp", title, path.stat().st_size)


def _display_name(title: str | None, info: dict[str, Any]) -> str:
    return (title or str(info.get("id") or "video"))[:300]


def _ydl(policy: UrlPolicy, params: dict[str, Any], guard: GuardLog, limits: IngestLimits) -> Any:
    return guarded_ydl(policy, params, guard, limits.connect_timeout_s, limits.read_timeout_s)


def _ytdlp_failure(guard: GuardLog, url: str, exc: Exception, code: str) -> UrlRefused:
    """The guard's refusal when there was one, else a sentence for what yt-dlp reported."""
    if guard.refusals:
        return guard.refusals[0]
    host = urlsplit(url).hostname or "the server"
    if guard.http_status is not None and guard.http_status >= 400:
        return http_refusal(host, guard.http_status)
    log.info("url_ingest_ytdlp_failed", url=url, error=str(exc)[:500])
    if code == "url-not-video":
        return UrlRefused(f"No video was found at that address on {host}.", code="url-not-video")
    return UrlRefused(f"The video on {host} could not be downloaded.", code="url-download-failed")


def policy_from_settings() -> UrlPolicy:
    settings = get_settings()
    return UrlPolicy(
        allow_private=settings.url_ingest_allow_private,
        allow_loopback=settings.url_ingest_allow_loopback,
    )


def limits_from_settings(max_duration_s: float) -> IngestLimits:
    settings = get_settings()
    return IngestLimits(
        max_bytes=settings.url_ingest_max_bytes,
        max_duration_s=max_duration_s,
        connect_timeout_s=settings.url_connect_timeout_s,
        read_timeout_s=settings.url_read_timeout_s,
    )
