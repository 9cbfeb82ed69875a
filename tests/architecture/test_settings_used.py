"""Every setting acts: a `Settings` field that nothing outside config.py reads is dead."""

from __future__ import annotations

import ast

from cliply.config import Settings
from tests.architecture.error_code_scan import SRC, tree


def _read_names() -> set[str]:
    """Attribute names read anywhere in src/ outside config.py (`settings.render_crf`),
    plus string constants (for `getattr(settings, "name")`)."""
    names: set[str] = set()
    for path in SRC.rglob("*.py"):
        if path == SRC / "config.py":
            continue
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names.add(node.value)
    return names


def _via_methods(read: set[str]) -> set[str]:
    """Fields read by a Settings method or property that is itself read outside config.py
    (`settings.engines()` reads `transcribe_engines`)."""
    config = tree(SRC / "config.py")
    fields: set[str] = set()
    for cls in (n for n in config.body if isinstance(n, ast.ClassDef) and n.name == "Settings"):
        for fn in cls.body:
            if isinstance(fn, ast.FunctionDef) and fn.name in read:
                fields |= {
                    n.attr
                    for n in ast.walk(fn)
                    if isinstance(n, ast.Attribute)
                    and isinstance(n.value, ast.Name)
                    and n.value.id == "self"
                }
    return fields


def test_every_setting_is_read_outside_config() -> None:
    read = _read_names()
    read |= _via_methods(read)
    unread = sorted(name for name in Settings.model_fields if name not in read)
    assert unread == [], f"settings nobody reads (wire them through or delete them): {unread}"
