"""Spoken-language codes Whisper knows, checked without loading a model (API validation)."""

from __future__ import annotations

from cliply.errors import CliplyError

# The language tokens of the multilingual Whisper models (faster-whisper's tokenizer has the
# same list; tests/transcribe checks the two stay equal).
_CODES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha "
    "haw he hi hr ht hu hy id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr "
    "ms mt my ne nl nn no oc pa pl ps pt ro ru sa sd si sk sl sn so sq sr su sv sw ta te tg "
    "th tk tl tr tt uk ur uz vi yi yo zh yue"
)
WHISPER_LANGUAGES: tuple[str, ...] = tuple(_CODES.split())

# Common spellings that mean one of the codes above ("iw" is the old code for Hebrew).
_ALIASES = {"iw": "he", "in": "id", "ji": "yi", "jv": "jw", "nb": "no", "zh-cn": "zh"}


class UnknownLanguage(CliplyError):
    """A language code no engine can be asked for."""

    status, code, title = 422, "unknown-language", "Unknown language"


def normalize_language(code: str | None) -> str | None:
    """The Whisper code for `code` ("es", "ES", "es-MX", "pt_BR" → "es"/"pt"); None or "auto"
    mean "detect". Raises UnknownLanguage with the accepted codes otherwise."""
    if code is None:
        return None
    raw = code.strip().lower().replace("_", "-")
    if raw in ("", "auto"):
        return None
    if raw in _ALIASES:
        return _ALIASES[raw]
    if raw in WHISPER_LANGUAGES:
        return raw
    base = raw.split("-", 1)[0]
    if base in _ALIASES:
        return _ALIASES[base]
    if base in WHISPER_LANGUAGES:
        return base
    raise UnknownLanguage(
        f"unknown language {code!r}: use a two-letter code such as en, es, fr, de, pt, ru, "
        f"zh, ar, he or hi, or 'auto' (one of: {' '.join(WHISPER_LANGUAGES)})"
    )
