"""Tokenisation and the small lexicons the text features use: English here, Spanish, French,
German and Portuguese in `lexicons.py`, chosen by `lexicon_for(language)`.

Lexicons are whitespace-separated strings so they read as word lists, not code.
"""

from __future__ import annotations

import re

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# Letters of any script, digits, and the combining marks that \w leaves out (Indic vowel
# signs and viramas, Hebrew and Arabic points); an apostrophe joins ("that's", "l'homme").
_MARKS = "\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u0900-\u0963\u0966-\u0dff\u0e00-\u0e7f"
_WORD = rf"(?:[^\W_]|[{_MARKS}])+"
_TOKEN = re.compile(rf"{_WORD}(?:['\u2019]{_WORD})?")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS: frozenset[str] = frozenset(ENGLISH_STOP_WORDS) | _words(
    "yeah okay ok um uh like just really gonna wanna got know"
)

# Openers that lean on what came before: a clip starting with them feels cut mid-thought.
_DANGLING = (
    "and so, and then, and, so, but, because, cause, that's why, that is why, which, "
    "which is why, then, also, or, plus, anyway, however, therefore, otherwise"
)
DANGLING_OPENERS: tuple[tuple[str, ...], ...] = tuple(
    tuple(phrase.split()) for phrase in _DANGLING.split(", ")
)

# Pronouns/demonstratives whose referent is usually in an earlier sentence.
UNRESOLVED_PRONOUNS = _words(
    "he she it they this that these those him her them his its their it's they're he's she's that's"
)

SUPERLATIVES = _words(
    "best worst most least biggest greatest smallest fastest easiest hardest never always "
    "nobody nobody's everyone everybody nothing everything secret truth mistake mistakes only "
    "ultimate incredible insane impossible guaranteed million billion completely totally "
    "absolutely ever changed shocking surprising myth wrong"
)

DIRECT_ADDRESS = _words("you your you're you've you'll yourself you'd")

# Openers that pull the listener in (imperatives and set-ups).
HOOK_OPENERS = _words(
    "imagine listen look stop here's picture think guess remember watch why how what never don't"
)

NUMBER_WORDS = _words(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty hundred thousand million billion percent half double triple first second third"
)

# Words that carry strong feeling; a lexicon keeps this explainable in the reasons.
EMOTION_WORDS = _words(
    "love hate amazing awesome incredible unbelievable terrible horrible awful scared afraid "
    "terrified angry furious crazy insane wow shocked shocking excited exciting happy sad cried "
    "crying laughed hilarious funny beautiful disgusting painful pain proud embarrassing "
    "embarrassed fear worried panic devastated thrilled brilliant ridiculous wild huge massive "
    "omg damn dead died death kill killed life dream nightmare disaster miracle win won lost "
    "failed failure success finally changed heart stronger perfect"
)

# Too generic to say what a clip is about; kept out of hashtags and segment keywords.
GENERIC_WORDS = _words(
    "better good great bad add make makes made get gets getting thing things stuff way ways lot "
    "lots people start started want need going think said says come came let lets little big "
    "new old right sure actually basically kind sort time times day days year years changed "
    "completely single week weeks today tomorrow yesterday tell told look looks use used"
)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens; apostrophes kept inside words ("that's")."""
    return [t.replace("\u2019", "'") for t in _TOKEN.findall(text.lower())]


def content_words(toks: list[str]) -> list[str]:
    return [t for t in toks if t not in STOP_WORDS and len(t) > 2 and not t.isdigit()]


def dangling_opener(toks: list[str]) -> str | None:
    """The longest dangling connective the token list starts with, if any."""
    best: tuple[str, ...] | None = None
    for phrase in DANGLING_OPENERS:
        n = len(phrase)
        if tuple(toks[:n]) == phrase and (best is None or n > len(best)):
            best = phrase
    return " ".join(best) if best else None
