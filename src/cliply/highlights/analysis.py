"""Everything computed once per transcript before windows are scored."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from cliply.highlights.audio import analyse_wav
from cliply.highlights.boundaries import BoundaryMap, find_boundaries
from cliply.highlights.embeddings import Embedder, TfidfEmbedder, choose_embedder
from cliply.highlights.features import TranscriptProfile
from cliply.highlights.keywords import KeywordExtractor
from cliply.highlights.lexicons import lexicon_for
from cliply.highlights.segmentation import Segmentation, segment_topics
from cliply.highlights.sentences import Sentence, clean_words, split_sentences
from cliply.transcribe.models import Transcript, Word


@dataclass
class TranscriptAnalysis:
    sentences: list[Sentence]
    segmentation: Segmentation
    profile: TranscriptProfile
    keywords: KeywordExtractor
    embedder_name: str
    notes: list[str] = field(default_factory=list)
    boundaries: BoundaryMap | None = None
    # (sentence embeddings, prompt embedding) from one call, comparable with each other.
    prompt_space: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None


def analyse_transcript(
    transcript: Transcript,
    *,
    embedder: Embedder | None = None,
    wav_path: Path | str | None = None,
    pause_s: float = 1.0,
    max_sentence_s: float = 30.0,
    prompt: str | None = None,
) -> TranscriptAnalysis:
    """Sentences, embeddings, topic segments, keywords and audio features of one transcript.

    An embedder that fails at run time is replaced by TF-IDF (noted), so the optional model
    can never fail a job. Raises AudioReadError when `wav_path` cannot be read.
    """
    notes: list[str] = []
    if embedder is None:
        embedder, embedder_name = choose_embedder()
    else:
        embedder_name = embedder.name
    words = clean_words(transcript.words())
    sentences = split_sentences(words, pause_s=pause_s, max_sentence_s=max_sentence_s)
    texts = [s.text for s in sentences]
    if not sentences:
        notes.append("transcript has no words")
    # The prompt is embedded in the same call: TF-IDF rows compare only within one call.
    batch = [*texts, prompt] if prompt and texts else texts
    try:
        embeddings = embedder.embed(batch)
    except Exception as exc:
        if isinstance(embedder, TfidfEmbedder):
            raise
        notes.append(f"embedder {embedder_name} failed ({exc!r})")
        embedder = TfidfEmbedder()
        embedder_name = embedder.name
        embeddings = embedder.embed(batch)
    prompt_space = None
    if len(batch) > len(texts):
        joint = np.asarray(embeddings, dtype=np.float64)
        embeddings = embeddings[: len(texts)]
        if isinstance(embedder, TfidfEmbedder):
            # TF-IDF fitted with the prompt shifts every weight a little: the features use
            # the sentences' own fit, so a prompt changes nothing but the prompt reason.
            embeddings = embedder.embed(texts)
        prompt_space = (joint[: len(texts)], joint[-1])
    if embedder_name == TfidfEmbedder.name:
        notes.append("lexical TF-IDF fallback used for topic similarity")

    lexicon = lexicon_for(transcript.language)
    if not lexicon.native:
        notes.append(
            f"spoken language '{lexicon.language}': hook, emotion and opening-word signals "
            f"that need word lists are skipped ({lexicon.english_only_note})"
        )
    keywords = KeywordExtractor(texts, stop_words=lexicon.stop_words | lexicon.generic_words)
    if not sentences:
        embeddings = embeddings.reshape(0, 1)
    segmentation = segment_topics(sentences, embeddings, keywords=lambda t: keywords.top(t, 3))
    audio = analyse_wav(wav_path) if wav_path is not None else None
    if audio is None:
        notes.append("no audio given: speech energy and laughter/applause not scored")
    profile = TranscriptProfile.build(
        sentences, words, embeddings, segmentation.sentence_segment, audio, lexicon
    )
    boundaries = find_boundaries(sentences, wav_path, speakers=_speakers(sentences, words))
    if not boundaries.audio_used:
        notes.append("no audio given: speaker/audio changes not found (pauses still are)")
    return TranscriptAnalysis(
        sentences,
        segmentation,
        profile,
        keywords,
        embedder_name,
        notes,
        boundaries=boundaries,
        prompt_space=prompt_space,
    )


def _speakers(sentences: list[Sentence], words: list[Word]) -> list[str | None] | None:
    """The speaker label most of each sentence's words carry (None: the engine gave none)."""
    if not any(w.speaker for w in words):
        return None
    out: list[str | None] = []
    for s in sentences:
        labels = Counter(w.speaker for w in words[s.word_start : s.word_end] if w.speaker)
        out.append(labels.most_common(1)[0][0] if labels else None)
    return out
