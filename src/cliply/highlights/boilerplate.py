"""Boilerplate: automated prompts, phone menus and phrases the source repeats.

Such lines are full of what the hook feature likes (numbers, "you", imperatives: "Please press
one to mute…") yet nobody shares them. A sentence is boilerplate when it uses menu/prompt
wording (per-language patterns) or when most of its word 4-grams also occur in another
sentence of the same source (an intro jingle, a repeated announcement, a looping prompt).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

_NUM = (
    r"(?:\d+|zero|one|two|three|four|five|six|seven|eight|nine|star|pound|hash|the pound key|"
    r"the star key)"
)

# Each pattern names wording that belongs to machines talking to callers, not to people.
_PATTERNS: dict[str, tuple[str, ...]] = {
    "en": (
        rf"\bpress(?:ing)? {_NUM}\b",
        r"\b(?:dial|enter) (?:\d+|star|pound|the pound key|the star key)\b",
        r"\bfor [\w' ]{1,30}, press\b",
        r"\bfollowed by the (?:pound|hash|star) (?:key|sign)\b",
        r"\b(?:after|at) the (?:tone|beep)\b",
        r"\bto (?:mute or unmute|unmute|mute) (?:yourself|the|all)\b",
        r"\b(?:decrease|increase) (?:or (?:decrease|increase) )?(?:the|your) (?:conference )?volume\b",
        r"\b(?:increase|decrease) your (?:speaking |listening )?volume\b",
        r"\b(?:conference|pin|extension|mailbox) number\b",
        r"\bplease (?:hold|try again|stay on the line|leave (?:a|your) message|enter|press|"
        r"wait while|record)\b",
        r"\byour call (?:is|will|has|may)\b",
        r"\b(?:connect|transfer) your call\b",
        r"\btry your call again\b",
        r"\b(?:you are|conference is) (?:now )?(?:muted|unmuted|locked|unlocked)\b",
        r"\bnot a valid (?:conference|extension|mailbox|option|choice|entry|number|pin|password)\b",
        r"\binvalid (?:choice|option|entry|extension|password)\b",
        r"\bthank you for calling\b",
        r"\b(?:main|previous) menu\b",
        r"\bto (?:exit|return to|repeat) (?:this|the) (?:menu|options)\b",
        r"\b(?:placed|transferred|connected) (?:into|to) (?:the|your) (?:conference|call|queue)\b",
        r"\bthe (?:party|person|number|subscriber) you (?:have )?(?:dialed|called|are calling)\b",
        r"\b(?:only person|other participants?) in (?:this|the) conference\b",
        r"\b(?:has|have) (?:left|joined) the conference\b",
        r"\byour (?:message|greeting|recording) (?:has been|is too|was)\b",
        r"\byour temporary greeting\b",
        r"\b(?:enter|record|change) your (?:new )?(?:password|greeting|pin)\b",
        r"\bspeed dial\b",
        r"\b(?:reply to|listen to|delete|save) this message\b",
        r"\b(?:your|the) party's extension\b",
        r"\byou may dial\b",
        r"\bunable to (?:create a connection|connect|complete your call)\b",
    ),
    "es": (
        r"\b(?:marque|oprima|presione|pulse) (?:la tecla|el (?:\d|uno|dos|tres|cero|asterisco)|"
        r"\d|uno|dos|tres|cuatro|cinco|seis|siete|ocho|nueve|cero)\b",
        r"\bseguido de la tecla\b",
        r"\bdespu[eé]s del tono\b",
        r"\bintente de nuevo\b",
        r"\bgracias por llamar\b",
        r"\bmen[uú] principal\b",
    ),
    "fr": (
        r"\bappuyez sur (?:la touche|le \d|\d|un|deux|trois|quatre|cinq|six|sept|huit|neuf|"
        r"z[eé]ro|[eé]toile|di[eè]se)\b",
        r"\bcomposez le\b",
        r"\bsuivi(?:e)? (?:du|de la touche) (?:carr[eé]|di[eè]se)\b",
        r"\bapr[eè]s le (?:bip|signal sonore)\b",
        r"\bveuillez r[eé]essayer\b",
        r"\bmerci d'avoir appel[eé]\b",
        r"\bmenu principal\b",
    ),
    "de": (
        r"\b(?:dr[uü]cken|w[aä]hlen) sie (?:die )?(?:taste|\d|eins|zwei|drei|vier|f[uü]nf|"
        r"sechs|sieben|acht|neun|null|stern|raute)\b",
        r"\bnach dem (?:signalton|piepton)\b",
        r"\bversuchen sie es (?:noch einmal|erneut)\b",
        r"\bhauptmen[uü]\b",
    ),
    "pt": (
        r"\b(?:pressione|digite|tecle|disque) (?:a tecla|o \d|\d|um|dois|tr[eê]s|quatro|cinco|"
        r"seis|sete|oito|nove|zero|asterisco|cerquilha)\b",
        r"\bap[oó]s o sinal\b",
        r"\btente novamente\b",
        r"\bobrigad[oa] por ligar\b",
        r"\bmenu principal\b",
    ),
}
_COMPILED = {lang: [re.compile(p) for p in pats] for lang, pats in _PATTERNS.items()}

REPEAT_NGRAM = 4
REPEAT_SHARE = 0.5  # this share of a sentence's 4-grams seen in another sentence: repeated
MIN_REPEAT_NGRAMS = 2
REPEAT_MINORITY = 0.4  # repetition marks boilerplate only while under this share of sentences


def menu_phrases(text: str, language: str) -> list[str]:
    """The prompt/menu wordings `text` uses (quoted as spoken), for its language."""
    lowered = text.lower()
    found: list[str] = []
    for pattern in _COMPILED.get(language, []):
        m = pattern.search(lowered)
        if m and m.group(0) not in found:
            found.append(m.group(0))
    return found


def has_patterns(language: str) -> bool:
    return language in _COMPILED


@dataclass(frozen=True)
class SentenceBoilerplate:
    menu: tuple[str, ...]  # prompt/menu wordings found
    repeated: float  # share of the sentence's content 4-grams that another sentence also has

    @property
    def is_boilerplate(self) -> bool:
        return bool(self.menu) or self.repeated >= REPEAT_SHARE

    def describe(self) -> str:
        parts = []
        if self.menu:
            quoted = ", ".join(f"'{m}'" for m in self.menu[:3])
            parts.append(f"automated-prompt/menu wording ({quoted})")
        if self.repeated >= REPEAT_SHARE:
            parts.append(f"{self.repeated:.0%} of it repeats elsewhere in the video")
        return " and ".join(parts)


def sentence_boilerplate(
    toks_per_sentence: Sequence[list[str]],
    texts: Sequence[str],
    language: str,
    stop_words: frozenset[str],
) -> list[SentenceBoilerplate]:
    """Boilerplate facts of every sentence of one transcript."""
    grams: list[set[tuple[str, ...]]] = []
    for toks in toks_per_sentence:
        # A 4-gram of stop words only ("one of the most") repeats in any talk; skip those.
        runs = (tuple(toks[i : i + REPEAT_NGRAM]) for i in range(len(toks) - REPEAT_NGRAM + 1))
        grams.append({g for g in runs if any(t not in stop_words for t in g)})
    seen: Counter[tuple[str, ...]] = Counter(g for gs in grams for g in gs)
    shares = [
        sum(1 for g in gs if seen[g] > 1) / len(gs) if len(gs) >= MIN_REPEAT_NGRAMS else 0.0
        for gs in grams
    ]
    if sum(s >= REPEAT_SHARE for s in shares) >= REPEAT_MINORITY * max(1, len(shares)):
        # When most of the source repeats (a chant, a song, a drill) repetition is the
        # content itself, not boilerplate around it.
        shares = [0.0] * len(shares)
    return [
        SentenceBoilerplate(tuple(menu_phrases(text, language)), round(share, 3))
        for share, text in zip(shares, texts, strict=True)
    ]
