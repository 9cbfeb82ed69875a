"""The winner rule: Bayesian posteriors per variant and P(best) by seeded Monte Carlo.

- metric `views`: Gamma-Poisson on views per hour since posting. A variant's posts together
  showed `count` views over `exposure` post-hours (each post: hours from publishing to its
  latest measurement). views ~ Poisson(rate * hours), rate ~ Gamma(a0, b0) a priori, so the
  posterior is Gamma(a0 + views, b0 + hours).
- metric `engagement_rate`: Beta-Binomial on (likes + comments + shares) / views: `count`
  engagements out of `exposure` views, rate ~ Beta(1, 1) a priori, posterior
  Beta(1 + engagements, 1 + views - engagements).

P(best) is the share of joint posterior draws in which a variant has the highest rate; the
decision uses P(win): the share in which it beats every other variant by at least `min_lift`
(relative), which with min_lift = 0 is P(best). Draws come from numpy's PCG64 with a fixed
seed, so the same data always gives the same numbers. The 90 % interval is the 5th-95th
percentile of the variant's own posterior.

`decide` stops at the first of: a variant's P(win) >= threshold once every variant has the
minimum evidence (a guard against calling a winner on the first few views); the deadline
(winner only if the threshold is met then); nothing else (keep running).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

Metric = Literal["views", "engagement_rate"]
METRICS: Final[tuple[str, ...]] = ("views", "engagement_rate")

SEED: Final = 20261202
DRAWS: Final = 20000
# Gamma prior on views per hour: one pseudo-view over 3.6 pseudo-seconds, so a few real views
# outweigh it while a variant with no data keeps a wide posterior.
GAMMA_A0: Final = 1.0
GAMMA_B0: Final = 0.001
BETA_A0: Final = 1.0
BETA_B0: Final = 1.0


@dataclass(frozen=True)
class Arm:
    """One variant's evidence: `count` events over `exposure` (hours for views, views for
    engagement)."""

    count: float
    exposure: float
    views: float = 0.0


@dataclass(frozen=True)
class ArmStats:
    p_best: float
    p_win: float
    mean: float
    low: float  # 5th percentile
    high: float  # 95th percentile


def _posterior_draws(metric: str, arms: Sequence[Arm], draws: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.empty((draws, len(arms)))
    for i, arm in enumerate(arms):
        count, exposure = max(arm.count, 0.0), max(arm.exposure, 0.0)
        if metric == "views":
            out[:, i] = rng.gamma(GAMMA_A0 + count, 1.0 / (GAMMA_B0 + exposure), size=draws)
        else:
            hits = min(count, exposure)
            out[:, i] = rng.beta(BETA_A0 + hits, BETA_B0 + exposure - hits, size=draws)
    return out


def posterior_mean(metric: str, arm: Arm) -> float:
    count, exposure = max(arm.count, 0.0), max(arm.exposure, 0.0)
    if metric == "views":
        return (GAMMA_A0 + count) / (GAMMA_B0 + exposure)
    hits = min(count, exposure)
    return (BETA_A0 + hits) / (BETA_A0 + BETA_B0 + exposure)


def evaluate(
    metric: str,
    arms: Sequence[Arm],
    *,
    min_lift: float = 0.0,
    draws: int = DRAWS,
    seed: int = SEED,
) -> list[ArmStats]:
    """P(best), P(win by min_lift), posterior mean and 90 % interval of each arm."""
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if not arms:
        return []
    sample = _posterior_draws(metric, arms, draws, seed)
    best = np.bincount(sample.argmax(axis=1), minlength=len(arms)) / draws
    low, high = np.percentile(sample, [5.0, 95.0], axis=0)
    out: list[ArmStats] = []
    for i, arm in enumerate(arms):
        if len(arms) > 1:
            others = np.delete(sample, i, axis=1).max(axis=1)
            win = float(np.mean(sample[:, i] > others * (1.0 + min_lift)))
        else:
            win = 1.0
        out.append(
            ArmStats(
                p_best=float(best[i]),
                p_win=win,
                mean=posterior_mean(metric, arm),
                low=float(low[i]),
                high=float(high[i]),
            )
        )
    return out


@dataclass(frozen=True)
class Decision:
    stop: bool
    winner: int | None  # index into the arms
    reason: str | None  # threshold | deadline
    ready: bool  # every arm has the minimum evidence


def decide(
    arms: Sequence[Arm],
    stats: Sequence[ArmStats],
    *,
    threshold: float,
    min_views: float,
    past_deadline: bool,
) -> Decision:
    ready = bool(arms) and all(a.views >= min_views and a.exposure > 0 for a in arms)
    leader = max(range(len(stats)), key=lambda i: stats[i].p_win) if stats else None
    confident = ready and leader is not None and stats[leader].p_win >= threshold
    if confident:
        return Decision(True, leader, "threshold", ready)
    if past_deadline:
        return Decision(True, None, "deadline", ready)
    return Decision(False, None, None, ready)
