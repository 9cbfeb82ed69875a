"""Object storage on S3 or an S3-compatible service (R2, MinIO, Supabase) through boto3."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.client import Config
from botocore.exceptions import BotoCoreError, ClientError

from cliply.storage.base import (
    DEFAULT_CHUNK,
    ObjectNotFound,
    StorageError,
    StreamSource,
    check_range,
    iter_source,
)
from cliply.storage.keys import validate_key, validate_prefix

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


def _storage_error(exc: Exception, key: str) -> StorageError:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            return ObjectNotFound(f"no object {key!r}")
        if code in {"InvalidRange", "416"}:
            return StorageError(
                f"invalid byte range for {key!r}", code="invalid-range", retryable=False
            )
        return StorageError(f"object store refused {key!r}: {code}", code="storage-backend-error")
    return StorageError(f"object store unreachable: {exc}", code="storage-unavailable")


class _Body(io.RawIOBase):
    """Adapts botocore's StreamingBody to a raw stream so it can be buffered."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        data = self._body.read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._body.close()
        super().close()


class S3Storage:
    """Objects live under `prefix` in `bucket`. Streams go up as multipart uploads of
    `part_size` bytes, so at most one part is held in memory; URLs are presigned GETs."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "",
        public_endpoint_url: str | None = None,
        part_size: int = 8 * 1024 * 1024,
        client: S3Client | None = None,
    ) -> None:
        if not bucket:
            raise StorageError("S3Storage needs a bucket", code="storage-config", retryable=False)
        if part_size < MIN_PART_SIZE:
            raise StorageError(
                f"part_size must be at least {MIN_PART_SIZE}",
                code="storage-config",
                retryable=False,
            )
        self.bucket = bucket
        self.region = region
        self.prefix = prefix.strip("/")
        if self.prefix:
            validate_key(self.prefix)
        self.part_size = part_size
        self._client = client or self._make_client(endpoint_url, region, access_key, secret_key)
        # Presigned URLs must name the host browsers reach, which can differ from the one
        # workers use (e.g. MinIO inside a container network).
        self._signer = (
            self._make_client(public_endpoint_url, region, access_key, secret_key)
            if public_endpoint_url
            else self._client
        )
        self._transfer = TransferConfig(
            multipart_threshold=part_size, multipart_chunksize=part_size, max_concurrency=4
        )

    @staticmethod
    def _make_client(
        endpoint_url: str | None, region: str | None, access_key: str | None, secret_key: str | None
    ) -> S3Client:
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 5, "mode": "standard"},
        )
        client: S3Client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=config,
        )
        return client

    def _full(self, key: str) -> str:
        validate_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def create_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests)."""
        try:
            self._client.head_bucket(Bucket=self.bucket)
            return
        except ClientError:
            pass
        try:
            if self.region and self.region != "us-east-1":
                self._client.create_bucket(
                    Bucket=self.bucket,
                    CreateBucketConfiguration={"LocationConstraint": self.region},  # type: ignore[typeddict-item]
                )
            else:
                self._client.create_bucket(Bucket=self.bucket)
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, self.bucket) from exc

    # --- writes -----------------------------------------------------------------------

    def put_file(self, key: str, path: Path, *, content_type: str | None = None) -> None:
        extra = {"ContentType": content_type} if content_type else None
        try:
            self._client.upload_file(
                str(path), self.bucket, self._full(key), ExtraArgs=extra, Config=self._transfer
            )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, key) from exc

    def put_bytes(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        self.put_stream(key, [data], content_type=content_type)

    def put_stream(self, key: str, data: StreamSource, *, content_type: str | None = None) -> int:
        full = self._full(key)
        extra: dict[str, str] = {"ContentType": content_type} if content_type else {}
        parts = _parts(iter_source(data, DEFAULT_CHUNK), self.part_size)
        try:
            first = next(parts, b"")
            second = next(parts, None)
            if second is None:  # small object: one request
                self._client.put_object(Bucket=self.bucket, Key=full, Body=first, **extra)  # type: ignore[arg-type]
                return len(first)
            # Hand the parts over without keeping references here: one part in memory.
            head = [first, second]
            del first, second
            return self._multipart(full, extra, _chain(head, parts))
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, key) from exc

    def _multipart(self, full: str, extra: dict[str, str], bodies: Iterator[bytes]) -> int:
        upload_id = self._client.create_multipart_upload(Bucket=self.bucket, Key=full, **extra)[  # type: ignore[arg-type]
            "UploadId"
        ]
        done: list[dict[str, Any]] = []
        total = 0
        try:
            for number, body in enumerate(bodies, start=1):
                resp = self._client.upload_part(
                    Bucket=self.bucket, Key=full, UploadId=upload_id, PartNumber=number, Body=body
                )
                done.append({"ETag": resp["ETag"], "PartNumber": number})
                total += len(body)
                del body  # drop this part before the next one is read
            self._client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": done},  # type: ignore[typeddict-item]
            )
        except BaseException:
            # Abandoned parts cost money until aborted.
            with suppress(ClientError, BotoCoreError):
                self._client.abort_multipart_upload(
                    Bucket=self.bucket, Key=full, UploadId=upload_id
                )
            raise
        return total

    # --- reads ------------------------------------------------------------------------

    def open_read(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> AbstractContextManager[BinaryIO]:
        full = self._full(key)
        try:
            if start is None and end is None:
                resp = self._client.get_object(Bucket=self.bucket, Key=full)
            else:
                s, e = check_range(self.size(key), start, end)
                if s == e:
                    return io.BytesIO(b"")
                resp = self._client.get_object(
                    Bucket=self.bucket, Key=full, Range=f"bytes={s}-{e - 1}"
                )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, key) from exc
        return io.BufferedReader(_Body(resp["Body"]), buffer_size=DEFAULT_CHUNK)

    def iter_chunks(
        self, key: str, start: int | None = None, end: int | None = None
    ) -> Iterator[bytes]:
        with self.open_read(key, start, end) as fh:
            while block := fh.read(DEFAULT_CHUNK):
                yield block

    def read_bytes(self, key: str) -> bytes:
        with self.open_read(key) as fh:
            return fh.read()

    def get_to_file(self, key: str, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._client.download_file(
                self.bucket, self._full(key), str(path), Config=self._transfer
            )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, key) from exc
        return path

    def _head(self, key: str) -> dict[str, Any]:
        try:
            return dict(self._client.head_object(Bucket=self.bucket, Key=self._full(key)))
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, key) from exc

    def exists(self, key: str) -> bool:
        try:
            self._head(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def list(self, prefix: str = "") -> list[str]:
        validate_prefix(prefix)
        full = f"{self.prefix}/{prefix}" if self.prefix else prefix
        strip = len(self.prefix) + 1 if self.prefix else 0
        keys: list[str] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full
            ):
                keys.extend(obj["Key"][strip:] for obj in page.get("Contents", []))
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, prefix) from exc
        return sorted(keys)

    # --- deletes ----------------------------------------------------------------------

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self._full(key))
        except (ClientError, BotoCoreError) as exc:
            err = _storage_error(exc, key)
            if not isinstance(err, ObjectNotFound):
                raise err from exc

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list(prefix)
        for start in range(0, len(keys), 1000):  # the API's batch limit
            batch = [{"Key": self._full(k)} for k in keys[start : start + 1000]]
            try:
                self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch})  # type: ignore[typeddict-item]
            except (ClientError, BotoCoreError) as exc:
                raise _storage_error(exc, prefix) from exc
        return len(keys)

    # --- URLs -------------------------------------------------------------------------

    def url(self, key: str, expires_s: int = 3600) -> str:
        try:
            return str(
                self._signer.generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket, "Key": self._full(key)},
                    ExpiresIn=int(expires_s),
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise _storage_error(exc, key) from exc


def _parts(chunks: Iterator[bytes], part_size: int) -> Iterator[bytes]:
    """Regroup arbitrary chunks into parts of exactly `part_size` bytes (the last smaller)."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= part_size:
            with memoryview(buf) as view:
                part = bytes(view[:part_size])
            del buf[:part_size]
            yield part
            del part
    if buf:
        yield bytes(buf)


def _chain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    while head:
        yield head.pop(0)  # popped, so this generator holds no finished part
    yield from rest
