"""The parsed source of cliply's modules, shared by every test that reads code (AST): a file is
parsed once per test process, not once per test (parsing src/ was most of the unit tier's
architecture-test time). The trees are read, never changed."""

from __future__ import annotations

import ast
import functools
from pathlib import Path


@functools.cache
def _parse(path: str) -> ast.Module:
    return ast.parse(Path(path).read_text(encoding="utf-8"), filename=path)


def parse(path: Path) -> ast.Module:
    return _parse(str(path.resolve()))
