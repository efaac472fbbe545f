"""What the conversation established (weights, proposal, last run and re-rank, pending preferences, limits,
shortlist), read back from its messages: the only memory a chat model has. Used by the offline reasoner's turns."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from agent.explain import revive
from agent.feedback import ToolCallRepair
from agent.intents import parse_intent
from agent.proposal import propose_weights
from greenrunner_core.result import ExperimentResult, RankedModel, Rerank
from greenrunner_core.reward import Weights
from tools.result import RerankArtifact, RunRecord, run_args_from
from tools.schemas import RunBanditArgs

__all__ = ["Facts"]


@dataclass
class Facts:
    """What the conversation established, read back from its messages (the only memory a chat model has)."""

    weights: dict[str, float] | None = None
    proposal: dict[str, Any] | None = None
    use_case: str = ""
    run_args: RunBanditArgs | None = None       # the last run's arguments (as it ran, defaults filled in)
    run_result: ExperimentResult | None = None
    rerank: Rerank | None = None                # the last re-rank after the last run
    prefs: dict[str, Any] = field(default_factory=dict)   # strategy/budget/sample asked for since the last run
    constraints: dict[str, Any] = field(default_factory=dict)   # hard limits in force (proposal, run, follow-ups)
    shortlist: list[str] | None = None          # candidates shortlisted since the last run (the next run's models)
    shortlist_args: dict[str, Any] = field(default_factory=dict)   # the call that shortlisted them (k, source)

    @classmethod
    def read(cls, messages: Sequence[BaseMessage]) -> Facts:
        facts = cls()
        calls: dict[str, dict[str, Any]] = {}
        for msg in messages:
            if isinstance(msg, AIMessage):
                for tc in msg.tool_calls:
                    calls[tc["id"]] = tc
            elif isinstance(msg, HumanMessage) and not isinstance(msg, ToolCallRepair) and isinstance(msg.content, str):
                intent = parse_intent(msg.content)
                if intent and intent.kind in ("strategy", "budget") and not intent.reason:
                    facts.prefs.update({k: v for k, v in (("strategy", intent.strategy), ("budget", intent.budget),
                                                           ("sample", intent.sample)) if v})
            elif isinstance(msg, ToolMessage) and msg.status != "error":
                call = calls.get(msg.tool_call_id)
                if call is None:
                    continue
                name, args = call["name"], call["args"]
                if name == "propose_weights":
                    facts.proposal = dict(args)
                    facts.weights = dict(args.get("weights") or {})
                    facts.use_case = str(args.get("use_case") or "")
                    facts.constraints = dict(args.get("constraints") or {})
                elif name == "run_bandit":
                    record = revive(RunRecord, msg.artifact)
                    facts.run_args = record.args if record and record.args else run_args_from(args)
                    facts.run_result = record.result if record else None
                    facts.weights = dict(args.get("weights") or {})
                    facts.constraints = dict(facts.run_args.constraints or {}) if facts.run_args else {}
                    facts.rerank, facts.prefs, facts.shortlist = None, {}, None
                elif name == "shortlist_models" and isinstance(msg.artifact, dict):
                    facts.shortlist, facts.shortlist_args = list(msg.artifact.get("shortlist") or []) or None, args
                    facts.weights = dict(args.get("weights") or {}) or facts.weights
                    if "constraints" in args:
                        facts.constraints = dict(args["constraints"] or {})
                elif name == "rerank":
                    facts.weights = {**(facts.weights or {}), **dict(args.get("weights") or {})}
                    artifact = revive(RerankArtifact, msg.artifact)
                    facts.rerank = artifact.after if artifact else None
                    if artifact is not None:
                        facts.constraints = artifact.constraints.to_dict()
        return facts

    def current_weights(self) -> dict[str, float]:
        return dict(self.weights) if self.weights else dict(propose_weights("").weights)

    def ranking(self) -> list[RankedModel]:
        if self.rerank is not None:
            return list(self.rerank.ranking)
        return list(self.run_result.ranking) if self.run_result is not None else []

    def reward_weights(self) -> Weights:
        """The weights the current ranking's reward used (those the tools could measure)."""
        return Weights(self.rerank.weights if self.rerank is not None else self.run_result.weights)  # type: ignore[union-attr]
