"""Follow-ups by intent, not by exact phrase: weight changes ("could you make model size count for more?", "twice as
important", "I care about latency now"), limits ("what if the limit is 50 MB?", "drop the size limit"), top N, and
values out of range refused with the reason and the valid range. The words are data in ``prompts/reading.json``."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from agent.reading import read_use_case, reading_knowledge, word_regex
from agent.shortlisting import asks_shortlist
from tools.weight_rule import RANGE_TEXT, WEIGHT_MEANING, weight_problem

__all__ = ["FollowUp", "followup_metric_words", "parse_followup"]

LIMIT_WORDS = {"size": "max_size_mb", "memory": "max_size_mb", "storage": "max_size_mb", "mb": "max_size_mb",
               "latency": "max_latency_ms", "time": "max_latency_ms", "ms": "max_latency_ms",
               "macs": "max_macs", "mac": "max_macs", "complexity": "max_macs", "compute": "max_macs",
               "flops": "max_macs", "flop": "max_macs", "gmacs": "max_macs", "speed": "max_latency_ms",
               "params": "max_params", "parameters": "max_params", "parameter": "max_params", "param": "max_params"}


@dataclass
class FollowUp:
    """A follow-up read by intent. ``kind``: adjust (metric -> +1/-1), scale (metric -> factor), set (metric -> value),
    invalid (with ``reason``), constraint (limits), lift (limit names, and any limit said to be kept), top_n,
    reset (back to the proposal's weights), undo (back to the weights and limits before the last change), about (a question about one metric: ``changes`` = {metric: 0})."""

    kind: str
    text: str
    changes: dict[str, float] = field(default_factory=dict)
    constraints: dict[str, float | str | None] = field(default_factory=dict)
    lift: list[str] = field(default_factory=list)
    top_n: int | None = None
    reason: str = ""


def _kb() -> dict:
    return reading_knowledge()["followups"]


def followup_metric_words() -> list[tuple[str, str]]:
    """(word, metric), longest first (so "model size" wins over "size")."""
    pairs = [(w, m) for m, words in _kb()["metric_words"].items() for w in [m, *words]]
    return sorted(set(pairs), key=lambda p: -len(p[0]))


def _metrics_in(t: str) -> list[tuple[str, int, int]]:
    """(metric, start, end) of each metric word, non-overlapping, in text order."""
    taken: list[tuple[int, int]] = []
    found = []
    for word, metric in followup_metric_words():
        for m in word_regex(word).finditer(t):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append((metric, m.start(), m.end()))
    return sorted(found, key=lambda f: f[1])


def _any(words: list[str], t: str) -> re.Match[str] | None:
    return next((m for w in words for m in [word_regex(w).search(t)] if m), None)


def _is_use_case(t: str) -> bool:
    """A new use case names a task in a longer sentence and has none of the follow-up markers up front."""
    kb = _kb()
    words = t.split()
    if t.startswith(("what if", "could you", "can you", "make ", "set ", "now ")):
        return False
    if len(words) < 5 or _any(kb["task_words"], t) is None:
        return False
    reading = read_use_case(t)
    return bool(reading.cues or reading.negated or re.search(r"\b(?:images?|photos?|pictures?|scans?|frames?|"
                                                             r"video|footage|camera)\b", t))


def _number(token: str) -> float | None:
    try:
        value = float(token)
    except ValueError:
        value = _kb()["numbers"].get(token)
    return None if value is None else float(value)


def parse_followup(text: str) -> FollowUp | None:
    """The follow-up ``text`` asks for, or None (then the older phrase rules or the use-case reading apply)."""
    t = " ".join(text.lower().replace("’", "'").split()).rstrip(" ?!.")
    if not t or _is_use_case(t) or asks_shortlist(t):
        return None                  # a new use case, or a shortlist request (its limits apply to the shortlist)
    for parse in (_reset, _undo, _lift, _constraint, _invalid_or_set, _top_n, _scale, _adjust, _about):
        found = parse(t, text)
        if found is not None:
            return found
    return None


def _lift(t: str, raw: str) -> FollowUp | None:
    m = re.search(r"\b(?:drop|remove|lift|forget(?:\s+about)?|ignore|no(?:\s+need\s+for)?|without|clear|relax|"
                  r"scrap|ditch|delete|cancel|get\s+rid\s+of|take\s+away|lose)\s+(?:the\s+|any\s+|all\s+|my\s+|that\s+)?(?:(?:\d[\d.]*\s*|model\s+)?(\w+)\s+)?"
                  r"(?:limits?|constraints?|caps?)\b", t)
    if not m or re.match(r"\s*(?:to|at|of)\s+\d", t[m.end():]):
        return None                  # "relax the size limit to 200 MB" changes the limit, it does not lift it
    word = (m.group(1) or "").strip()
    kept = read_use_case(raw[m.end():]).constraints.to_dict()     # "..., but keep latency under 20 ms"
    if word in ("", "all", "the", "any"):
        return FollowUp("lift", raw, lift=sorted(set(LIMIT_WORDS.values()) - set(kept)), constraints=kept)
    field_name = LIMIT_WORDS.get(word)
    if field_name is None:
        return None
    return FollowUp("lift", raw, lift=[field_name], constraints=kept)


def _reset(t: str, raw: str) -> FollowUp | None:
    if re.search(r"\b(?:reset|restore)\b.*\bweights?\b|\b(?:back to|revert to|return to)\s+(?:the\s+|my\s+|your\s+)?"
                 r"(?:original|initial|proposed|first|suggested)\s+(?:weights?|proposal)\b", t):
        return FollowUp("reset", raw)
    return None


def _undo(t: str, raw: str) -> FollowUp | None:
    """"undo that", "revert the last change", "go back to the previous weights": the last change of weights or limits."""
    if re.search(r"^(?:\w+,?\s+)?(?:undo|revert|roll\s*back|take\s+(?:that|it)\s+back)\b(?!\s+to\b)|\b(?:undo|revert|roll"
                 r"\s*back)\s+(?:that|it|this|the\s+(?:last|previous)|my\s+last)\b|\b(?:go|get|put\s+(?:it|them))\s+back"
                 r"\s+to\s+(?:the\s+|my\s+)?(?:previous|last|earlier|old|prior|former)\s+(?:weights?|limits?|settings?|"
                 r"values?|ones?)\b|\b(?:cancel|discard)\s+(?:that|the\s+last)\s+change\b", t):
        return FollowUp("undo", raw)
    return None


def _invalid_or_set(t: str, raw: str) -> FollowUp | None:
    words = "|".join(re.escape(w) for w, _ in followup_metric_words())
    pairs = re.findall(rf"(?<![\w'])({words})(?:\s+weight)?\s*(?:to|=|:|at)\s*([-+]?[\w.]+)", t)
    if not pairs or not re.search(r"\bset\b|=|\bweight\b|\bto\s*[-+]?[\d.]|\bmake\b|\bchange\b|\bput\b", t):
        return None
    metric_of = dict(followup_metric_words())
    changes: dict[str, float] = {}
    for word, token in pairs:
        metric = metric_of[word]
        try:
            value = float(token)
        except ValueError:
            return FollowUp("invalid", raw, reason=f"“{token}” is not a number: a weight is a number in "
                                                   f"{RANGE_TEXT}, e.g. “set {metric} to 0.3”")
        problem = weight_problem(metric, value)
        if problem is not None:
            return FollowUp("invalid", raw, reason=f"{problem}; {WEIGHT_MEANING}")
        changes[metric] = value
    return FollowUp("set", raw, changes=changes)


_LIMIT_WORD = re.compile(r"\b(?:limits?|caps?|constraints?|under|below|within|at most|no more than|less than|"
                         r"max(?:imum)?)\b")
_NOT_ABOVE_ZERO = re.compile(r"(?<![\w.])(?:-\s*\d+(?:\.\d+)?|0+(?:\.0+)?)(?![\d.])(?:\s*(?:[kmg]b|ms|s|seconds?|"
                             r"[kmg]?macs|[kmg]?flops|[kmg]|%|percent)\b)?", re.IGNORECASE)


def _constraint(t: str, raw: str) -> FollowUp | None:
    if re.search(r"\b(?:show|list|display|which)\b.*\bmodels?\b", t):
        return None                  # "show the models under 20 MB" lists cards, it sets no limit
    reading = read_use_case(raw)
    limits = reading.constraints.to_dict()
    if not limits and _LIMIT_WORD.search(t) and (bad := _NOT_ABOVE_ZERO.search(raw)):
        return FollowUp("invalid", raw, reason=f"a limit of {' '.join(bad.group(0).split())} leaves no model to run: "
                                               "give a limit above 0, e.g. “limit size to 20 MB” or “latency within "
                                               "50 ms”")          # "-5 MB" was read as a weight, or not at all
    if not limits:
        m = re.search(r"\blimit\b.*?\b(\d+(?:\.\d+)?)\b(?!\s*(?:%|percent))", t)
        if m and not re.search(r"\d\s*[a-z]", t[m.start(1):]):
            return FollowUp("invalid", raw, reason=f"“{m.group(0)}” has no unit: say e.g. “limit size to "
                                                   f"{m.group(1)} MB” or “latency within {m.group(1)} ms”")
        return None
    return FollowUp("constraint", raw, constraints=limits)


def _top_n(t: str, raw: str) -> FollowUp | None:
    numbers = "|".join(_kb()["numbers"])
    m = re.search(rf"\b(?:top|best|first|leading)\s*(-?\d+|{numbers})\b|\b(\d+|{numbers})\s+(?:best|top)\b", t)
    if not m or not re.search(r"\b(?:show|give|list|see|display|what|which|top)\b", t):
        return None
    n = _number(m.group(1) or m.group(2))
    if n is None or n < 1 or n != int(n) or n > 50:
        return FollowUp("invalid", raw, reason=f"top {m.group(1) or m.group(2)}: give a whole number from 1 to 50")
    return FollowUp("top_n", raw, top_n=int(n))


def _scale(t: str, raw: str) -> FollowUp | None:
    factors = _kb()["factors"]
    m = _any(list(factors), t)
    metrics = _metrics_in(t)
    if not m or not metrics:
        return None
    if re.search(r"\b(?:limits?|caps?|constraints?)\b", t):
        return FollowUp("invalid", raw, reason="a limit changes to the value you give, not by a factor: say e.g. "
                                               "“make the size limit 10 MB” or “limit latency to 20 ms”")
    word = m.group(0).replace("-", " ")
    factor = float(next(v for k, v in factors.items() if word_regex(k).fullmatch(word)))
    return FollowUp("scale", raw, changes={metrics[0][0]: factor})


def _adjust(t: str, raw: str) -> FollowUp | None:
    kb = _kb()
    metrics = _metrics_in(t)
    if not metrics:
        return None
    if re.search(r"\b(?:don'?t|do not|doesn'?t|does not|not|no longer|never)\s+(?:really\s+)?(?:care|matter)|"
                 r"\b(?:isn'?t|not|aren'?t|no longer)\s+(?:that\s+|very\s+|so\s+|too\s+)?(?:important|a concern|"
                 r"an issue|relevant|a priority)", t):
        return None                  # "size doesn't matter", "size isn't important" = ignore (the phrase rules)
    changes: dict[str, float] = {}
    for i, (metric, start, end) in enumerate(metrics):
        stop = metrics[i + 1][1] if i + 1 < len(metrics) else len(t)
        begin = metrics[i - 1][2] if i > 0 else 0
        if re.search(r"\bthan\s+(?:the\s+)?$", t[begin:start]):
            continue                 # "accuracy is more important than size": only accuracy moves
        window = t[begin:stop]
        down = _any(kb["down"], window)
        up = _any(kb["up"], window)
        if down:
            changes[metric] = -1.0
        elif up:
            changes[metric] = 1.0
    if not changes:
        return None
    return FollowUp("adjust", raw, changes=changes)


def _about(t: str, raw: str) -> FollowUp | None:
    """"what about latency?" / "how about size": a question about one metric, answered with its weight and how to
    change it (it was not understood)."""
    words = "|".join(re.escape(w) for w, _ in followup_metric_words())
    m = re.fullmatch(rf"(?:so\s+|and\s+|but\s+)?(?:what|how)\s+about\s+(?:the\s+)?({words})", t)
    if not m:
        return None
    return FollowUp("about", raw, changes={dict(followup_metric_words())[m.group(1)]: 0.0}, reason=m.group(1))
