"""Every domain router mounted under /api/v1 (module paths; each exposes `router`)."""

ROUTER_MODULES: list[str] = [
    "cliply.auth.routes",
    "cliply.workspaces.routes",
    "cliply.billing.routes",
    "cliply.projects.routes",
    "cliply.clips.routes",
    "cliply.jobs.routes",
    "cliply.accounts.routes",
    "cliply.schedules.routes",
    "cliply.publishing.routes",
    "cliply.experiments.routes",
    "cliply.products.routes",
]
