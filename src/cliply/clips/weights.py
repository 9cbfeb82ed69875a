"""The score weights a workspace's highlight detection uses.

The defaults, unless the assembly (`cliply.app.install_hooks`) handed down a resolver: the
workspace's adopted learnt weights live in analytics, which sits above clips in the import
graph (it reads clips' features), so clips cannot ask it directly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping

import structlog
from sqlalchemy.orm import Session

from cliply.highlights.scoring import FEATURES

log = structlog.get_logger(__name__)

WeightsResolver = Callable[[Session, uuid.UUID], Mapping[str, float] | None]

_resolver: WeightsResolver | None = None


def set_weights_resolver(fn: WeightsResolver | None) -> None:
    global _resolver
    _resolver = fn


def workspace_weights(db: Session, workspace_id: uuid.UUID) -> dict[str, float] | None:
    """The workspace's own weights, or None for the defaults (no resolver, none adopted, or
    stored weights detection could not use: unknown names, negatives, all zero)."""
    if _resolver is None:
        return None
    found = _resolver(db, workspace_id)
    if not found:
        return None
    weights = {str(k): float(v) for k, v in found.items()}
    if set(weights) - set(FEATURES) or any(w < 0 for w in weights.values()):
        log.warning("score_weights.unusable", workspace_id=str(workspace_id), weights=weights)
        return None
    if sum(weights.values()) <= 0:
        return None
    return weights
