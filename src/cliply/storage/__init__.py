"""Object storage: one interface over the local filesystem and S3-compatible services."""

from cliply.storage.base import (
    InvalidKey,
    InvalidRange,
    ObjectNotFound,
    Storage,
    StorageError,
)
from cliply.storage.factory import app_storage, storage_from_url
from cliply.storage.local import LocalStorage
from cliply.storage.s3 import S3Storage

__all__ = [
    "InvalidKey",
    "InvalidRange",
    "LocalStorage",
    "ObjectNotFound",
    "S3Storage",
    "Storage",
    "StorageError",
    "app_storage",
    "storage_from_url",
]
