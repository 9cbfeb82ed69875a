"""Publishing outcomes that are not platform protocol errors."""

from __future__ import annotations

from cliply.errors import CliplyError


class PublishRefused(CliplyError):
    """The post cannot be made as asked (audience not offered, clip too long, ...);
    retrying will not help. Raise sites give the specific `code`."""

    status, code, title = 422, "publish-refused", "Cannot publish"
