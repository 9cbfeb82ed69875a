"""The experiments scan (periodic: running experiments with new metrics, or past their
deadline, get an EXPERIMENT_EVALUATE job) and EXPERIMENT_EVALUATE (payload {"experiment_id"}):
the winner rule on the latest metrics; it stops the experiment when the rule says so."""

from __future__ import annotations

import uuid
from typing import Any

import structlog

from cliply.config import get_settings
from cliply.db.engine import owner_session
from cliply.errors import PermanentError
from cliply.experiments import service
from cliply.jobs.registry import JobContext, handler, periodic

log = structlog.get_logger(__name__)


@periodic("experiments_scan", every_s=get_settings().experiment_evaluate_interval_s)
def experiments_scan() -> int:
    with owner_session() as db:
        n = service.queue_due(db)
    if n:
        log.info("experiments.scan_queued", experiments=n)
    return n


@handler(service.EXPERIMENT_EVALUATE, capability="cpu")
def experiment_evaluate(ctx: JobContext) -> dict[str, Any]:
    try:
        experiment_id = uuid.UUID(str(ctx.payload["experiment_id"]))
    except (KeyError, ValueError):
        raise PermanentError(
            "The job payload has no experiment_id.", code="invalid-payload"
        ) from None
    if ctx.workspace_id is None:
        raise PermanentError("EXPERIMENT_EVALUATE needs a workspace.", code="invalid-payload")
    with owner_session() as db:
        exp = service.find(db, ctx.workspace_id, experiment_id)
        if exp is None:
            return {"skipped": "experiment gone"}
        if exp.status != "running":
            return {"skipped": f"experiment {exp.status}"}
        ev = service.evaluate(db, exp)
        result = {
            "status": exp.status,
            "stop_reason": exp.stop_reason,
            "winner_variant_id": str(exp.winner_variant_id) if exp.winner_variant_id else None,
            "ready": ev.decision.ready,
            "p_win": {
                e.variant.label: st.p_win for e, st in zip(ev.evidence, ev.stats, strict=True)
            },
        }
    ctx.event("evaluated", f"experiment {result['status']}", **result)
    return result
