"""Job kinds, handler and periodic-task registration, and the context a handler runs with.

Handlers are plain synchronous functions `fn(ctx: JobContext) -> dict | None` (the worker runs
them in threads so heartbeats never stall). They must be idempotent: running one twice leaves
the same rows and objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

# Handlers fail jobs with the one error base; these two are importable from here as well.
from cliply.errors import PermanentError as PermanentError
from cliply.errors import RetryableError as RetryableError
from cliply.jobs.scratch import attempt_dir

# Pipeline kinds (DESIGN.md "Jobs")
INGEST = "INGEST"
YOUTUBE_DOWNLOAD = "YOUTUBE_DOWNLOAD"
TRANSCRIBE = "TRANSCRIBE"
HIGHLIGHT_DETECT = "HIGHLIGHT_DETECT"
CLIP_RENDER = "CLIP_RENDER"
# Publishing: one PUBLISH_<PLATFORM> kind per adapter (`Platform.job_kind`, cliply.platforms).

CAPABILITIES = ("cpu", "gpu", "publish", "io")


class JobCancelled(Exception):
    """Raised inside a handler (by progress/heartbeat) once the job was cancelled.

    Handlers fail a job by raising any `cliply.errors.CliplyError`: the worker retries it
    with backoff when `retryable`, otherwise fails the job with its code and message."""


class JobInterrupted(JobCancelled):
    """The worker stopped the job without ending it (shutting down, or the job was reclaimed):
    it runs again, so a handler leaves its project and clips as they are."""


# Stop reasons after which the job runs again (it is released or was reclaimed), not ended.
INTERRUPTED = frozenset({"shutdown", "lost"})


class ProgressSink(Protocol):
    def __call__(self, job_id: uuid.UUID, fraction: float, message: str | None) -> bool:
        """Record progress; returns True when the job has been cancelled."""


@dataclass
class JobContext:
    job_id: uuid.UUID
    kind: str
    payload: dict[str, Any]
    workspace_id: uuid.UUID | None
    project_id: uuid.UUID | None
    attempt: int
    worker_id: str
    sink: ProgressSink | None = None
    cancelled: bool = False
    stop_reason: str | None = None  # set by the worker: cancelled | timeout | shutdown | lost
    scratch_root: Path | None = None  # where scratch_dir() creates this attempt's folder
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    # When each entry of `events` was noted (same order), for the timeline.
    event_times: list[datetime] = field(default_factory=list)

    def progress(self, fraction: float, message: str | None = None) -> None:
        """Report progress in [0, 1]; raises JobCancelled if the job was cancelled meanwhile."""
        fraction = min(1.0, max(0.0, fraction))
        if self.sink is not None and self.sink(self.job_id, fraction, message):
            self.cancelled = True
        self.check_cancelled()

    @property
    def interrupted(self) -> bool:
        """The worker stopped this attempt and the job runs again (shutdown, reclaimed)."""
        return self.stop_reason in INTERRUPTED

    def check_cancelled(self) -> None:
        if self.cancelled:
            if self.interrupted:
                raise JobInterrupted(f"job {self.job_id} was stopped ({self.stop_reason})")
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def scratch_dir(self) -> Path:
        """This attempt's scratch folder (created on first use). The worker removes it when
        the attempt ends; the cleanup task removes those of attempts that died with their
        worker. Use it (or temp folders inside it) for every file a job writes locally."""
        if self.scratch_root is None:
            self.scratch_root = attempt_dir(self.job_id, self.attempt, self.worker_id)
        self.scratch_root.mkdir(parents=True, exist_ok=True)
        return self.scratch_root

    def event(self, event: str, message: str, **data: Any) -> None:
        """Note something for the job's timeline (e.g. which engine produced a transcript)."""
        self.events.append((event, message, data))
        self.event_times.append(datetime.now(UTC))


Handler = Callable[[JobContext], "dict[str, Any] | None"]


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    fn: Handler
    capability: str
    timeout_s: float | None


@dataclass(frozen=True)
class PeriodicSpec:
    name: str
    fn: Callable[[], Any]
    every_s: float | None
    cron: str | None


HANDLERS: dict[str, HandlerSpec] = {}
PERIODIC: dict[str, PeriodicSpec] = {}


def handler(
    kind: str, *, capability: str = "cpu", timeout_s: float | None = None
) -> Callable[[Handler], Handler]:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}")

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = HandlerSpec(kind, fn, capability, timeout_s)
        return fn

    return register


def periodic(
    name: str, *, every_s: float | None = None, cron: str | None = None
) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    if (every_s is None) == (cron is None):
        raise ValueError("give exactly one of every_s or cron")
    if every_s is not None and every_s <= 0:
        raise ValueError("every_s must be positive")
    if cron is not None:
        from croniter import croniter

        if not croniter.is_valid(cron):
            raise ValueError(f"invalid cron expression {cron!r}")

    def register(fn: Callable[[], Any]) -> Callable[[], Any]:
        PERIODIC[name] = PeriodicSpec(name, fn, every_s, cron)
        return fn

    return register


def load_handlers(modules: Iterable[str] = ()) -> None:
    """Import extra handler modules named in settings (CLIPLY_EXTRA_HANDLER_MODULES).

    The domains' own handler modules are imported by name in `cliply.app`, the top floor."""
    import importlib

    for module in modules:
        importlib.import_module(module)
