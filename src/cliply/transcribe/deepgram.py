"""Deepgram engine: compress the audio, send it to the pre-recorded API, map the result."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cliply.integrations.deepgram import DEFAULT_BASE_URL, DeepgramClient
from cliply.transcribe.audio import encode_compressed
from cliply.transcribe.base import ProgressCallback, TranscriptionError, report
from cliply.transcribe.cloud import CloudTranscriber
from cliply.transcribe.models import Segment, Transcript, Word


def _speaker(value: Any) -> str | None:
    return None if value is None else str(value)


def _word(raw: dict[str, Any]) -> Word:
    start = max(0.0, float(raw.get("start", 0.0)))
    return Word(
        text=str(raw.get("punctuated_word") or raw.get("word") or "").strip(),
        start=start,
        end=max(start, float(raw.get("end", start))),
        confidence=float(raw["confidence"]) if raw.get("confidence") is not None else None,
        speaker=_speaker(raw.get("speaker")),
    )


def _segments_from_words(words: list[Word]) -> list[Segment]:
    """Without utterances, cut segments at sentence ends and speaker changes."""
    segments: list[Segment] = []
    current: list[Word] = []
    for w in words:
        if current and w.speaker != current[-1].speaker:
            segments.append(_segment(current))
            current = []
        current.append(w)
        if w.text.endswith((".", "?", "!")):
            segments.append(_segment(current))
            current = []
    if current:
        segments.append(_segment(current))
    return segments


def _segment(words: list[Word]) -> Segment:
    return Segment(
        start=words[0].start,
        end=words[-1].end,
        text=" ".join(w.text for w in words),
        words=words,
        speaker=words[0].speaker,
    )


def transcript_from_response(
    data: dict[str, Any], *, model: str, language: str | None
) -> Transcript:
    """Map a Deepgram /v1/listen JSON response onto our Transcript."""
    try:
        results = data["results"]
        alternative = results["channels"][0]["alternatives"][0]
    except (KeyError, IndexError, TypeError) as exc:
        raise TranscriptionError(
            "Deepgram response lacks results.channels[0].alternatives[0]",
            code="deepgram-bad-response",
            retryable=True,
        ) from exc
    words = [_word(w) for w in alternative.get("words") or [] if isinstance(w, dict)]
    words = [w for w in words if w.text]
    utterances = results.get("utterances") or []
    segments: list[Segment] = []
    for u in utterances:
        u_words = [_word(w) for w in u.get("words") or [] if isinstance(w, dict)]
        u_words = [w for w in u_words if w.text]
        text = " ".join(w.text for w in u_words) or str(u.get("transcript") or "").strip()
        if not text:
            continue
        segments.append(
            Segment(
                start=max(0.0, float(u.get("start", 0.0))),
                end=max(0.0, float(u.get("end", 0.0))),
                text=text,
                words=u_words,
                speaker=_speaker(u.get("speaker")),
            )
        )
    if not segments:
        segments = _segments_from_words(words)
    metadata = data.get("metadata") or {}
    detected = alternative.get("languages") or [results["channels"][0].get("detected_language")]
    return Transcript(
        language=language or next((x for x in detected if x), None) or "en",
        duration=float(metadata.get("duration") or (segments[-1].end if segments else 0.0)),
        engine="deepgram",
        model=model,
        segments=segments,
    )


@dataclass
class DeepgramTranscriber(CloudTranscriber):
    base_url: str = DEFAULT_BASE_URL
    model: str = "nova-2"
    diarize: bool = False
    compress: bool = True  # send small Opus audio instead of the (video) source
    timeout_s: float = 900.0
    name: str = "deepgram"

    tmp_prefix: ClassVar[str] = "cliply-dg-"

    def _transcribe(
        self, src: Path, tmp: Path, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        upload = src
        ctype: str | None = None
        if self.compress:
            upload = encode_compressed(src, tmp / "audio.ogg")
            ctype = "audio/ogg"
        report(progress, 0.1)
        with DeepgramClient(
            self.api_key,
            base_url=self.base_url,
            timeout_s=self.timeout_s,
            max_retries=self.max_retries,
            max_wait_s=self.max_wait_s,
            sleep=self.sleep,
        ) as client:
            data = client.listen_file(
                upload,
                content_type=ctype,
                model=self.model,
                language=language,
                diarize=self.diarize,
            )
        transcript = transcript_from_response(data, model=self.model, language=language)
        report(progress, 1.0)
        return transcript
