"""Every list the API returns has the one shape: a cursor page (`items`, `next_cursor`)."""

from __future__ import annotations

import typing

from fastapi.routing import APIRoute


def test_no_get_endpoint_returns_a_bare_list() -> None:
    from cliply.app import create_app

    bare = []
    for route in create_app().routes:
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        if typing.get_origin(route.response_model) in (list, tuple, set):
            bare.append(route.path)
    assert not bare, f"return cliply.db.pagination.Page instead of a list: {bare}"
