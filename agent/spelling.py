"""Typos in the words that carry meaning: "acuracy", "lateny", "rasberry pi", "bateryy" are read as the word the user
meant, and the reply says so. Only to a short list of words (``spelling.words`` in ``prompts/reading.json``), only one
edit away (a letter added, dropped, changed, or two neighbours swapped) or differing only in doubled letters, and never
a listed word with an ending ("cameras"): a real word is left alone rather than guessed at."""
from __future__ import annotations

import functools
import re

from agent.clauses import reading_knowledge

__all__ = ["correct_spelling"]

_ENDINGS = ("s", "es", "ed", "d", "ing", "ly", "y", "er", "ers")


@functools.cache
def _words() -> frozenset[str]:
    return frozenset(reading_knowledge()["spelling"]["words"])


def _collapse(word: str) -> str:
    return re.sub(r"(.)\1+", r"\1", word)


def _one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by one insertion, deletion, substitution or swap of neighbours."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((k for k in range(len(short)) if short[k] != long_[k]), len(short))
    return short[i:] == long_[i + 1:]


def _meant(token: str) -> str | None:
    words = _words()
    if len(token) < 5 or token in words or any(token == w + e for w in words for e in _ENDINGS):
        return None
    found = {w for w in words if _one_edit(token, w) or _collapse(token) == _collapse(w)}
    return found.pop() if len(found) == 1 else None


def correct_spelling(text: str) -> tuple[str, list[tuple[str, str]]]:
    """``text`` with each typo replaced by the word meant, and the (typo, word) pairs replaced."""
    fixes: list[tuple[str, str]] = []

    def fix(m: re.Match[str]) -> str:
        meant = _meant(m.group(0).lower())
        if meant is None:
            return m.group(0)
        if (m.group(0), meant) not in fixes:
            fixes.append((m.group(0), meant))
        return meant.capitalize() if m.group(0)[0].isupper() else meant

    return re.sub(r"[A-Za-z]+", fix, text), fixes
