"""Products and their links to clips, scoped to one workspace."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.clips.models import Clip
from cliply.errors import NotFound
from cliply.products.models import ClipProduct, Product


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (str(v) if k in ("url", "image_url") and v is not None else v) for k, v in values.items()
    }


def create(db: Session, workspace_id: uuid.UUID, values: dict[str, Any]) -> Product:
    p = Product(workspace_id=workspace_id, **_clean(values))
    db.add(p)
    db.flush()
    return p


def get(db: Session, workspace_id: uuid.UUID, product_id: uuid.UUID) -> Product:
    p = db.scalar(
        select(Product).where(Product.id == product_id, Product.workspace_id == workspace_id)
    )
    if p is None:
        raise NotFound("No such product.")
    return p


def list_(db: Session, workspace_id: uuid.UUID) -> list[Product]:
    return list(
        db.scalars(
            select(Product)
            .where(Product.workspace_id == workspace_id)
            .order_by(Product.created_at.desc())
        )
    )


def update(
    db: Session, workspace_id: uuid.UUID, product_id: uuid.UUID, values: dict[str, Any]
) -> Product:
    p = get(db, workspace_id, product_id)
    for k, v in _clean(values).items():
        setattr(p, k, v)
    db.flush()
    return p


def remove(db: Session, workspace_id: uuid.UUID, product_id: uuid.UUID) -> None:
    db.delete(get(db, workspace_id, product_id))
    db.flush()


def _clip(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID) -> Clip:
    c = db.scalar(select(Clip).where(Clip.id == clip_id, Clip.workspace_id == workspace_id))
    if c is None:
        raise NotFound("No such clip.", code="clip-not-found")
    return c


def link(
    db: Session,
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID,
    product_id: uuid.UUID,
    position: int = 0,
) -> None:
    _clip(db, workspace_id, clip_id)
    get(db, workspace_id, product_id)
    db.execute(
        insert(ClipProduct)
        .values(
            workspace_id=workspace_id, clip_id=clip_id, product_id=product_id, position=position
        )
        .on_conflict_do_update(
            index_elements=["clip_id", "product_id"], set_={"position": position}
        )
    )


def unlink(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID, product_id: uuid.UUID) -> None:
    """404 unless this workspace's clip and product exist and are linked (as PUT answers)."""
    _clip(db, workspace_id, clip_id)
    get(db, workspace_id, product_id)
    gone = db.scalar(
        delete(ClipProduct)
        .where(
            ClipProduct.workspace_id == workspace_id,
            ClipProduct.clip_id == clip_id,
            ClipProduct.product_id == product_id,
        )
        .returning(ClipProduct.product_id)
    )
    if gone is None:
        raise NotFound("This product is not linked to this clip.", code="link-not-found")


def for_clip(db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID) -> list[Product]:
    _clip(db, workspace_id, clip_id)
    return list(
        db.scalars(
            select(Product)
            .join(ClipProduct, ClipProduct.product_id == Product.id)
            .where(ClipProduct.clip_id == clip_id)
            .order_by(ClipProduct.position)
        )
    )
