from __future__ import annotations

import numpy as np
import pytest

from cliply.highlights.embeddings import (
    ONNX_MINILM_NAME,
    TFIDF_NAME,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    TfidfEmbedder,
    choose_embedder,
)
from cliply.highlights.segmentation import depth_scores, segment_topics
from cliply.highlights.sentences import split_sentences
from tests.highlights.builders import build_transcript
from tests.highlights.topics import TOPIC_STARTS, topic_talk
from tests.mediagen import TOPIC_SENTENCES


def _segment(embedder: TfidfEmbedder | SentenceTransformerEmbedder, sentences_text: list[str]):
    sentences = split_sentences(build_transcript(sentences_text).words())
    return sentences, segment_topics(sentences, embedder.embed([s.text for s in sentences]))


def test_tfidf_segmentation_finds_the_three_topics() -> None:
    sentences = split_sentences(topic_talk().words())
    seg = segment_topics(sentences, TfidfEmbedder().embed([s.text for s in sentences]))
    assert [s.first_sentence for s in seg.segments] == TOPIC_STARTS
    # Segments tile the transcript in time order.
    assert seg.segments[0].start == sentences[0].start
    assert seg.segments[-1].end == sentences[-1].end
    for a, b in zip(seg.segments, seg.segments[1:]):
        assert a.last_sentence + 1 == b.first_sentence
    assert seg.sentence_segment == sorted(seg.sentence_segment)


def test_one_topic_stays_one_segment() -> None:
    bread = TOPIC_SENTENCES[0] * 4
    _, seg = _segment(TfidfEmbedder(), bread)
    assert len(seg.segments) == 1


def test_depth_is_largest_at_the_deepest_valley() -> None:
    sims = np.array([0.8, 0.7, 0.2, 0.75, 0.8, 0.6, 0.65])
    depth = depth_scores(sims)
    assert int(np.argmax(depth)) == 2
    assert depth[2] == pytest.approx((0.8 - 0.2) + (0.8 - 0.2))
    assert depth[0] == 0.0


def test_tfidf_rows_are_unit_length_or_zero() -> None:
    m = TfidfEmbedder().embed(["Bread rises in the oven.", "the and of", "Yeast makes bread rise."])
    norms = np.linalg.norm(m, axis=1)
    assert norms[0] == pytest.approx(1.0) and norms[2] == pytest.approx(1.0)
    assert norms[1] == 0.0
    assert m[0] @ m[2] > 0


def test_choose_embedder_tfidf_and_auto() -> None:
    emb, name = choose_embedder("tfidf")
    assert isinstance(emb, TfidfEmbedder) and name == TFIDF_NAME
    # The ONNX MiniLM ships with every install (main dependency): auto picks it.
    auto, auto_name = choose_embedder()
    assert isinstance(auto, OnnxMiniLMEmbedder) and auto_name == ONNX_MINILM_NAME
    with pytest.raises(ValueError):
        choose_embedder("word2vec")


def test_onnx_minilm_segmentation_finds_the_topic_changes() -> None:
    embedder, name = choose_embedder("onnx")
    assert name == ONNX_MINILM_NAME
    sentences = split_sentences(topic_talk().words())
    texts = [s.text for s in sentences]
    vectors = embedder.embed(texts)
    assert vectors.shape == (len(sentences), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    # Batching by length must not change a text's vector (padding is masked out).
    alone = embedder.embed([texts[5]])[0]
    assert float(alone @ vectors[5]) > 0.999
    seg = segment_topics(sentences, vectors)
    starts = [s.first_sentence for s in seg.segments]
    assert len(starts) == 3
    for found, expected in zip(starts, TOPIC_STARTS):
        assert abs(found - expected) <= 1


@pytest.mark.skipif(not SentenceTransformerEmbedder.available(), reason="no torch extra")
def test_onnx_minilm_matches_the_torch_model() -> None:
    texts = [" ".join(s) for s in TOPIC_SENTENCES]
    onnx, _ = choose_embedder("onnx")
    torch, _ = choose_embedder("minilm")
    cos = np.sum(onnx.embed(texts) * torch.embed(texts), axis=1)
    assert cos.min() > 0.98  # int8 weights: near, not equal


def _minilm_usable() -> bool:
    try:
        return SentenceTransformerEmbedder.available()
    except Exception:
        return False


@pytest.mark.skipif(not _minilm_usable(), reason="embeddings extra (sentence-transformers) absent")
def test_minilm_segmentation_finds_the_topic_changes() -> None:
    embedder, name = choose_embedder("minilm")
    assert name == "sentence-transformers/all-MiniLM-L6-v2"
    sentences = split_sentences(topic_talk().words())
    vectors = embedder.embed([s.text for s in sentences])
    assert vectors.shape == (len(sentences), 384)
    seg = segment_topics(sentences, vectors)
    starts = [s.first_sentence for s in seg.segments]
    assert len(starts) == 3
    for found, expected in zip(starts, TOPIC_STARTS):
        assert abs(found - expected) <= 1
