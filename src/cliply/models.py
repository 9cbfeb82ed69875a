"""Import every model so `Base.metadata` holds the whole schema (Alembic, drift test)."""

from cliply.accounts import models as accounts
from cliply.analytics import models as analytics
from cliply.api import models as api
from cliply.audit import models as audit
from cliply.auth import models as auth
from cliply.billing import models as billing
from cliply.brand import models as brand
from cliply.clips import models as clips
from cliply.db.base import Base
from cliply.experiments import models as experiments
from cliply.jobs import models as jobs
from cliply.products import models as products
from cliply.projects import models as projects
from cliply.publishing import models as publishing
from cliply.schedules import models as schedules
from cliply.web import models as web
from cliply.workspaces import models as workspaces

__all__ = [
    "Base",
    "accounts",
    "analytics",
    "api",
    "audit",
    "auth",
    "billing",
    "brand",
    "clips",
    "experiments",
    "jobs",
    "products",
    "projects",
    "publishing",
    "schedules",
    "web",
    "workspaces",
]


def tenant_tables() -> list[str]:
    """Every table with a workspace_id column gets row-level security."""
    return sorted(t.name for t in Base.metadata.sorted_tables if "workspace_id" in t.c)
