"""yt-dlp behind the SSRF guard: every connection it makes goes through `check_url`.

yt-dlp sends all its HTTP through one request director (page fetches, API calls, HLS/DASH
fragments and keys, and the redirects of each). `GuardedYDL` replaces that director's
handlers with one of ours, which follows redirects itself and, for every hop, checks the
URL, resolves it once and connects to the checked address (Host header and TLS SNI keep the
name), exactly like Cliply's own downloads. A 302 from a public page to 10.0.0.1, 224.0.0.1,
[fd00:ec2::254] or 100.100.100.200 is refused before any connection to it is attempted.

Nothing else in yt-dlp may open connections: external downloaders are off (`native`), proxies
from the environment are ignored, and ffmpeg is hidden from it (`ffmpeg_location` points to
a path that cannot exist), so no HLS stream or live format can be handed to an ffmpeg that would fetch
URLs unchecked. Formats needing anything but plain HTTP, native HLS or DASH are refused.
"""

from __future__ import annotations

import email.message
import io
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from cliply.ingest.ssrf import UrlPolicy, UrlRefused, check_url

MAX_REDIRECTS = 10  # yt-dlp's own limit; each hop is checked
ALLOWED_PROTOCOLS = frozenset({"http", "https", "m3u8_native", "m3u8", "http_dash_segments"})
_REDIRECTS = (301, 302, 303, 307, 308)
# A path nobody can create (files cannot be made in /proc): yt-dlp finds no ffmpeg there and
# so can never spawn one that fetches URLs on its own.
_NO_FFMPEG = "/proc/self/cliply-no-ffmpeg"


@dataclass
class GuardLog:
    """What the guard decided, read after yt-dlp gives up (it wraps errors in its own)."""

    refusals: list[UrlRefused] = field(default_factory=list)
    http_status: int | None = None
    hops: list[str] = field(default_factory=list)


class _BodyStream(io.RawIOBase):
    """A streamed httpx response body as the file object yt-dlp's Response reads."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._chunks: Iterator[bytes] = response.iter_bytes()
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        # yt-dlp's Response.read passes None for "everything".
        return self.readall() if size is None or size < 0 else super().read(size) or b""

    def readinto(self, b: Any) -> int:
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buffer))
        b[:n] = self._buffer[:n]
        self._buffer = self._buffer[n:]
        return n

    def close(self) -> None:
        self._response.close()
        super().close()


def _cookie_message(headers: httpx.Headers) -> email.message.Message:
    msg = email.message.Message()
    for name, value in headers.multi_items():
        msg[name] = value
    return msg


class _CookieResponse:
    """Just enough of a urllib response for CookieJar.extract_cookies."""

    def __init__(self, headers: httpx.Headers) -> None:
        self._msg = _cookie_message(headers)

    def info(self) -> email.message.Message:
        return self._msg


def guarded_handler(
    policy: UrlPolicy, log: GuardLog, connect_timeout_s: float, read_timeout_s: float
) -> type:
    """A yt-dlp RequestHandler class bound to `policy`; decisions are recorded in `log`."""
    from yt_dlp.networking.common import RequestHandler, Response
    from yt_dlp.networking.exceptions import HTTPError, RequestError, TransportError

    class CliplyGuardRH(RequestHandler):  # type: ignore[misc]
        _SUPPORTED_URL_SCHEMES = ("http", "https")
        _SUPPORTED_PROXY_SCHEMES = ()  # any proxy is refused: it would connect for us
        _SUPPORTED_FEATURES = ()

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            # trust_env=False: no proxy from the environment may reroute a checked connection.
            self._client = httpx.Client(trust_env=False, verify=bool(self.verify))

        def _check_extensions(self, extensions: dict[str, Any]) -> None:
            super()._check_extensions(extensions)
            for name in ("cookiejar", "timeout", "legacy_ssl", "keep_header_casing"):
                extensions.pop(name, None)

        def close(self) -> None:
            self._client.close()

        def _send(self, request: Any) -> Any:
            headers = {k: v for k, v in self._get_headers(request).items() if k.lower() != "host"}
            method, data, url = request.method, request.data, request.url
            if data is not None and not isinstance(data, bytes):
                data = data.read() if hasattr(data, "read") else b"".join(data)
            jar = self._get_cookiejar(request)
            timeout = httpx.Timeout(
                min(self._calculate_timeout(request), read_timeout_s), connect=connect_timeout_s
            )
            for _ in range(MAX_REDIRECTS + 1):
                try:
                    checked = check_url(url, policy)
                except UrlRefused as exc:
                    log.refusals.append(exc)
                    # A transport error: extractors treat it as a failed request and stop.
                    raise TransportError(exc.message) from None
                log.hops.append(checked.url)
                # Only to compute the Cookie header; urllib never opens it.
                cookie_req = urllib.request.Request(checked.url, method=method)  # noqa: S310
                jar.add_cookie_header(cookie_req)
                hop_headers = dict(headers)
                if cookie_req.unredirected_hdrs.get("Cookie"):
                    hop_headers["Cookie"] = cookie_req.unredirected_hdrs["Cookie"]
                hop_headers["Host"] = checked.host_header
                sent = self._client.build_request(
                    method,
                    checked.pinned_url(),
                    headers=hop_headers,
                    content=data,
                    timeout=timeout,
                    extensions={"sni_hostname": checked.host} if checked.scheme == "https" else {},
                )
                try:
                    response = self._client.send(sent, stream=True, follow_redirects=False)
                except httpx.HTTPError as exc:
                    raise TransportError(cause=exc) from exc
                jar.extract_cookies(_CookieResponse(response.headers), cookie_req)
                location = response.headers.get("location")
                if response.status_code in _REDIRECTS and location:
                    response.close()
                    target = urljoin(url, location)
                    if urlsplit(target).netloc != urlsplit(url).netloc:
                        headers.pop("Authorization", None)
                    if (response.status_code == 303 and method != "HEAD") or (
                        response.status_code in (301, 302) and method == "POST"
                    ):
                        method, data = "GET", None
                        for name in [
                            h for h in headers if h.lower() in ("content-type", "content-length")
                        ]:
                            headers.pop(name)
                    url = target
                    continue
                out_headers = {
                    k: v
                    for k, v in response.headers.multi_items()
                    # httpx decodes the body: its encoding and length no longer apply.
                    if not (
                        "content-encoding" in response.headers
                        and k.lower() in ("content-encoding", "content-length")
                    )
                }
                result = Response(
                    fp=_BodyStream(response),
                    url=url,
                    headers=out_headers,
                    status=response.status_code,
                    reason=response.reason_phrase,
                )
                if response.status_code >= 400:
                    log.http_status = response.status_code
                    raise HTTPError(result)
                return result
            raise RequestError(f"more than {MAX_REDIRECTS} redirects")

    return CliplyGuardRH


def guarded_ydl(
    policy: UrlPolicy,
    params: dict[str, Any],
    log: GuardLog,
    connect_timeout_s: float,
    read_timeout_s: float,
) -> Any:
    """A YoutubeDL whose every request goes through the guard (see the module docstring)."""
    from yt_dlp import YoutubeDL

    handler = guarded_handler(policy, log, connect_timeout_s, read_timeout_s)

    class GuardedYDL(YoutubeDL):  # type: ignore[misc]
        def build_request_director(self, handlers: Any, preferences: Any = None) -> Any:
            return super().build_request_director([handler], None)

        def dl(self, name: str, info: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
            protocols = set(str(info.get("protocol") or "https").split("+"))
            if info.get("is_live") or not protocols <= ALLOWED_PROTOCOLS:
                refusal = UrlRefused(
                    "live streams and this kind of stream are not supported", code="url-not-video"
                )
                log.refusals.append(refusal)
                raise refusal
            return super().dl(name, info, *args, **kwargs)

    return GuardedYDL(
        {
            **params,
            "proxy": "",  # never a proxy from the environment
            "external_downloader": {"default": "native"},
            "hls_prefer_native": True,
            "ffmpeg_location": _NO_FFMPEG,
            "socket_timeout": read_timeout_s,
        }
    )
