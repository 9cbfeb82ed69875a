"""OpenAI engine: compressed audio (split under the 25 MB limit), mapped to our Transcript."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cliply.integrations.openai_audio import DEFAULT_BASE_URL, MAX_UPLOAD_BYTES, OpenAIAudioClient
from cliply.transcribe.audio import encode_compressed, extract_wav, iter_windows, wav_duration
from cliply.transcribe.base import ProgressCallback, report
from cliply.transcribe.cloud import CloudTranscriber
from cliply.transcribe.models import Segment, Transcript, Word

# verbose_json names the language ("english"); we store ISO 639-1 codes.
_LANGUAGE_NAMES = {
    "english": "en",
    "spanish": "es",
    "french": "fr",
    "german": "de",
    "italian": "it",
    "portuguese": "pt",
    "dutch": "nl",
    "japanese": "ja",
}


def _norm(token: str) -> str:
    return re.sub(r"[^\w]", "", token.lower())


def _with_punctuation(words: list[Word], text: str) -> list[Word]:
    """whisper-1 returns words without punctuation; take it from the segment text when the
    tokens line up one to one (otherwise keep the bare words)."""
    tokens = text.split()
    if len(tokens) != len(words) or any(
        _norm(t) != _norm(w.text) for t, w in zip(tokens, words, strict=True)
    ):
        return words
    return [w.model_copy(update={"text": t}) for t, w in zip(tokens, words, strict=True)]


def transcript_parts(
    data: dict[str, Any], offset: float
) -> tuple[list[Segment], float, str | None]:
    """Segments (with their words) of one verbose_json response, shifted by `offset`."""
    raw_words = [w for w in data.get("words") or [] if isinstance(w, dict)]
    words = [
        Word(
            text=str(w.get("word", "")).strip(),
            start=round(offset + max(0.0, float(w.get("start", 0.0))), 3),
            end=round(offset + max(0.0, float(w.get("end", 0.0)), float(w.get("start", 0.0))), 3),
        )
        for w in raw_words
    ]
    words = [w for w in words if w.text]
    segments: list[Segment] = []
    raw_segments = [s for s in data.get("segments") or [] if isinstance(s, dict)]
    remaining = list(words)
    for i, s in enumerate(raw_segments):
        start = round(offset + max(0.0, float(s.get("start", 0.0))), 3)
        end = round(offset + max(0.0, float(s.get("end", 0.0))), 3)
        last = i == len(raw_segments) - 1
        mine = [w for w in remaining if last or w.start < end]
        remaining = remaining[len(mine) :]
        text = str(s.get("text", "")).strip()
        if not text and not mine:
            continue
        segments.append(
            Segment(
                start=start,
                end=end,
                text=text or " ".join(w.text for w in mine),
                words=_with_punctuation(mine, text),
            )
        )
    if not segments and words:
        segments = [
            Segment(
                start=words[0].start,
                end=words[-1].end,
                text=str(data.get("text") or " ".join(w.text for w in words)).strip(),
                words=words,
            )
        ]
    lang = data.get("language")
    language = _LANGUAGE_NAMES.get(str(lang).lower(), str(lang)) if lang else None
    return segments, float(data.get("duration") or 0.0), language


@dataclass
class OpenAITranscriber(CloudTranscriber):
    base_url: str = DEFAULT_BASE_URL
    model: str = "whisper-1"
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    bitrate: str = "32k"
    timeout_s: float = 600.0
    name: str = "openai"

    tmp_prefix: ClassVar[str] = "cliply-oa-"

    def _transcribe(
        self, src: Path, tmp: Path, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        with OpenAIAudioClient(
            self.api_key,
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            max_wait_s=self.max_wait_s,
            max_upload_bytes=self.max_upload_bytes,
            sleep=self.sleep,
        ) as client:
            return self._run(client, src, tmp, language, progress)

    def _run(
        self,
        client: OpenAIAudioClient,
        src: Path,
        tmp: Path,
        language: str | None,
        progress: ProgressCallback | None,
    ) -> Transcript:
        whole = encode_compressed(src, tmp / "audio.ogg", bitrate=self.bitrate)
        # 5% head room: chunk sizes are estimated from the whole file's average bitrate.
        budget = int(self.max_upload_bytes * 0.95)
        if whole.stat().st_size <= budget:
            data = client.transcribe_file(
                whole, model=self.model, language=language, content_type="audio/ogg"
            )
            segments, duration, detected = transcript_parts(data, 0.0)
            report(progress, 1.0)
            return self._transcript(segments, duration, language or detected)
        return self._run_chunked(client, src, whole, tmp, budget, language, progress)

    def _run_chunked(
        self,
        client: OpenAIAudioClient,
        src: Path,
        whole: Path,
        tmp: Path,
        budget: int,
        language: str | None,
        progress: ProgressCallback | None,
    ) -> Transcript:
        wav = extract_wav(src, tmp / "audio.wav")
        total = wav_duration(wav)
        bytes_per_s = whole.stat().st_size / max(total, 0.001)
        whole.unlink()
        window_s = max(2.0, budget / bytes_per_s)
        starts = [w.offset for w in iter_windows(wav, window_s)]
        pending = list(zip(starts, [*starts[1:], total], strict=True))
        segments: list[Segment] = []
        detected: str | None = None
        prompt: str | None = None
        index = 0
        while pending:
            start, end = pending.pop(0)
            part = encode_compressed(
                wav,
                tmp / f"part{index}.ogg",
                start=start,
                duration=end - start,
                bitrate=self.bitrate,
            )
            index += 1
            if part.stat().st_size > self.max_upload_bytes and end - start > 2.0:
                # Variable bitrate made this piece too big: halve it and try again.
                part.unlink()
                middle = (start + end) / 2
                pending[:0] = [(start, middle), (middle, end)]
                continue
            # The previous text as prompt keeps style and spelling consistent across chunks.
            data = client.transcribe_file(
                part, model=self.model, language=language, prompt=prompt, content_type="audio/ogg"
            )
            part.unlink()
            chunk_segments, _, chunk_lang = transcript_parts(data, start)
            segments.extend(chunk_segments)
            detected = detected or chunk_lang
            prompt = " ".join(s.text for s in chunk_segments)[-800:] or None
            report(progress, end / total if total else 1.0)
        return self._transcript(segments, total, language or detected)

    def _transcript(
        self, segments: list[Segment], duration: float, language: str | None
    ) -> Transcript:
        return Transcript(
            language=language or "en",
            duration=round(duration, 3),
            engine=self.name,
            model=self.model,
            segments=segments,
        )
