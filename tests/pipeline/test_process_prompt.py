"""`cliply process --prompt`: the clips are steered towards the prompt, and a bad prompt is a
usage error (exit 2) before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _process(args: list[str], tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RENDER_PRESET": "ultrafast", "CLIPLY_DATA_DIR": str(tmp / "data")}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "cliply", "process", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_process_with_a_prompt(
    talk_video: tuple[Path, list[tuple[float, float, str]]], tmp_path: Path
) -> None:
    video, _ = talk_video  # bread, then saving money
    out = tmp_path / "out"
    args = [str(video), "--out", str(out), "--clips", "1", "--min-s", "6", "--max-s", "14"]
    done = _process([*args, "--prompt", "why bread rises: yeast and dough"], tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "clips.json").read_text())
    assert summary["prompt"] == "why bread rises: yeast and dough"
    (clip,) = summary["clips"]
    reason = next(r for r in clip["reasons"] if r["name"] == "prompt")
    assert reason["reason"].startswith("matches your prompt 'why bread rises: yeast and dough'")
    transcript = json.loads((out / "transcript.json").read_text())
    said = " ".join(
        w["text"]
        for s in transcript["segments"]
        for w in s["words"]
        if clip["start"] - 0.5 <= w["start"] <= clip["end"]
    ).lower()
    assert "bread" in said or "yeast" in said or "dough" in said, said
    assert "money" not in said and "paycheck" not in said, said


def test_a_bad_prompt_is_a_usage_error(tmp_path: Path) -> None:
    video = tmp_path / "v.mp4"
    video.write_bytes(b"never read")
    done = _process([str(video), "--out", str(tmp_path / "o"), "--prompt", "x" * 301], tmp_path)
    assert done.returncode == 2, done.stderr
    assert "300" in done.stderr and not (tmp_path / "o").exists()
