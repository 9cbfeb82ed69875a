"""Find every error code literal in src/cliply by reading the source (AST), for the tests that
keep codes kebab-case and listed in the API docs."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.astcache import parse

SRC = Path(__file__).resolve().parents[2] / "src" / "cliply"

# SQL that sets a job's error code: `error_code = ... 'worker-lost'`.
_SQL_CODE = re.compile(r"error_code\b[^,\n]*?'([a-z0-9-]+)'")

# Functions whose second positional argument is an error code.
_CODE_SECOND_ARG = {"problem", "_problem", "fail", "fail_project"}


def tree(path: Path) -> ast.Module:
    """The parsed source of one file (parsed once per test process)."""
    return parse(path)


def _strings(node: ast.AST) -> Iterator[str]:
    """String constants of a code expression: "x", a or "x", "x" if c else "y"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        yield node.value
    elif isinstance(node, ast.BoolOp):
        for v in node.values:
            yield from _strings(v)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body)
        yield from _strings(node.orelse)


def _names(target: ast.expr) -> list[str | None]:
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Tuple):
        return [e.id if isinstance(e, ast.Name) else None for e in target.elts]
    return [None]


def codes_in(path: Path) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree(path)):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names = _names(target)
                values = (
                    node.value.elts
                    if len(names) > 1 and isinstance(node.value, ast.Tuple)
                    else [node.value]
                )
                for name, value in zip(names, values, strict=False):
                    if name == "code":
                        yield from ((s, node.lineno) for s in _strings(value))
                    elif name and name.endswith("_CODES") and isinstance(value, ast.Dict):
                        for v in value.values:
                            first = v.elts[0] if isinstance(v, ast.Tuple) and v.elts else v
                            yield from ((s, node.lineno) for s in _strings(first))
                    elif (
                        name
                        and path.name == "errors.py"
                        and isinstance(node, ast.AnnAssign)
                        and ast.unparse(node.annotation) == "Final"
                    ):
                        yield from ((s, node.lineno) for s in _strings(value))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from ((m, node.lineno) for m in _SQL_CODE.findall(node.value))
        elif isinstance(node, ast.Call):
            for kw in node.keywords:
                if kw.arg == "code":
                    yield from ((s, node.lineno) for s in _strings(kw.value))
            func = node.func
            fname = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if fname in _CODE_SECOND_ARG and len(node.args) >= 2:
                yield from ((s, node.lineno) for s in _strings(node.args[1]))


def all_codes() -> dict[str, str]:
    """code -> first place it appears (path:line)."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for code, line in codes_in(path):
            if code:  # "" is a default meaning "no error"
                found.setdefault(code, f"{path.relative_to(SRC.parent)}:{line}")
    return found
