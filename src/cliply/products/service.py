"""Products, their links to clips, tracked short links and clicks, dropshipping actions.
The one module that writes the products domain's tables; every query is scoped to one
workspace except the public redirect's lookup (by unguessable code, see `resolve_link`)."""

from __future__ import annotations

import re
import secrets
import string
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cliply.clips.models import Clip
from cliply.db.pagination import paginate
from cliply.errors import NotFound
from cliply.integrations.shopify import ShopifyProduct
from cliply.products.models import ClipProduct, DropshippingAction, LinkClick, Product, ShortLink

_CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 12  # 62^12 ≈ 2^71: not guessable, not enumerable
OUT_OF_STOCK = "product-out-of-stock"  # schedules.paused_reason set by the dropshipping flow


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
        raise NotFound("No such product.", code="product-not-found")
    return p


def list_(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = 50,
    in_stock: bool | None = None,
) -> tuple[list[Product], str | None]:
    stmt = select(Product).where(Product.workspace_id == workspace_id)
    if in_stock is not None:
        stmt = stmt.where(Product.in_stock.is_(in_stock))
    return paginate(db, stmt, (Product.created_at, Product.id), cursor, limit)


def update_product(
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


def for_clip(
    db: Session,
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Product], str | None]:
    """The clip's products in their position order."""
    _clip(db, workspace_id, clip_id)
    stmt = (
        select(Product)
        .join(ClipProduct, ClipProduct.product_id == Product.id)
        .where(ClipProduct.clip_id == clip_id, ClipProduct.workspace_id == workspace_id)
    )
    keys = (ClipProduct.position, ClipProduct.product_id)
    return paginate(db, stmt, keys, cursor, limit, descending=False)


def clips_of(db: Session, workspace_id: uuid.UUID, product_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        db.scalars(
            select(ClipProduct.clip_id).where(
                ClipProduct.workspace_id == workspace_id, ClipProduct.product_id == product_id
            )
        )
    )


def clips_blocked(
    db: Session, workspace_id: uuid.UUID, clip_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """Those of `clip_ids` that still have an out-of-stock product linked."""
    if not clip_ids:
        return set()
    return set(
        db.scalars(
            select(ClipProduct.clip_id)
            .join(Product, Product.id == ClipProduct.product_id)
            .where(
                ClipProduct.workspace_id == workspace_id,
                ClipProduct.clip_id.in_(clip_ids),
                Product.in_stock.is_(False),
            )
        )
    )


# --- bulk writes: CSV and store imports ---------------------------------------------------------


def existing_by_sku(
    db: Session, workspace_id: uuid.UUID, skus: Iterable[str]
) -> dict[str, Product]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    rows = db.scalars(
        select(Product)
        .where(Product.workspace_id == workspace_id, Product.sku.in_(wanted))
        .order_by(Product.created_at)
    )
    out: dict[str, Product] = {}
    for p in rows:
        if p.sku is not None:
            out.setdefault(p.sku, p)
    return out


def existing_by_external_id(
    db: Session, workspace_id: uuid.UUID, external_ids: Iterable[str]
) -> dict[str, Product]:
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    rows = db.scalars(
        select(Product).where(Product.workspace_id == workspace_id, Product.external_id.in_(wanted))
    )
    return {p.external_id: p for p in rows if p.external_id is not None}


def store_products(db: Session, workspace_id: uuid.UUID, store_url: str) -> list[Product]:
    return list(
        db.scalars(
            select(Product)
            .where(
                Product.workspace_id == workspace_id,
                Product.source == "shopify",
                Product.source_url == store_url,
            )
            .order_by(Product.created_at, Product.id)
            .with_for_update()
        )
    )


def stores_to_sync(db: Session) -> list[tuple[uuid.UUID, str]]:
    """(workspace, store URL) of every imported store (the periodic re-sync; owner role)."""
    rows = db.execute(
        select(Product.workspace_id, Product.source_url)
        .where(Product.source == "shopify", Product.source_url.is_not(None))
        .group_by(Product.workspace_id, Product.source_url)
        .order_by(Product.workspace_id, Product.source_url)
    ).tuples()
    return [(ws, str(url)) for ws, url in rows]


def shopify_external_id(store_url: str, product_id: str) -> str:
    host = urlsplit(store_url).netloc
    return f"shopify:{host}:{product_id}"[:200]


def shopify_values(item: ShopifyProduct, store_url: str, currency: str) -> dict[str, Any]:
    return {
        "name": item.title,
        "url": item.url,
        "sku": item.sku,
        "price_cents": item.price_cents,
        "currency": currency,
        "image_url": item.image_url,
        "external_id": shopify_external_id(store_url, item.id),
        "in_stock": item.available,
        "source": "shopify",
        "source_url": store_url,
    }


def mark_synced(
    db: Session, workspace_id: uuid.UUID, store_url: str, error: str | None, at: datetime
) -> None:
    db.execute(
        update(Product)
        .where(
            Product.workspace_id == workspace_id,
            Product.source == "shopify",
            Product.source_url == store_url,
        )
        .values(synced_at=at, sync_error=error[:2000] if error else None)
    )


# --- dropshipping actions ----------------------------------------------------------------------


def record_action(
    db: Session,
    workspace_id: uuid.UUID,
    product_id: uuid.UUID,
    kind: str,
    *,
    status: str,
    reason: str,
    schedule_ids: Sequence[uuid.UUID] = (),
    payload: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
) -> DropshippingAction:
    action = DropshippingAction(
        workspace_id=workspace_id,
        product_id=product_id,
        kind=kind,
        status=status,
        reason=reason[:2000],
        schedule_ids=list(schedule_ids),
        payload=payload or {},
        result=result,
    )
    db.add(action)
    db.flush()
    return action


def list_actions(
    db: Session,
    workspace_id: uuid.UUID,
    *,
    product_id: uuid.UUID | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[DropshippingAction], str | None]:
    stmt = select(DropshippingAction).where(DropshippingAction.workspace_id == workspace_id)
    if product_id is not None:
        stmt = stmt.where(DropshippingAction.product_id == product_id)
    keys = (DropshippingAction.created_at, DropshippingAction.id)
    return paginate(db, stmt, keys, cursor, limit)


# --- tracked links -----------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


@dataclass(frozen=True)
class TrackedLink:
    code: str
    product_name: str


def create_links(
    db: Session,
    workspace_id: uuid.UUID,
    clip_id: uuid.UUID,
    schedule_id: uuid.UUID,
    platform: str,
) -> list[TrackedLink]:
    """One short link per product of the clip that has a URL, for this schedule's post."""
    products = list(
        db.scalars(
            select(Product)
            .join(ClipProduct, ClipProduct.product_id == Product.id)
            .where(
                ClipProduct.workspace_id == workspace_id,
                ClipProduct.clip_id == clip_id,
                Product.url.is_not(None),
            )
            .order_by(ClipProduct.position, Product.name, Product.id)
        )
    )
    out: list[TrackedLink] = []
    for product in products:
        row = ShortLink(
            workspace_id=workspace_id,
            code=new_code(),
            product_id=product.id,
            clip_id=clip_id,
            schedule_id=schedule_id,
            platform=platform,
        )
        db.add(row)
        out.append(TrackedLink(row.code, product.name))
    db.flush()
    return out


def links_of_schedules(
    db: Session, workspace_id: uuid.UUID, schedule_ids: Sequence[uuid.UUID]
) -> list[ShortLink]:
    if not schedule_ids:
        return []
    return list(
        db.scalars(
            select(ShortLink)
            .where(ShortLink.workspace_id == workspace_id, ShortLink.schedule_id.in_(schedule_ids))
            .order_by(ShortLink.created_at, ShortLink.id)
        )
    )


@dataclass(frozen=True)
class ResolvedLink:
    link_id: uuid.UUID
    workspace_id: uuid.UUID
    product_id: uuid.UUID
    clip_id: uuid.UUID | None
    schedule_id: uuid.UUID | None
    post_id: uuid.UUID | None
    platform: str
    url: str | None


_CODE_RE = re.compile(rf"^[A-Za-z0-9]{{{CODE_LENGTH}}}$")


def resolve_link(db: Session, code: str) -> ResolvedLink | None:
    """The link with this code, whatever its workspace. The caller is the public redirect,
    running as the restricted role with no workspace: row-level security hides every link
    from it, and this SECURITY DEFINER function answers exactly one, by code (one indexed
    lookup), and only what the redirect needs."""
    if not _CODE_RE.match(code):
        return None
    row = db.execute(text("SELECT * FROM cliply_resolve_short_link(:code)"), {"code": code}).first()
    if row is None:
        return None
    m = row._mapping
    return ResolvedLink(
        link_id=m["link_id"],
        workspace_id=m["workspace_id"],
        product_id=m["product_id"],
        clip_id=m["clip_id"],
        schedule_id=m["schedule_id"],
        post_id=m["post_id"],
        platform=str(m["platform"]),
        url=m["url"],
    )


def with_utm(url: str, link: ResolvedLink) -> str:
    """The product URL with utm_source = platform, utm_campaign = clip, utm_content = post (the
    schedule's id until its post exists); other query parameters kept."""
    utm = {
        "utm_source": link.platform,
        "utm_medium": "social",
        "utm_campaign": str(link.clip_id or ""),
        "utm_content": str(link.post_id or link.schedule_id or ""),
    }
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in utm]
    query += [(k, v) for k, v in utm.items() if v]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Visitor:
    ua_class: str  # bot | mobile | tablet | desktop | other
    is_bot: bool
    country: str | None


# Link-preview fetchers, crawlers, monitors and HTTP libraries: not a person clicking.
_BOT_RE = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|facebookexternalhit|facebookcatalog|meta-externalagent|"
    r"embedly|preview|whatsapp|skypeuripreview|vkshare|pinterest/|curl/|wget/|python-|httpx|"
    r"aiohttp|go-http-client|java/|okhttp|node-fetch|axios/|libwww|scrapy|headless|"
    r"lighthouse|pingdom|uptime|monitor|phantomjs|selenium|puppeteer|playwright",
    re.I,
)
_TABLET_RE = re.compile(r"ipad|tablet|kindle|silk/|android(?!.*mobile)", re.I)
_MOBILE_RE = re.compile(r"mobi|iphone|ipod|android|windows phone|blackberry|opera mini", re.I)
_DESKTOP_RE = re.compile(r"windows nt|macintosh|x11|cros|linux x86_64", re.I)


def classify(user_agent: str | None, country: str | None) -> Visitor:
    ua = (user_agent or "").strip()
    code = (country or "").strip().upper()
    # ISO 3166 alpha-2 only; Cloudflare's XX (unknown) and T1 (Tor) are no country.
    known = code if len(code) == 2 and code.isalpha() and code != "XX" else None
    if not ua or _BOT_RE.search(ua):
        return Visitor("bot", True, known)
    if _TABLET_RE.search(ua):
        return Visitor("tablet", False, known)
    if _MOBILE_RE.search(ua):
        return Visitor("mobile", False, known)
    if _DESKTOP_RE.search(ua):
        return Visitor("desktop", False, known)
    return Visitor("other", False, known)


def record_click(db: Session, link: ResolvedLink, visitor: Visitor) -> None:
    """One click row, in the link's workspace (the caller set it for row-level security)."""
    db.add(
        LinkClick(
            workspace_id=link.workspace_id,
            link_id=link.link_id,
            product_id=link.product_id,
            clip_id=link.clip_id,
            post_id=link.post_id,
            platform=link.platform[:20],
            country=visitor.country,
            ua_class=visitor.ua_class,
            is_bot=visitor.is_bot,
        )
    )
    db.flush()


# --- click statistics --------------------------------------------------------------------------


@dataclass
class ClickCounts:
    clicks: int = 0
    bot_clicks: int = 0
    posts: set[uuid.UUID] = field(default_factory=set)


def _click_rows(db: Session, workspace_id: uuid.UUID, key: Any, *where: Any) -> Any:
    return db.execute(
        select(
            key,
            func.count().filter(LinkClick.is_bot.is_(False)),
            func.count().filter(LinkClick.is_bot.is_(True)),
        )
        .where(LinkClick.workspace_id == workspace_id, *where)
        .group_by(key)
    ).tuples()


def clicks_by_product(db: Session, workspace_id: uuid.UUID) -> dict[uuid.UUID, tuple[int, int]]:
    """{product: (clicks, bot clicks)}."""
    rows = _click_rows(db, workspace_id, LinkClick.product_id)
    return {k: (int(c), int(b)) for k, c, b in rows}


def clicks_by_product_for_clip(
    db: Session, workspace_id: uuid.UUID, clip_id: uuid.UUID
) -> dict[uuid.UUID, tuple[int, int]]:
    """{product: (clicks, bot clicks)} on the links of one clip's posts."""
    rows = _click_rows(db, workspace_id, LinkClick.product_id, LinkClick.clip_id == clip_id)
    return {k: (int(c), int(b)) for k, c, b in rows}


def clicks_by_clip(
    db: Session, workspace_id: uuid.UUID, clip_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[int, int]]:
    where = [LinkClick.clip_id.in_(clip_ids)] if clip_ids is not None else []
    rows = _click_rows(db, workspace_id, LinkClick.clip_id, LinkClick.clip_id.is_not(None), *where)
    return {k: (int(c), int(b)) for k, c, b in rows}


def clicks_by_post(
    db: Session, workspace_id: uuid.UUID, post_ids: Sequence[uuid.UUID] | None = None
) -> dict[uuid.UUID, tuple[int, int]]:
    where = [LinkClick.post_id.in_(post_ids)] if post_ids is not None else []
    rows = _click_rows(db, workspace_id, LinkClick.post_id, LinkClick.post_id.is_not(None), *where)
    return {k: (int(c), int(b)) for k, c, b in rows}


def product_schedules(db: Session, workspace_id: uuid.UUID) -> dict[uuid.UUID, set[uuid.UUID]]:
    """{product: schedules whose caption carries its link} (posts come from schedules)."""
    out: dict[uuid.UUID, set[uuid.UUID]] = {}
    rows = db.execute(
        select(ShortLink.product_id, ShortLink.schedule_id).where(
            ShortLink.workspace_id == workspace_id, ShortLink.schedule_id.is_not(None)
        )
    ).tuples()
    for pid, sid in rows:
        if sid is not None:
            out.setdefault(pid, set()).add(sid)
    return out


def all_products(db: Session, workspace_id: uuid.UUID) -> list[Product]:
    return list(
        db.scalars(
            select(Product)
            .where(Product.workspace_id == workspace_id)
            .order_by(Product.name, Product.id)
        )
    )


def now() -> datetime:
    return datetime.now(UTC)
