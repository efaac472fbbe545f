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

import re

from agent.clauses import (
    Clause,
    Match,
    UseCaseReading,
    clause_at,
    clauses,
    find,
    is_negated,
    normalise,
    original,
    reading_knowledge,
    word_regex,
)
from agent.priorities import read_priorities
from agent.proposal import knowledge_base
from agent.reading_numbers import read_constraints
from agent.spelling import correct_spelling

__all__ = ["Match", "UseCaseReading", "is_english", "read_use_case", "reading_knowledge", "word_regex"]

EDGE_CUES = ("microcontroller", "mobile", "drone", "laptop", "browser")
_SUBJECT = (r"(?:it|that|this|(?:the |our |a |your )?(?:model|network|net|classifier|detector|inference|processing|"
            r"prediction|response|answer)s?)")      # "the model can be large", not "the images can be large"


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
    text, fixes = correct_spelling(text)
    reading.notes += [reading_knowledge()["spelling"]["note"].format(wrong=w, right=r) for w, r in fixes]
    t = normalise(text)
    parts = clauses(t)
    kb = reading_knowledge()
    read_constraints(t, text, parts, reading)
    _read_dismissals(t, text, parts, reading)
    hardware = set(kb["hardware_cues"])
    for cue in knowledge_base()["cues"]:
        subject = ""
        for m in find(cue["patterns"], t):
            clause = clause_at(parts, m.start())
            quote = original(text, clause) if clause else m.group(0)
            if is_negated(clause, m.start()):
                _add_once(reading.negated, _negated_phrase(text, clause) if clause else quote)
                continue
            if cue["id"] in hardware and clause and _is_subject(t[clause.start:m.start()]):
                subject = subject or kb["ambiguous"]["subject"].format(words=text[m.start():m.end()])
                continue
            if cue["id"] in hardware and clause and find(kb["training_words"], clause.text) \
                    and not find(kb["deployment_words"], clause.text):
                _add_once(reading.training_only, quote)
                continue
            reading.matches.append(Match(cue["id"], text[m.start():m.end()], quote))
            break
        else:
            if subject:
                reading.notes.append(subject)
    _read_local_only(t, text, parts, reading)
    _read_costs(t, text, parts, reading)
    read_priorities(t, text, parts, reading)
    _resolve_edge_vs_server(reading)
    return reading


def _is_subject(before: str) -> bool:
    """True when a device word is what the task is about ("detect drones"), right after the task's verb."""
    verbs = "|".join(re.escape(w) for w in reading_knowledge()["followups"]["task_words"])
    return re.search(rf"\b(?:{verbs})\s+(?:(?:the|a|an|all|any|some|other|small|large|\w+ing)\s+){{0,2}}$",
                     before) is not None


def _negated_phrase(text: str, clause: Clause) -> str:
    """The negation with its scope ("without a GPU"), or the whole clause for a dismissal."""
    if clause.negated_from is not None:
        kb = reading_knowledge()
        part = text[clause.start:clause.end]
        first = min(m.start() for m in find(kb["negation_before"], normalise(part)))
        return part[first:].strip(" ,;:.")
    return original(text, clause)


def _add_once(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _read_dismissals(t: str, text: str, parts: list[Clause], reading: UseCaseReading) -> None:
    """ "compute is not a concern", "latency doesn't matter", "don't care about size": that metric counts less."""
    kb = reading_knowledge()
    for i, clause in enumerate(parts):
        explicit = re.search(r"\b(?:don'?t|do not|doesn'?t|does not|not) (?:really )?care about\b|\bnot (?:worried|"
                             r"concerned) about\b|\bno (?=\w+ (?:requirements?|limits?|constraints?|deadlines?|"
                             r"concerns?|issues?)\b)|\b(?:don'?t|do not|doesn'?t|does not|won'?t|will not) (?:need|have) "
                             r"to be\b|\b(?:need not|needn'?t) be\b|\bnot (?:bothered|fussed) (?:about|by)\b|\bwho cares about\b|"
                             r"\bneither\b(?=.*\bnor\b)|\b(?:fine|ok|okay|happy|comfortable) with\b|"
                             r"\b(?:nobody|no[ -](?:one|1)|none of us)\s+(?:minds?|cares?|is bothered|worries)\b|"   # "one" reads as "1"
                             r"\b(?:don'?t|do not|doesn'?t|does not|wouldn'?t|would not) mind\b|"
                             rf"\b{_SUBJECT}\s+(?:can|may|could|is allowed to|are allowed to) be (?:a bit |a little |quite |fairly |"
                             rf"rather |pretty |somewhat |really |very )?(?=(?:{_adjectives()})\b)", clause.text)
        if clause.negated_until is None and not explicit:
            continue
        scoped = {}
        for metric, words in kb["dismissals"].items():
            found = find(words, clause.text)
            scoped[metric] = [m.group(0) for m in found
                              if (clause.negated_until is not None and clause.start + m.start() < clause.negated_until)
                              or (explicit is not None and m.start() >= explicit.end())]
        named = {metric for metric, words in scoped.items() if set(words) - set(kb["dismissal_pronouns"])}
        for metric, words in scoped.items():     # "no one cares how big it is": "big" names the metric, not "it"
            if words and metric not in reading.dismissed and (metric in named or not named):
                reading.dismissed[metric] = original(text, clause)
        if clause.negated_until is not None and i > 0:      # "size and speed are not important": both
            before = parts[i - 1]
            if re.fullmatch(r"\s+(?:and|or)\s+", t[before.end:clause.start]) and len(before.text.split()) <= 3:
                for metric, words in kb["dismissals"].items():
                    if find(words, before.text) and metric not in reading.dismissed:
                        reading.dismissed[metric] = text[before.start:clause.end].strip(" ,;:.")


def _adjectives() -> str:
    """Words that name a metric by its bad end ("slow", "big"): "it can be slow" dismisses compute."""
    words = [w for ws in reading_knowledge()["dismissal_adjectives"].values() for w in ws]
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


def _read_local_only(t: str, text: str, parts: list[Clause], reading: UseCaseReading) -> None:
    """ "air-gapped", "offline without internet": no weight changes, but the run must find every model cached."""
    local = reading_knowledge()["local_only"]
    for m in sorted(find(local["words"], t), key=lambda m: m.start()):
        if not is_negated(clause_at(parts, m.start()), m.start()):
            reading.notes.append(local["note"].format(phrase=text[m.start():m.end()]))
            return


def _read_costs(t: str, text: str, parts: list[Clause], reading: UseCaseReading) -> None:
    """A cost word is the cost of an error near an error word, the cost of compute near a compute word."""
    kb = reading_knowledge()
    harms = {(m.start(), m.end()) for m in find(kb["harm_words"], t)}
    for m in [*find(kb["cost_words"], t), *find(kb["harm_words"], t)]:
        clause = clause_at(parts, m.start())
        if clause is None or is_negated(clause, m.start()):
            continue
        quote = original(text, clause)
        sentence = re.split(r"[.;!?]", t[:m.start()])[-1] + t[m.start():].split(".")[0]
        if (m.start(), m.end()) in harms and not find(kb["error_words"], sentence):
            continue                 # "dangerous" names the cost of an error only next to an error word
        if find(kb["error_words"], clause.text) or (find(kb["error_words"], sentence)
                                                     and not find(kb["compute_words"], clause.text)):
            if "error_cost" not in reading.cues:
                reading.matches.append(Match("error_cost", quote, quote))
        elif "complexity" in reading.dismissed:
            continue
        elif "cost" not in reading.cues:
            reading.matches.append(Match("cost", quote, quote))
            if not find(kb["compute_words"], clause.text):
                reading.notes.append(kb["ambiguous"]["cost_unclear"].format(phrase=quote))


def _resolve_edge_vs_server(reading: UseCaseReading) -> None:
    edge = [m for m in reading.matches if m.cue in EDGE_CUES]
    server = [m for m in reading.matches if m.cue == "server"]
    if not (edge and server):
        return
    kb = reading_knowledge()
    names = {"edge": f"“{edge[0].words}”", "server": f"“{server[0].words}”"}
    runs = [any(find(kb["deployment_words"], normalise(m.clause)) for m in ms) for ms in (edge, server)]
    desktop = all(find(kb["desktop_words"], normalise(m.words)) for m in edge)       # "an RTX 4090 desktop"
    if desktop:
        reading.matches = [m for m in reading.matches if m.cue not in EDGE_CUES]
        reading.notes.append(kb["ambiguous"]["desktop_gpu"].format(**names))
        return
    gpus = all(find(kb["gpu_words"], normalise(m.words)) for m in server)
    if gpus and any(m.cue == "laptop" for m in edge) and not (runs[1] and not runs[0]):   # "a laptop with an RTX"
        reading.matches = [m for m in reading.matches if m.cue != "server"]
        reading.matches.append(Match("laptop_gpu", server[0].words, server[0].clause))
        reading.notes.append(kb["ambiguous"]["laptop_gpu"].format(**names))
        return
    if runs[1] and not runs[0]:              # "patients upload from phones but the model runs in our data center"
        reading.matches = [m for m in reading.matches if m.cue not in EDGE_CUES]
        reading.notes.append(kb["ambiguous"]["server_runs"].format(**names))
        return
    reading.matches = [m for m in reading.matches if m.cue != "server"]
    reading.notes.append(kb["ambiguous"]["edge_and_server"].format(**names))


