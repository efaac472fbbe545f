"""What a user message asks, read by the offline reasoner: typed intents from the common phrasings, or None."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from agent.listing import lists_a_catalog, read_listing
from agent.proposal import knowledge_base
from agent.shortlisting import asks_shortlist, read_shortlist
from tools.text import DEFAULT_BUDGET_TEXT

IntentKind = Literal["more", "less", "ignore", "set", "strategy", "budget", "run", "why", "compare", "list",
                     "brute_force_cost", "run_brute_force", "baselines", "spend", "complexity", "metric_stub",
                     "enable_metric", "help", "use_case", "shortlist"]


@dataclass
class Intent:
    kind: IntentKind
    metrics: dict[str, float] = field(default_factory=dict)   # set: metric -> value
    metric: str | None = None                                # more / less / ignore
    strategy: str | None = None
    budget: int | None = None
    sample: int | None = None
    models: list[str] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)  # list: the list_models arguments; shortlist: limits
    stub: str | None = None                                  # metric_stub: key in the knowledge base's metric_stubs
    k: int | None = None                                     # shortlist: how many candidates (None: the default)
    source: str | None = None                                # shortlist: only this source (timm, torchvision, hf)
    reason: str = ""                                         # shortlist, budget: a value that cannot be used, and why
    text: str = ""


def _metric_words() -> list[tuple[str, str]]:
    """(word, metric) longest first, so "model size" wins over "size"."""
    pairs = [(w, m) for m, words in knowledge_base().get("metric_words", {}).items() for w in [m, *words]]
    return sorted(set(pairs), key=lambda p: -len(p[0]))


def _metric_pattern() -> str:
    return "|".join(re.escape(w) for w, _ in _metric_words())


def _metric_of(word: str) -> str | None:
    word = word.strip().lower()
    return next((m for w, m in _metric_words() if w == word), None)


def _strategy_names() -> dict[str, str]:
    """Spoken names of strategies -> canonical names, from the strategies package (never hard-coded)."""
    from greenrunner_core.strategies import ALIASES, STRATEGIES
    names = {n: n for n in STRATEGIES} | dict(ALIASES)
    spoken = {k.replace("_", " "): v for k, v in names.items()} | {k.replace("_", "-"): v for k, v in names.items()}
    extra = {"thompson sampling": "thompson", "epsilon greedy": "epsilon_greedy"}
    return {k: v for k, v in (names | spoken | extra).items() if v in STRATEGIES}


def _number(text: str) -> int:
    text = text.replace(",", "").replace("_", "").lower()
    scale = 1000 if text.endswith("k") else 1
    return int(float(text.rstrip("k")) * scale)


MODEL_NAME = r"[A-Za-z][\w.\-]*\w"


def parse_intent(text: str) -> Intent | None:
    """The first intent the text matches, most specific first; None when nothing is recognised."""
    raw = text.strip()
    t = " ".join(raw.lower().split()).rstrip(" ?!.")
    if not t:
        return None
    metric = _metric_pattern()

    m = re.search(r"\benable\s+(?:the\s+)?(?:user\s+)?metric\s+([\w\- ]+)", t)
    if m:
        return Intent("enable_metric", models=[m.group(1).strip()], text=raw)

    if re.search(r"\b(?:metric\s+stub|stub\b|(?:write|generate|create|add|make|implement)\b.*\bmetric)", t):
        words = knowledge_base().get("metric_stub_words", {})
        stub = next((key for key, ws in words.items() if any(w in t for w in ws)), None)
        return Intent("metric_stub", stub=stub, text=raw)

    if asks_shortlist(t) and not lists_a_catalog(t):
        request = read_shortlist(raw)
        return Intent("shortlist", filters=dict(request.constraints), k=request.k, source=request.source,
                      reason=request.problem, models=request.models, text=raw)

    if re.search(r"\b(?:run|do|start|go ahead with)\s+(?:the\s+|a\s+)?(?:full\s+)?brute[- ]?force", t):
        return Intent("run_brute_force", text=raw)
    if re.search(r"brute[- ]?force", t) and re.search(r"\b(?:cost|costs|spend|spent|take|took|how much|how long|"
                                                      r"price|expensive|compare|vs|versus)\b", t):
        return Intent("brute_force_cost", text=raw)
    if re.search(r"\bbaselines?\b|benchmark[- ]card", t):
        return Intent("baselines", text=raw)

    if re.search(r"\b(?:spend|settle)\b", t) and not re.search(r"\d", t):
        return Intent("spend", text=raw)

    m = re.search(rf"\bignore\s+(?:the\s+)?({metric})\b|\b(?:drop|disregard|forget(?: about)?|remove)\s+(?:the\s+)?"
                  rf"({metric})(?:\s+weight)?\b|\b(?:don'?t|do not|doesn'?t|does not)\s+care\s+about\s+(?:the\s+)?"
                  rf"({metric})\b|\b({metric})\s+(?:doesn'?t|does not|don'?t|do not)\s+matter|\b({metric})\s+(?:isn'?t|is not|"
                  rf"aren'?t|are not|is no longer|not)\s+(?:that\s+|very\s+|so\s+|too\s+)?(?:important|a concern|an issue|relevant|"
                  rf"a priority)", t)
    if m:
        word = next(g for g in m.groups() if g)
        return Intent("ignore", metric=_metric_of(word), text=raw)

    settings = re.findall(rf"\b({metric})(?:\s+weight)?\s*(?:to|=|:|at|of)\s*(\d*\.?\d+)\b", t)
    if settings and re.search(r"\bset\b|=|\bweight\b|\bto\s+\d|\bmake\b|\bchange\b|\bput\b", t):
        values = {}
        for word, value in settings:
            values[_metric_of(word) or word] = float(value)
        return Intent("set", metrics=values, text=raw)

    m = (re.search(rf"\b(?P<w>{metric})\s+(?:matters?|counts?|is|are|should (?:count|matter|be))\s+"
                   rf"(?:much\s+|a\s+lot\s+|a\s+bit\s+)?(?P<h>more|less)\b", t)
         or re.search(rf"\b(?P<h>more|less)\s+(?:weight\s+(?:on|to|for)\s+|important\s+|emphasis\s+on\s+)?"
                      rf"(?:the\s+)?(?P<w>{metric})\b", t)
         or re.search(rf"\b(?P<h>increase|raise|boost|prioriti[sz]e|favou?r|emphasi[sz]e|decrease|lower|reduce|"
                      rf"deprioriti[sz]e)\s+(?:the\s+)?(?P<w>{metric})\b", t))
    if m:
        word, how = m.group("w"), m.group("h")
        up = how in ("more", "increase", "raise", "boost") or how.startswith(("priorit", "favo", "emphas"))
        return Intent("more" if up else "less", metric=_metric_of(word), text=raw)

    strategies = _strategy_names()
    names = "|".join(re.escape(k) for k in sorted(strategies, key=len, reverse=True))
    m = re.search(rf"\b(?:use|try|switch to|with|run)\s+(?:the\s+)?({names})\b", t) or re.fullmatch(rf"({names})", t)
    strategy = strategies[m.group(1)] if m else None
    m = re.search(r"\bbudget\s*(?:of|to|=|:|is)?\s*(-?\d[\d,_.]*k?)\b|\b(\d[\d,_]*k?)\s+(?:evaluation\s+)?calls\b", t)
    budget = _number(next(g for g in m.groups() if g)) if m else None
    m = re.search(r"\b(?:sample(?:\s+of)?|on)\s+(-?\d+)\s*(?:target\s+)?images?\b|\bsample\s*(?:=|:)?\s*(-?\d+)\b", t)
    sample = int(next(g for g in m.groups() if g)) if m else None
    if strategy or budget is not None or sample is not None:
        kind: IntentKind = "strategy" if strategy else "budget"
        problems = []
        if budget is not None and budget < 1:
            problems.append(f"a budget of {budget} calls evaluates nothing: give the evaluation calls to spend (1 or "
                            f"more), e.g. “budget 500”, or leave it out for {DEFAULT_BUDGET_TEXT}")
        if sample is not None and sample < 1:
            problems.append(f"a sample of {sample} images has nothing to evaluate: give a number of images (1 or "
                            "more), e.g. “sample 200”, or leave it out to use them all")
        reason = "; ".join(problems)
        return Intent(kind, strategy=strategy, budget=budget, sample=sample, reason=reason, text=raw)

    if re.fullmatch(r"(?:ok(?:ay)?|yes|sure|great|good)?[,!. ]*(?:please\s+)?(?:run(?: it| the selection| again)?|go(?: ahead)?|"
                    r"start|do it|let'?s go|select|run selection)(?: please| now)?", t):
        return Intent("run", text=raw)

    if re.search(r"\bwhy\b.*\b(?:this|that|it|model|pick|winner|won|first|chose|choose|chosen|top|best|rank)", t) \
            or re.search(r"\bexplain\b.*\b(?:choice|pick|ranking|result|winner)", t):
        return Intent("why", text=raw)

    m = re.search(rf"\bcompare\s+({MODEL_NAME})\s+(?:and|with|to|vs\.?|versus)\s+({MODEL_NAME})", raw, re.IGNORECASE) \
        or re.search(rf"^({MODEL_NAME})\s+(?:vs\.?|versus)\s+({MODEL_NAME})$", raw.strip(" ?!."), re.IGNORECASE)
    if m:
        return Intent("compare", models=[m.group(1), m.group(2)], text=raw)

    m = re.search(rf"\b(?:complexity|macs|flops|params|parameters|how (?:big|heavy|large) is)\s+(?:of|for|is)?\s*"
                  rf"({MODEL_NAME}(?:\s*(?:,|and)\s*{MODEL_NAME})*)", raw, re.IGNORECASE)
    if m and not re.search(r"\bmodels?\b", m.group(1), re.IGNORECASE):
        models = [x for x in re.split(r"\s*(?:,|\band\b)\s*", m.group(1)) if x]
        return Intent("complexity", models=models, text=raw)

    if re.search(r"\b(?:show|list|which|what|display|give me)\b.*\bmodels?\b|^models?\b", t):
        request = read_listing(t)
        return Intent("list", filters=request.args, reason=request.problem, text=raw)

    if re.fullmatch(r"(?:help|\?|what can you do|what can i (?:say|ask)|commands|options|how does this work)", t):
        return Intent("help", text=raw)

    # a use case names a vision task or its data; deployment cues alone ("the weather is nice") are not enough
    if re.search(r"\b(?:use case|model (?:for|to|that)|classif\w*|recogni[sz]\w*|detect\w*|identify\w*|categori[sz]\w*|"
                 r"sort\w*|count\w*|inspect\w*|monitor\w*|screen\w*|diagnos\w*|analy[sz]\w*|segment\w*|"
                 r"images?|photos?|pictures?|camera|video|footage|frames|scans?|x-rays?|digits|objects)\b", t):
        return Intent("use_case", text=raw)
    return None


PHRASINGS = (
    "describe your use case, e.g. \"classify crops from a drone with a small onboard computer\"",
    "\"what if size matters more?\" / \"accuracy matters less\"",
    "\"ignore complexity\" / \"make accuracy twice as important\" / \"I care about latency now\"",
    "\"what if the limit is 50 MB?\" / \"drop the size limit\" / \"show me the top 5\"",
    "\"set accuracy to 0.8\"",
    "\"use UCB\" / \"budget 2000\" / \"run it\"",
    "\"why this model?\" / \"compare A and B\"",
    "\"show the models under 20 MB\" / \"models with accuracy above 80%\" / \"list the 5 smallest resnet models\"",
    "\"which models should I try?\" / \"shortlist 20 models from timm\" (a proposal, nothing is evaluated)",
    "\"what did brute force cost?\" / \"compare with baselines\"",
    "\"write a metric stub for calibration\" / \"enable metric NAME\"",
)
