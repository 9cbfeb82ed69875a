"""Where local transcription runs (GPU or CPU, compute type), and CUDA 12 from PyPI wheels.

PyPI's CTranslate2 is built against CUDA 12 cuBLAS and cuDNN 9 and finds them through the
dynamic loader. The `gpu` extra installs them as the nvidia-cublas-cu12 / nvidia-cudnn-cu12
wheels, under site-packages/nvidia/<lib>/lib, where the loader does not look. Loading them
by full path first (RTLD_GLOBAL) makes CTranslate2's later lookups by soname find the loaded
copies, so a GPU machine with another CUDA (or none) works with no symlinks or
LD_LIBRARY_PATH. Nothing is loaded when the extra is absent (the system's libraries, if
any, are used then) or when transcription runs on the CPU.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import importlib.util
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

# The wheels' library folders, in load order (each may need the ones before it).
WHEEL_LIB_DIRS = ("cuda_nvrtc", "cublas", "cudnn")
WHEEL_PACKAGES = ("nvidia-cublas-cu12", "nvidia-cudnn-cu12")
# A BLAS interposer that would take over host BLAS calls: never preloaded.
_SKIP = ("libnvblas",)


@dataclass
class PreloadState:
    done: bool = False
    loaded: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)


_state = PreloadState()
_lock = threading.Lock()


def wheel_library_dirs(roots: list[Path] | None = None) -> list[Path]:
    """The `lib` folders of the nvidia-*-cu12 wheels that are installed (namespace `nvidia`)."""
    if roots is None:
        spec = importlib.util.find_spec("nvidia")
        roots = [Path(p) for p in (spec.submodule_search_locations or [])] if spec else []
    return [
        root / name / "lib"
        for name in WHEEL_LIB_DIRS
        for root in roots
        if (root / name / "lib").is_dir()
    ]


def library_files(dirs: list[Path]) -> list[Path]:
    """Shared libraries in `dirs`, in folder order (versioned sonames, interposers left out)."""
    return [
        f
        for d in dirs
        for f in sorted(d.glob("lib*.so*"))
        if ".so." in f.name and not f.name.startswith(_SKIP) and f.is_file()
    ]


def preload(dirs: list[Path] | None = None) -> PreloadState:
    """Load the wheels' CUDA libraries once per process (no-op when the extra is absent).

    A library whose own dependencies are not loaded yet fails; it is retried after the others,
    until a pass loads nothing new. Failures are kept for `cliply doctor`, never raised: the
    model load then says what is missing.
    """
    with _lock:
        if _state.done and dirs is None:
            return _state
        pending = library_files(wheel_library_dirs() if dirs is None else dirs)
        while pending:
            left: list[Path] = []
            for lib in pending:
                try:
                    ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
                except OSError as exc:
                    _state.failed[lib] = str(exc)
                    left.append(lib)
                else:
                    _state.loaded.append(lib)
                    _state.failed.pop(lib, None)
            if len(left) == len(pending):
                break
            pending = left
        if dirs is None:
            _state.done = True
        return _state


def cuda_device_count() -> int:
    """CUDA devices CTranslate2 can use (0 on a machine without a GPU or its driver)."""
    preload()
    try:
        import ctranslate2

        return int(ctranslate2.get_cuda_device_count())
    except Exception:
        return 0


def resolve(device: str, compute_type: str) -> tuple[str, str]:
    """Settings → what the model is loaded with: device `auto` is cuda when a GPU is there,
    else cpu; compute type `auto` is float16 on a GPU, int8 on the CPU. A CUDA device has its
    libraries preloaded here, before CTranslate2 first needs them."""
    if device == "auto":
        device = "cuda" if cuda_device_count() > 0 else "cpu"
    elif device != "cpu":
        preload()
    if compute_type in ("auto", ""):
        compute_type = "int8" if device == "cpu" else "float16"
    return device, compute_type


def gpu_names() -> list[str]:
    """GPU names from nvidia-smi, where the driver installed it."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        out = subprocess.run(
            [smi, "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.splitlines() if line.strip()]


def cuda_libraries() -> str:
    """Where CTranslate2's CUDA 12 libraries come from, in words."""
    versions = []
    for pkg in WHEEL_PACKAGES:
        try:
            versions.append(f"{pkg} {importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    if not versions:
        return "CUDA libraries: the system's (the `gpu` extra is not installed)"
    state = preload()
    text = f"CUDA libraries: {', '.join(versions)} ({len(state.loaded)} loaded"
    if state.failed:
        text += f", {len(state.failed)} failed: {next(iter(state.failed.values()))}"
    return text + ")"


def describe(device: str, compute_type: str) -> tuple[bool, str]:
    """`cliply doctor`'s line: (fine, what transcription will run on and with what)."""
    count = cuda_device_count()
    used, compute = resolve(device, compute_type)
    if count == 0:
        where = "no GPU found" if device != "cuda" else "WHISPER_DEVICE=cuda but no GPU found"
        return device != "cuda", f"{where}: CPU, compute type {compute}"
    names = gpu_names() or [f"{count} CUDA device(s)"]
    return True, (
        f"{', '.join(names)}; {cuda_libraries()}; transcription on {used.upper()}, "
        f"compute type {compute}"
    )
