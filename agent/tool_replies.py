"""The offline reasoner's replies that hand a question to a catalog or baseline tool: list and measure models, the
cost of brute force and the baselines (from the cache unless the user asks to run them, which is staged), metric
stubs and enabling them. A mixin of ``agent.offline.Turn``."""
from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage

from agent.intents import Intent
from agent.proposal import knowledge_base


def _call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    from agent.offline import _call as make_call
    return make_call(name, args)


def _ai(content: str, *calls: dict[str, Any]) -> AIMessage:
    return AIMessage(content=content, tool_calls=list(calls))


class ToolReplies:
    """``on_<intent>`` for the catalog, baseline and metric-stub intents."""

    facts: Any

    def needs(self, *names: str) -> AIMessage | None: ...      # provided by Turn

    def on_list(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("list_models"):
            return blocked
        return _ai("", _call("list_models", dict(intent.filters)))

    def on_brute_force_cost(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compare_baselines"):
            return blocked
        return _ai("Brute force means every model on every image; here is its cost, without spending any new "
                   "evaluation on it.", _call("compare_baselines", {"baselines": ["brute_force"], "max_new_calls": 0}))

    def on_run_brute_force(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compare_baselines"):
            return blocked
        return _ai("Brute force evaluates every model on every image; cached outcomes are reused. It spends compute, "
                   "so approve it first.",
                   _call("compare_baselines", {"baselines": ["brute_force"], "max_new_calls": 10 ** 9}))

    def on_baselines(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compare_baselines"):
            return blocked
        if re.search(r"\b(?:run|spend|compute|evaluate|do)\b", intent.text.lower()):
            return _ai("Running the baselines spends evaluation calls on your images (cached ones are reused); "
                       "approve it first.", _call("compare_baselines", {"max_new_calls": 10 ** 9}))
        return _ai("Comparing with brute force and the benchmark-card pick from what is cached (no new evaluation); "
                   "the reply says what the rest would cost.", _call("compare_baselines", {"max_new_calls": 0}))

    def on_complexity(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compute_complexity"):
            return blocked
        return _ai("", _call("compute_complexity", {"models": intent.models}))

    def on_metric_stub(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("generate_metric_stub"):
            return blocked
        stubs = knowledge_base().get("metric_stubs", {})
        key = intent.stub or next((m for m in (self.facts.proposal or {}).get("missing_metrics", []) if m in stubs),
                                  None)
        if key is None:
            return _ai("Which metric should the stub measure? For example: " + ", ".join(stubs) + ".")
        spec = stubs[key]
        return _ai(f"Your use case needs {key}, which GreenRunner does not measure yet. I am writing a stub you can "
                   "complete.", _call("generate_metric_stub", {k: spec[k] for k in ("name", "description",
                                                                                     "direction", "normalisation")}))

    def on_enable_metric(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("enable_metric"):
            return blocked
        name = intent.models[0].strip().replace(" ", "_")
        return _ai(f"Enabling {name} runs your code; please confirm.", _call("enable_metric", {"name": name}))

