"""Highlight features in other languages: native word lists for es, fr, de, pt; elsewhere
the word-list signals are skipped and the reasons say so."""

from __future__ import annotations

import pytest

from cliply.highlights import TfidfEmbedder, detect_highlights
from cliply.highlights.lexicons import LEXICON_LANGUAGES, lexicon_for
from cliply.highlights.text import tokens
from tests.highlights.builders import build_transcript

OPENERS = {
    "es": "Imagina que nunca tuviste que pagar por tu primera casa en la ciudad.",
    "fr": "Imaginez que vous ne payez jamais votre première maison en ville.",
    "de": "Stell dir vor, du zahlst nie wieder für dein erstes Haus in der Stadt.",
    "pt": "Imagine que você nunca pagou pela sua primeira casa na cidade.",
}
FILLER = {
    "es": "La casa tiene un jardín pequeño con árboles viejos y una cocina amplia.",
    "fr": "La maison a un petit jardin avec de vieux arbres et une grande cuisine.",
    "de": "Das Haus hat einen kleinen Garten mit alten Bäumen und eine große Küche.",
    "pt": "A casa tem um jardim pequeno com árvores velhas e uma cozinha ampla.",
}


def _hook(language: str, opener: str, filler: str) -> tuple[float, str, list[str]]:
    t = build_transcript([opener] + [filler] * 8).model_copy(update={"language": language})
    found = detect_highlights(t, min_s=10, max_s=20, top_k=20, embedder=TfidfEmbedder())
    first = [h for h in found.highlights if h.text.startswith(opener)]
    assert first, "no clip opens with the hook sentence"
    hook = next(r for r in first[0].reasons if r.name == "hook")
    return hook.value or 0.0, hook.reason, found.notes


def test_tokens_keep_accents_and_every_script() -> None:
    assert tokens("¿Qué tal? C'est l'été. Привет, नमस्ते!") == [
        "qué",
        "tal",
        "c'est",
        "l'été",
        "привет",
        "नमस्ते",
    ]


@pytest.mark.parametrize("language", ["es", "fr", "de", "pt"])
def test_native_lists_find_hooks(language: str) -> None:
    assert language in LEXICON_LANGUAGES and lexicon_for(language).native
    value, reason, notes = _hook(language, OPENERS[language], FILLER[language])
    assert value >= 0.4, reason
    assert "addresses the viewer" in reason and "number" in reason, reason
    assert "bold claim" in reason, reason
    assert not any("word lists" in n for n in notes)


def test_other_languages_say_the_lists_are_missing() -> None:
    opener = "Представь, что ты никогда не платил за свой первый дом в городе?"
    filler = "У дома маленький сад со старыми деревьями и большая кухня."  # noqa: RUF001
    value, reason, notes = _hook("ru", opener, filler)
    assert "not for 'ru'" in reason
    assert "asks a question" in reason and value > 0  # punctuation still counts
    assert any("not for 'ru'" in n for n in notes)


def test_english_lists_never_match_other_languages() -> None:
    """'you' in a German sentence is not direct address, nor 'die' an English word."""
    lex = lexicon_for("de")
    assert "you" not in lex.direct_address and "die" in lex.stop_words
    assert not lexicon_for("ru").emotion_words
