"""Per-stage wall time, CPU time and peak memory of this process and its children (ffmpeg).

Used by `benchmarks/pipeline.py` and `cliply process --stats`. Memory is measured three ways,
because no single Linux counter gives "the most this worker held at once, children included":

- `self_peak_mib`: this process's own high-water mark during the stage (VmHWM, reset at the
  stage start through /proc/self/clear_refs; exact);
- `child_peak_mib`: the largest high-water mark (VmHWM) of a child seen by the sampler, every
  `interval` seconds (exact but for growth in a child's last interval);
- `tree_peak_mib`: the largest sum of this process and all its live descendants, sampled every
  `interval` seconds (simultaneous, but a short spike between samples can be missed).

A child counts only once it runs its own program: between fork and exec it maps this
process's memory, so its RSS (and RUSAGE_CHILDREN's ru_maxrss, which Linux carries over from
the image exec replaces, even after vfork) would count this process twice. The kernel shares
those pages, so they are no extra memory.

`peak_mib` = max(tree sample, self peak + child peak) is an upper bound of what the worker held
at once; targets are judged against it. Elsewhere than Linux only ru_maxrss is available.
"""

from __future__ import annotations

import os
import resource
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_MIB = 1024 * 1024


@dataclass(frozen=True)
class StageStats:
    name: str
    wall_s: float
    cpu_s: float
    """User + system time of this process and of the children reaped during the stage."""
    self_peak_mib: float
    child_peak_mib: float
    tree_peak_mib: float

    @property
    def peak_mib(self) -> float:
        """Upper bound of the memory held at once by this process and its children."""
        return max(self.tree_peak_mib, self.self_peak_mib + self.child_peak_mib)


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0  # the process ended between listing and reading


def _hwm_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return 0


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{tid}/children").read_text()
        except OSError:
            continue
        out += [int(x) for x in text.split()]
    return out


def _descendants(root: int) -> Iterator[int]:
    """`root`'s descendants that run their own program (not a fork of their parent that has
    not reached exec yet: that one maps its parent's pages)."""
    seen = {root}
    todo = [(child, _cmdline(root)) for child in _children(root)]
    while todo:
        child, parent_cmdline = todo.pop()
        if child in seen:
            continue
        seen.add(child)
        cmdline = _cmdline(child)
        if cmdline == parent_cmdline:
            continue  # its own children, if any, come after its exec
        yield child
        todo += [(grandchild, cmdline) for grandchild in _children(child)]


def tree_rss(pid: int | None = None) -> tuple[int, int]:
    """(RSS of `pid` and all its descendants, largest single descendant) in bytes;
    forks not yet exec'd are left out (see the module docstring)."""
    root = os.getpid() if pid is None else pid
    total, largest = _rss_bytes(root), 0
    for child in _descendants(root):
        rss = _rss_bytes(child)
        total += rss
        largest = max(largest, rss)
    return total, largest


def _tree_sample() -> tuple[int, int]:
    """(RSS of this process and its descendants, largest descendant high-water mark)."""
    root = os.getpid()
    total, largest = _rss_bytes(root), 0
    for child in _descendants(root):
        total += _rss_bytes(child)
        largest = max(largest, _hwm_bytes(child))
    return total, largest


def _reset_self_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # resets VmHWM to the current RSS
        return True
    except OSError:
        return False


def _self_peak_bytes() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _cpu_s() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class StageMeter:
    """Times named stages; `stages` holds one StageStats per finished stage, in order."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.stages: list[StageStats] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        stop = threading.Event()
        sampled = [0, 0]  # tree peak, largest child

        def sample() -> None:
            while True:
                total, largest = _tree_sample()
                sampled[0] = max(sampled[0], total)
                sampled[1] = max(sampled[1], largest)
                if stop.wait(self.interval):
                    return

        exact_self = _reset_self_peak()
        sampler = threading.Thread(target=sample, name=f"stagestats-{name}", daemon=True)
        wall0, cpu0 = time.perf_counter(), _cpu_s()
        sampler.start()
        try:
            yield
        finally:
            stop.set()
            sampler.join()
            wall, cpu = time.perf_counter() - wall0, _cpu_s() - cpu0
            child = sampled[1]  # not ru_maxrss: it holds this process's size too (docstring)
            own = _self_peak_bytes() if exact_self else sampled[0]
            self.stages.append(
                StageStats(
                    name=name,
                    wall_s=wall,
                    cpu_s=cpu,
                    self_peak_mib=own / _MIB,
                    child_peak_mib=child / _MIB,
                    tree_peak_mib=max(sampled[0], own) / _MIB,
                )
            )

    def total(self, name: str = "total") -> StageStats:
        """All stages together: summed times, the largest peaks."""
        return StageStats(
            name=name,
            wall_s=sum(s.wall_s for s in self.stages),
            cpu_s=sum(s.cpu_s for s in self.stages),
            self_peak_mib=max((s.self_peak_mib for s in self.stages), default=0.0),
            child_peak_mib=max((s.child_peak_mib for s in self.stages), default=0.0),
            tree_peak_mib=max((s.tree_peak_mib for s in self.stages), default=0.0),
        )

    def table(self, title: str = "stage") -> str:
        """The stages and their total as a fixed-width text table."""
        head = (
            f"{title:<26} {'wall s':>8} {'CPU s':>8} {'peak MiB':>9} {'self MiB':>9} "
            f"{'child MiB':>9} {'tree MiB':>9}"
        )
        rows = [head]
        for s in [*self.stages, self.total()]:
            rows.append(
                f"{s.name:<26} {s.wall_s:8.1f} {s.cpu_s:8.1f} {s.peak_mib:9.0f} "
                f"{s.self_peak_mib:9.0f} {s.child_peak_mib:9.0f} {s.tree_peak_mib:9.0f}"
            )
        return "\n".join(rows)
