"""Server secrets: from settings, or generated once and kept (mode 600) in the data dir."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cliply.config import get_settings


def _file_secret(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(make)
    with contextlib.suppress(FileExistsError):
        os.link(tmp, path)  # first writer wins when several processes start together
    tmp.unlink(missing_ok=True)
    return path.read_text().strip()


@lru_cache(maxsize=1)
def app_secret() -> str:
    s = get_settings()
    value = s.secret_key.get_secret_value()
    if value:
        return value
    return _file_secret(s.cliply_data_dir / "secret.key", secrets.token_urlsafe(48))


@lru_cache(maxsize=1)
def token_keys_spec() -> str:
    """`id:base64key,...` for token encryption (first is current)."""
    s = get_settings()
    value = s.token_encryption_keys.get_secret_value()
    if value:
        return value
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    return _file_secret(s.cliply_data_dir / "token.keys", f"k1:{key}")


def clear() -> None:
    app_secret.cache_clear()
    token_keys_spec.cache_clear()
