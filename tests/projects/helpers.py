"""Upload helpers for the projects/clips tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.foundation.helpers import Account, make_workspace, signup_login


def owner_ws(client: TestClient) -> tuple[Account, dict[str, str]]:
    acct = signup_login(client)
    ws = make_workspace(client, acct)
    return acct, acct.ws(ws["id"])


def upload(
    client: TestClient, headers: dict[str, str], path: Path, **fields: str
) -> dict[str, Any]:
    with path.open("rb") as fh:
        r = client.post(
            "/api/v1/projects",
            headers=headers,
            data=fields,
            files={"file": (path.name, fh, "video/mp4")},
        )
    assert r.status_code == 201, r.text
    return dict(r.json())
