"""Experiments: variants of a clip, their posts, and the leader on the chosen metric."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cliply.analytics.models import PostMetric
from cliply.clips.models import Clip
from cliply.db.pagination import paginate
from cliply.errors import Conflict, NotFound
from cliply.experiments.models import Experiment, ExperimentVariant, VariantPost
from cliply.experiments.schemas import ExperimentIn, ExperimentOut, VariantOut
from cliply.publishing.models import Post


def _clip(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID) -> Clip:
    clip = db.scalar(select(Clip).where(Clip.id == clip_id, Clip.workspace_id == workspace_id))
    if clip is None:
        raise NotFound("No such clip.", code="clip-not-found")
    return clip


def create(
    db: Session, workspace_id: uuid.UUID, user_id: uuid.UUID, data: ExperimentIn
) -> Experiment:
    _clip(db, workspace_id, data.clip_id)
    labels = [v.label for v in data.variants]
    if len(set(labels)) != len(labels):
        raise Conflict("Variant labels must differ.", code="duplicate-variant-label")
    exp = Experiment(
        workspace_id=workspace_id,
        clip_id=data.clip_id,
        name=data.name,
        metric=data.metric,
        created_by=user_id,
    )
    db.add(exp)
    db.flush()
    for v in data.variants:
        if v.clip_id is not None:
            _clip(db, workspace_id, v.clip_id)
        db.add(
            ExperimentVariant(
                workspace_id=workspace_id,
                experiment_id=exp.id,
                label=v.label,
                clip_id=v.clip_id or data.clip_id,
                changes=v.changes,
            )
        )
    db.flush()
    return exp


def get(db: Session, workspace_id: uuid.UUID, experiment_id: uuid.UUID) -> Experiment:
    exp = db.scalar(
        select(Experiment).where(
            Experiment.id == experiment_id, Experiment.workspace_id == workspace_id
        )
    )
    if exp is None:
        raise NotFound("No such experiment.")
    return exp


def list_(
    db: Session, workspace_id: uuid.UUID, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[Experiment], str | None]:
    stmt = select(Experiment).where(Experiment.workspace_id == workspace_id)
    return paginate(db, stmt, (Experiment.created_at, Experiment.id), cursor, limit)


def set_status(
    db: Session, workspace_id: uuid.UUID, experiment_id: uuid.UUID, status: str
) -> Experiment:
    exp = get(db, workspace_id, experiment_id)
    now = datetime.now(UTC)
    if status == "running" and exp.status == "draft":
        exp.status, exp.started_at = "running", now
    elif status == "ended" and exp.status in ("draft", "running"):
        leader = leaderboard(db, exp)
        exp.status, exp.ended_at = "ended", now
        exp.winner_variant_id = leader[0].id if leader and leader[0].metric_total > 0 else None
    else:
        raise Conflict(
            f"Cannot move an experiment from {exp.status} to {status}.", code="invalid-transition"
        )
    db.flush()
    return exp


def attach_post(
    db: Session,
    workspace_id: uuid.UUID,
    experiment_id: uuid.UUID,
    variant_id: uuid.UUID,
    post_id: uuid.UUID,
) -> None:
    exp = get(db, workspace_id, experiment_id)
    variant = db.scalar(
        select(ExperimentVariant).where(
            ExperimentVariant.id == variant_id, ExperimentVariant.experiment_id == exp.id
        )
    )
    post = db.scalar(select(Post).where(Post.id == post_id, Post.workspace_id == workspace_id))
    if variant is None or post is None:
        raise NotFound("No such variant or post.")
    try:
        with db.begin_nested():
            db.add(VariantPost(workspace_id=workspace_id, variant_id=variant.id, post_id=post.id))
    except IntegrityError:
        pass  # already attached: attaching is idempotent


def leaderboard(db: Session, exp: Experiment) -> list[VariantOut]:
    """Variants by the experiment's metric, summed over each post's latest snapshot."""
    metric_col = getattr(PostMetric, exp.metric)
    latest = (
        select(PostMetric.post_id, func.max(PostMetric.collected_at).label("at"))
        .group_by(PostMetric.post_id)
        .subquery()
    )
    out: list[VariantOut] = []
    variants = db.scalars(
        select(ExperimentVariant)
        .where(ExperimentVariant.experiment_id == exp.id)
        .order_by(ExperimentVariant.label)
    )
    for v in variants:
        post_ids = list(
            db.scalars(select(VariantPost.post_id).where(VariantPost.variant_id == v.id))
        )
        total = (
            db.scalar(
                select(func.coalesce(func.sum(metric_col), 0))
                .join(
                    latest,
                    (latest.c.post_id == PostMetric.post_id)
                    & (latest.c.at == PostMetric.collected_at),
                )
                .where(PostMetric.post_id.in_(post_ids))
            )
            if post_ids
            else 0
        )
        out.append(
            VariantOut(
                id=v.id,
                label=v.label,
                clip_id=v.clip_id,
                changes=v.changes,
                post_ids=post_ids,
                metric_total=float(total or 0),
            )
        )
    return sorted(out, key=lambda x: -x.metric_total)


def to_out(db: Session, exp: Experiment) -> ExperimentOut:
    out = ExperimentOut.model_validate(exp)
    out.variants = leaderboard(db, exp)
    return out
