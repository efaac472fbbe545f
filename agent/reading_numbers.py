"""Numbers in a use case that become hard constraints: a time per image (ms, s, fps, items per second or minute), a
size (KB..GB, "megs"), MACs or FLOPs (FLOPs = 2 MACs), parameters and a power budget in W. Numbers may carry
thousands separators ("1,000"), an exponent ("1.5e9"), a scale ("100 million", "600M") or be spelled out ("two
hundred", "half a"; turned into digits by ``agent.clauses.normalise``). Patterns are data in ``prompts/reading.json``
(``{n}`` stands for a number)."""
from __future__ import annotations

import functools
import math
import re

from agent.clauses import Clause, Match, UseCaseReading, clause_at, find, is_negated, original, reading_knowledge
from greenrunner_core.constraints import Constraints

__all__ = ["NUMBER", "read_constraints"]

NUMBER = r"(?P<n>\d+(?:\.\d+)?(?:e[+-]?\d+)?)"
_SIZE_UNITS = {"k": 1 / 1024, "m": 1.0, "g": 1024.0}
_SCALE = {None: 1.0, "": 1.0, "k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "g": 1e9, "b": 1e9, "billion": 1e9}
_DATA_WORDS = re.compile(r"\b(?:dataset|data set|images|photos|pictures|videos|footage|each|per image|per photo|"
                         r"archive|recordings?)\b")


@functools.cache
def _patterns() -> dict[str, re.Pattern[str]]:
    return {k: re.compile(v.replace("{n}", NUMBER)) for k, v in reading_knowledge()["constraint_patterns"].items()}


def _size_mb(n: float, unit: str) -> float:
    return n * _SIZE_UNITS[unit[0]]


def _macs(n: float, unit: str | None, kind: str) -> float:
    """``kind`` is the word after the number: MACs or FLOPs, with an M or G prefix (FLOPs count 2 per MAC)."""
    kind = kind if kind.endswith("s") else kind + "s"
    prefix = {"mmacs": 1e6, "mflops": 1e6, "gmacs": 1e9, "gflops": 1e9}.get(kind, 1.0)
    return n * _SCALE.get(unit, 1.0) * prefix / (2 if "flops" in kind else 1)


def _milliseconds(key: str, n: float) -> float:
    """A time per image from the number of a latency pattern: a duration, or a rate (fps, per second, per minute)."""
    per_unit = {"latency_ms": 1.0, "latency_us": 1e-3, "latency_s": 1e3, "latency_min": 6e4, "half_second": 1.0,
                "one_second": 1.0}
    if key in per_unit:
        return n * per_unit[key] * (1000 if key in ("half_second", "one_second") else 1)
    return {"fps": 1000, "per_second": 1000, "per_minute": 60000}[key] / n


_RANGE = re.compile(r"(?:\b(?P<between>between)\s+|\bfrom\s+)?(?<![\d.])(?P<lo>\d+(?:\.\d+)?)\s*(?:[a-zµ/]{1,12}\s*)?"
                    r"(?P<to>[-–—]|\bto\b|\band\b)\s*(?P<hi>\d+(?:\.\d+)?)(?![\d.])")


def _ranges(t: str) -> list[re.Match[str]]:
    """"20ms-30ms", "20–30 MB", "from 10 MB to 20 MB", "between 20 and 30 ms": a low and a high number (the low one
    smaller; "and" only after "between")."""
    return [m for m in _RANGE.finditer(t) if float(m.group("lo")) < float(m.group("hi")) and float(m.group("lo")) > 0
            and (m.group("to") != "and" or m.group("between"))]


def _said(name: str, value: float) -> str:
    """A limit as a person writes it: "2 s", "50 ms", "4 GB", "200M MACs"."""
    if name == "max_latency_ms":
        return f"{value / 1000:.4g} s" if value >= 1000 else f"{value:.4g} ms"
    if name == "max_size_mb":
        return f"{value / 1024:.4g} GB" if value >= 1024 else f"{value:.4g} MB"
    scale = next(((f, p) for f, p in ((1e9, "G"), (1e6, "M"), (1e3, "k")) if value >= f), (1.0, ""))
    return f"{value / scale[0]:.4g}{scale[1]} {'MACs' if name == 'max_macs' else 'parameters'}"


def read_constraints(t: str, text: str, parts: list[Clause], reading: UseCaseReading) -> None:
    kb = reading_knowledge()
    pats = _patterns()
    limits: dict[str, tuple[float, str]] = {}
    hardware: str | None = None

    ranges = _ranges(t)

    def put(name: str, value: float, m: re.Match[str], rate: bool = False) -> None:
        clause = clause_at(parts, m.start())
        if is_negated(clause, m.start()):
            return                   # "30 MB, not 20 MB": the negated number is not the limit
        start = m.start("n") if "n" in m.re.groupindex else m.start()
        if any(r.start("lo") == start for r in ranges):
            return                   # "20ms-30ms": the low end is not the limit, the range's loose end is
        span = next((r for r in ranges if r.start("hi") == start), None)
        if span is not None and 0 < value < math.inf:
            lo, hi = float(span.group("lo")), float(span.group("hi"))
            value, tight = (value * hi / lo, value) if rate else (value, value * lo / hi)   # a rate: its low end
            reading.notes.append(kb["ambiguous"]["range"].format(
                phrase=text[span.start():m.end()].strip(), value=_said(name, value), tight=_said(name, tight)))
        elif not 0 < value < math.inf or re.search(r"(?:^|[^\w.])-\s*$", t[max(0, start - 2):start]):
            said = text[m.start() - (1 if t[m.start() - 1:m.start()] == "-" else 0):m.end()].strip()
            reading.notes.append(kb["ambiguous"]["not_a_limit"].format(phrase=said))
            return                   # "under 0 MB", "under -5 ms": no model meets it; say so, never crash
        quote = original(text, clause) if clause else text[m.start():m.end()]
        if name not in limits or value < limits[name][0]:
            limits[name] = (value, quote)

    for key in ("latency_ms", "latency_us", "latency_s", "latency_min", "half_second", "one_second", "fps",
                "per_second", "per_minute"):
        for m in pats[key].finditer(t):
            n = float(m.group("n")) if "n" in pats[key].groupindex else 0.5 if key == "half_second" else 1.0
            if n <= 0 and key in ("fps", "per_second", "per_minute"):
                continue
            ms = _milliseconds(key, n)
            if re.search(r"\b(?:kb|mb|gb|kib|mib|gib|megabytes?|gigabytes?|bytes?|bits?|mbit|gbit)\b", m.group(0)):
                continue             # "10 MB/s" is a bandwidth, not images per second
            put("max_latency_ms", ms, m, rate=key in ("fps", "per_second", "per_minute"))
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
        if _DATA_WORDS.search(around) and not find(kb["ram_words"], around):
            continue
        put("max_size_mb", _size_mb(float(m.group("n")), m.group("u")), m)
    for key in ("macs", "macs_after"):
        for m in pats[key].finditer(t):
            put("max_macs", _macs(float(m.group("n")), m.group("u"), m.group("k")), m)
    for m in pats["params"].finditer(t):
        put("max_params", float(m.group("n")) * _SCALE.get(m.group("u"), 1.0), m)
    for m in [*pats["accuracy_floor"].finditer(t), *pats["accuracy_floor_first"].finditer(t)]:
        phrase = text[m.start():m.end()].strip()
        reading.notes.append(kb["ambiguous"]["accuracy_floor"].format(phrase=phrase, n=float(m.group("n"))))
        reading.emphasis.setdefault("accuracy", phrase)
    for m in pats["watts"].finditer(t):
        watts = text[m.start():m.end()]
        reading.notes.append(kb["ambiguous"]["power_budget"].format(watts=watts))
        clause = clause_at(parts, m.start())
        reading.matches.append(Match("battery", watts, original(text, clause) if clause else watts))
    if not limits:
        return
    values = {name: v for name, (v, _) in limits.items()}
    if "max_latency_ms" in values:
        values["latency_hardware"] = hardware
    reading.constraints = Constraints.from_mapping(values)
    reading.constraint_quotes = {name: quote for name, (_, quote) in limits.items()}
    if "max_latency_ms" in limits and "realtime" not in [m.cue for m in reading.matches] \
            and limits["max_latency_ms"][0] <= kb["realtime_up_to_ms"]:          # "5 seconds per image" is no deadline
        reading.matches.append(Match("realtime", limits["max_latency_ms"][1], limits["max_latency_ms"][1]))
    if "max_size_mb" in limits:
        reading.matches.append(Match("app_size", limits["max_size_mb"][1], limits["max_size_mb"][1]))
