"""A three-topic talk built from tests.mediagen.TOPIC_SENTENCES, long enough for 20-60 s clips."""

from __future__ import annotations

from cliply.transcribe.models import Transcript
from tests.highlights.builders import build_transcript
from tests.mediagen import TOPIC_SENTENCES

# Each topic said twice (~40 s per topic at 2.5 words/s), so windows of 20-60 s fit in one.
TALK: list[str] = [s for topic in TOPIC_SENTENCES for s in topic + topic]
TOPIC_STARTS = [
    0,
    2 * len(TOPIC_SENTENCES[0]),
    2 * (len(TOPIC_SENTENCES[0]) + len(TOPIC_SENTENCES[1])),
]


def topic_talk() -> Transcript:
    return build_transcript(TALK)
