"""The Meta client's reading of Graph answers: error codes and subcodes, fbtrace_id, and the
rate-limit usage headers (pure: answers built by hand, no network)."""

from __future__ import annotations

import json

import httpx
import pytest

from cliply.integrations.meta import graph_error, parse_usage
from cliply.integrations.oauth_common import (
    RefreshFailed,
    TokenExpired,
    TransientError,
    UpstreamRateLimited,
    UpstreamRejected,
)


def _answer(
    status: int, error: dict[str, object], headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json={"error": error}, headers=headers or {})


def test_usage_headers_give_the_fullest_percentage_and_the_wait() -> None:
    headers = httpx.Headers(
        {
            "x-app-usage": json.dumps({"call_count": 12, "total_cputime": 40, "total_time": 8}),
            "x-business-use-case-usage": json.dumps(
                {
                    "1234": [
                        {
                            "type": "instagram",
                            "call_count": 97,
                            "total_cputime": 3,
                            "total_time": 4,
                            "estimated_time_to_regain_access": 7,
                        }
                    ]
                }
            ),
        }
    )
    usage = parse_usage(headers)
    assert usage.pct == 97 and usage.regain_s == 7 * 60
    assert parse_usage(httpx.Headers({"x-app-usage": "not json"})).pct == 0


@pytest.mark.parametrize(
    ("status", "error", "kind", "code"),
    [
        (
            400,
            {"code": 190, "error_subcode": 463, "message": "Session has expired"},
            TokenExpired,
            "graph-190-463",
        ),
        (
            400,
            {"code": 4, "message": "Application request limit reached"},
            UpstreamRateLimited,
            "graph-4",
        ),
        (
            400,
            {"code": 80002, "message": "Instagram BUC limit"},
            UpstreamRateLimited,
            "graph-80002",
        ),
        (
            400,
            {"code": 9, "error_subcode": 2207042, "message": "max posts"},
            UpstreamRateLimited,
            "graph-9-2207042",
        ),
        (
            500,
            {"code": 2, "message": "Service temporarily unavailable", "is_transient": True},
            TransientError,
            "graph-2",
        ),
        (
            400,
            {"code": 100, "error_subcode": 33, "message": "does not exist"},
            UpstreamRejected,
            "graph-100-33",
        ),
        (403, {"code": 10, "message": "no permission"}, UpstreamRejected, "permission-denied"),
    ],
)
def test_graph_errors_are_typed(
    status: int, error: dict[str, object], kind: type[Exception], code: str
) -> None:
    err = graph_error(_answer(status, {**error, "type": "OAuthException", "fbtrace_id": "AbC123"}))
    assert type(err) is kind and err.code == code
    assert err.log_id == "AbC123" and err.upstream_status == status


def test_rate_limit_waits_for_regained_access() -> None:
    buc = {"1": [{"type": "pages", "call_count": 100, "estimated_time_to_regain_access": 3}]}
    err = graph_error(
        _answer(
            400, {"code": 80001, "message": "limit"}, {"x-business-use-case-usage": json.dumps(buc)}
        )
    )
    assert isinstance(err, UpstreamRateLimited) and err.retry_after_s == 180


def test_a_dead_token_while_refreshing_means_reconnect() -> None:
    err = graph_error(
        _answer(400, {"code": 190, "error_subcode": 460, "message": "password"}), refreshing=True
    )
    assert isinstance(err, RefreshFailed) and err.permanent and err.code == "reconnect-required"
    err = graph_error(_answer(500, {"code": 1, "message": "unknown"}), refreshing=True)
    assert isinstance(err, RefreshFailed) and not err.permanent
