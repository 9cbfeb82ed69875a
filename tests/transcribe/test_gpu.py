"""GPU set-up that can be checked without a GPU: the preload of the `gpu` extra's CUDA
libraries (with real shared libraries built here, laid out like the nvidia wheels), the
device/compute-type choice and `cliply doctor`'s report on a CPU machine."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cliply.transcribe import gpu

ROOT = Path(__file__).resolve().parents[2]


def test_without_the_extra_nothing_is_found_or_loaded(tmp_path: Path) -> None:
    assert gpu.wheel_library_dirs([tmp_path]) == []
    state = gpu.preload([])
    assert not any(str(tmp_path) in str(p) for p in state.loaded)


def _build(lib_dir: Path, name: str, source: str, *needs: Path) -> Path:
    lib_dir.mkdir(parents=True, exist_ok=True)
    src = lib_dir / f"{name}.c"
    src.write_text(source)
    out = lib_dir / f"{name}.so.12"
    links = [f"-l:{n.name}" for n in needs] + [f"-L{n.parent}" for n in needs]
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f"-Wl,-soname,{out.name}", "-o", str(out), str(src), *links],
        check=True,
    )
    src.unlink()
    return out


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc to build test libraries")
def test_preload_loads_wheel_libraries_in_dependency_order(tmp_path: Path) -> None:
    """The cublas folder comes after cuda_nvrtc, but here its library needs one from cudnn,
    which comes later still: the first pass fails on it, the retry loads it. None of the
    folders is on the loader's path, so only the preload by full path can find them."""
    site = tmp_path / "site" / "nvidia"
    base = _build(site / "cudnn" / "lib", "libcliplybase", "int cliply_base(void){return 41;}")
    top = _build(
        site / "cublas" / "lib",
        "libcliplytop",
        "int cliply_base(void); int cliply_top(void){return cliply_base()+1;}",
        base,
    )
    _build(site / "cublas" / "lib", "libnvblas", "int nvblas_marker(void){return 0;}")
    dirs = gpu.wheel_library_dirs([site])
    assert dirs == [site / "cublas" / "lib", site / "cudnn" / "lib"]
    files = gpu.library_files(dirs)
    assert [f.name for f in files] == [top.name, base.name]  # libnvblas is never preloaded

    with pytest.raises(OSError):
        ctypes.CDLL(str(top))  # its dependency cannot be found by soname

    state = gpu.preload(dirs)
    assert top in state.loaded and base in state.loaded
    assert state.loaded.index(base) < state.loaded.index(top)
    assert top not in state.failed
    # Loaded globally: a lookup by soname alone (what CTranslate2 does) now succeeds.
    lib = ctypes.CDLL(top.name)
    assert lib.cliply_top() == 42


def test_device_and_compute_type_choice_on_a_cpu_machine() -> None:
    if gpu.cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    assert gpu.resolve("auto", "auto") == ("cpu", "int8")
    assert gpu.resolve("cpu", "int8_float32") == ("cpu", "int8_float32")
    assert gpu.resolve("cuda", "auto") == ("cuda", "float16")


def test_doctor_reports_no_gpu_and_cpu_int8(tmp_path: Path) -> None:
    if gpu.cuda_device_count() > 0:
        pytest.skip("this machine has a GPU")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "src"),
        "CLIPLY_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
    }
    out = subprocess.run(
        [sys.executable, "-m", "cliply", "doctor"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    ).stdout
    [line] = [ln for ln in out.splitlines() if ln.split()[1:2] == ["gpu"]]
    assert line.startswith("ok ")
    assert "no GPU found: CPU, compute type int8" in line
