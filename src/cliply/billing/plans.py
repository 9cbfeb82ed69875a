"""The plans, in code: limits and features per plan. Every gate reads this table."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

PlanName = Literal["basic", "pro", "premium"]
ORDER: tuple[PlanName, ...] = ("basic", "pro", "premium")


@dataclass(frozen=True)
class Plan:
    name: PlanName
    title: str
    source_minutes_per_month: int
    max_source_minutes: int  # longest single source video
    projects_per_month: int
    clips_per_project: int
    connected_accounts: int
    concurrent_jobs: int
    scheduling: bool
    publishing: bool
    experiments: bool
    products: bool
    max_render_height: int  # 1080 = full HD vertical (1080x1920 counts by its short side)
    watermark: bool
    # Days of post analytics shown (None: all of it).
    analytics_history_days: int | None = None
    # Experiments (with the `experiments` feature): variants in one, and ones not yet ended.
    experiment_variants: int = 0
    running_experiments: int = 0


PLANS: dict[str, Plan] = {
    "basic": Plan(
        "basic",
        "Basic",
        source_minutes_per_month=120,
        max_source_minutes=60,
        projects_per_month=10,
        clips_per_project=10,
        connected_accounts=1,
        concurrent_jobs=2,
        scheduling=False,
        publishing=True,
        experiments=False,
        products=False,
        max_render_height=720,
        watermark=True,
        analytics_history_days=30,
        experiment_variants=0,
        running_experiments=0,
    ),
    "pro": Plan(
        "pro",
        "Pro",
        source_minutes_per_month=1200,
        max_source_minutes=180,
        projects_per_month=100,
        clips_per_project=30,
        connected_accounts=5,
        concurrent_jobs=5,
        scheduling=True,
        publishing=True,
        experiments=True,
        products=False,
        max_render_height=1080,
        watermark=False,
        experiment_variants=3,
        running_experiments=3,
    ),
    "premium": Plan(
        "premium",
        "Premium",
        source_minutes_per_month=6000,
        max_source_minutes=600,
        projects_per_month=1000,
        clips_per_project=100,
        connected_accounts=25,
        concurrent_jobs=20,
        scheduling=True,
        publishing=True,
        experiments=True,
        products=True,
        max_render_height=2160,
        watermark=False,
        experiment_variants=5,
        running_experiments=20,
    ),
}

# Boolean switches a gate can check (watermark is a render property, not a feature gate).
FEATURES: tuple[str, ...] = ("scheduling", "publishing", "experiments", "products")
# Numeric limits, by Plan field name.
LIMITS: tuple[str, ...] = tuple(
    f.name for f in fields(Plan) if f.type in ("int", int) and f.name != "name"
)
# Metered monthly usage: metric name -> the Plan field that caps it per billing period.
METERED: dict[str, str] = {
    "source_minutes": "source_minutes_per_month",
    "projects": "projects_per_month",
}


def get_plan(name: str) -> Plan:
    return PLANS.get(name, PLANS["basic"])


def rank(name: str) -> int:
    return ORDER.index(name) if name in ORDER else -1


def lifting_plan(predicate_name: str, needed: float | bool) -> str | None:
    """The cheapest plan whose limit/feature `predicate_name` allows `needed`."""
    for name in ORDER:
        value = getattr(PLANS[name], predicate_name)
        if isinstance(value, bool):
            if value:
                return name
        elif value >= needed:
            return name
    return None
