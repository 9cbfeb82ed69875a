"""Named features of a candidate window, each a value in 0..1 with a reason a person can read.

Per-sentence facts are computed once per transcript (`TranscriptProfile`), so scoring many
overlapping windows stays cheap. A feature that cannot be computed returns value None.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from cliply.highlights.audio import AudioAnalysis
from cliply.highlights.boilerplate import SentenceBoilerplate, sentence_boilerplate
from cliply.highlights.candidates import Candidate
from cliply.highlights.lexicons import ENGLISH, Lexicon
from cliply.highlights.sentences import Sentence
from cliply.highlights.text import tokens
from cliply.transcribe.models import Word


@dataclass(frozen=True)
class FeatureValue:
    name: str
    value: float | None  # None: not available for this input
    reason: str


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _quote(words: Sequence[str], limit: int = 3) -> str:
    uniq = list(dict.fromkeys(words))[:limit]
    return ", ".join(f"'{w}'" for w in uniq)


@dataclass(frozen=True)
class SentenceFacts:
    toks: list[str]
    content: list[str]
    emotion: list[str]
    exclaims: bool
    question: bool
    dangling: str | None
    pronoun_start: str | None


@dataclass(frozen=True)
class HookFacts:
    value: float
    signals: list[str]
    sentences_used: int


@dataclass
class TranscriptProfile:
    sentences: Sequence[Sentence]
    words: Sequence[Word]
    facts: list[SentenceFacts]
    # Prefix sums of sentence embeddings and of their squared norms (window coherence in O(d)).
    emb_prefix: NDArray[np.float64]
    norm_prefix: NDArray[np.float64]
    baseline_similarity: float  # mean similarity of any two sentences of the video
    topic_similarity: float  # mean similarity of neighbouring sentences in one segment
    sentence_segment: Sequence[int]
    median_pace: float  # median words per second of the transcript's sentences
    audio: AudioAnalysis | None
    lexicon: Lexicon = ENGLISH
    # Per sentence: prompt/menu wording and repetition (not hooks; penalised in ranking).
    boilerplate: list[SentenceBoilerplate] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        sentences: Sequence[Sentence],
        words: Sequence[Word],
        embeddings: NDArray[np.float64],
        sentence_segment: Sequence[int],
        audio: AudioAnalysis | None = None,
        lexicon: Lexicon = ENGLISH,
    ) -> TranscriptProfile:
        facts = [_sentence_facts(s.text, lexicon) for s in sentences]
        d = embeddings.shape[1] if embeddings.ndim == 2 and embeddings.shape[1] else 1
        emb = embeddings.reshape(len(sentences), d) if len(sentences) else np.zeros((0, d))
        emb_prefix = np.vstack([np.zeros((1, d)), np.cumsum(emb, axis=0)])
        sq = np.einsum("ij,ij->i", emb, emb)
        norm_prefix = np.concatenate([[0.0], np.cumsum(sq)])
        n = len(sentences)
        total = emb_prefix[-1]
        pairs = n * (n - 1)
        baseline = float((total @ total - sq.sum()) / pairs) if pairs else 0.0
        neighbours = [
            float(emb[k] @ emb[k + 1])
            for k in range(n - 1)
            if sentence_segment and sentence_segment[k] == sentence_segment[k + 1]
        ]
        topic = float(np.mean(neighbours)) if neighbours else baseline
        paces = [s.n_words / s.duration for s in sentences if s.n_words >= 3 and s.duration > 0]
        pace = float(np.median(paces)) if paces else 0.0
        return cls(
            sentences=sentences,
            words=words,
            facts=facts,
            emb_prefix=emb_prefix,
            norm_prefix=norm_prefix,
            baseline_similarity=baseline,
            # Keep a usable spread even when neighbours are barely more alike than strangers.
            topic_similarity=max(topic, baseline + 0.05),
            sentence_segment=sentence_segment,
            median_pace=pace,
            audio=audio,
            lexicon=lexicon,
            boilerplate=sentence_boilerplate(
                [f.toks for f in facts],
                [s.text for s in sentences],
                lexicon.language,
                lexicon.stop_words,
            ),
        )

    def is_boilerplate(self, k: int) -> bool:
        return bool(self.boilerplate) and self.boilerplate[k].is_boilerplate

    def window_similarity(self, first: int, last: int) -> float | None:
        """Mean cosine similarity over all pairs of sentences in the window."""
        w = last - first + 1
        if w < 2:
            return None
        total = self.emb_prefix[last + 1] - self.emb_prefix[first]
        sq = float(self.norm_prefix[last + 1] - self.norm_prefix[first])
        return float((total @ total - sq) / (w * (w - 1)))


# Question and exclamation marks of Latin, CJK (full width) and Arabic script.
_QUESTION = ("?", "\uff1f", "\u061f")
_EXCLAIM = ("!", "\uff01")


def _sentence_facts(text: str, lex: Lexicon = ENGLISH) -> SentenceFacts:
    toks = tokens(text)
    stripped = text.rstrip("\"')]}»\u201d\u2019\u300d\u300f ")
    first = toks[0] if toks else ""
    return SentenceFacts(
        toks=toks,
        content=lex.content_words(toks),
        emotion=[t for t in toks if t in lex.emotion_words],
        exclaims=stripped.endswith(_EXCLAIM),
        question=stripped.endswith(_QUESTION),
        dangling=lex.dangling_opener(toks),
        pronoun_start=first if first in lex.unresolved_pronouns else None,
    )


def hook_facts(profile: TranscriptProfile, first: int, last: int) -> HookFacts:
    """How strongly the opening line grabs: question, bold claim, number, 'you', imperative.

    A very short first sentence ("Okay.") is read together with the next one.
    """
    used = 1
    if len(profile.facts[first].toks) < 4 and first < last:
        used = 2
    facts = profile.facts[first : first + used]
    toks = [t for f in facts for t in f.toks]
    lex = profile.lexicon
    junk = [k for k in range(first, first + used) if profile.is_boilerplate(k)]
    if junk:
        # A menu is full of numbers and "you" and still grabs nobody: no hook at all.
        why = profile.boilerplate[junk[0]].describe()
        return HookFacts(0.0, [f"is boilerplate, not a hook: {why}"], used)
    signals: list[str] = []
    value = 0.0
    if any(f.question for f in facts):
        value += 0.35
        signals.append("asks a question")
    claims = [t for t in toks if t in lex.superlatives]
    if claims:
        value += 0.30
        signals.append(f"makes a bold claim ({_quote(claims)})")
    numbers = [t for t in toks if t.isdigit() or t in lex.number_words]
    if numbers:
        value += 0.20
        signals.append(f"has a number ({_quote(numbers)})")
    you = [t for t in toks if t in lex.direct_address]
    if you:
        value += 0.25
        signals.append(f"addresses the viewer ({_quote(you)})")
    if toks and toks[0] in lex.hook_openers:
        value += 0.15
        signals.append(f"opens with '{toks[0]}'")
    if any(f.exclaims for f in facts):
        value += 0.10
        signals.append("exclaims")
    if facts[0].dangling and signals:
        # "But you never..." leans on what came before; it only half works as an opener.
        value *= 0.5
        signals.append(f"halved: starts with '{facts[0].dangling}'")
    return HookFacts(_clip01(value), signals, used)


def hook_strength(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    hook = hook_facts(profile, c.first, c.last)
    if hook.signals:
        reason = "opening line " + ", ".join(hook.signals)
        if hook.value == 0.0 and hook.signals[0].startswith("is boilerplate"):
            reason += " (its numbers and 'you' do not count)"
    else:
        reason = "opening line has no question, claim, number or direct address"
    if not profile.lexicon.native:
        reason += (
            f" (claims, number words, 'you' and openers not checked: "
            f"{profile.lexicon.english_only_note})"
        )
    return FeatureValue("hook", hook.value, reason)


def self_containedness(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    """Starts without leaning on earlier context and ends on a finished sentence."""
    opening = profile.facts[c.first]
    start = 1.0
    notes: list[str] = []
    if opening.dangling:
        start = 0.0
        notes.append(f"opens mid-thought with '{opening.dangling}'")
    elif opening.pronoun_start:
        start -= 0.4
        notes.append(f"opens with '{opening.pronoun_start}', whose referent came earlier")
    else:
        notes.append("opens cleanly")
    closing = profile.sentences[c.last]
    if not closing.terminal:
        end = 0.4
        notes.append("ends at a pause without final punctuation")
    elif profile.facts[c.last].question:
        end = 0.7
        notes.append("ends on an open question")
    else:
        end = 1.0
        notes.append("ends on a complete sentence")
    if not profile.lexicon.native:
        notes.append(f"opening words not checked ({profile.lexicon.english_only_note})")
    return FeatureValue("self_contained", 0.6 * start + 0.4 * end, "; ".join(notes))


def topic_coherence(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    sim = profile.window_similarity(c.first, c.last)
    base, topic = profile.baseline_similarity, profile.topic_similarity
    if sim is None:
        sim_term = 1.0
        sim_note = "a single sentence"
    else:
        sim_term = _clip01((sim - base) / (topic - base))
        sim_note = f"sentences {sim:.2f} alike (video average {base:.2f}, same-topic {topic:.2f})"
    if c.segment_id is None:
        where = "no topic segmentation"
    elif c.purity >= 0.999:
        where = f"stays in topic segment {c.segment_id}"
    else:
        where = f"spans topic segments ({c.purity:.0%} in segment {c.segment_id})"
    # Crossing into another topic costs fast: half the window elsewhere scores zero.
    value = _clip01((c.purity - 0.5) / 0.5) * (0.4 + 0.6 * sim_term)
    return FeatureValue("coherence", _clip01(value), f"{where}; {sim_note}")


def information_density(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    content = [t for f in profile.facts[c.first : c.last + 1] for t in f.content]
    duration = max(c.duration, 1e-6)
    per_second = len(content) / duration
    diversity = len(set(content)) / len(content) if content else 0.0
    # ~1 content word/s is ordinary speech; 2/s is dense. Type/token ratio 0.3..0.9.
    value = 0.6 * _clip01(per_second / 2.0) + 0.4 * _clip01((diversity - 0.3) / 0.6)
    reason = f"{per_second:.1f} content words/s, {diversity:.0%} of them distinct"
    if not profile.lexicon.native:
        reason += f" (no stop-word list: {profile.lexicon.english_only_note})"
    return FeatureValue("density", value, reason)


def emotional_intensity(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    facts = profile.facts[c.first : c.last + 1]
    n_words = sum(len(f.toks) for f in facts)
    hits = [t for f in facts for t in f.emotion]
    exclaims = sum(f.exclaims for f in facts)
    rate = 100.0 * len(hits) / n_words if n_words else 0.0
    value = _clip01(rate / 8.0 + 0.15 * exclaims)
    parts = [f"{len(hits)} emotional words" + (f" ({_quote(hits)})" if hits else "")]
    if exclaims:
        parts.append(f"{exclaims} exclamations")
    if not profile.lexicon.native:
        parts[0] = f"emotional words not checked ({profile.lexicon.english_only_note})"
    return FeatureValue("emotion", value, ", ".join(parts))


def pace(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    """Delivery speed and flow from word timing: brisk, unbroken talk holds attention."""
    a = profile.sentences[c.first].word_start
    b = profile.sentences[c.last].word_end
    words = profile.words[a:b]
    duration = max(c.duration, 1e-6)
    # Speaking rate inside sentences, comparable with the per-sentence median.
    speaking = sum(s.duration for s in profile.sentences[c.first : c.last + 1])
    wps = len(words) / max(speaking, 1e-6)
    pauses = sum(
        max(0.0, words[k + 1].start - words[k].end)
        for k in range(len(words) - 1)
        if words[k + 1].start - words[k].end > 0.3
    )
    pause_share = pauses / duration
    ref = profile.median_pace or wps or 1.0
    value = 0.7 * _clip01(0.5 + 1.5 * (wps / ref - 1.0)) + 0.3 * (1.0 - _clip01(pause_share / 0.3))
    reason = f"{wps:.1f} words/s (video {ref:.1f}), {pause_share:.0%} long pauses"
    return FeatureValue("pace", value, reason)


def speech_energy(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    if profile.audio is None:
        return FeatureValue("speech_energy", None, "not available: no audio given")
    audio = profile.audio
    stats = audio.window(c.start, c.end)
    z = (stats.mean_db - audio.active_mean_db) / audio.active_std_db
    loudness = _clip01(0.5 + z / 3.0)
    dynamics = _clip01(stats.db_std / (1.5 * audio.active_std_db))
    value = 0.6 * loudness + 0.4 * dynamics
    reason = (
        f"level {stats.mean_db - audio.active_mean_db:+.1f} dB vs the video, "
        f"variation {stats.db_std:.1f} dB (video {audio.active_std_db:.1f} dB)"
    )
    return FeatureValue("speech_energy", value, reason)


def audience_reaction(profile: TranscriptProfile, c: Candidate) -> FeatureValue:
    if profile.audio is None:
        return FeatureValue("laughter_applause", None, "not available: no audio given")
    stats = profile.audio.window(c.start, c.end)
    if not stats.burst_count:
        return FeatureValue("laughter_applause", 0.0, "no laughter or applause-like bursts")
    reason = (
        f"{stats.burst_seconds:.1f} s of laughter/applause-like sound ({stats.burst_count} bursts)"
    )
    return FeatureValue("laughter_applause", _clip01(stats.burst_seconds / 2.0), reason)
