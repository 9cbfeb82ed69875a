"""Publishing outcomes that are not platform protocol errors."""

from __future__ import annotations


class PublishRefused(Exception):
    """The post cannot be made as asked (audience not offered, clip too long, ...);
    retrying will not help. `code` is stable."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
