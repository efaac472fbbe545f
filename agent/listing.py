"""Asking for a model listing ("show the models under 20 MB", "models with accuracy above 80%", "show me resnet
models", "list the 5 smallest models", "show me model resnet18"): the ``list_models`` arguments read from the text,
or why the request cannot be applied. Nothing is dropped silently: a limit that cannot hold is refused with its rule,
and words that look like a filter but are not understood are named back with the filters that exist."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ListRequest", "lists_a_catalog", "read_listing"]

_UNITS = {"mb": "MB", "megabyte": "MB", "megabytes": "MB", "m": "M", "million macs": "million MACs", "mmacs": "MMACs",
          "macs": "MACs", "k macs": "K MACs", "g macs": "G MACs", "gmacs": "GMACs"}
_BELOW = r"(?:under|below|smaller than|less than|fewer than|at most|<=?|up to|no more than)"
_ABOVE = r"(?:above|over|at least|more than|greater than|higher than|>=?|of at least|no less than)"
_ACC = r"(?:(?:benchmark|published|imagenet)\s+)?(?:accuracy|accurate|top-?1(?:\s+accuracy)?|acc)"
_NAME = r"[a-z][\w.:/\-]*\w"
_NUM = r"(-?\d*\.?\d+)(?![\d.])"
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "b": 1e9, "g": 1e9, "billion": 1e9, "": 1.0}
# words that may stand before "models" without being an architecture family
_NOT_FAMILY = {"the", "all", "my", "available", "registered", "candidate", "pretrained", "some", "these", "those",
               "other", "more", "smallest", "tiniest", "best", "top", "demo", "torchvision", "timm",
               "local", "known", "your", "any", "many", "accurate", "me", "us", "list", "show", "which", "what",
               "display", "you", "of", "are", "image", "vision", "classification", "cifar10", "different", "most",
               "every"}
# words that ask for an order or a limit without saying which: named back with the ways to say it
_VAGUE = re.compile(r"\b(small|smaller|tiny|big|bigger|biggest|large|larger|largest|fast|faster|fastest|quick|quickest|"
                    r"light|lighter|lightest|lightweight|heavy|heavier|heaviest|cheap|cheapest|efficient|good|better|"
                    r"slow|slowest|few|fewest|worst)\b")
_NOT_NAME = {"with", "under", "below", "from", "that", "which", "size", "sizes", "for", "of", "list", "card", "cards",
             "whose", "where", "having", "above", "over", "is", "are", "in", "on", "the", "and", "or", "names"}
_SORTS = {"size": "size", "accuracy": "top1", "top1": "top1", "top-1": "top1", "macs": "macs", "params": "params",
          "parameters": "params", "name": "name"}
_LEFTOVER = re.compile(r"\d|\b(?:by|above|over|under|below|less|more|fewer|than|at least|at most|greater|bigger|smaller|"
                       r"higher|lower)\b|[<>=≥≤%]")
HOW_TO_ASK = ("I can list by size (\"models under 20 MB\"), MACs (\"under 500 MMACs\"), parameters (\"fewer than 5M "
              "params\"), published top-1 accuracy (\"accuracy above 80%\"), source (\"from torchvision\"), family "
              "(\"resnet models\"), a count (\"the 5 smallest models\"), an order (\"sorted by accuracy\") or names (\"model "
              "resnet18\").")


@dataclass
class ListRequest:
    """The ``list_models`` arguments read from the text, and why it cannot be listed (empty when it can)."""

    args: dict[str, Any] = field(default_factory=dict)
    problem: str = ""


def lists_a_catalog(text: str) -> bool:
    """"list timm models under 5 MB": the verb "list" asks for the catalog's matches (``list_models``), not a
    proposal of candidates (a shortlist, "which timm models should I try?"). The Hugging Face Hub is searched by the
    shortlist only, and candidates are always a shortlist."""
    return bool(re.match(r"(?:please\s+|can you\s+|could you\s+)?list\b", text)
                and not re.search(r"\bcandidates?\b|short[- ]?list|\bhf\b|hugging ?face|\bhub", text))


def _cut(t: str, m: re.Match[str]) -> str:
    return t[:m.start()] + " " + t[m.end():]


def read_listing(text: str) -> ListRequest:
    """The listing asked for in ``text`` (lower-cased, one space between words)."""
    t = f" {text} "
    args: dict[str, Any] = {}
    m = re.search(rf"\b(models?)\s+(?:named\s+|called\s+)?({_NAME}(?:\s*(?:,|\band\b)\s*{_NAME})*)", t)
    names = [n for n in re.split(r"\s*(?:,|\band\b)\s*", m.group(2)) if n] if m else []
    if m and names[0] not in _NOT_NAME and (m.group(1) == "model" or all(re.search(r"[\d_:.]", n) for n in names)):
        args["names"], t = names, _cut(t, m)
    m = re.search(rf"{_BELOW}\s*{_NUM}\s*(k|thousand|m|million|b|g|billion)?\s*(?:params|parameters)\b", t)
    if m:
        value = float(m.group(1)) * _SCALE[m.group(2) or ""]
        if value <= 0:
            return ListRequest(problem=f"A limit of {m.group(1)}{m.group(2) or ''} parameters leaves no model to show: "
                               "give a limit above 0, e.g. “models with fewer than 5M params”.")
        args["max_params"], t = value, _cut(t, m)
    m = (re.search(rf"\b{_ACC}\s+(?:of\s+|is\s+)?{_ABOVE}\s*{_NUM}\s*(%|percent)?", t)
         or re.search(rf"{_ABOVE}\s*{_NUM}\s*(%|percent)?\s*(?:\w+\s+)?{_ACC}\b", t))
    if m:
        v = float(m.group(1))
        share = v / 100 if (m.group(2) or v > 1) else v
        said = f"{v:g} %" if (m.group(2) or v > 1) else f"{v:g}"
        if not 0 <= share <= 1:
            return ListRequest(problem=f"Accuracy above {said}: accuracy is between 0 and 100 %, so no model can "
                               "pass. Give a share in that range, e.g. “models with accuracy above 80%”.")
        args["min_benchmark_accuracy"], args["sort"], t = share, "top1", _cut(t, m)
    m = re.search(rf"{_BELOW}\s*{_NUM}\s*(mb|megabytes?|m\b|million macs|mmacs|macs|k macs|g macs|gmacs)?(?!\s*%)", t)
    if m:
        unit = (m.group(2) or "mb").strip()
        value = float(m.group(1))
        if value <= 0:
            return ListRequest(problem=f"A limit of {m.group(1)} {_UNITS.get(unit, 'MB')} leaves no model to show: "
                               "give a limit above 0, e.g. “show the models under 20 MB” or “models under 50 MMACs”.")
        if "mac" in unit or unit == "m":
            args["max_mmacs"] = value * (1000 if unit.startswith("g") else 0.001 if unit.startswith("k") else 1)
        else:
            args["max_size_mb"] = value
        t = _cut(t, m)
    m = re.search(r"\bfrom\s+(?:the\s+)?(timm|torchvision|demo|local|cifar10)\b|\b(timm|torchvision|demo|local)(?=\s+models?\b)",
                  t)
    if m:
        args["source"] = next(g for g in m.groups() if g)
        t = _cut(t, m)
    m = re.search(r"\b(\d+)\s+(smallest|tiniest|most accurate|best)\b|\b(smallest|tiniest|most accurate|best)\s+(\d+)\b",
                  t)
    if m:
        n, word = (int(m.group(1)), m.group(2)) if m.group(1) else (int(m.group(4)), m.group(3))
        if not 1 <= n <= 500:
            return ListRequest(problem=f"A listing of {n} models: give a count from 1 to 500, e.g. “the 5 smallest "
                               "models”.")
        args["limit"], t = n, _cut(t, m)
        args["sort"] = "size" if word in ("smallest", "tiniest") else "top1"
    elif m := re.search(r"\b(-?\d+)(?=\s+(?:[a-z]\w*\s+)?models?\b)", t):
        n = int(m.group(1))
        if not 1 <= n <= 500:
            return ListRequest(problem=f"A listing of {n} models: give a count from 1 to 500, e.g. “10 models”.")
        args["limit"], t = n, _cut(t, m)
    elif m := re.search(r"\b(most accurate|best)\b", t):
        args["sort"], t = "top1", _cut(t, m)
    m = re.search(r"\b(?:(?:sorted|ordered|ranked)\s+)?by\s+(?:their\s+|the\s+)?(size|accuracy|top-?1|macs|params|"
                  r"parameters|name)\b", t)
    if m:
        args["sort"], t = _SORTS[m.group(1)], _cut(t, m)
    if m := _VAGUE.search(t):
        return ListRequest(args, problem=f"“{m.group(1)}” is not a limit or an order I can apply, so I listed nothing: "
                           "give a limit (“models under 20 MB”, “under 500 MMACs”, “fewer than 5M params”) or an order "
                           "(“the 10 smallest models”, “sorted by macs” for the fewest MACs, a proxy for speed, "
                           "“sorted by accuracy”).")
    m = re.search(r"\b([a-z][a-z0-9_]*)\s+models?\b", t)
    if m and m.group(1) not in _NOT_FAMILY and "names" not in args:
        args["family"], t = m.group(1), _cut(t, m)
    left = " ".join(t.split())
    if _LEFTOVER.search(left):
        rest = re.sub(r"^(?:please\s+)?(?:show|list|display|give)(?:\s+me)?(?:\s+(?:the|all))?\s+models?\s*", "", left)
        return ListRequest(args, problem=f"I did not understand “{rest or left}” as a filter, so I listed nothing. "
                           + HOW_TO_ASK)
    return ListRequest(args)
