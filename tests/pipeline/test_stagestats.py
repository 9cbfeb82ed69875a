"""Stage statistics: a child's memory and CPU count, the own peak is per stage."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cliply.pipeline.stagestats import StageMeter, tree_rss

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

MIB = 1024 * 1024

# Holds `mb` MiB (touched, so resident), burns some CPU, prints its own CPU seconds.
CHILD = """
import resource, sys, time
block = bytearray(int(sys.argv[1]) * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
t = time.process_time()
while time.process_time() - t < 0.3:
    pass
time.sleep(0.4)
r = resource.getrusage(resource.RUSAGE_SELF)
print(r.ru_utime + r.ru_stime)
"""


def test_child_memory_and_cpu_count_in_the_stage() -> None:
    meter = StageMeter(interval=0.02)
    with meter.stage("child"):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, "300"], check=True, capture_output=True, text=True
        )
    child_cpu = float(out.stdout.strip())
    (stats,) = meter.stages
    assert stats.name == "child"
    assert stats.child_peak_mib >= 300
    assert stats.peak_mib >= stats.self_peak_mib + 300
    # Sampled while the child held its block: the tree sum saw both at once.
    assert stats.tree_peak_mib >= 300
    assert stats.cpu_s >= child_cpu
    assert stats.wall_s > 0


def test_own_peak_is_reset_per_stage() -> None:
    meter = StageMeter(interval=0.02)
    with meter.stage("big"):
        block = bytearray(250 * MIB)
        for i in range(0, len(block), 4096):
            block[i] = 1
        del block
    with meter.stage("small"):
        small = bytearray(MIB)
        del small
    big, small_stage = meter.stages
    assert big.self_peak_mib - small_stage.self_peak_mib >= 200
    # No child ran in the second stage, so none is blamed on it.
    assert small_stage.child_peak_mib < 50
    total = meter.total()
    assert total.self_peak_mib == big.self_peak_mib
    assert total.wall_s == pytest.approx(big.wall_s + small_stage.wall_s)
    table = meter.table()
    assert "big" in table and "small" in table and "total" in table


def test_a_small_child_of_a_big_process_is_not_counted_as_big() -> None:
    # Between fork and exec a child maps this process's pages, and ru_maxrss keeps that size
    # across exec: the child's own program is what counts.
    block = bytearray(300 * MIB)
    for i in range(0, len(block), 4096):
        block[i] = 1
    meter = StageMeter(interval=0.01)
    with meter.stage("spawn"):
        for _ in range(5):
            subprocess.run([sys.executable, "-c", "import time; time.sleep(0.1)"], check=True)
    (stats,) = meter.stages
    assert stats.self_peak_mib >= 300
    assert stats.child_peak_mib < 100
    assert stats.peak_mib < stats.self_peak_mib + 100
    assert stats.tree_peak_mib < stats.self_peak_mib + 100
    del block


def test_tree_rss_includes_live_children() -> None:
    hold = (
        "import time; b = bytearray(200 * 1024 * 1024)\n"
        "for i in range(0, len(b), 4096): b[i] = 1\n"
        "print('ok', flush=True); time.sleep(30)"
    )
    proc = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
        total, largest = tree_rss()
        child_alone, _ = tree_rss(proc.pid)
        assert largest >= 200 * MIB
        assert child_alone >= 200 * MIB
        # This process plus the child: more than the child alone.
        assert total >= child_alone + 10 * MIB
    finally:
        proc.kill()
        proc.wait()
