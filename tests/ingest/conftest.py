"""Ingest tests talk to loopback only. The `tripwire` fixture makes that a checked fact: while
it is on, a connect to any non-loopback address is blocked and recorded before it happens,
and so is any DNS lookup of a name (it answers "not found" without sending a query). Audit
hooks sit at the socket layer, below every client library and yt-dlp."""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.projects.conftest import bad_inputs, fast_render, live, talk_video

__all__ = ["bad_inputs", "fast_render", "live", "talk_video", "tripwire"]

_STATE: dict[str, Any] = {"on": False, "seen": []}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _STATE["on"]:
        return
    if event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple) or not address:
            return  # a Unix socket (PostgreSQL)
        try:
            ip = ipaddress.ip_address(str(address[0]).split("%")[0])
        except ValueError:
            return
        if not ip.is_loopback:
            _STATE["seen"].append(f"connect {ip}")
            raise PermissionError(f"test tripwire: connect to {ip} blocked")
    elif event == "socket.getaddrinfo":
        host = args[0]
        if isinstance(host, bytes):
            host = host.decode()
        if not host or host == "localhost":
            return
        try:
            ipaddress.ip_address(str(host).split("%")[0])
        except ValueError:
            _STATE["seen"].append(f"resolve {host}")
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None


sys.addaudithook(_audit)


@pytest.fixture
def tripwire() -> Iterator[list[str]]:
    """What was blocked: "connect <ip>" / "resolve <name>" entries."""
    seen: list[str] = []
    _STATE["seen"], _STATE["on"] = seen, True
    try:
        yield seen
    finally:
        _STATE["on"] = False
