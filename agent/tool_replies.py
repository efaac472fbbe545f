"""The offline reasoner's replies that hand a question to a catalog or baseline tool: list and measure models, the
cost of brute force and the baselines (from the cache unless the user asks to run them, which is staged), metric
stubs and enabling them. A mixin of ``agent.offline.Turn``."""
from __future__ import annotations

import re
from typing import Any

from langchain_core.messages import AIMessage

from agent.intents import Intent
from agent.proposal import knowledge_base
from agent.replies import ai_reply, tool_call


class ToolReplies:
    """``on_<intent>`` for the catalog, baseline and metric-stub intents."""

    facts: Any

    def needs(self, *names: str) -> AIMessage | None: ...      # provided by Turn

    def on_list(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("list_models"):
            return blocked
        if intent.reason:                   # a limit that cannot be used (e.g. negative): say so, list nothing
            return ai_reply(intent.reason)
        return ai_reply("", tool_call("list_models", dict(intent.filters)))

    def on_brute_force_cost(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compare_baselines"):
            return blocked
        return ai_reply("Brute force means every model on every image; here is its cost, without spending any new "
                   "evaluation on it.", tool_call("compare_baselines", {"baselines": ["brute_force"], "max_new_calls": 0}))

    def on_run_brute_force(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compare_baselines"):
            return blocked
        return ai_reply("Brute force evaluates every model on every image; cached outcomes are reused. It spends compute, "
                   "so approve it first.",
                   tool_call("compare_baselines", {"baselines": ["brute_force"], "max_new_calls": 10 ** 9}))

    def on_baselines(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compare_baselines"):
            return blocked
        if re.search(r"\b(?:run|spend|compute|evaluate|do)\b", intent.text.lower()):
            return ai_reply("Running the baselines spends evaluation calls on your images (cached ones are reused); "
                       "approve it first.", tool_call("compare_baselines", {"max_new_calls": 10 ** 9}))
        return ai_reply("Comparing with brute force and the benchmark-card pick from what is cached (no new evaluation); "
                   "the reply says what the rest would cost.", tool_call("compare_baselines", {"max_new_calls": 0}))

    def on_complexity(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("compute_complexity"):
            return blocked
        return ai_reply("", tool_call("compute_complexity", {"models": intent.models}))

    def on_metric_stub(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("generate_metric_stub"):
            return blocked
        stubs = knowledge_base().get("metric_stubs", {})
        key = intent.stub or next((m for m in (self.facts.proposal or {}).get("missing_metrics", []) if m in stubs),
                                  None)
        if key is None:
            return ai_reply("Which metric should the stub measure? For example: " + ", ".join(stubs) + ".")
        spec = stubs[key]
        return ai_reply(f"Your use case needs {key}, which GreenRunner does not measure yet. I am writing a stub you can "
                   "complete.", tool_call("generate_metric_stub", {k: spec[k] for k in ("name", "description",
                                                                                     "direction", "normalisation")}))

    def on_enable_metric(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("enable_metric"):
            return blocked
        name = intent.models[0].strip().replace(" ", "_")
        return ai_reply(f"Enabling {name} runs your code; please confirm.", tool_call("enable_metric", {"name": name}))

