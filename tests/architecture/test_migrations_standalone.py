"""Migrations are history: they import no Cliply code, so changing the code cannot change
what an old migration does. (The schema-drift test checks they still match the models.)"""

from __future__ import annotations

import ast

from tests.architecture.error_code_scan import SRC, tree

VERSIONS = SRC / "db" / "alembic" / "versions"


def test_migrations_import_no_cliply_code() -> None:
    files = sorted(VERSIONS.glob("*.py"))
    assert files
    offenders = []
    for path in files:
        for node in ast.walk(tree(path)):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "cliply"]
    assert offenders == [], f"migrations must inline what they need: {offenders}"
