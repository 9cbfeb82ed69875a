"""Child processes (ffmpeg, ffprobe, any tool a job runs) that obey their worker, not the terminal.

Each child runs in its own session (`start_new_session`): a signal sent to the worker's process
group (Ctrl-C, `systemctl stop`, `docker stop`) does not reach it, so the worker decides when a
child stops (after its shutdown grace period, see `terminate`). Each child also gets a
parent-death signal (Linux `PR_SET_PDEATHSIG`): if the process that started it dies, even by
SIGKILL, the kernel kills the child, so no orphan keeps rendering for nobody.

Children are tracked per owner (the job a worker thread runs, set with `owned_by`), so the
worker can stop exactly one job's children (timeout, cancel, shutdown).
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1

_owner: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "cliply_child_owner", default=None
)
_live: dict[int, tuple[object | None, subprocess.Popen[Any]]] = {}
_lock = threading.Lock()


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return fn


# Looked up once here: the child (between fork and exec) only calls it, imports nothing.
_prctl = _load_prctl()


def _die_with_parent(parent: int, sig: int) -> Callable[[], None] | None:
    if _prctl is None:
        return None
    prctl = _prctl

    def pre_exec() -> None:
        prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return pre_exec


@contextlib.contextmanager
def owned_by(owner: object) -> Iterator[None]:
    """Children started in this context (thread / asyncio context) belong to `owner`."""
    token = _owner.set(owner)
    try:
        yield
    finally:
        _owner.reset(token)


def popen(
    cmd: Sequence[str], *, parent_death_signal: int = signal.SIGKILL, **kwargs: Any
) -> subprocess.Popen[Any]:
    """`subprocess.Popen` in a new session, killed when this process dies, tracked by owner."""
    kwargs.setdefault("start_new_session", True)
    proc: subprocess.Popen[Any] = subprocess.Popen(
        list(cmd), preexec_fn=_die_with_parent(os.getpid(), parent_death_signal), **kwargs
    )
    with _lock:
        for pid in [p for p, (_, old) in _live.items() if old.returncode is not None]:
            del _live[pid]  # reaped by its caller since
        _live[proc.pid] = (_owner.get(), proc)
    return proc


def run(
    cmd: Sequence[str],
    *,
    timeout: float | None = None,
    input: bytes | str | None = None,
    capture_output: bool = False,
    check: bool = False,
    **kwargs: Any,
) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run` through `popen`; on timeout the child's whole group is killed."""
    if input is not None:
        kwargs["stdin"] = subprocess.PIPE
    if capture_output:
        kwargs["stdout"] = kwargs["stderr"] = subprocess.PIPE
    with popen(cmd, **kwargs) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc, signal.SIGKILL)
            proc.communicate()
            raise
        except BaseException:
            kill_group(proc, signal.SIGKILL)
            raise
        finally:
            _forget(proc)
    code = proc.poll()
    assert code is not None
    if check and code:
        raise subprocess.CalledProcessError(code, proc.args, out, err)
    return subprocess.CompletedProcess(proc.args, code, out, err)


def _forget(proc: subprocess.Popen[Any]) -> None:
    with _lock:
        if _live.get(proc.pid, (None, None))[1] is proc:
            del _live[proc.pid]


def kill_group(proc: subprocess.Popen[Any], sig: int) -> None:
    """Signal the child's process group (it leads its own session), if it was not reaped."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def children_of(owner: object) -> list[subprocess.Popen[Any]]:
    with _lock:
        return [p for o, p in _live.values() if o == owner and p.returncode is None]


def terminate(owner: object, grace_s: float = 3.0) -> int:
    """Stop `owner`'s children: SIGTERM to each group, SIGKILL after `grace_s`; returns how
    many needed the SIGKILL. Blocking (call it from a thread in async code)."""
    procs = children_of(owner)
    for p in procs:
        kill_group(p, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while procs and time.monotonic() < deadline:
        procs = [p for p in procs if _group_alive(p)]
        if procs:
            time.sleep(0.05)
    for p in procs:
        kill_group(p, signal.SIGKILL)
    return len(procs)


def _group_alive(proc: subprocess.Popen[Any]) -> bool:
    if proc.poll() is not None:  # reaped (here, or by the thread that waits for it)
        return False
    try:
        os.killpg(proc.pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def killed_by_signal(returncode: int, stderr: str = "") -> bool:
    """Whether a child ended because someone signalled it (not because its input was bad):
    a negative return code, or ffmpeg's own exit (255) after catching SIGTERM/SIGINT."""
    return returncode < 0 or (returncode == 255 and "received signal" in stderr.lower())
