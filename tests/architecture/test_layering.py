"""The import graph of `cliply`, read from the source (AST, nothing imported), keeps its shape.

Units are cliply's top-level packages and modules (`projects`, `jobs`, `app`, `config`, …).
Every import statement counts: module level, inside functions, under TYPE_CHECKING. The
Alembic scripts (`db/alembic/`) are not part of the package graph: Alembic runs them.

(a) No cycle between units.
(b) No import of a cliply module inside a function (the usual way to hide a cycle), except in
    the top floor (`cli`, `app`, `__main__`, `doctor`: lazy imports keep `cliply --help` fast)
    and the few lazy imports of optional heavy dependencies listed in LOCAL_IMPORT_ALLOWED.
(c) A unit writes only the models it owns. A model is a class with a `__tablename__` defined
    in `<unit>/models.py` (the tables of `Base.metadata`); its owner is that unit. A module of another unit writes
    it when it
      - constructs it: `Model(...)`;
      - names it as the table of a Core write: `insert(Model)`, `update(Model)`,
        `delete(Model)` (SQLAlchemy's, or PostgreSQL's `insert`);
      - assigns an attribute (`x.attr = …`, also augmented) of a name bound in the same
        function to an instance of it: a parameter annotated `Model` (or `Model | None`), or
        `x = Model(...)`, `x = db.get(Model, …)`, `x = db.scalar(select(Model)…)`.
      - runs SQL text that writes its table: `INSERT INTO t`, `UPDATE t`, `DELETE FROM t` in a
        string literal, `t` being the model's `__tablename__`.
    Reading other units' tables is not checked here (services should still ask the owner).
(d) The lower floors (media, transcribe, highlights, integrations, storage, ingest, pipeline)
    and the shared kernel (config, errors, keys, logging, crypto, schemas, error_codes,
    subprocs) import no domain code, no HTTP layer and no top floor.
(e) Nothing imports the top floor, and no module finds another by a module name in a string
    (`importlib.import_module("cliply.…")`): assembly is explicit, in `cliply.app`.

ALLOWED_EDGES lists the back-arrows still being removed by other work, each with what removes
it; it only shrinks. An entry that no longer matches anything fails the test, so it is removed
as soon as its fix lands.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.astcache import parse

SRC = Path(__file__).resolve().parents[2] / "src" / "cliply"

TOP = {"app", "cli", "__main__", "doctor"}
# The shared kernel imports nothing above it (schemas: the API schema bases; error_codes: the
# code list; subprocs: process helpers).
KERNEL = {
    "cliply",
    "config",
    "errors",
    "keys",
    "logging",
    "crypto",
    "schemas",
    "error_codes",
    "subprocs",
}
LOWER = {"media", "transcribe", "highlights", "integrations", "storage", "ingest", "pipeline"}
DOMAINS = {
    "auth",
    "workspaces",
    "projects",
    "clips",
    "jobs",
    "billing",
    "accounts",
    "publishing",
    "schedules",
    "experiments",
    "products",
    "analytics",
    "audit",
    "platforms",
}
UPPER = DOMAINS | TOP | {"api", "web", "models"}

# Back-arrows (unit → unit) still being removed by other work; each entry names the module(s)
# that still make it and what removes it. Only ever shrinks (empty: none left).
ALLOWED_EDGES: dict[tuple[str, str], str] = {}

# Function-local imports of cliply modules that are not hiding a cycle (module → imported).
LOCAL_IMPORT_ALLOWED: dict[tuple[str, str], str] = {
    # The embedded PostgreSQL package is optional and heavy: imported only when no
    # DATABASE_URL is set.
    ("cliply.db.engine", "cliply.db.embedded"): "optional embedded PostgreSQL",
}

# Writes to another unit's model still being moved to their owner (writer module, model).
WRITE_ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    module: str  # importing module, dotted
    target: str  # imported cliply module (or module.attribute), dotted
    line: int
    local: bool  # inside a function


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        if rel.parts[:2] == ("db", "alembic"):
            continue
        parts = ["cliply", *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        yield ".".join(parts), path


def _unit(dotted: str) -> str:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "cliply"


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _imports(module: str, path: Path, tree: ast.Module) -> list[Import]:
    out: list[Import] = []
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name == "cliply" or alias.name.startswith("cliply."):
                        out.append(Import(module, alias.name, child.lineno, inner))
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(module, is_package, child)
                if base == "cliply" or base.startswith("cliply."):
                    for alias in child.names:
                        # `from cliply import x`: x is a unit; `from cliply.a import b`: a.
                        target = f"{base}.{alias.name}" if base == "cliply" else base
                        out.append(Import(module, target, child.lineno, inner))
            visit(child, inner)

    visit(tree, False)
    return out


@dataclass
class Tree:
    imports: list[Import]
    trees: dict[str, ast.Module]


@pytest.fixture(scope="module")
def tree() -> Tree:
    imports: list[Import] = []
    trees: dict[str, ast.Module] = {}
    for module, path in _modules():
        parsed = parse(path)
        trees[module] = parsed
        imports.extend(_imports(module, path, parsed))
    return Tree(imports, trees)


def _target_unit(imp: Import) -> str:
    unit = _unit(imp.target)
    # `from cliply import __version__` is the package itself.
    return "cliply" if unit.startswith("__") and unit != "__main__" else unit


def _edges(t: Tree) -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in t.imports:
        a, b = _unit(imp.module), _target_unit(imp)
        if a != b:
            edges[(a, b)].append(imp)
    return edges


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp: list[str] = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def _where(imps: list[Import]) -> str:
    return ", ".join(f"{i.module}:{i.line}" for i in imps[:4])


def test_no_cycle_between_units(tree: Tree) -> None:
    edges = _edges(tree)
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b in edges:
        if (a, b) not in ALLOWED_EDGES:
            graph[a].add(b)
    cycles = _cycles(graph)
    detail = []
    for comp in cycles:
        members = set(comp)
        arrows = [
            f"  {a} → {b} ({_where(imps)})"
            for (a, b), imps in sorted(edges.items())
            if a in members and b in members and (a, b) not in ALLOWED_EDGES
        ]
        detail.append(" ↔ ".join(comp) + ":\n" + "\n".join(arrows))
    assert not cycles, "package cycles:\n" + "\n".join(detail)


def test_allowed_edges_still_exist(tree: Tree) -> None:
    """A back-arrow that is gone comes off the allowlist (it may never come back)."""
    edges = _edges(tree)
    gone = [f"{a} → {b}" for (a, b) in ALLOWED_EDGES if (a, b) not in edges]
    assert not gone, f"remove from ALLOWED_EDGES: {gone}"


def test_no_function_local_imports_of_cliply(tree: Tree) -> None:
    bad = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in tree.imports
        if i.local
        and _unit(i.module) not in TOP
        and (i.module, i.target) not in LOCAL_IMPORT_ALLOWED
    ]
    assert not bad, (
        "function-local imports (move to module level, or fix the cycle):\n" + "\n".join(bad)
    )
    used = {(i.module, i.target) for i in tree.imports if i.local}
    stale = sorted(set(LOCAL_IMPORT_ALLOWED) - used)
    assert not stale, f"remove from LOCAL_IMPORT_ALLOWED: {stale}"


def test_lower_floors_and_kernel_import_no_domain_code(tree: Tree) -> None:
    bad = []
    for imp in tree.imports:
        a, b = _unit(imp.module), _target_unit(imp)
        if a in LOWER and b in UPPER and (a, b) not in ALLOWED_EDGES:
            bad.append(f"{imp.module}:{imp.line} imports {imp.target}")
        if a in KERNEL and b not in KERNEL:
            bad.append(f"{imp.module}:{imp.line} (shared kernel) imports {imp.target}")
    assert not bad, "\n".join(bad)


def test_nothing_imports_the_top_floor_or_names_modules_in_strings(tree: Tree) -> None:
    bad = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in tree.imports
        if _target_unit(i) in TOP | {"models"} and _unit(i.module) not in TOP
    ]
    for module, parsed in tree.trees.items():
        for node in ast.walk(parsed):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute | ast.Name)
                and (getattr(node.func, "attr", None) or getattr(node.func, "id", None))
                == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("cliply")
            ):
                bad.append(f"{module}:{node.lineno} imports {node.args[0].value!r} by name")
            # A literal list of module names (the old ROUTER_MODULES / HANDLER_MODULES /
            # PAGE_MODULES): any string naming one of cliply's own modules.
            if isinstance(node, ast.List | ast.Tuple | ast.Set):
                for elt in node.elts:
                    if (
                        isinstance(elt, ast.Constant)
                        and isinstance(elt.value, str)
                        and elt.value in tree.trees
                        and elt.value != "cliply"
                    ):
                        bad.append(f"{module}:{elt.lineno} lists module {elt.value!r} by name")
    assert not bad, "\n".join(bad)


# --- (c) writes to another unit's models ---------------------------------------------------


def _table_owners(t: Tree) -> dict[str, str]:
    """{table name: owning unit's model path} from each model's `__tablename__`."""
    tables: dict[str, str] = {}
    for module, parsed in t.trees.items():
        if not module.endswith(".models") or module.count(".") != 2:
            continue
        for node in parsed.body:
            if not isinstance(node, ast.ClassDef):
                continue
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign | ast.AnnAssign)
                    and isinstance(stmt.value, ast.Constant)
                    and any(
                        isinstance(t, ast.Name) and t.id == "__tablename__"
                        for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                    )
                ):
                    tables[str(stmt.value.value)] = f"{module}.{node.name}"
    return tables


SQL_WRITE = re.compile(r"\b(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+([a-z_][a-z0-9_]*)", re.I)


def _sql_writes(parsed: ast.Module, tables: dict[str, str]) -> Iterator[tuple[int, str]]:
    for node in ast.walk(parsed):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in SQL_WRITE.finditer(node.value):
                table = match.group(1).lower()
                if table in tables:
                    yield node.lineno, tables[table]


def _bindings(parsed: ast.Module, module: str) -> dict[str, str]:
    """Module-level names bound by imports: {local name: dotted path}."""
    names: dict[str, str] = {}
    for node in ast.walk(parsed):
        if isinstance(node, ast.ImportFrom):
            base = _resolve(module, False, node) if node.level else node.module or ""
            for alias in node.names:
                names[alias.asname or alias.name] = f"{base}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
    return names


def _dotted(node: ast.expr, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, names)
        return f"{base}.{node.attr}" if base else None
    return None


def _call_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _model_of_expr(node: ast.expr, names: dict[str, str], owners: dict[str, str]) -> str | None:
    """The model an expression yields an instance of, for the binding forms of rule (c)."""
    if not isinstance(node, ast.Call):
        return None
    path = _dotted(node.func, names)
    if path in owners:
        return path  # Model(...)
    name = _call_name(node)
    if name == "get" and node.args:
        path = _dotted(node.args[0], names)
        return path if path in owners else None
    if name == "scalar" and node.args:
        inner = node.args[0]
        while isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute):
            if inner.func.attr == "select" or not isinstance(inner.func.value, ast.Call):
                break
            inner = inner.func.value
        if isinstance(inner, ast.Call) and _call_name(inner) == "select" and inner.args:
            path = _dotted(inner.args[0], names)
            return path if path in owners else None
    return None


def _annotation_model(
    node: ast.expr | None, names: dict[str, str], owners: dict[str, str]
) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            node = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return None
    if isinstance(node, ast.BinOp):  # Model | None
        return _annotation_model(node.left, names, owners) or _annotation_model(
            node.right, names, owners
        )
    path = _dotted(node, names)
    return path if path in owners else None


def _writes(module: str, parsed: ast.Module, owners: dict[str, str]) -> Iterator[tuple[int, str]]:
    names = _bindings(parsed, module)
    for node in ast.walk(parsed):
        if isinstance(node, ast.Call):
            path = _dotted(node.func, names)
            if path in owners:
                yield node.lineno, path
            elif _call_name(node) in ("insert", "update", "delete") and node.args:
                func_path = _dotted(node.func, names) or ""
                if func_path.startswith("sqlalchemy"):
                    target = _dotted(node.args[0], names)
                    if target in owners:
                        yield node.lineno, target
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            bound: dict[str, str] = {}
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                model = _annotation_model(arg.annotation, names, owners)
                if model:
                    bound[arg.arg] = model
            for sub in ast.walk(node):
                if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                    target = sub.targets[0]
                    if isinstance(target, ast.Name):
                        model = _model_of_expr(sub.value, names, owners)
                        if model:
                            bound[target.id] = model
            for sub in ast.walk(node):
                targets: list[ast.expr] = []
                if isinstance(sub, ast.Assign):
                    targets = list(sub.targets)
                elif isinstance(sub, ast.AugAssign | ast.AnnAssign):
                    targets = [sub.target]
                flat: list[ast.expr] = []
                for t in targets:
                    flat.extend(t.elts if isinstance(t, ast.Tuple) else [t])
                for t in flat:
                    if (
                        isinstance(t, ast.Attribute)
                        and isinstance(t.value, ast.Name)
                        and t.value.id in bound
                    ):
                        yield sub.lineno, bound[t.value.id]


def test_units_write_only_their_own_models(tree: Tree) -> None:
    tables = _table_owners(tree)
    owners = {path: _unit(path) for path in tables.values()}
    assert len(owners) > 20, "model discovery found too few tables"
    bad = []
    seen_allowed: set[tuple[str, str]] = set()
    for module, parsed in tree.trees.items():
        unit = _unit(module)
        found = {*_writes(module, parsed, owners), *_sql_writes(parsed, tables)}
        for line, model in sorted(found):
            if owners[model] == unit:
                continue
            key = (module, model.rsplit(".", 1)[1])
            if key in WRITE_ALLOWED:
                seen_allowed.add(key)
                continue
            bad.append(f"{module}:{line} writes {model} (owned by {owners[model]})")
    assert not bad, "writes to another unit's model:\n" + "\n".join(bad)
    stale = set(WRITE_ALLOWED) - seen_allowed
    assert not stale, f"remove from WRITE_ALLOWED: {sorted(stale)}"
