"""Reading a use-case sentence as a person means it: whole words, negation and its scope, dismissals ("compute is
not a concern"), the cost of an error vs the cost of compute, training vs deployment context, and numbers that become
hard constraints (ms, fps, items/s, MB/GB, MACs, parameters, W). The knowledge is data in ``prompts/reading.json`` and
the cues in ``prompts/knowledge_base.json``; this module only applies it.

Why no NLP library: spaCy and negspacy need a language model that is a separate download (not inside the PyPI
package), NLTK's data is downloaded at run time too, and a language detector (lingua) ships ~100 MB of models to tell
English from the rest. Clause-scoped negation over a short sentence needs none of them (NegEx itself is a trigger list
with a scope window, which is what ``reading.json`` holds).
"""
from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from agent.proposal import PROMPTS_DIR, knowledge_base
from greenrunner_core.constraints import Constraints

__all__ = ["Match", "UseCaseReading", "read_use_case", "reading_knowledge", "word_regex"]

EDGE_CUES = ("microcontroller", "mobile", "drone", "laptop")
_IDIOMS = ((r"\bno (?:more|larger|bigger|longer|slower|heavier) than\b", "at most"),
           (r"\bnot (?:more|larger|bigger|longer|slower|heavier) than\b", "at most"),
           (r"\b(?:must|should|can) ?not exceed\b", "at most"), (r"\bnot to exceed\b", "at most"),
           (r"\bno (?:less|fewer) than\b", "at least"), (r"\bnot (?:less|fewer) than\b", "at least"))


@functools.cache
def reading_knowledge() -> dict:
    return json.loads((PROMPTS_DIR / "reading.json").read_text())


@functools.cache
def word_regex(pattern: str) -> re.Pattern[str]:
    """A knowledge-base pattern as a whole-word regex: words joined by spaces or hyphens, trailing * = any ending."""
    parts = []
    for word in pattern.lower().split():
        stem = word.endswith("*") and len(word) > 1
        parts.append(re.escape(word.rstrip("*")) + (r"[\w'-]*" if stem else ""))
    return re.compile(r"(?<![\w'])" + r"[\s-]+".join(parts) + r"(?![\w'])")


def _find(patterns: Iterable[str], text: str) -> list[re.Match[str]]:
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

    @property
    def cues(self) -> list[str]:
        return list(dict.fromkeys(m.cue for m in self.matches))

    def quote(self, cue: str) -> str:
        return next((m.words for m in self.matches if m.cue == cue), "")


@dataclass(frozen=True)
class _Clause:
    start: int
    end: int
    text: str
    negated_from: int | None      # absolute offset where a "before" negation starts its scope
    negated_until: int | None     # absolute offset up to which an "after" negation (dismissal) reaches


def _normalise(text: str) -> str:
    t = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    for pattern, repl in _IDIOMS:
        t = re.sub(pattern, lambda m, r=repl: r.ljust(len(m.group(0))), t)   # keep offsets
    return t


def _clauses(t: str) -> list[_Clause]:
    kb = reading_knowledge()
    breaks = "|".join(re.escape(w) for w in kb["clause_breaks"])
    cuts = [0]
    for m in re.finditer(rf"[;:!?()]|[.,](?=\s|$)|\s(?:{breaks})\s", t):
        cuts += [m.start(), m.end()]
    cuts.append(len(t))
    clauses = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        part = t[start:end]
        if not part.strip():
            continue
        neg_from = None
        befores = _find(kb["negation_before"], part)
        if befores:
            neg_from = start + min(m.end() for m in befores)
        neg_until = None
        afters = _find(kb["negation_after"], part)
        if afters:
            neg_until = start + max(m.start() for m in afters)
        clauses.append(_Clause(start, end, part.strip(), neg_from, neg_until))
    return clauses


def _clause_at(clauses: list[_Clause], pos: int) -> _Clause | None:
    return next((c for c in clauses if c.start <= pos < c.end), None)


def _negated(clause: _Clause | None, start: int) -> bool:
    if clause is None:
        return False
    return (clause.negated_from is not None and start >= clause.negated_from) or \
        (clause.negated_until is not None and start < clause.negated_until)


def is_english(text: str) -> bool:
    """False when the text looks like another language: mostly non-Latin letters, or more markers of other
    languages than of English."""
    kb = reading_knowledge()
    letters = [ch for ch in text if ch.isalpha()]
    if letters and sum(ch.isascii() or "\u00c0" <= ch <= "\u024f" for ch in letters) < 0.6 * len(letters):
        return False
    words = re.findall(r"[^\W\d_]+", text.lower())
    english = set(kb["english_markers"])
    foreign = set(kb["foreign_markers"]) - english
    n_en = sum(w in english for w in words)
    n_foreign = sum(w in foreign for w in words)
    return not (n_foreign >= 2 and n_foreign > n_en)


def read_use_case(text: str) -> UseCaseReading:
    """Read ``text``: cues with negation scope and context, dismissals, constraints, and notes on chosen readings."""
    reading = UseCaseReading(text=text)
    if text.strip() and not is_english(text):
        reading.english = False
        return reading
    t = _normalise(text)
    clauses = _clauses(t)
    kb = reading_knowledge()
    _read_constraints(t, text, clauses, reading)
    _read_dismissals(t, text, clauses, reading)
    hardware = set(kb["hardware_cues"])
    for cue in knowledge_base()["cues"]:
        for m in _find(cue["patterns"], t):
            clause = _clause_at(clauses, m.start())
            quote = _original(text, clause) if clause else m.group(0)
            if _negated(clause, m.start()):
                _add_once(reading.negated, _negated_phrase(text, clause) if clause else quote)
                continue
            if cue["id"] in hardware and clause and _find(kb["training_words"], clause.text) \
                    and not _find(kb["deployment_words"], clause.text):
                _add_once(reading.training_only, quote)
                continue
            reading.matches.append(Match(cue["id"], text[m.start():m.end()], quote))
            break
    _read_costs(t, text, clauses, reading)
    _resolve_edge_vs_server(reading)
    return reading


def _original(text: str, clause: _Clause) -> str:
    return text[clause.start:clause.end].strip(" ,;:.")


def _negated_phrase(text: str, clause: _Clause) -> str:
    """The negation with its scope ("without a GPU"), or the whole clause for a dismissal."""
    if clause.negated_from is not None:
        kb = reading_knowledge()
        part = text[clause.start:clause.end]
        first = min(m.start() for m in _find(kb["negation_before"], _normalise(part)))
        return part[first:].strip(" ,;:.")
    return _original(text, clause)


def _add_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _read_dismissals(t: str, text: str, clauses: list[_Clause], reading: UseCaseReading) -> None:
    """ "compute is not a concern", "latency doesn't matter", "don't care about size": that metric counts less."""
    kb = reading_knowledge()
    for clause in clauses:
        explicit = re.search(r"\b(?:don't|do not|doesn't|does not|not) (?:really )?care about\b|\bnot (?:worried|"
                             r"concerned) about\b|\bno (?=\w+ (?:requirements?|limits?|constraints?|deadlines?|"
                             r"concerns?|issues?)\b)", clause.text)
        if clause.negated_until is None and not explicit:
            continue
        for metric, words in kb["dismissals"].items():
            found = _find(words, clause.text)
            found = [m for m in found
                     if (clause.negated_until is not None and clause.start + m.start() < clause.negated_until)
                     or (explicit is not None and m.start() >= explicit.end())]
            if found and metric not in reading.dismissed:
                reading.dismissed[metric] = _original(text, clause)


def _read_costs(t: str, text: str, clauses: list[_Clause], reading: UseCaseReading) -> None:
    """A cost word is the cost of an error near an error word, the cost of compute near a compute word."""
    kb = reading_knowledge()
    harms = {(m.start(), m.end()) for m in _find(kb["harm_words"], t)}
    for m in [*_find(kb["cost_words"], t), *_find(kb["harm_words"], t)]:
        clause = _clause_at(clauses, m.start())
        if clause is None or _negated(clause, m.start()):
            continue
        quote = _original(text, clause)
        sentence = re.split(r"[.;!?]", t[:m.start()])[-1] + t[m.start():].split(".")[0]
        if (m.start(), m.end()) in harms and not _find(kb["error_words"], sentence):
            continue                 # "dangerous" names the cost of an error only next to an error word
        if _find(kb["error_words"], clause.text) or (_find(kb["error_words"], sentence)
                                                     and not _find(kb["compute_words"], clause.text)):
            if "error_cost" not in reading.cues:
                reading.matches.append(Match("error_cost", quote, quote))
        elif "complexity" in reading.dismissed:
            continue
        elif "cost" not in reading.cues:
            reading.matches.append(Match("cost", quote, quote))
            if not _find(kb["compute_words"], clause.text):
                reading.notes.append(kb["ambiguous"]["cost_unclear"].format(phrase=quote))


def _resolve_edge_vs_server(reading: UseCaseReading) -> None:
    edge = [m for m in reading.matches if m.cue in EDGE_CUES]
    server = [m for m in reading.matches if m.cue == "server"]
    if edge and server:
        reading.matches = [m for m in reading.matches if m.cue != "server"]
        reading.notes.append(reading_knowledge()["ambiguous"]["edge_and_server"].format(
            edge=f"“{edge[0].words}”", server=f"“{server[0].words}”"))


# ---- numbers that become constraints -------------------------------------------------------------------------

_SIZE_UNITS = {"kb": 1 / 1024, "kib": 1 / 1024, "kilobyte": 1 / 1024, "kilobytes": 1 / 1024, "mb": 1.0, "mib": 1.0,
               "megabyte": 1.0, "megabytes": 1.0, "gb": 1024.0, "gib": 1024.0, "gigabyte": 1024.0,
               "gigabytes": 1024.0}
_SCALE = {None: 1.0, "": 1.0, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "g": 1e9, "b": 1e9, "billion": 1e9}
_DATA_WORDS = re.compile(r"\b(?:dataset|data set|images|photos|pictures|videos|footage|each|per image|per photo|"
                         r"archive|recordings?)\b")


def _read_constraints(t: str, text: str, clauses: list[_Clause], reading: UseCaseReading) -> None:
    kb = reading_knowledge()
    pats = {k: re.compile(v) for k, v in kb["constraint_patterns"].items()}
    limits: dict[str, tuple[float, str]] = {}
    hardware: str | None = None

    def put(name: str, value: float, m: re.Match[str]) -> None:
        clause = _clause_at(clauses, m.start())
        quote = _original(text, clause) if clause else text[m.start():m.end()]
        if name not in limits or value < limits[name][0]:
            limits[name] = (value, quote)

    for key in ("latency_ms", "latency_s", "half_second", "fps", "per_second", "per_minute"):
        for m in pats[key].finditer(t):
            n = float(m.group("n")) if "n" in pats[key].groupindex else 0.5
            if n <= 0:
                continue
            ms = {"latency_ms": n, "latency_s": n * 1000, "half_second": 500.0, "fps": 1000 / n,
                  "per_second": 1000 / n, "per_minute": 60000 / n}[key]
            put("max_latency_ms", ms, m)
            if key in ("per_second", "per_minute"):
                reading.notes.append(kb["ambiguous"]["throughput"].format(phrase=text[m.start():m.end()],
                                                                         ms=f"{ms:.3g} ms"))
            hw = re.match(r"\s*(?:per \w+\s*)?on (?:the |a |an |our |my |its |their )?"
                          r"([\w' -]{2,40}?)(?=\s*(?:[,.;)]|$|\band\b|\bbut\b|\bwith\b|\bfor\b|\bso\b))",
                          t[m.end():])
            if hw and hardware is None:
                hardware = text[m.end() + hw.start(1):m.end() + hw.end(1)].strip()
    for m in pats["size"].finditer(t):
        around = t[max(0, m.start() - 40):m.end() + 30]
        if _DATA_WORDS.search(around) and not _find(kb["ram_words"], around):
            continue
        put("max_size_mb", float(m.group("n")) * _SIZE_UNITS[m.group("u")], m)
    for m in pats["macs"].finditer(t):
        unit, kind = m.group("u"), m.group("k")
        scale = _SCALE.get(unit, 1.0) * (1e6 if kind in ("mmacs", "mflops") else 1e9 if kind in ("gmacs", "gflops")
                                         else 1.0)
        value = float(m.group("n")) * scale / (2 if "flops" in kind else 1)
        put("max_macs", value, m)
    for m in pats["params"].finditer(t):
        put("max_params", float(m.group("n")) * _SCALE.get(m.group("u"), 1.0), m)
    for m in pats["watts"].finditer(t):
        watts = text[m.start():m.end()]
        reading.notes.append(kb["ambiguous"]["power_budget"].format(watts=watts))
        clause = _clause_at(clauses, m.start())
        reading.matches.append(Match("battery", watts, _original(text, clause) if clause else watts))
    if not limits:
        return
    values = {name: v for name, (v, _) in limits.items()}
    if "max_latency_ms" in values:
        values["latency_hardware"] = hardware
    reading.constraints = Constraints.from_mapping(values)
    reading.constraint_quotes = {name: quote for name, (_, quote) in limits.items()}
    if "max_latency_ms" in limits and "realtime" not in [m.cue for m in reading.matches]:
        reading.matches.append(Match("realtime", limits["max_latency_ms"][1], limits["max_latency_ms"][1]))
    if "max_size_mb" in limits:
        reading.matches.append(Match("app_size", limits["max_size_mb"][1], limits["max_size_mb"][1]))
