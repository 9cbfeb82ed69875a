"""Where and when each variant posts: spread so that no two variants of one experiment post
to the same account within the window (platforms penalise near-duplicates).

- mode `all`: every variant on every chosen account. Account i takes the variants in an order
  rotated by i, so each variant gets the early slot somewhere (time of day evens out).
- mode `split`: variant v on the accounts whose position j has j % n == v (each account
  carries one variant when there are at least as many accounts as variants; with fewer,
  variants share accounts round-robin and are spread on them).

Each post starts from its wanted time (the variant's own posting time, else the experiment's
start) and moves to the earliest time that keeps the window from every post already placed
on that account (including `taken`: the experiment's existing schedules there).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Mode = Literal["all", "split"]


@dataclass(frozen=True)
class Slot:
    variant: int
    account_id: uuid.UUID
    at: datetime


def earliest_free(want: datetime, taken: Sequence[datetime], window: timedelta) -> datetime:
    """The earliest time >= want at least `window` away from every time in `taken`."""
    at = want
    for _ in range(len(taken) + 1):
        clash = [t for t in taken if abs(t - at) < window]
        if not clash:
            return at
        at = max(clash) + window
    return at


def assignments(n_variants: int, accounts: Sequence[uuid.UUID], mode: Mode) -> list[list[int]]:
    """For each account (in order), the variants it posts, in posting order."""
    if mode == "all":
        return [[(i + k) % n_variants for k in range(n_variants)] for i in range(len(accounts))]
    out: list[list[int]] = [[] for _ in accounts]
    if len(accounts) >= n_variants:
        for j in range(len(accounts)):
            out[j].append(j % n_variants)
    else:
        for v in range(n_variants):
            out[v % len(accounts)].append(v)
    return out


def plan(
    n_variants: int,
    accounts: Sequence[uuid.UUID],
    start: datetime,
    window: timedelta,
    *,
    mode: Mode = "all",
    wanted: Sequence[datetime | None] | None = None,
    taken: Mapping[uuid.UUID, Sequence[datetime]] | None = None,
) -> list[Slot]:
    wanted = list(wanted or [None] * n_variants)
    slots: list[Slot] = []
    for account_id, order in zip(accounts, assignments(n_variants, accounts, mode), strict=True):
        placed = list((taken or {}).get(account_id, ()))
        # Variants with their own time go where they asked first; the rest keep the rotation.
        ranked = sorted(
            enumerate(order), key=lambda p: (wanted[p[1]] or start, wanted[p[1]] is None, p[0])
        )
        for _, v in ranked:
            at = earliest_free(wanted[v] or start, placed, window)
            placed.append(at)
            slots.append(Slot(v, account_id, at))
    return slots


def min_gap(slots: Sequence[Slot]) -> dict[uuid.UUID, timedelta | None]:
    """The smallest gap between two posts on each account (None: one post there)."""
    by: dict[uuid.UUID, list[datetime]] = {}
    for s in slots:
        by.setdefault(s.account_id, []).append(s.at)
    out: dict[uuid.UUID, timedelta | None] = {}
    for account, times in by.items():
        times.sort()
        gaps = [b - a for a, b in itertools.pairwise(times)]
        out[account] = min(gaps) if gaps else None
    return out
