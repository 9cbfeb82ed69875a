"""Reading a product CSV into a plan: every row checked, every problem named by row and column.

The plan is applied only when no row has an error (`products.flows.import_csv`), in the
request's one transaction, so a file is imported whole or not at all. Header names are
matched case-insensitively with a few common aliases (title → name, link → url, …); a row
whose SKU matches a product of the workspace updates it instead of adding a second one.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from cliply.products import service
from cliply.products.schemas import ProductIn

MAX_ROWS = 5000
# Our field ← the header names accepted for it (lower-cased, spaces/dashes as underscores).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("name", "title", "product", "product_name"),
    "url": ("url", "link", "product_url", "product_link"),
    "sku": ("sku", "variant_sku"),
    "price": ("price", "variant_price"),
    "currency": ("currency",),
    "image_url": ("image_url", "image", "image_src"),
    "in_stock": ("in_stock", "available", "stock"),
}
_FIELD_COLUMN = {"price_cents": "price"}
_PRICE = re.compile(r"^\d{1,9}(?:[.,]\d{1,2})?$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_TRUE = {"", "1", "true", "yes", "y", "in stock", "in_stock", "available"}
_FALSE = {"0", "false", "no", "n", "out of stock", "out_of_stock", "sold out", "unavailable"}


@dataclass(frozen=True)
class RowError:
    row: int  # the line of the CSV file (the header is line 1)
    column: str | None
    message: str


@dataclass(frozen=True)
class RowPlan:
    row: int
    action: str  # create | update
    values: dict[str, Any]
    product_id: uuid.UUID | None = None


@dataclass
class CsvPlan:
    rows: list[RowPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _key(header: str) -> str:
    return re.sub(r"[\s\-]+", "_", header.strip().lstrip("\ufeff").lower())


def _price_cents(raw: str) -> int:
    value = raw.strip().lstrip("$€£¥").strip().replace(" ", "")
    if not _PRICE.match(value):
        raise ValueError("must be a price such as 19.99")
    whole, _, frac = value.replace(",", ".").partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def _stock(raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("must be yes or no (or true/false, 1/0)")


def _pydantic_errors(row: int, exc: ValidationError) -> list[RowError]:
    out = []
    for err in exc.errors():
        loc = str(err["loc"][0]) if err["loc"] else None
        column = _FIELD_COLUMN.get(loc or "", loc)
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(RowError(row, column, message))
    return out


def plan_csv(db: Session, workspace_id: uuid.UUID, data: str, default_currency: str) -> CsvPlan:
    """Check every row; the plan says what importing would create or update."""
    plan = CsvPlan()
    reader = csv.reader(io.StringIO(data.lstrip("\ufeff"), newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        plan.errors.append(RowError(1, None, "The file is empty: it needs a header row."))
        return plan
    except csv.Error as exc:
        plan.errors.append(RowError(1, None, f"The header row is not valid CSV: {exc}."))
        return plan
    index: dict[str, int] = {}
    for i, raw in enumerate(header):
        key = _key(raw)
        target = next((f for f, names in COLUMNS.items() if key in names), None)
        if target is None or target in index:
            if raw.strip():
                plan.ignored_columns.append(raw.strip())
            continue
        index[target] = i
    if "name" not in index:
        plan.errors.append(
            RowError(1, "name", "The header has no name column (name or title) for products.")
        )
        return plan
    candidates: list[tuple[int, dict[str, Any]]] = []
    skus: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(candidates) + len(plan.errors) >= MAX_ROWS:
                plan.errors.append(
                    RowError(line, None, f"The file has more than {MAX_ROWS} products.")
                )
                break
            values, errors = _row(line, cells, index, default_currency)
            sku = values.get("sku")
            if sku and not errors:
                if sku in skus:
                    errors.append(
                        RowError(line, "sku", f"SKU {sku} is already on line {skus[sku]}.")
                    )
                else:
                    skus[sku] = line
            if errors:
                plan.errors.extend(errors)
            else:
                candidates.append((line, values))
    except csv.Error as exc:
        plan.errors.append(RowError(reader.line_num, None, f"Not valid CSV: {exc}."))
    if not candidates and not plan.errors:
        plan.errors.append(RowError(2, None, "The file has a header but no products."))
    existing = service.existing_by_sku(db, workspace_id, skus)
    for line, values in candidates:
        match = existing.get(values.get("sku") or "")
        if match is not None:
            plan.rows.append(RowPlan(line, "update", values, match.id))
        else:
            plan.rows.append(RowPlan(line, "create", values))
    return plan


def _row(
    line: int, cells: list[str], index: dict[str, int], default_currency: str
) -> tuple[dict[str, Any], list[RowError]]:
    def cell(name: str) -> str:
        i = index.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    errors: list[RowError] = []
    for name in index:
        if _CONTROL.search(cell(name)):
            errors.append(RowError(line, name, "contains control characters"))
    if errors:
        return {}, errors
    raw: dict[str, Any] = {"name": cell("name")}
    for name in ("url", "sku", "image_url"):
        if cell(name):
            raw[name] = cell(name)
    raw["currency"] = (cell("currency") or default_currency).upper()
    if cell("price"):
        try:
            raw["price_cents"] = _price_cents(cell("price"))
        except ValueError as exc:
            errors.append(RowError(line, "price", str(exc)))
    try:
        raw["in_stock"] = _stock(cell("in_stock"))
    except ValueError as exc:
        errors.append(RowError(line, "in_stock", str(exc)))
    if not raw["name"]:
        errors.append(RowError(line, "name", "A product needs a name."))
        return raw, errors
    try:
        checked = ProductIn.model_validate(raw)
    except ValidationError as exc:
        return raw, errors + _pydantic_errors(line, exc)
    return checked.model_dump(mode="json"), errors
