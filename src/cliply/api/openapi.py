"""The OpenAPI document tells the truth about errors: every one is RFC 9457 problem+json.

FastAPI documents only the success response and a 422 in its own `{"detail": [...]}` shape,
which is not what Cliply sends. Every operation here declares its 422 as a validation problem
and a `default` response for the other errors (401, 403, 404, 409, 413, 429, 503, …).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from cliply.api.problems import MEDIA_TYPE

_PROBLEM: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details; `type` is stable, `detail` is for people.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "Stable URI naming the problem."},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 100, "maximum": 599},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "retryable": {"type": "boolean"},
    },
    "additionalProperties": True,
}

_VALIDATION_PROBLEM: dict[str, Any] = {
    "allOf": [
        {"$ref": "#/components/schemas/Problem"},
        {
            "type": "object",
            "properties": {
                "errors": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "loc": {"type": "array", "items": {}},
                            "msg": {"type": "string"},
                            "type": {"type": "string"},
                        },
                    },
                }
            },
        },
    ]
}

_HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _problem_response(description: str, ref: str) -> dict[str, Any]:
    return {"description": description, "content": {MEDIA_TYPE: {"schema": {"$ref": ref}}}}


def document(app: FastAPI) -> dict[str, Any]:
    """Build the document once, with problem+json errors on every operation."""
    if app.openapi_schema:
        return app.openapi_schema
    spec = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = _PROBLEM
    schemas["ValidationProblem"] = _VALIDATION_PROBLEM
    for item in spec.get("paths", {}).values():
        for method, op in item.items():
            if method not in _HTTP_METHODS:
                continue
            responses = op.setdefault("responses", {})
            responses["422"] = _problem_response(
                "The request is not valid", "#/components/schemas/ValidationProblem"
            )
            responses.setdefault(
                "default", _problem_response("An error", "#/components/schemas/Problem")
            )
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    app.openapi_schema = spec
    return spec


def install(app: FastAPI) -> None:
    app.openapi = lambda: document(app)  # type: ignore[method-assign]
