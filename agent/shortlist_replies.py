"""The offline reasoner's reply to a shortlist request: a real ``shortlist_models`` call with the conversation's
weights and hard limits (the request's limits, K and source on top). It spends no evaluation calls; the next
"run it" stages a run on the shortlisted candidates (``Turn._run_args``). A mixin of ``agent.offline.Turn``."""
from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

from agent.intents import Intent
from agent.proposal import propose_weights
from agent.replies import tool_call
from agent.weighing import NotEnglishError

NEXT = ("Nothing was evaluated. Say “run it” to evaluate these candidates on your images (upload them first if you have "
        "not; staging lists the candidates for your approval, with any that cannot run and why), or change the weights "
        "or limits and ask again.")


class ShortlistReplies:
    """``on_shortlist``: which candidates to try, proposed from published figures before any evaluation."""

    facts: Any
    tools: set[str]

    def needs(self, *names: str) -> AIMessage | None: ...      # provided by Turn

    def on_shortlist(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("shortlist_models"):
            return blocked
        if intent.reason:
            return AIMessage(content=f"I did not change anything: {intent.reason}.")
        weights, whose = self._shortlist_weights(intent.text)
        limits = {k: v for k, v in {**self.facts.constraints, **intent.filters}.items()
                  if k != "latency_hardware" and v is not None}
        args: dict[str, Any] = {"weights": weights, "constraints": limits}
        if intent.k is not None:
            args["k"] = intent.k
        if intent.source:
            args["source"] = intent.source
        if intent.models:
            args["models"] = list(intent.models)
        said = [f"{intent.k} candidates" if intent.k else "", f"from {intent.source}" if intent.source else "",
                f"with {', '.join(intent.models)}" if intent.models else "", "within your hard limits" if limits else ""]
        detail = ", ".join(s for s in said if s)
        return AIMessage(content=f"A shortlist{' (' + detail + ')' if detail else ''} from the published ImageNet "
                                 f"figures under {whose}, with Hub models that publish none (measured on your "
                                 "images); this spends no evaluation calls.",
                         tool_calls=[tool_call("shortlist_models", args)])

    def reshortlist(self, weights: dict[str, float], limits: dict[str, Any], why: str) -> AIMessage | None:
        """After a shortlist and before any run, a weight or limit change proposes the shortlist again (same K and
        source, no evaluation); None when there is a run or no shortlist."""
        if self.facts.run_result is not None or not self.facts.shortlist or "shortlist_models" not in self.tools:
            return None
        args = {**self.facts.shortlist_args, "weights": {k: float(v) for k, v in weights.items()},
                "constraints": {k: v for k, v in limits.items() if k != "latency_hardware" and v is not None}}
        return AIMessage(content=f"{why} No run yet, so here is the shortlist again under the new settings; this "
                                 "spends no evaluation calls.", tool_calls=[tool_call("shortlist_models", args)])

    def _shortlist_weights(self, text: str) -> tuple[dict[str, float], str]:
        """The conversation's weights; with none yet, those of a use case named in the request, else the base."""
        if self.facts.weights:
            return dict(self.facts.weights), "the current weights"
        try:
            proposal = propose_weights(text)
        except NotEnglishError:
            proposal = propose_weights("")
        if proposal.cues:
            return dict(proposal.weights), f"the weights your request suggests ({', '.join(proposal.cues)})"
        return dict(proposal.weights), "the base weights (no use case yet)"
