"""Real recorded speech for the highlight tests, from Debian packages the test tier installs
(Makefile APT_PACKAGES): `pocketsphinx-testdata` (five LibriVox utterances of *Sense and
Sensibility*, a public-domain reading, 16 kHz) and `asterisk-core-sounds-en-wav` (the Asterisk
PBX prompts recorded by a voice actor, 8 kHz telephone audio, CC BY-SA 3.0).

`join` puts recordings one after another (with a pause) into one 16 kHz mono WAV and returns
where each one lies, so tests know the true source boundaries.
"""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

RATE = 16_000
LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
ASTERISK = Path("/usr/share/asterisk/sounds/en_US_f_Allison")

# The reading, in order (the packaged transcription, with its capitalisation and punctuation).
READING: list[tuple[str, str]] = [
    (
        "sense_and_sensibility_01_austen_64kb-0870",
        "And Mister John Dashwood had then leisure to consider how much there might be "
        "prudently in his power to do for them.",
    ),
    ("sense_and_sensibility_01_austen_64kb-0880", "He was not an ill disposed young man."),
    (
        "sense_and_sensibility_01_austen_64kb-0890",
        "Unless to be rather cold hearted and rather selfish is to be ill disposed.",
    ),
    (
        "sense_and_sensibility_01_austen_64kb-0920",
        "Had he married a more amiable woman, he might have been made still more respectable "
        "than he was.",
    ),
    ("sense_and_sensibility_01_austen_64kb-0930", "He might even have been made amiable himself."),
]

# Automated phone prompts (file name, the text Asterisk documents for it).
PROMPTS: list[tuple[str, str]] = [
    (
        "conf-usermenu-162",
        "Please press 1 to mute or unmute yourself, 4 or 6 to decrease or increase the "
        "conference volume, 5 to extend the conference, 7 or 9 to decrease or increase your "
        "volume, or 8 to exit this menu and return to the conference.",
    ),
    ("conf-getconfno", "Please enter your conference number followed by the pound key."),
    ("conf-onlyperson", "You are currently the only person in this conference."),
    (
        "conf-adminmenu",
        "Please press 1 to mute or unmute yourself, 2 to lock or unlock the conference, 3 to "
        "eject the last user, 4 or 6 to decrease or increase the conference volume, 7 or 9 to "
        "decrease or increase your volume, or 8 to exit.",
    ),
    ("conf-invalid", "That is not a valid conference number. Please try again."),
    ("conf-placeintoconf", "You will now be placed into the conference."),
]


@dataclass(frozen=True)
class Piece:
    start: float
    end: float
    text: str
    source: str  # "reading" or "prompt"


def require_packages() -> None:
    missing = [
        pkg
        for pkg, path in (
            ("pocketsphinx-testdata", LIBRIVOX / "transcription"),
            ("asterisk-core-sounds-en-wav", ASTERISK / "conf-adminmenu.wav"),
        )
        if not path.exists()
    ]
    if missing:
        pytest.fail(
            f"real test recordings missing: apt-get install {' '.join(missing)} (make system)"
        )


def load(path: Path) -> np.ndarray:
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1"]
    raw = subprocess.run(
        [*cmd, "-ar", str(RATE), "-"],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16)


def join(out: Path, items: list[tuple[Path, str, str]], gap_s: float = 0.7) -> list[Piece]:
    """Write the recordings (path, text, source) one after another into `out`."""
    require_packages()
    gap = np.zeros(int(gap_s * RATE), dtype=np.int16)
    parts: list[np.ndarray] = [gap]
    pieces: list[Piece] = []
    t = gap_s
    for path, text, source in items:
        samples = load(path)
        pieces.append(Piece(round(t, 3), round(t + samples.size / RATE, 3), text, source))
        parts += [samples, gap]
        t += samples.size / RATE + gap_s
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(np.concatenate(parts).tobytes())
    return pieces


def reading(n: int = 5) -> list[tuple[Path, str, str]]:
    return [(LIBRIVOX / f"{name}.wav", text, "reading") for name, text in READING[:n]]


def prompts(names: list[str] | None = None) -> list[tuple[Path, str, str]]:
    chosen = [p for p in PROMPTS if names is None or p[0] in names]
    return [(ASTERISK / f"{name}.wav", text, "prompt") for name, text in chosen]
