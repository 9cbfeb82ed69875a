"""Observation points inside a publish attempt.

`after_upload` hooks run right after the platform accepted the whole file and before our
database records the result: the moment a crash is most dangerous for exactly-once. Tests
use it to kill an attempt there; operators may use it for tracing. Hooks get
(platform, post_id, upload_ref).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

AfterUpload = Callable[[str, uuid.UUID, str], None]

after_upload: list[AfterUpload] = []


def fire_after_upload(platform: str, post_id: uuid.UUID, upload_ref: str) -> None:
    for hook in list(after_upload):
        hook(platform, post_id, upload_ref)
