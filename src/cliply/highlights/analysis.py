"""Everything computed once per transcript before windows are scored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cliply.highlights.audio import analyse_wav
from cliply.highlights.embeddings import Embedder, TfidfEmbedder, choose_embedder
from cliply.highlights.features import TranscriptProfile
from cliply.highlights.keywords import KeywordExtractor
from cliply.highlights.lexicons import lexicon_for
from cliply.highlights.segmentation import Segmentation, segment_topics
from cliply.highlights.sentences import Sentence, clean_words, split_sentences
from cliply.transcribe.models import Transcript


@dataclass
class TranscriptAnalysis:
    sentences: list[Sentence]
    segmentation: Segmentation
    profile: TranscriptProfile
    keywords: KeywordExtractor
    embedder_name: str
    notes: list[str] = field(default_factory=list)


def analyse_transcript(
    transcript: Transcript,
    *,
    embedder: Embedder | None = None,
    wav_path: Path | str | None = None,
    pause_s: float = 1.0,
    max_sentence_s: float = 30.0,
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
    try:
        embeddings = embedder.embed(texts)
    except Exception as exc:
        if isinstance(embedder, TfidfEmbedder):
            raise
        notes.append(f"embedder {embedder_name} failed ({exc!r})")
        embedder = TfidfEmbedder()
        embedder_name = embedder.name
        embeddings = embedder.embed(texts)
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
    return TranscriptAnalysis(sentences, segmentation, profile, keywords, embedder_name, notes)
