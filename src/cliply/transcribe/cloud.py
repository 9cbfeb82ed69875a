"""Settings and flow shared by the engines that upload audio to a speech-to-text API."""

from __future__ import annotations

import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from cliply.transcribe.audio import check_input
from cliply.transcribe.base import ProgressCallback, report
from cliply.transcribe.models import Transcript


@dataclass
class CloudTranscriber(ABC):
    """Checks the input and gives the engine a scratch folder."""

    api_key: str
    base_url: str
    model: str
    timeout_s: float
    max_retries: int = 3
    max_wait_s: float = 60.0
    work_dir: Path | None = None
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    name: str = ""

    tmp_prefix: ClassVar[str] = "cliply-cloud-"

    def transcribe(
        self,
        audio_path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        check_input(audio_path)
        report(progress, 0.0)
        # API client errors (RetryableHTTPError: code, retryable) pass through unchanged.
        with tempfile.TemporaryDirectory(prefix=self.tmp_prefix, dir=self.work_dir) as tmp:
            return self._transcribe(audio_path, Path(tmp), language, progress)

    @abstractmethod
    def _transcribe(
        self, src: Path, tmp: Path, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        """The engine's own steps: compress/split the audio, call the API, map the result."""
