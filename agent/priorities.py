"""What the user ranks: a metric stressed ("speed is the top priority", "as fast as possible", "a tiny model"), one
metric above another ("speed matters more than size", "accuracy over speed") and ordered lists ("accuracy first,
then speed", "1) accuracy 2) size 3) speed"). Reading them from the text, and applying them to weights: a stressed
metric gains a fixed step and is not lowered by cues; a ranking reorders the named weights, keeping their values.
The words are data in ``prompts/reading.json`` (``priorities``)."""
from __future__ import annotations

import functools
import re

from agent.clauses import Clause, UseCaseReading, clause_at, reading_knowledge

__all__ = ["apply_priorities", "conflict_note", "read_priorities"]


def _kb() -> dict:
    return reading_knowledge()["priorities"]


@functools.cache
def _metric_of() -> dict[str, str]:
    return {w: m for m, words in _kb()["metric_words"].items() for w in words}


@functools.cache
def _alternatives() -> str:
    words = sorted(_metric_of(), key=len, reverse=True)
    return "|".join(re.escape(w).replace(r"\ ", r"[\s-]+") for w in words)


def _compile(template: str, **names: str) -> re.Pattern[str]:
    words = _alternatives()
    pattern = template
    for name in names or {"m": "m"}:
        pattern = pattern.replace("{" + name + "}", rf"(?<![\w'])(?P<{name}>{words})(?![\w'])")
    return re.compile(pattern)


def _metric(word: str) -> str:
    return _metric_of().get(re.sub(r"[\s-]+", " ", word), _metric_of().get(word, ""))


def read_priorities(t: str, text: str, parts: list[Clause], reading: UseCaseReading) -> None:
    """Fill ``reading.emphasis`` (metric -> phrase), ``reading.equal`` ((metrics weighed alike), phrase) and
    ``reading.rankings`` ((metrics high to low), phrase)."""
    kb = _kb()

    def quote(m: re.Match[str]) -> str | None:
        """The user's words, or None when a negation reaches them ("not as fast as possible")."""
        clause = clause_at(parts, m.start())
        if clause is not None and clause.negated_from is not None and m.start() >= clause.negated_from:
            return None
        negation = r"\b(?:not|never|no)\b|\b(?:isn|aren|doesn|don|won|can|shouldn|mustn|wasn)'?t\b"
        if re.search(negation, m.group(0).replace("not negotiable", "")):
            return None
        return text[m.start():m.end()].strip(" ,;:")

    taken: list[tuple[int, int]] = []
    for template in kb["equal"]:                         # "size and speed are equally important"
        for m in _compile(template, a="a", b="b", c="c").finditer(t):
            names = [m.groupdict().get(k) for k in ("a", "b", "c")]
            metrics = tuple(dict.fromkeys(x for w in names if w and (x := _metric(w))))
            if len(metrics) >= 2 and (phrase := quote(m)) and not any(s < m.end() and m.start() < e for s, e in taken):
                reading.equal.append((metrics, phrase))
                taken.append((m.start(), m.end()))

    def free(m: re.Match[str]) -> bool:
        """Not inside an equality ("accuracy matters as much as speed" stresses neither)."""
        return not any(s < m.end() and m.start() < e for s, e in taken)

    for template in kb["emphasis_pairs"]:
        for m in filter(free, _compile(template, a="a", b="b").finditer(t)):
            for metric in (_metric(m.group("a")), _metric(m.group("b"))):
                if metric and (phrase := quote(m)) and metric not in reading.emphasis:
                    reading.emphasis[metric] = phrase
    for template in kb["emphasis"]:
        for m in filter(free, _compile(template).finditer(t)):
            word = m.group("m") if "m" in m.groupdict() else next(
                (w for w in kb["emphasis_words"] if re.search(rf"\b{re.escape(w)}\b", m.group(0))), "")
            metric = _metric(word) if "m" in m.groupdict() else kb["emphasis_words"].get(word, "")
            phrase = quote(m)
            if metric and phrase and metric not in reading.emphasis:
                reading.emphasis[metric] = phrase
    for template in kb["above"]:
        pattern, pos = _compile(template, a="a", b="b"), 0
        while m := pattern.search(t, pos):               # overlapping: "accuracy > speed > size" is two pairs
            pos = m.start() + 1
            high, low = _metric(m.group("a")), _metric(m.group("b"))
            phrase = quote(m)
            if high and low and high != low and phrase and (high, low) not in [r[0] for r in reading.rankings]:
                reading.rankings.append(((high, low), phrase))
    _read_kept(t, text, reading)
    ordered = [(m.start(), m.end(), _metric(m.group("m") or m.group("m2"))) for m in _ordered().finditer(t)]
    chain = list(dict.fromkeys(metric for _, _, metric in ordered if metric))
    if len(chain) >= 2:
        rest = [m for m in ("accuracy", "complexity", "size") if m not in chain]
        reading.rankings.append(((*chain, *rest), text[ordered[0][0]:ordered[-1][1]].strip(" ,;:")))


def _read_kept(t: str, text: str, reading: UseCaseReading) -> None:
    """ "it shouldn't be huge": the user asks that metric not go bad, so no cue lowers it (``reading.kept``)."""
    for metric, words in reading_knowledge()["dismissal_adjectives"].items():
        adjectives = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
        for m in re.finditer(r"(?<![\w'])" + _kb()["keep"].replace("{adj}", adjectives), t):
            reading.kept.setdefault(metric, text[m.start():m.end()])


@functools.cache
def _ordered() -> re.Pattern[str]:
    before, after = _kb()["ordered"].split("|{m}", 1)
    words = _alternatives()
    return re.compile(before.replace("{m}", rf"(?P<m>{words})(?![\w'])") + "|"
                      + rf"(?<![\w'])(?P<m2>{words})" + after)


def apply_priorities(weights: dict[str, float], reasons: dict[str, list[str]], reading: UseCaseReading) -> None:
    """Stress, then reorder ``weights`` in place as ``reading`` says, with the user's words in ``reasons``."""
    kb = _kb()
    for metric, phrase in reading.emphasis.items():
        if metric in reading.dismissed or (metric == "accuracy" and "accuracy_first" in reading.cues):
            continue
        weights[metric] += kb["emphasis_effect"]
        reasons[metric].append(f"You stress it (“{phrase}”), so {metric} counts more.")
    for group, phrase in reading.equal:
        alike = [m for m in group if m not in reading.dismissed]
        if len(alike) < 2:
            continue
        value = max(weights[m] for m in alike)
        for metric in alike:
            weights[metric] = value
            reasons[metric].append(f"You weigh {' and '.join(alike)} alike (“{phrase}”), so they get the same weight, "
                                   f"the {'higher' if len(alike) == 2 else 'highest'} of theirs.")
    for chain, phrase in reading.rankings:
        values = sorted((weights[m] for m in chain), reverse=True)
        for metric, value in zip(chain, values):
            weights[metric] = value
        for i in range(len(chain) - 2, -1, -1):
            high, low = chain[i], chain[i + 1]
            if weights[high] <= weights[low]:
                weights[high] = weights[low] + kb["rank_gap"]
        order = " > ".join(chain)
        for metric in chain:
            reasons[metric].append(f"You rank {order} (“{phrase}”), so the weights follow that order.")


def conflict_note(reading: UseCaseReading, weights: dict[str, float]) -> str | None:
    """Accuracy stressed together with small or fast: say that they pull against each other."""
    wants_accuracy = reading.emphasis.get("accuracy") or (reading.quote("accuracy_first") or None)
    others = {m: p for m, p in reading.emphasis.items() if m in ("size", "complexity")}
    if not wants_accuracy or not others:
        return None
    phrases = dict.fromkeys([wants_accuracy, *others.values()])
    return _kb()["conflict"].format(
        phrases=" and ".join(f"“{p}”" for p in phrases), metrics=" and ".join(others),
        acc=weights["accuracy"], others=", ".join(f"{m} {weights[m]:g}" for m in others))
