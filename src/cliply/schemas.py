"""Shared bases and types for API shapes: text, bounded integers, omittable PATCH fields.

Every request value reaches PostgreSQL sooner or later, and PostgreSQL refuses some values
that Python and JSON allow: NUL (\\u0000) in text and jsonb, lone surrogates (not UTF-8),
integers beyond int/bigint, NaN and infinities where a number is meant. These are refused
here, at the edge, as 422 validation errors, never discovered by the database as a 500.

- `Strict` is the base of every request body: unknown fields are refused, text is trimmed,
  floats must be finite, and every text value in it (nested lists and dicts included, keys
  too) goes through `refuse_bad_text`, and every integer must fit a bigint.
- `Text` is that same rule as a type, for what does not come in a body: query parameters,
  header values, filenames.
- `Int32` / `Int64` bound integers to the column they go to (integer / bigint).
- `Omittable[T]` is a PATCH field that may be left out (unchanged) but not sent as null,
  for columns that are NOT NULL.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def refuse_bad_text(value: str) -> str:
    """NUL and lone surrogates cannot be stored in PostgreSQL text; refuse them."""
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\u0000)")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return value


def has_bad_text(value: str) -> bool:
    try:
        refuse_bad_text(value)
    except ValueError:
        return True
    return False


def _check_value(value: Any) -> None:
    if isinstance(value, str):
        refuse_bad_text(value)
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise ValueError("integer out of range (64-bit)")
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_value(k)
            _check_value(v)
    elif isinstance(value, list | tuple | set | frozenset):
        for v in value:
            _check_value(v)


Text = Annotated[str, AfterValidator(refuse_bad_text)]
"""Text as PostgreSQL can store it: no NUL, no lone surrogates."""

Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX)]
"""An integer that fits an `integer` column."""

Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer that fits a `bigint` column."""


class Strict(BaseModel):
    """Base of every request body."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _numbers_are_numbers(cls, data: Any) -> Any:
        # Lax validation would read `true` as 1 for a number field; JSON says it is not one.
        if isinstance(data, dict):
            for name, field in cls.model_fields.items():
                value = data.get(field.alias or name)
                if isinstance(value, bool) and _wants_number(field.annotation):
                    raise ValueError(f"{name} must be a number, not {str(value).lower()}")
        return data

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any) -> Any:
        # One rule for every field of every body, however it is annotated.
        _check_value(value)
        return value


def _wants_number(annotation: Any) -> bool:
    if annotation is bool:
        return False
    if annotation in (int, float):
        return True
    args = get_args(annotation)
    return bool(args) and bool not in args and any(_wants_number(a) for a in args)


def _refuse_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


class _DropNull:
    """Documents an omittable field without its `null` branch (the schema tells the truth)."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        branches = out.get("anyOf")
        if isinstance(branches, list):
            kept = [b for b in branches if b != {"type": "null"}]
            if len(kept) == 1:
                rest = {k: v for k, v in out.items() if k != "anyOf"}
                return {**kept[0], **rest}
            out = {**out, "anyOf": kept}
        return out


T = TypeVar("T")

Omittable = Annotated[T | None, BeforeValidator(_refuse_null), _DropNull()]
"""A PATCH field for a NOT NULL column: leave it out to keep the value; null is refused."""
