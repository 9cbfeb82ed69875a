"""ingest/ is infrastructure: it imports no domain package, and `pipeline/` (run by
`cliply process` without a database) reaches URL download and the SSRF guard through it."""

from __future__ import annotations

import ast
from pathlib import Path

import cliply
from tests.astcache import parse

SRC = Path(cliply.__file__).parent
# What ingest/ may import from cliply: itself, the error base, settings and storage.
INGEST_ALLOWED = ("cliply.ingest", "cliply.errors", "cliply.config", "cliply.storage")


def cliply_imports(package: str) -> set[tuple[str, str]]:
    """(file, module) for every `cliply.*` import in a package, function-local ones too."""
    found: set[tuple[str, str]] = set()
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(parse(path)):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            found |= {(path.name, n) for n in names if n == "cliply" or n.startswith("cliply.")}
    return found


def test_ingest_imports_no_domain_code() -> None:
    bad = {
        (f, m)
        for f, m in cliply_imports("ingest")
        if m != "cliply" and not any(m == a or m.startswith(a + ".") for a in INGEST_ALLOWED)
    }
    assert not bad, f"ingest/ imports outside its floor: {sorted(bad)}"


def test_pipeline_does_not_import_projects() -> None:
    bad = {(f, m) for f, m in cliply_imports("pipeline") if m.startswith("cliply.projects")}
    assert not bad, f"pipeline/ must reach ingest through cliply.ingest: {sorted(bad)}"


def test_worker_tasks_do_not_import_the_tus_router() -> None:
    bad = {
        (f, m)
        for pkg in ("projects", "jobs")
        for f, m in cliply_imports(pkg)
        if f == "tasks.py" and m.endswith(".tus")
    }
    assert not bad
