"""Boundaries and boilerplate on real recordings, transcribed by the real speech model.

The issue's finding: a clip ran from a famous speech line straight into an unrelated phone
call, and an automated phone menu ("Please press one to mute…") scored highest. Reproduced
here with real recordings (tests/highlights/recordings.py): a LibriVox reading, then the
Asterisk conference prompts (another voice, on a telephone line), then the reading again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cliply.highlights import Highlight, detect_highlights
from cliply.highlights.analysis import analyse_transcript
from cliply.transcribe.local import LocalTranscriber
from cliply.transcribe.models import Transcript
from tests.highlights import recordings

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Source:
    wav: Path
    pieces: list[recordings.Piece]
    transcript: Transcript

    @property
    def changes(self) -> list[float]:
        """Where one recording hands over to a different one (reading ↔ prompts)."""
        return [
            (a.end + b.start) / 2
            for a, b in zip(self.pieces, self.pieces[1:], strict=False)
            if a.source != b.source
        ]

    def kind(self, h: Highlight) -> set[str]:
        return {p.source for p in self.pieces if min(p.end, h.end) - max(p.start, h.start) > 0.3}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Source:
    wav = tmp_path_factory.mktemp("real") / "reading-then-phone.wav"
    pieces = recordings.join(
        wav, recordings.reading() + recordings.prompts() + recordings.reading(3)
    )
    transcript = LocalTranscriber().transcribe(wav, language="en")
    return Source(wav, pieces, transcript)


def test_the_change_of_speaker_and_line_is_found_and_nothing_else(source: Source) -> None:
    analysis = analyse_transcript(source.transcript, wav_path=source.wav)
    assert analysis.boundaries is not None and analysis.boundaries.audio_used
    found = [b.time for b in analysis.boundaries.changes]
    assert len(source.changes) == 2
    for true in source.changes:
        assert any(abs(t - true) <= 1.0 for t in found), (true, found)
    for t in found:  # no same-speaker gap is taken for a change
        assert any(abs(t - true) <= 1.0 for true in source.changes), (t, source.changes)


def test_no_clip_runs_from_the_reading_into_the_phone_call_without_saying_so(
    source: Source,
) -> None:
    result = detect_highlights(source.transcript, wav_path=source.wav, top_k=5)
    assert result.highlights
    best = result.highlights[0]
    assert len(source.kind(best)) == 1, best.text
    for h in result.highlights:
        crosses = any(h.start < t < h.end for t in source.changes)
        boundary = [r for r in h.reasons if r.name == "boundary"]
        if crosses:
            assert boundary and boundary[0].points < 0, h.text
            assert "speaker/audio change" in boundary[0].reason
        assert sum(r.points for r in h.reasons) == pytest.approx(h.score, abs=0.02)


def test_the_phone_menu_does_not_outrank_real_speech(source: Source) -> None:
    result = detect_highlights(
        source.transcript, wav_path=source.wav, min_s=3, max_s=20, top_k=20, max_overlap=0.0
    )
    reading = [h for h in result.highlights if source.kind(h) == {"reading"}]
    menu = [h for h in result.highlights if source.kind(h) == {"prompt"}]
    assert reading and menu
    assert min(h.score for h in reading) > max(h.score for h in menu)
    assert source.kind(result.highlights[0]) == {"reading"}
    for h in menu:
        hook = next(r for r in h.reasons if r.name == "hook")
        assert hook.points == 0 and "boilerplate" in hook.reason, hook.reason
        penalty = next(r for r in h.reasons if r.name == "boilerplate")
        assert penalty.points < 0 and "automated-prompt/menu wording" in penalty.reason
    press = [h for h in menu if "press 1" in h.text.lower()]
    assert press and "'press 1'" in next(r for r in press[0].reasons if r.name == "hook").reason
