"""Real recorded speech with known transcripts, from Debian packages, for the benchmarks.

Nothing here is committed: `fetch()` runs `apt-get download` for pinned package versions into
a cache folder and unpacks them with `dpkg-deb -x`. Sources:

- `pocketsphinx-testdata`: five LibriVox utterances of *Sense and Sensibility* (public domain
  reading, 16 kHz) with their transcription;
- `asterisk-core-sounds-{en,es,fr}` (+ `-wav`): the Asterisk PBX prompts recorded by voice
  actors (US English, Mexican Spanish, Canadian French; 8 kHz telephone audio; CC BY-SA 3.0),
  with the text of every prompt in `core-sounds-XX.txt`.

`build(lang)` joins utterances (0.8 s of silence between them) into one 16 kHz mono WAV and
returns the reference text and where each utterance lies in it.
"""

from __future__ import annotations

import gzip
import random
import re
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

RATE = 16_000
GAP_S = 0.8
PACKAGES = {
    "pocketsphinx-testdata": "0.8+5prealpha+1-15",
    "asterisk-core-sounds-en": "1.6.1-1",
    "asterisk-core-sounds-en-wav": "1.6.1-1",
    "asterisk-core-sounds-es": "1.6.1-1",
    "asterisk-core-sounds-es-wav": "1.6.1-1",
    "asterisk-core-sounds-fr": "1.6.1-1",
    "asterisk-core-sounds-fr-wav": "1.6.1-1",
}
VOICES = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison", "fr": "fr_CA_f_June"}
LIBRIVOX = "usr/share/pocketsphinx/test/data/librivox"


@dataclass(frozen=True)
class Utterance:
    start: float  # seconds in the joined WAV where the recording starts
    end: float
    text: str
    source: str


@dataclass(frozen=True)
class Corpus:
    language: str
    wav: Path
    utterances: list[Utterance]

    @property
    def reference(self) -> str:
        return " ".join(u.text for u in self.utterances)

    @property
    def duration(self) -> float:
        return self.utterances[-1].end if self.utterances else 0.0


def fetch(cache: Path) -> Path:
    """Download (once) and unpack the packages; returns the unpacked root."""
    root = cache / "root"
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    for name, version in PACKAGES.items():
        stamp = cache / f".{name}_{version}.unpacked"
        if stamp.exists():
            continue
        found = list(debs.glob(f"{name}_*.deb"))
        if not found:
            subprocess.run(
                ["apt-get", "download", f"{name}={version}"],
                cwd=debs,
                check=True,
                capture_output=True,
            )
            found = list(debs.glob(f"{name}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(found[0]), str(root)], check=True)
        stamp.touch()
    return root


def _load(path: Path) -> np.ndarray:
    raw = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-",
        ],
        check=True,
        capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.int16)


def _prompts(root: Path, lang: str) -> list[tuple[Path, str]]:
    """(wav, text) of the prompts whose text is plain speech: no [sound] notes or digits."""
    doc = root / f"usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz"
    voice = root / "usr/share/asterisk/sounds" / VOICES[lang]
    out = []
    with gzip.open(doc, "rt", encoding="utf-8", errors="replace") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        name, sep, text = line.partition(":")
        text = text.strip()
        if not sep or name.startswith(";") or "/" in name or not text:
            continue
        if re.search(r"[\[\]\d<>()]", text) or len(text.split()) < 5:
            continue
        wav = voice / f"{name.strip()}.wav"
        if wav.is_file():
            out.append((wav, text))
    return sorted(out)


def _librivox(root: Path) -> list[tuple[Path, str]]:
    out = []
    for line in (root / LIBRIVOX / "transcription").read_text().splitlines():
        m = re.match(r"<s>(.*)</s>\s*\((.+)\)", line.strip())
        if m:
            out.append((root / LIBRIVOX / f"{m.group(2)}.wav", m.group(1).strip()))
    return out


def build(cache: Path, lang: str, seconds: float = 150.0, seed: int = 1) -> Corpus:
    """About `seconds` of real speech in `lang` as one WAV (cached)."""
    root = fetch(cache)
    items = _prompts(root, lang)
    random.Random(seed).shuffle(items)
    if lang == "en":
        items = _librivox(root) + items  # the reading first, then prompts
    wav_path = cache / f"corpus-{lang}-{int(seconds)}-{seed}.wav"
    gap = np.zeros(int(GAP_S * RATE), dtype=np.int16)
    pieces: list[np.ndarray] = [gap]
    utterances: list[Utterance] = []
    t = GAP_S
    for path, text in items:
        samples = _load(path)
        if t + len(samples) / RATE > seconds and utterances:
            break
        utterances.append(
            Utterance(round(t, 3), round(t + len(samples) / RATE, 3), text, path.name)
        )
        pieces += [samples, gap]
        t += len(samples) / RATE + GAP_S
    if not wav_path.is_file():
        tmp = wav_path.with_suffix(".tmp")
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(RATE)
            w.writeframes(np.concatenate(pieces).tobytes())
        shutil.move(tmp, wav_path)
    return Corpus(lang, wav_path, utterances)


# --- word error rate -------------------------------------------------------------------------

_NUMBERS = {
    "en": "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen twenty",
    "es": "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce "
    "quince dieciseis diecisiete dieciocho diecinueve veinte",
    "fr": "zero un deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze "
    "quinze seize dix-sept dix-huit dix-neuf vingt",
}
_SAME = {"mr": "mister", "mrs": "missus", "ok": "okay", "#": "pound"}


def normalize(text: str, lang: str) -> list[str]:
    """Lower case, accents and punctuation off, digits 0-20 spelled out: the words to score."""
    import unicodedata

    numbers = _NUMBERS.get(lang, "").split()
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(
        r"\b(\d+)\b",
        lambda m: numbers[int(m.group(1))] if int(m.group(1)) < len(numbers) else m.group(1),
        text,
    )
    text = re.sub(r"[-\u2010-\u2015/]", " ", text)
    text = re.sub(r"[^\w\s']", " ", text).replace("'", " ")
    return [_SAME.get(w, w) for w in text.split()]


def wer(reference: list[str], hypothesis: list[str]) -> float:
    """Word error rate: (substitutions + deletions + insertions) / reference words."""
    prev = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        cur = [i] + [0] * len(hypothesis)
        for j, h in enumerate(hypothesis, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(reference))
