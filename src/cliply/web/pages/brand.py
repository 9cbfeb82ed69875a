"""Studio: the brand kit (caption font, colours, position and size, logo, intro and outro,
defaults for new clips) with a live mock-up of a clip.

The page shows the kit; brand.js changes it through the JSON API (`PUT /api/v1/brand`,
multipart `POST /api/v1/brand/{font|logo|intro|outro}`, `DELETE` to remove a file), the
same calls an API client makes. The clip editor's style stills are drawn with the kit.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from cliply.billing.service import resolve_workspace_plan
from cliply.brand import service as brand
from cliply.brand.schemas import brand_out
from cliply.media.brand import CORNERS
from cliply.media.captions import CAPTION_STYLES
from cliply.media.reframe import ASPECTS
from cliply.web.deps import PageRoute, StudioPage

router = APIRouter(route_class=PageRoute)

SIZES = (
    ("", "The style's own"),
    ("0.035", "Small"),
    ("0.045", "Medium"),
    ("0.06", "Large"),
    ("0.08", "Extra large"),
)


@router.get("/brand", response_class=HTMLResponse)
def brand_kit(studio: StudioPage) -> HTMLResponse:
    studio.require("brand.read")
    kit = brand.get_kit(studio.db, studio.workspace_id)
    plan = resolve_workspace_plan(studio.db, studio.workspace_id)
    data = brand_out(kit, plan.watermark)
    return studio.render(
        "brand/index.html",
        kit=data,
        kit_json=data.model_dump(mode="json"),
        plan=plan,
        can_edit=studio.can("brand.write"),
        styles=list(CAPTION_STYLES),
        aspects=list(ASPECTS),
        corners=CORNERS,
        sizes=SIZES,
    )
