"""Build a storage backend from a URL (file:///path or a plain path, or s3://bucket/prefix),
and the application's own store from settings (`app_storage`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from cliply.config import Settings, get_settings
from cliply.keys import app_secret
from cliply.storage.base import Storage, StorageError
from cliply.storage.local import LocalStorage
from cliply.storage.s3 import S3Storage

# Where the API serves signed local-storage URLs (the files route).
FILES_PATH = "/api/v1/files"


def app_storage(settings: Settings | None = None) -> Storage:
    """The object store from STORAGE_URL (default: files under CLIPLY_DATA_DIR/storage)."""
    s = settings or get_settings()
    url = s.storage_url or str(s.cliply_data_dir / "storage")
    return _storage(
        url,
        app_secret(),
        s.public_base_url.rstrip("/") + FILES_PATH,
        s.s3_access_key_id.get_secret_value() if s.s3_access_key_id else None,
        s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None,
    )


@lru_cache(maxsize=4)
def _storage(url: str, secret: str, public: str, key: str | None, skey: str | None) -> Storage:
    # Cached: an S3 client is costly to build and safe to share between threads.
    return storage_from_url(
        url, url_secret=secret, public_base_url=public, access_key=key, secret_key=skey
    )


def storage_from_url(
    url: str,
    *,
    url_secret: str | bytes | None = None,
    public_base_url: str = "/api/v1/files",
    access_key: str | None = None,
    secret_key: str | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
    public_endpoint_url: str | None = None,
) -> Storage:
    """`file:///srv/cliply` or `/srv/cliply` → LocalStorage (needs `url_secret`);
    `s3://bucket/prefix?endpoint=http://minio:9000&region=us-east-1` → S3Storage, with
    credentials from the parameters (query values win over `region` / `endpoint_url`)."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise StorageError(
                f"file URL must name a local path: {url!r}", code="storage-config", retryable=False
            )
        path = unquote(parsed.path) if parsed.scheme == "file" else url
        if not path:
            raise StorageError("empty storage path", code="storage-config", retryable=False)
        if not url_secret:
            raise StorageError(
                "local storage needs a URL signing secret", code="storage-config", retryable=False
            )
        return LocalStorage(Path(path), url_secret=url_secret, public_base_url=public_base_url)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StorageError(
                f"s3 URL must name a bucket: {url!r}", code="storage-config", retryable=False
            )
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return S3Storage(
            bucket=parsed.netloc,
            prefix=parsed.path.strip("/"),
            endpoint_url=query.get("endpoint") or endpoint_url,
            region=query.get("region") or region,
            access_key=access_key,
            secret_key=secret_key,
            public_endpoint_url=query.get("public_endpoint") or public_endpoint_url,
        )
    raise StorageError(
        f"unsupported storage URL scheme {parsed.scheme!r}", code="storage-config", retryable=False
    )
