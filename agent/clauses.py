"""The text mechanics of reading a use case: whole-word patterns, clauses, the scope of a negation, and what a reading
holds (cues found, negated or dismissed phrases, constraints, notes). ``agent.reading`` applies them to cues and
dismissals, ``agent.reading_numbers`` to numbers; the words are data in ``prompts/reading.json``."""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.proposal import PROMPTS_DIR
from greenrunner_core.constraints import Constraints

__all__ = ["Clause", "Match", "UseCaseReading", "clause_at", "clauses", "find", "is_negated", "normalise",
           "original", "reading_knowledge", "word_regex"]

_IDIOMS = ((r"\bno (?:more|larger|bigger|longer|slower|heavier) than\b", "at most"),
           (r"\bnot (?:more|larger|bigger|longer|slower|heavier) than\b", "at most"),
           (r"\b(?:must|should|can) ?not exceed\b", "at most"), (r"\bnot to exceed\b", "at most"),
           (r"\bno (?:less|fewer) than\b", "at least"), (r"\bnot (?:less|fewer) than\b", "at least"),
           ((r"\b(?:not|never|cannot|can'?t|mustn'?t|shouldn'?t|won'?t|doesn'?t|don'?t|may not|must not|should not)\s+"
            r"(?:\w+\s+){0,2}?(?:more|larger|bigger|longer|slower|heavier)\s+than\b"), "at most"),
           (r"\b(?:not|never|cannot|can'?t|mustn'?t|shouldn'?t|won'?t|doesn'?t|don'?t)\s+(?:\w+\s+)?(?:exceed|go over)\b",
            "at most"), (r"\bwithout (?:exceeding|going over)\b", "at most"),
           (r"\b(?:can'?t|cannot|can not|couldn'?t) afford\b", "costly"))     # "can't afford false negatives"
_LABEL = re.compile(r"\b(?:accuracy|size|model size|latency|speed|memory|compute|energy|power|macs|flops)\s*(:)")


@functools.cache
def reading_knowledge() -> dict:
    return json.loads((PROMPTS_DIR / "reading.json").read_text())


@functools.cache
def word_regex(pattern: str) -> re.Pattern[str]:
    """A knowledge-base pattern as a whole-word regex: words joined by spaces or hyphens, trailing * = any ending, an
    apostrophe optional ("isn't" also matches "isnt", as people type it)."""
    parts = []
    for word in pattern.lower().split():
        stem = word.endswith("*") and len(word) > 1
        parts.append(re.escape(word.rstrip("*")).replace("'", "'?") + (r"[\w'-]*" if stem else ""))
    return re.compile(r"(?<![\w'])" + r"[\s-]+".join(parts) + r"(?![\w'])")


def find(patterns: Iterable[str], text: str) -> list[re.Match[str]]:
    return [m for p in patterns for m in word_regex(p).finditer(text)]


@dataclass(frozen=True)
class Match:
    """A cue found in the text: which cue, the words that matched and the clause they sit in (quoted back)."""

    cue: str
    words: str
    clause: str


@dataclass
class UseCaseReading:
    """What the sentence says: cues that apply, what is negated or dismissed, limits, and the readings chosen."""

    text: str
    english: bool = True
    matches: list[Match] = field(default_factory=list)
    negated: list[str] = field(default_factory=list)           # clauses read as negated ("without a GPU")
    training_only: list[str] = field(default_factory=list)     # hardware named for training, not deployment
    dismissed: dict[str, str] = field(default_factory=dict)    # metric -> the phrase dismissing it
    constraints: Constraints = field(default_factory=Constraints)
    constraint_quotes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)             # readings chosen where the text was unclear (+ ask)
    emphasis: dict[str, str] = field(default_factory=dict)     # metric -> the phrase stressing it
    kept: dict[str, str] = field(default_factory=dict)         # metric -> the phrase asking it not to go bad
    rankings: list[tuple[tuple[str, ...], str]] = field(default_factory=list)   # (metrics high to low, phrase)
    equal: list[tuple[tuple[str, ...], str]] = field(default_factory=list)      # (metrics weighed alike, phrase)

    @property
    def cues(self) -> list[str]:
        return list(dict.fromkeys(m.cue for m in self.matches))

    def quote(self, cue: str) -> str:
        return next((m.words for m in self.matches if m.cue == cue), "")


@dataclass(frozen=True)
class Clause:
    start: int
    end: int
    text: str
    negated_from: int | None      # absolute offset where a "before" negation starts its scope
    negated_until: int | None     # absolute offset up to which an "after" negation (dismissal) reaches


def normalise(text: str) -> str:
    """Lower case, straight quotes, idioms ("must not exceed" = "at most") and numbers as digits ("1,000", "two
    hundred", "half a"), every change padded so that offsets into ``text`` stay valid."""
    t = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    for pattern, repl in _IDIOMS:
        t = re.sub(pattern, lambda m, r=repl: r.ljust(len(m.group(0))), t)   # keep offsets
    t = re.sub(r"\b\d{1,3}(?:,\d{3})+\b", lambda m: m.group(0).replace(",", "").ljust(len(m.group(0))), t)
    t = re.sub(r"\bhalf an?\b", lambda m: "0.5".ljust(len(m.group(0))), t)
    t = _LABEL.sub(lambda m: m.group(0)[:-1] + " ", t)      # "latency: don't care" is one clause
    return _NUMBER_WORDS.sub(lambda m: _spelled(m.group(0)).ljust(len(m.group(0))), t)


_UNITS = {w: i for i, w in enumerate(("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                                      "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                                      "eighteen", "nineteen"), start=1)}
_TENS = {w: 10 * i for i, w in enumerate(("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty",
                                          "ninety"), start=2)}
_WORD = "|".join([*_UNITS, *_TENS])
_NUMBER_WORDS = re.compile(rf"\b(?:{_WORD})(?:[\s-]+(?:{_WORD}|hundred|thousand|and(?=[\s-]+(?:{_WORD}))))*"
                           rf"(?=\s+(?:hundred\s+|thousand\s+)?[a-z])(?:\s+(?:hundred|thousand)\b)*")


def _spelled(words: str) -> str:
    """"two hundred" -> "200", "twenty-five" -> "25", "three thousand" -> "3000"."""
    total, current = 0, 0
    for w in re.split(r"[\s-]+", words):
        if w in _UNITS or w in _TENS:
            current += _UNITS.get(w, 0) + _TENS.get(w, 0)
        elif w == "hundred":
            current = max(current, 1) * 100
        elif w == "thousand":
            total, current = total + max(current, 1) * 1000, 0
    return str(total + current)


def clauses(t: str) -> list[Clause]:
    kb = reading_knowledge()
    breaks = "|".join(re.escape(w) for w in kb["clause_breaks"])
    cuts = [0]
    for m in re.finditer(rf"[;:!?()]|[.,](?=\s|$)|(?<!not)(?<!n't)\s(?:{breaks})\s", t):   # "not so important"
        cuts += [m.start(), m.end()]
    cuts.append(len(t))
    clauses = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        part = t[start:end]
        if not part.strip():
            continue
        neg_from = None
        befores = find(kb["negation_before"], part)
        if befores:
            neg_from = start + min(m.end() for m in befores)
        neg_until = None
        afters = find(kb["negation_after"], part)
        if afters:
            neg_until = start + max(m.start() for m in afters)
        clauses.append(Clause(start, end, part.strip(), neg_from, neg_until))
    return clauses


def clause_at(clauses: list[Clause], pos: int) -> Clause | None:
    return next((c for c in clauses if c.start <= pos < c.end), None)


def is_negated(clause: Clause | None, start: int) -> bool:
    if clause is None:
        return False
    return (clause.negated_from is not None and start >= clause.negated_from) or \
        (clause.negated_until is not None and start < clause.negated_until)


def original(text: str, clause: Clause) -> str:
    return text[clause.start:clause.end].strip(" ,;:.")
