"""FastAPI dependencies that gate a route on the workspace's plan.

    @router.post("/schedules")
    def create(tenant: Annotated[Tenant, Depends(require_feature("scheduling"))], db: DB): ...

The dependency resolves the tenant (X-Workspace-ID, or {workspace_id} in the path with
`path=True`), then answers 402 problem+json `plan-feature-unavailable` when the plan lacks the
feature. Role checks stay with the route (`tenant.require(...)`).
"""

from __future__ import annotations

from collections.abc import Callable

from cliply.api.deps import DB
from cliply.billing.gate import check_feature
from cliply.billing.plans import FEATURES
from cliply.workspaces.deps import HeaderTenant, PathTenant, Tenant


def require_feature(feature: str, *, path: bool = False) -> Callable[..., Tenant]:
    if feature not in FEATURES:
        raise ValueError(f"unknown plan feature {feature!r}; one of {FEATURES}")

    if path:

        def _path(tenant: PathTenant, db: DB) -> Tenant:
            check_feature(db, tenant.workspace_id, feature)
            return tenant

        return _path

    def _header(tenant: HeaderTenant, db: DB) -> Tenant:
        check_feature(db, tenant.workspace_id, feature)
        return tenant

    return _header
