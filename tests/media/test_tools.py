"""Media tools as real child processes: their own session, killed with their parent, and a
tool stopped by a signal reported as an interruption (retry), never as bad media."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cliply import subprocs
from cliply.media.errors import MediaError, MediaInterrupted
from cliply.media.render import render_clip
from cliply.media.tools import ffmpeg_bin, run_ffmpeg

LONG = ["-re", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", "300", "-f", "null", "-"]


def _wait_for(predicate, what: str, timeout: float = 30.0):  # a safety net, not a timing test
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)
    return value


def _ffmpeg_children() -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(os.getpid()), "-x", "ffmpeg"], capture_output=True)
    return [int(p) for p in out.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in "ZX"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_signalled_ffmpeg_is_an_interruption_not_a_media_error(sig: int) -> None:
    raised: list[BaseException] = []

    def run() -> None:
        try:
            run_ffmpeg(LONG)
        except BaseException as exc:
            raised.append(exc)

    t = threading.Thread(target=run)
    t.start()
    [pid] = _wait_for(_ffmpeg_children, "ffmpeg to start")
    assert os.getpgid(pid) == pid != os.getpgid(0)  # its own group: group signals miss it
    assert os.getsid(pid) == pid
    os.kill(pid, sig)
    t.join(60)
    [exc] = raised
    assert isinstance(exc, MediaInterrupted) and exc.retryable


def test_render_stopped_by_a_signal_is_an_interruption(tone_video: Path, tmp_path: Path) -> None:
    from cliply.media.reframe import static_plan

    raised: list[BaseException] = []
    long_src = tmp_path / "long.mkv"
    loop = ["-stream_loop", "40", "-i", str(tone_video), "-c", "copy", str(long_src)]
    subprocess.run([ffmpeg_bin(), "-v", "error", *loop], check=True)

    def run() -> None:
        try:
            plan = static_plan(640, 360)
            render_clip(
                long_src, tmp_path / "out.mp4", start=0, end=110, crop_plan=plan, preset="slow"
            )
        except BaseException as exc:
            raised.append(exc)

    t = threading.Thread(target=run)
    t.start()
    [pid] = _wait_for(_ffmpeg_children, "the render to start")
    os.kill(pid, signal.SIGTERM)  # ffmpeg catches it and exits 255 ("received signal")
    t.join(60)
    [exc] = raised
    assert isinstance(exc, MediaInterrupted), exc


def test_a_real_failure_stays_a_media_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError) as info:
        run_ffmpeg(["-i", str(tmp_path / "missing.mp4"), "-f", "null", "-"])
    assert not isinstance(info.value, MediaInterrupted)


def test_children_die_with_the_process_that_started_them(tmp_path: Path) -> None:
    """SIGKILL the parent: its ffmpeg gets the parent-death signal instead of running on."""
    pid_file = tmp_path / "child.pid"
    script = (
        "import sys, time\n"
        "from cliply import subprocs\n"
        f"p = subprocs.popen([{ffmpeg_bin()!r}, '-nostdin', *{LONG!r}])\n"
        f"open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(300)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], env=os.environ)
    try:
        child = int(_wait_for(lambda: pid_file.exists() and pid_file.read_text(), "child pid"))
        assert _alive(child)
        parent.kill()
        parent.wait()
        _wait_for(lambda: not _alive(child), "the child to die with its parent")
    finally:
        if parent.poll() is None:
            parent.kill()


def test_terminate_stops_only_the_owners_children() -> None:
    with subprocs.owned_by("job-a"):
        a = subprocs.popen(["sleep", "300"])
    with subprocs.owned_by("job-b"):
        b = subprocs.popen(["sleep", "300"])
    try:
        assert subprocs.terminate("job-a", grace_s=5) == 0  # all stopped by SIGTERM
        assert a.wait(10) == -signal.SIGTERM
        assert b.poll() is None
    finally:
        b.kill()
        b.wait()
