"""Honest status codes: DELETE of something that does not exist (or is not yours) is 404.

Every DELETE operation in the OpenAPI document, with random ids in its path, must answer
404, never 204 (the document is the list, so a new DELETE route is covered on arrival).
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import text

from cliply.db.engine import get_engine
from tests.foundation.helpers import make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_every_delete_of_a_random_id_is_404(client) -> None:
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE workspaces SET plan = 'premium' WHERE id = :w"), {"w": ws["id"]})
    h = {**owner.ws(ws["id"]), "Tus-Resumable": "1.0.0"}
    paths = [
        p for p, item in client.get("/api/openapi.json").json()["paths"].items() if "delete" in item
    ]
    assert paths, "no DELETE operation in the document"
    wrong = []
    for template in paths:
        params = re.findall(r"\{([^}]+)\}", template)
        if not params:
            continue  # a reset of a workspace-wide setting (e.g. score weights), not a thing by id
        # A sub-resource of our own workspace: the workspace exists, the thing does not.
        own_ws = len(params) > 1 and params[0] == "workspace_id"
        path = template
        for name in params:
            value = ws["id"] if own_ws and name == "workspace_id" else str(uuid.uuid4())
            path = path.replace("{" + name + "}", value)
        r = client.delete(path, headers=h)
        if r.status_code != 404:
            wrong.append(f"DELETE {template}: {r.status_code}")
    assert not wrong, wrong
