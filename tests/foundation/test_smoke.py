import pytest

from tests.foundation.helpers import add_member, make_workspace, signup_login

# Every test here needs the database (or a server process): integration tier.
pytestmark = pytest.mark.integration


def test_signup_workspace_invite_flow(client):
    owner = signup_login(client)
    ws = make_workspace(client, owner)
    member = add_member(client, owner, ws["id"], "viewer")
    r = client.get(f"/api/v1/workspaces/{ws['id']}/members", headers=member.h)
    assert r.status_code == 200
    assert {m["role"] for m in r.json()["items"]} == {"owner", "viewer"}
    assert "x-request-id" in r.headers
