"""SSRF guard for URL ingest: only http(s) to public addresses, checked on every hop.

A URL is refused when its host resolves to any loopback, private (RFC 1918, unique-local
fc00::/7 with fd00:ec2::254), CGNAT (100.64.0.0/10, with Alibaba's 100.100.100.200),
link-local, multicast, reserved, unspecified or otherwise non-global address, or to a cloud
metadata endpoint; IPv4 embedded in IPv6 (mapped, NAT64, 6to4, Teredo) is judged as IPv4.
`URL_INGEST_ALLOW_PRIVATE` (trusted LANs) lifts the loopback/private/CGNAT rule and
`URL_INGEST_ALLOW_LOOPBACK` (tests) the loopback rule only; neither ever lifts metadata,
link-local or multicast. Callers connect to the address that was checked (ingest.download,
ingest.ytdlp), so a DNS answer that changes between check and connect cannot slip through.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import structlog

from cliply.errors import CliplyError

log = structlog.get_logger()
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

# Instance-metadata services (AWS/GCP/Azure/OpenStack, AWS IPv6, ECS tasks, Alibaba).
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "100.100.100.200")
)


# Codes worth another attempt later (the server or the network may recover).
RETRYABLE_CODES = frozenset({"url-download-failed", "url-unreachable"})


class UrlRefused(CliplyError):
    """The URL may not be fetched. Codes: url-scheme, url-invalid, url-unresolvable,
    url-private-address, url-metadata-address, url-too-many-redirects, url-too-large,
    url-too-long, url-not-video, url-download-failed, url-unreachable (the last two are
    retryable)."""

    status, code, title = 422, "url-refused", "URL refused"

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message, code=code, retryable=code in RETRYABLE_CODES)


NAT64 = ipaddress.ip_network("64:ff9b::/96")
CGNAT = ipaddress.ip_network("100.64.0.0/10")


def system_resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        # The resolver's words ("[Errno -2] Name or service not known") are for the log.
        log.info("url_ingest_dns_failed", host=host, error=repr(exc))
        raise UrlRefused(
            f"The address {host} could not be found. Check the URL for typos.",
            code="url-unresolvable",
        ) from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class UrlPolicy:
    allow_private: bool = False
    allow_loopback: bool = False
    resolver: Resolver = field(default=system_resolve)


@dataclass(frozen=True)
class CheckedUrl:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address (connect there)."""
        parts = urlsplit(self.url)
        ip = self.addresses[0]
        netloc = f"[{ip}]" if ":" in ip else ip
        netloc += f":{self.port}"
        return parts._replace(netloc=netloc).geturl()


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    return None


def address_refusal(
    ip: IPAddress, *, allow_private: bool, allow_loopback: bool = False
) -> tuple[str, str] | None:
    """(code, reason) when `ip` may not be contacted, else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            return address_refusal(
                inner, allow_private=allow_private, allow_loopback=allow_loopback
            )
    if ip in METADATA_ADDRESSES:
        return "url-metadata-address", f"{ip} is a cloud metadata address"
    # Never lifted: multicast, link-local (where metadata services live), unspecified.
    for flag in ("multicast", "link_local", "unspecified"):
        if getattr(ip, f"is_{flag}"):
            return "url-private-address", f"{ip} is a {flag.replace('_', '-')} address"
    if ip.is_loopback:
        if allow_loopback or allow_private:
            return None
        return "url-private-address", f"{ip} is a loopback address"
    lan = ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT)
    if lan and allow_private and not ip.is_reserved:
        return None
    if isinstance(ip, ipaddress.IPv4Address) and ip in CGNAT:
        return "url-private-address", f"{ip} is a carrier-grade NAT address"
    for flag in ("private", "reserved"):
        if getattr(ip, f"is_{flag}"):
            return "url-private-address", f"{ip} is a {flag} address"
    if not ip.is_global:
        return "url-private-address", f"{ip} is not a public address"
    return None


def check_url(url: str, policy: UrlPolicy) -> CheckedUrl:
    """Validate scheme and host and resolve it; raises UrlRefused unless every address the
    host resolves to is allowed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"not a valid URL: {exc}", code="url-invalid") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UrlRefused("only http and https URLs can be ingested", code="url-scheme")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRefused("the URL has no host", code="url-invalid")
    if parts.username or parts.password:
        raise UrlRefused("URLs with credentials are not accepted", code="url-invalid")
    port = port or (443 if scheme == "https" else 80)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    addresses = [str(literal)] if literal is not None else policy.resolver(host, port)
    if not addresses:
        raise UrlRefused(f"host {host!r} has no address", code="url-unresolvable")
    for raw in addresses:
        refusal = address_refusal(
            ipaddress.ip_address(raw.split("%")[0]),
            allow_private=policy.allow_private,
            allow_loopback=policy.allow_loopback,
        )
        if refusal is not None:
            code, reason = refusal
            raise UrlRefused(f"refusing {host}: {reason}", code=code)
    return CheckedUrl(
        url=url.strip(), scheme=scheme, host=host, port=port, addresses=tuple(addresses)
    )
