"""Asking for a shortlist ("which models should I try?", "shortlist 20 models from timm", "what candidates would you
pick for a drone under 50 MB?", "show me timm models under 1 GMACs"): the request read from the text (K, source,
hard limits), and the offline reasoner's reply, a real ``shortlist_models`` call that spends no evaluation."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from agent.reading import read_use_case

__all__ = ["ShortlistRequest", "asks_shortlist", "read_shortlist"]

K_RANGE = (2, 200)                     # ShortlistArgs.k bounds
SOURCES = {"timm": "timm", "torchvision": "torchvision", "hugging face": "hf", "huggingface": "hf", "hf": "hf"}
_SOURCE = r"timm|torchvision|hugging ?face|hf"
_ASKS = (
    r"\bshort[- ]?list",
    (r"\bcandidates?\b.*\b(?:pick|propose|suggest|recommend|choose|would|should|could|give|show|list|try)\b|"
     r"\b(?:pick|propose|suggest|recommend|choose|which|what|give|show|list)\b.*\bcandidates?\b"),
    r"\b(?:which|what)\s+models?\s+(?:should|would|could|do you (?:recommend|suggest))\b",
    r"\bmodels?\s+(?:should|would|could)\s+(?:i|we)\s+(?:try|test|evaluate|consider|compare)\b",
    r"\b(?:recommend|suggest|propose)\b.*\bmodels\b",
    rf"\b(?:{_SOURCE}|hubs?)\b.*\bmodels?\b|\bmodels?\b.*\b(?:from|on|in)\s+(?:the\s+)?(?:{_SOURCE}|hubs?)\b",
)
_NAMED = r"(?<![\w:])(?:hf|timm):[\w][\w.\-/]*[\w]"       # hub names as written: hf:<repo id>, timm:<arch>[.<tag>]
_K = (r"\bshort[- ]?list\s+(?:of\s+)?(\d+)\b|\b(\d+)\s+(?:(?:timm|torchvision|hub|hf|more|different|good|small|"
      r"candidate)\s+)?(?:models|candidates)\b|\btop\s+(\d+)\b")


@dataclass
class ShortlistRequest:
    """What the user asked to shortlist: how many (None: the tool's default), from which source, under which limits."""

    k: int | None = None
    source: str | None = None
    constraints: dict[str, Any] = field(default_factory=dict)
    problem: str = ""                    # a value that cannot be used, with the valid range
    models: list[str] = field(default_factory=list)   # hub models named in the text: always on the shortlist


def _normal(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split()).rstrip(" ?!.")


def asks_shortlist(text: str) -> bool:
    """The text asks which candidate models to try (a proposal before any evaluation), not for a run or a re-rank."""
    t = _normal(text)
    if re.search(r"\b(?:run|evaluate|select)\s+(?:it|them|on|the shortlist)\b", t):
        return False
    return any(re.search(p, t) for p in _ASKS)


def read_shortlist(text: str) -> ShortlistRequest:
    named = list(dict.fromkeys(re.findall(_NAMED, text)))        # repo ids keep their case
    text = re.sub(_NAMED, " ", text)
    t = _normal(text)
    request = ShortlistRequest(constraints=read_use_case(text).constraints.to_dict(), models=named)
    m = re.search(_K, t)
    if m:
        k = int(next(g for g in m.groups() if g))
        if K_RANGE[0] <= k <= K_RANGE[1]:
            request.k = k
        else:
            request.problem = f"a shortlist of {k}: give a whole number of models from {K_RANGE[0]} to {K_RANGE[1]}"
    m = re.search(rf"\b({_SOURCE})\b", t)
    if m:
        request.source = SOURCES[m.group(1)]
    return request
