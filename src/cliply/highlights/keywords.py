"""Keywords for hashtags and segment labels: TF-IDF terms weighted against the transcript."""

from __future__ import annotations

from collections.abc import Sequence, Set

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from cliply.highlights.text import GENERIC_WORDS, STOP_WORDS

# Words of three or more letters in any script (accents, Cyrillic, ... included).
_WORD_REGEX = r"(?u)\b[^\W\d_]{3,}\b"


class KeywordExtractor:
    """Fitted once on a transcript's sentences; a term rare across the video but frequent in
    a clip ranks high, so hashtags say what the clip is about rather than what the video is."""

    def __init__(
        self, documents: Sequence[str], stop_words: Set[str] = STOP_WORDS | GENERIC_WORDS
    ) -> None:
        self._vectorizer: TfidfVectorizer | None = TfidfVectorizer(
            stop_words=sorted(w for w in stop_words if w.isalpha()) or None,
            sublinear_tf=True,
            token_pattern=_WORD_REGEX,
        )
        try:
            self._vectorizer.fit(list(documents) or [""])
        except ValueError:
            self._vectorizer = None  # nothing but stop words
        else:
            self._terms = self._vectorizer.get_feature_names_out()

    def top(self, text: str, k: int = 5) -> list[str]:
        if self._vectorizer is None or k <= 0:
            return []
        row = np.asarray(self._vectorizer.transform([text]).toarray()[0])
        order = np.argsort(-row, kind="stable")
        picked: list[str] = []
        for i in order:
            if row[i] <= 0 or len(picked) >= k:
                break
            term = str(self._terms[i])
            if not term.endswith("ly"):  # adverbs make poor tags
                picked.append(term)
        return picked


def hashtags(keywords: Sequence[str]) -> list[str]:
    return [f"#{k.lower()}" for k in keywords if k.isalpha()]
