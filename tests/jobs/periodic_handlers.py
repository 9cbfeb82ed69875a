"""A periodic task for the scheduler test: logs the tick it ran for (path from the env)."""

from __future__ import annotations

import os

from cliply.jobs.registry import periodic
from cliply.jobs.scheduler import current_tick


@periodic("test.tick", every_s=1)
def tick() -> None:
    t = current_tick()
    line = f"{t.isoformat() if t else 'none'} {os.getpid()}\n"
    fd = os.open(os.environ["CLIPLY_TEST_TICK_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)
