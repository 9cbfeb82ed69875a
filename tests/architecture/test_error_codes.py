"""One error base, one code format, every code listed in the API docs."""

from __future__ import annotations

import ast

from cliply.error_codes import CODES, markdown_table
from cliply.errors import KEBAB, CliplyError, kebab
from tests.architecture.error_code_scan import SRC, all_codes, tree


def test_every_code_in_the_source_is_kebab_case_and_listed() -> None:
    found = all_codes()
    assert len(found) > 100  # the scan still sees the codes
    not_kebab = {c: where for c, where in found.items() if not KEBAB.match(c)}
    assert not not_kebab, f"codes must be kebab-case: {not_kebab}"
    unlisted = {c: where for c, where in found.items() if c not in CODES}
    assert not unlisted, f"add these codes to cliply/error_codes.py CODES: {unlisted}"


def test_listed_codes_are_kebab_case_with_a_meaning() -> None:
    assert all(KEBAB.match(c) and meaning.strip() for c, meaning in CODES.items())


def test_openapi_description_lists_every_code() -> None:
    from fastapi import FastAPI

    from cliply.api import problems

    app = FastAPI(description="Cliply API.")
    problems.install(app)
    doc = app.openapi()["info"]["description"]
    assert doc.startswith("Cliply API.") and markdown_table() in doc
    assert all(f"| `{code}` |" in doc for code in CODES)


def test_exception_classes_subclass_the_one_base() -> None:
    """Every exception class defined in src/ derives from CliplyError; control-flow signals
    aside (a job's cancellation or interruption, a lost tus write lease, the web pages'
    redirects to sign in or to create a workspace), which never reach a client or a job."""
    allowed = {
        "JobCancelled",
        "JobInterrupted",
        "_TooLarge",
        "LeaseLost",
        "LoginRequired",
        "NoWorkspace",
    }
    bases_of: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(tree(path)):
            if isinstance(node, ast.ClassDef):
                bases_of[node.name] = [ast.unparse(b).split(".")[-1] for b in node.bases]

    def is_exception(name: str, seen: frozenset[str] = frozenset()) -> bool:
        bases = bases_of.get(name, [])
        return any(
            b in {"Exception", "RuntimeError", "ValueError"}
            or (b not in seen and is_exception(b, seen | {name}))
            for b in bases
        )

    def is_cliply(name: str) -> bool:
        return name == "CliplyError" or any(is_cliply(b) for b in bases_of.get(name, []))

    stray = sorted(n for n in bases_of if n not in allowed and is_exception(n) and not is_cliply(n))
    assert stray == [], f"exceptions outside the one base: {stray}"


def test_codes_are_normalised_and_classes_checked() -> None:
    assert kebab("not_a_video") == "not-a-video"
    assert kebab("quotaExceeded") == "quota-exceeded"
    assert kebab("openai_chat.timeout") == "openai-chat-timeout"
    assert CliplyError("x", code="spam_risk_too_many_posts").code == "spam-risk-too-many-posts"
    try:

        class Bad(CliplyError):
            code = "bad_code"

    except TypeError as exc:
        assert "kebab-case" in str(exc)
    else:
        raise AssertionError("a snake_case class code was accepted")
