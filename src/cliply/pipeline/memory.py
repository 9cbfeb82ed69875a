"""Giving memory back between and during the pipeline's stages.

glibc's malloc keeps what a stage freed (audio windows, decoder buffers, embedding batches) in
its arenas, one per thread that allocated (CTranslate2 and ONNX Runtime run their own
threads), and returns it to the system only from the top of each heap. Over a long source the
held-but-free part grows window after window: a 3-hour transcription reached 1,034 MiB
without trimming and 797 MiB with a trim after each window, and it all stayed resident into
the render (benchmarks/README.md, issue #16 §5). `trim()` hands the free pages back
(malloc_trim); `release_models()` also drops the cached speech and embedding models, which the
worker keeps between jobs to save loading them again (about a second).
"""

from __future__ import annotations

import ctypes
import gc
import sys
import time
from collections.abc import Callable

from cliply.highlights import embeddings
from cliply.transcribe import local

# Progress callbacks can come often (a cloud engine reports its upload); trimming walks every
# arena, so at most this often.
TRIM_EVERY_S = 5.0


def _load_malloc_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return None
    return fn


_malloc_trim = _load_malloc_trim()


def trim(*, collect: bool = True) -> bool:
    """Collect garbage (`collect`), then return malloc's free pages to the system; False where
    this C library cannot."""
    if collect:
        gc.collect()
    if _malloc_trim is None:
        return False
    _malloc_trim(0)
    return True


def release_models(*, speech: bool = False, embedding: bool = False) -> None:
    """Drop the cached speech and/or embedding models and give their memory back; the next
    job that needs one loads it again (a job still using one keeps its own reference)."""
    if speech:
        local.clear_model_cache()
    if embedding:
        embeddings.clear_model_cache()
    trim()


def should_release(duration_s: float | None, release_after_s: float | None) -> bool:
    """Whether a stage that just handled `duration_s` seconds of source releases its models:
    `release_after_s` None keeps them, 0 always releases."""
    if release_after_s is None:
        return False
    return (duration_s or 0.0) >= release_after_s


def trimming(
    progress: Callable[[float], None], every_s: float | None = None
) -> Callable[[float], None]:
    """`progress`, trimming malloc as it is called (at most every `every_s` seconds, None:
    TRIM_EVERY_S): the local engine reports after each audio window, so what a window freed
    goes back before the next one allocates."""
    every_s = TRIM_EVERY_S if every_s is None else every_s
    last = [time.monotonic()]

    def report(fraction: float) -> None:
        now = time.monotonic()
        if now - last[0] >= every_s:
            last[0] = now
            trim(collect=False)  # a window's buffers are not cyclic garbage
        progress(fraction)

    return report
