"""Job handlers used only by the job-system tests (workers import this module through
CLIPLY_EXTRA_HANDLER_MODULES=tests.jobs.handlers)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from cliply.errors import PermanentError, RetryableError
from cliply.jobs.registry import JobContext, handler

NOOP = "T_NOOP"
SLEEP = "T_SLEEP"
POLL = "T_POLL"
HANG = "T_HANG"
FAIL = "T_FAIL"
STRICT = "T_STRICT"
EVENTS = "T_EVENTS"
FFMPEG = "T_FFMPEG"
KINDS = ",".join([NOOP, SLEEP, POLL, HANG, FAIL, STRICT, EVENTS, FFMPEG])


def note(ctx: JobContext, what: str) -> None:
    """Append `job_id attempt pid what` to the payload's log file (O_APPEND: whole lines)."""
    path = ctx.payload.get("log")
    if path:
        line = f"{ctx.job_id} {ctx.attempt} {os.getpid()} {what}\n"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


@handler(NOOP)
def noop(ctx: JobContext) -> dict[str, Any]:
    note(ctx, "run")
    time.sleep(float(ctx.payload.get("sleep", 0)))
    return {"n": ctx.payload.get("n")}


@handler(SLEEP)
def sleep(ctx: JobContext) -> dict[str, Any]:
    """Sleeps `s` seconds (only `s_first` on attempt 1, if given), reporting progress."""
    note(ctx, "start")
    total = float(ctx.payload.get("s_first" if ctx.attempt == 1 else "s", ctx.payload.get("s", 0)))
    deadline = time.monotonic() + total
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.05, left))
        ctx.progress(1 - left / total if total else 1.0, "sleeping")
    note(ctx, "end")
    return {"slept": total}


@handler(POLL)
def poll(ctx: JobContext) -> None:
    """Never reports progress: stops only when the heartbeat loop sets ctx.cancelled."""
    note(ctx, "start")
    deadline = time.monotonic() + float(ctx.payload.get("s", 60))
    while not ctx.cancelled and time.monotonic() < deadline:
        time.sleep(0.02)
    ctx.check_cancelled()


@handler(HANG)
def hang(ctx: JobContext) -> None:
    """Ignores cancellation entirely (a stuck native call)."""
    note(ctx, "start")
    time.sleep(float(ctx.payload.get("s", 60)))
    note(ctx, "end")


@handler(FAIL)
def fail(ctx: JobContext) -> None:
    note(ctx, "run")
    how = ctx.payload.get("how")
    if how == "permanent":
        raise PermanentError("the input is unusable", code="bad-input")
    if how == "crash":
        raise ZeroDivisionError("division by zero")
    raise RetryableError("upstream returned 503", code="upstream-503")


class StrictPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    clip_id: int
    title: str


@handler(STRICT)
def strict(ctx: JobContext) -> dict[str, Any]:
    body = StrictPayload.model_validate(ctx.payload)
    return {"clip_id": body.clip_id}


@handler(EVENTS)
def events(ctx: JobContext) -> dict[str, Any]:
    ctx.event("engine", "used the local model", engine="local", words=3)
    ctx.event("note", "second note")
    if ctx.payload.get("fail"):
        raise PermanentError("gave up after noting things", code="gave-up")
    return {"ok": True}


@handler(FFMPEG)
def ffmpeg(ctx: JobContext) -> dict[str, Any]:
    """A real ffmpeg run of `s` seconds (`s_first` on attempt 1), the way render handlers
    run tools: a media error fails the job for good, as bad input would. Leaves a file in
    its scratch folder first."""
    from cliply.media.tools import run_ffmpeg

    (ctx.scratch_dir() / "partial.bin").write_bytes(b"x" * 1024)
    note(ctx, "start")
    secs = float(ctx.payload.get("s_first" if ctx.attempt == 1 else "s", ctx.payload.get("s", 1)))
    args = ["-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", f"{secs:g}"]
    # A MediaError goes to the worker unchanged: retried when retryable (stopped by a
    # signal), failed for good otherwise (bad input).
    run_ffmpeg([*args, "-f", "null", "-"])
    note(ctx, "end")
    return {"seconds": secs}


def read_log(path: Path) -> list[tuple[str, int, int, str]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        job_id, attempt, pid, what = line.split(" ")
        out.append((job_id, int(attempt), int(pid), what))
    return out
