"""The dashboard's time steps: hourly for short periods, daily otherwise, capped, ending now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from cliply.analytics.timeline import MAX_POINTS, steps

END = datetime(2026, 12, 2, 16, 30, tzinfo=UTC)


def test_daily_steps_end_at_the_period_end() -> None:
    s = steps(END - timedelta(days=30), END)
    assert len(s) == 31 and s[0] == END - timedelta(days=30) and s[-1] == END
    assert {b - a for a, b in pairwise(s)} == {timedelta(days=1)}


def test_short_periods_are_hourly_and_a_partial_last_step_is_kept() -> None:
    s = steps(END - timedelta(hours=5, minutes=30), END)
    assert len(s) == 7 and s[-1] - s[-2] == timedelta(minutes=30)


def test_long_periods_are_capped() -> None:
    s = steps(END - timedelta(days=3650), END)
    assert len(s) <= MAX_POINTS + 1 and s[-1] == END


def test_an_empty_period_is_one_point() -> None:
    assert steps(END, END) == [END]
