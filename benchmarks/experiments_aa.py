"""False-winner rate of the experiment winner rule over seeded A/A runs (and its power on an
A/B run), with the rule exactly as EXPERIMENT_EVALUATE applies it.

A run: k variants with the same true views per hour; every hour (the metrics collector's
hourly band) each variant gains Poisson(rate x 1 h) views and the rule is evaluated on the
cumulative counts, until it declares a winner or the deadline (3 days, the default) passes.
A false winner is any winner in an A/A run. Every run is seeded (run i uses seed 1000 + i);
the Monte Carlo inside the rule uses its fixed seed.

    uv run python benchmarks/experiments_aa.py            # 200 runs per row
    uv run python benchmarks/experiments_aa.py --runs 50  # quicker
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from cliply.config import Settings
from cliply.experiments.stats import DRAWS, Arm, decide, evaluate


@dataclass(frozen=True)
class Case:
    name: str
    rates: tuple[float, ...]  # true views per hour of each variant
    min_lift: float
    min_views: float
    looks: int  # hourly evaluations before the deadline


def run_case(case: Case, runs: int, threshold: float, draws: int) -> tuple[float, float, float]:
    """(share of runs with any winner, share with the truly best variant as winner, mean
    hours to a decision among decided runs)."""
    any_winner = right = 0
    hours: list[int] = []
    best = int(np.argmax(case.rates)) if len(set(case.rates)) > 1 else None
    for run in range(runs):
        rng = np.random.default_rng(1000 + run)
        views = np.zeros(len(case.rates))
        for look in range(1, case.looks + 1):
            views += rng.poisson(case.rates)
            arms = [Arm(float(v), float(look), float(v)) for v in views]
            stats = evaluate("views", arms, min_lift=case.min_lift, draws=draws)
            d = decide(
                arms,
                stats,
                threshold=threshold,
                min_views=case.min_views,
                past_deadline=look == case.looks,
            )
            if d.stop:
                if d.winner is not None:
                    any_winner += 1
                    right += int(d.winner == best)
                    hours.append(look)
                break
    return any_winner / runs, right / runs, (float(np.mean(hours)) if hours else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--draws", type=int, default=DRAWS)
    args = parser.parse_args()
    s = Settings()
    lift, min_views, threshold = (
        s.experiment_min_lift,
        s.experiment_min_views,
        s.experiment_win_threshold,
    )
    looks = round(s.experiment_default_days * 24)
    cases = [
        Case("A/A, 2 variants, defaults", (200.0, 200.0), lift, min_views, looks),
        Case("A/A, 3 variants, defaults", (200.0, 200.0, 200.0), lift, min_views, looks),
        Case("A/A, 2 variants, 20 views/h, defaults", (20.0, 20.0), lift, min_views, looks),
        Case(
            "A/A, 2 variants, plain P(best) (lift 0, no min views)", (200.0, 200.0), 0.0, 0, looks
        ),
        Case("A/A, 2 variants, plain P(best), one look at 72 h", (200.0, 200.0), 0.0, 0, 1),
        Case("A/B, +20 % views/h, defaults", (200.0, 240.0), lift, min_views, looks),
        Case("A/B, +10 % views/h, defaults", (200.0, 220.0), lift, min_views, looks),
    ]
    print(
        f"threshold {threshold}, min lift {lift}, min views {min_views}, {looks} hourly looks, "
        f"{args.runs} seeded runs per row, {args.draws} Monte Carlo draws"
    )
    print(f"{'case':58} {'winner rate':>11} {'right':>6} {'mean h':>7} {'secs':>6}")
    for case in cases:
        if case.looks == 1:  # one look after 72 h: the counts of 72 hours at once
            case = Case(
                case.name, tuple(r * 72 for r in case.rates), case.min_lift, case.min_views, 1
            )
        t0 = time.perf_counter()
        rate, right, mean_h = run_case(case, args.runs, threshold, args.draws)
        print(
            f"{case.name:58} {rate:11.3f} {right:6.3f} {mean_h:7.1f} {time.perf_counter() - t0:6.1f}"
        )


if __name__ == "__main__":
    main()
