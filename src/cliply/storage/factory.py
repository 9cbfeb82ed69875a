"""Build a storage backend from a URL: file:///path or a plain path, or s3://bucket/prefix."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from cliply.storage.base import Storage, StorageError
from cliply.storage.local import LocalStorage
from cliply.storage.s3 import S3Storage


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
