"""The shape that keeps platforms pluggable (no database needed):

- accounts, schedules and publishing never name a platform (no `if platform == "tiktok"`):
  everything per platform goes through an adapter from `cliply.platforms.registry`;
- every registered adapter implements the whole `Platform` protocol, with its own job kind;
- layering: platforms and integrations import no domain; accounts imports neither schedules
  nor publishing; publishing does not import schedules; and no module in these packages
  hides an import inside a function;
- each table of these domains is written by one module (its service; flows only sequence).
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from tests.astcache import parse

from cliply.platforms import base, registry

SRC = Path(__file__).resolve().parents[2] / "src" / "cliply"
DOMAINS = ("accounts", "schedules", "publishing")
PLATFORM_NAMES = ("tiktok", "youtube", "instagram", "facebook", "google", "meta")


def _modules(*packages: str) -> list[Path]:
    return sorted(p for pkg in packages for p in (SRC / pkg).glob("*.py"))


def _imports(tree: ast.AST) -> list[str]:
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            out.append(node.module)
        elif isinstance(node, ast.Import):
            out.extend(a.name for a in node.names)
    return out


@pytest.mark.parametrize("path", _modules(*DOMAINS), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_domains_never_name_a_platform(path: Path) -> None:
    tree = parse(path)
    named = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.lower() in PLATFORM_NAMES
    ]
    assert named == [], f"{path}: platform names in code, use an adapter instead: {named}"
    platform_imports = [
        m
        for m in _imports(tree)
        if m.startswith("cliply.integrations.") and m.split(".")[-1] in PLATFORM_NAMES
    ]
    assert platform_imports == [], f"{path} imports a platform client: {platform_imports}"


def test_every_adapter_implements_the_protocol() -> None:
    members = {
        name
        for name, _ in inspect.getmembers(base.Platform)
        if not name.startswith("_") and name not in dir(object)
    }
    assert {"authorize", "connect", "refresh", "revoke", "publish", "metrics"} <= members
    kinds = set()
    for adapter in registry.all_platforms():
        missing = [m for m in members if not hasattr(adapter, m)]
        assert missing == [], f"{adapter.name} lacks {missing}"
        assert isinstance(adapter.name, str) and registry.get(adapter.name) is adapter
        assert adapter.job_kind == f"PUBLISH_{adapter.name.upper()}"
        kinds.add(adapter.job_kind)
        assert "public" in adapter.privacy_choices
    assert len(kinds) == len(registry.PLATFORMS) == 4
    with pytest.raises(registry.UnknownPlatform):
        registry.get("myspace")


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("platforms", ("cliply.accounts", "cliply.schedules", "cliply.publishing", "cliply.api")),
        ("integrations", ("cliply.accounts", "cliply.schedules", "cliply.publishing")),
        ("accounts", ("cliply.schedules", "cliply.publishing")),
        ("publishing", ("cliply.schedules",)),
    ],
)
def test_layering(package: str, forbidden: tuple[str, ...]) -> None:
    for path in _modules(package):
        bad = [m for m in _imports(parse(path)) if m.startswith(forbidden)]
        assert bad == [], f"{path} imports {bad}: {package} sits below them"


@pytest.mark.parametrize(
    "path", _modules(*DOMAINS, "platforms"), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_no_imports_inside_functions(path: Path) -> None:
    tree = parse(path)
    hidden = [
        (inner.lineno, _imports(inner))
        for fn in ast.walk(tree)
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(fn)
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]
    assert hidden == [], f"{path}: imports inside functions {hidden}"


# table model -> the one module allowed to write it
OWNERS = {
    "ConnectedAccount": {"accounts/service.py", "accounts/oauth.py", "accounts/rotation.py"},
    "OAuthState": {"accounts/oauth.py", "accounts/tasks.py", "accounts/rotation.py"},
    "Schedule": {"schedules/service.py"},
    "Post": {"publishing/service.py"},
}
_WRITES = ("insert", "update", "delete")


@pytest.mark.parametrize("path", _modules(*DOMAINS), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_each_table_has_one_writer(path: Path) -> None:
    """`insert(X)`, `update(X)`, `delete(X)` or `X(...)` construction outside X's owner."""
    rel = f"{path.parent.name}/{path.name}"
    tree = parse(path)
    writes: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in _WRITES and node.args and isinstance(node.args[0], ast.Name):
            writes.append((node.lineno, node.args[0].id))
        elif name in OWNERS:
            writes.append((node.lineno, name))
    foreign = [
        (line, model) for line, model in writes if model in OWNERS and rel not in OWNERS[model]
    ]
    assert foreign == [], f"{rel} writes tables it does not own: {foreign}"
