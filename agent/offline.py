"""The offline reasoner: a langchain chat model that needs no LLM. It reads the conversation (messages, tool calls
and their artifacts), derives weights from the use case through the knowledge base in ``prompts/``, understands the
common follow-ups, and answers with real tool calls, so the very same graph runs with or without an API key.
When it does not understand, it says so and offers phrasings; it never guesses silently."""
from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from agent.explain import compare_text, explain
from agent.facts import Facts
from agent.feedback import CallProblem, ToolCallRepair
from agent.followup_replies import FollowUpReplies
from agent.followups import parse_followup
from agent.intents import PHRASINGS, Intent, parse_intent
from agent.proposal import (
    ProposeWeightsArgs,
    proposal_markdown,
    propose_weights,
)
from agent.reading import is_english, read_use_case, reading_knowledge
from agent.replies import ai_reply, tool_call
from agent.shortlist_replies import NEXT as AFTER_SHORTLIST
from agent.shortlist_replies import ShortlistReplies
from agent.staging import APPROVAL_WORDS, NOTHING_PENDING
from agent.tool_replies import ToolReplies
from agent.weighing import NotEnglishError
from agent.weight_replies import WeightReplies

NOT_UNDERSTOOD = "I did not understand"


class OfflineReasoner(BaseChatModel):
    """Chat model without an LLM: transparent rules over the knowledge base, real tool calls via ``bind_tools``."""

    @property
    def _llm_type(self) -> str:
        return "greenrunner-offline-reasoner"

    def bind_tools(self, tools: Sequence[Any], *, tool_choice: Any = None, **kwargs: Any) -> Any:
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        tools = {t["function"]["name"] for t in kwargs.get("tools") or []}
        reply = Turn(messages, tools).reply()
        return ChatResult(generations=[ChatGeneration(message=reply)])


class Turn(FollowUpReplies, WeightReplies, ToolReplies, ShortlistReplies):
    """One reply of the offline reasoner to the conversation so far."""

    def __init__(self, messages: Sequence[BaseMessage], tools: set[str]) -> None:
        self.messages = [m for m in messages if m.type != "system"]
        self.tools = tools
        self.facts = Facts.read(self.messages)

    # ---- dispatch ------------------------------------------------------------------------------------------
    def reply(self) -> AIMessage:
        if not self.messages:
            return ai_reply(self.help("Hello! I pick the right pretrained model for your use case and your images."))
        last = self.messages[-1]
        if isinstance(last, ToolMessage):
            return self.after_tools()
        if isinstance(last, ToolCallRepair):          # the graph's feedback on my own tool calls, not the user's
            return ai_reply(self.invalid_calls(last.problems))
        if isinstance(last, HumanMessage):
            text = last.content if isinstance(last.content, str) else " ".join(
                str(p.get("text", "")) for p in last.content if isinstance(p, dict))
            if not text.strip():
                return ai_reply(self.help("Your message is empty: there is nothing for me to read."))
            if not is_english(text):
                return ai_reply(reading_knowledge()["non_english"])
            if " ".join(text.lower().split()).strip(" .!") in APPROVAL_WORDS:
                return ai_reply(NOTHING_PENDING)         # an approval typed when nothing is staged (e.g. sent twice)
            followup = parse_followup(text)
            if followup is not None:
                return getattr(self, f"on_fu_{followup.kind}")(followup)
            intent = parse_intent(text)
            if intent is None:
                where = [c for c in read_use_case(text).cues if c in reading_knowledge()["hardware_cues"]]
                return ai_reply(self.not_understood(text, where))
            return getattr(self, f"on_{intent.kind}")(intent)
        return ai_reply(self.help("What would you like to do next?"))

    def needs(self, *names: str) -> AIMessage | None:
        missing = [n for n in names if n not in self.tools]
        if missing:
            return ai_reply(f"I cannot do that here: the {', '.join(missing)} tool is not available in this app.")
        return None

    @staticmethod
    def help(lead: str) -> str:
        return lead + "\n\nYou can say:\n" + "\n".join(f"- {p}" for p in PHRASINGS)

    @staticmethod
    def invalid_calls(problems: Sequence[CallProblem]) -> str:
        """My tool calls failed their checks (a value out of range, say): what was wrong, and that nothing ran."""
        wrong = "\n".join(f"- {p.words()}" for p in problems) or "- (no details were given)"
        return (f"I could not turn that into a valid request, so nothing was run or changed:\n{wrong}\n\nSay it again "
                "with a value that fits (for example \"set size to 0.3\" or \"budget 500\").")

    @staticmethod
    def not_understood(text: str, cues: Sequence[str] = ()) -> str:
        short = text if len(text) <= 80 else text[:77] + "..."
        changed = (f" I see {', '.join(c.replace('_', ' ') for c in cues)} but no task: if the use case changed, "
                   "describe it again in one message (e.g. \"classify parcels on a server\") and I propose new "
                   "weights.") if cues else ""
        return (f"{NOT_UNDERSTOOD} “{short}”. I did not change anything.{changed} Try:\n"
                + "\n".join(f"- {p}" for p in PHRASINGS))

    # ---- after tool results ----------------------------------------------------------------------------------
    def after_tools(self) -> AIMessage:
        results: list[ToolMessage] = []
        for msg in reversed(self.messages):
            if not isinstance(msg, ToolMessage):
                break
            results.insert(0, msg)
        parts: list[str] = []
        for tm in results:
            content = tm.content if isinstance(tm.content, str) else str(tm.content)
            if tm.status == "error":
                if tm.name in ("run_bandit", "enable_metric") and content.startswith("Not run"):
                    parts.append(f"OK, nothing was run. {content}\n\nChange the weights (\"set size to 0.3\"), the "
                                 "strategy (\"use UCB\") or the budget (\"budget 500\"), then say \"run it\".")
                else:
                    parts.append(f"That did not work. {content}")
            elif tm.name == "propose_weights" and "run_bandit" in self.tools:
                args = self._run_args(self.facts.current_weights())
                return ai_reply("Before I spend evaluation calls on your images, please approve these weights or adjust "
                           "them.", tool_call("run_bandit", args))
            elif tm.name == "shortlist_models":
                parts.append(f"{content}\n\n{AFTER_SHORTLIST}")
            elif tm.name == "run_bandit":
                parts.append(content + "\n\nNext you can ask: \"what if size matters more?\", \"ignore complexity\", "
                             "\"why this model?\", \"what did brute force cost?\"")
            else:
                parts.append(content)
        return ai_reply("\n\n".join(parts) if parts else "Done.")

    # ---- intents ---------------------------------------------------------------------------------------------
    def on_use_case(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("propose_weights"):
            return blocked
        try:
            proposal = propose_weights(intent.text)
        except NotEnglishError as err:
            return ai_reply(str(err))
        args = ProposeWeightsArgs(use_case=intent.text, **proposal.model_dump()).model_dump()
        cues = (", ".join(c.replace("_", " ") for c in proposal.cues) if proposal.cues  # ids read as words
                else "none, so I start from the base weights")
        return ai_reply(f"Deployment cues I found in your use case (knowledge base in prompts/): {cues}. Here is my "
                   "weight proposal, each weight with its reason.", tool_call("propose_weights", args))

    def _run_args(self, weights: dict[str, float], **overrides: Any) -> dict[str, Any]:
        base = self.facts.run_args
        args = {k: getattr(base, k) for k in ("models", "dataset", "sample", "seed", "strategy", "budget", "label_map")
                if base is not None and getattr(base, k) is not None}
        if self.facts.shortlist:
            args["models"] = list(self.facts.shortlist)
        args.update({k: v for k, v in self.facts.prefs.items() if v is not None})
        args.update({k: v for k, v in overrides.items() if v is not None})
        args["weights"] = {k: float(v) for k, v in weights.items()}
        if self.facts.constraints or "constraints" in overrides:
            args["constraints"] = dict(overrides.get("constraints") or self.facts.constraints) or None
        args["use_case"] = self.facts.use_case or (base.use_case if base is not None else "")
        return args

    def _reweigh(self, weights: dict[str, float], why: str) -> AIMessage:
        """Re-rank the last run from the cache, or stage a first run when there is none."""
        if self.facts.run_result is not None:
            if blocked := self.needs("rerank"):
                return blocked
            return ai_reply(why + " Re-ranking your last run from cached outcomes.", tool_call("rerank", {"weights": weights}))
        full = {**self.facts.current_weights(), **weights}
        if again := self.reshortlist(full, self.facts.constraints, why):
            return again
        if blocked := self.needs("run_bandit"):
            return blocked
        return ai_reply(why + " There is no run yet, so I staged one with these weights.",
                   tool_call("run_bandit", self._run_args(full)))

    def on_strategy(self, intent: Intent) -> AIMessage:
        if intent.reason:                    # a budget or sample below 1: say the rule, stage nothing
            return ai_reply(f"I did not change anything: {intent.reason}.")
        if blocked := self.needs("run_bandit"):
            return blocked
        if self.facts.weights is None:
            what = ", ".join(f"{k} {v}" for k, v in (("strategy", intent.strategy), ("budget", intent.budget),
                                                       ("sample", intent.sample)) if v)
            return ai_reply(f"Noted: {what} for the next run. Describe your use case first (e.g. \"classify crops from a "
                       "drone\") so I can propose weights, or say \"run it\" to use the base weights.")
        args = self._run_args(self.facts.current_weights(), strategy=intent.strategy, budget=intent.budget,
                              sample=intent.sample)
        changed = ", ".join(f"{k} {args[k]}" for k in ("strategy", "budget", "sample") if args.get(k) is not None)
        return ai_reply(f"A new run with {changed or 'the same settings'} (outcomes already cached are reused, not "
                   "recomputed). Approve it first.", tool_call("run_bandit", args))

    on_budget = on_strategy

    def on_run(self, intent: Intent) -> AIMessage:
        if blocked := self.needs("run_bandit"):
            return blocked
        weights = self.facts.current_weights()
        lead = "" if self.facts.weights else "No use case yet, so I use the base weights of the knowledge base. "
        return ai_reply(lead + "Approve the weights to start the run.", tool_call("run_bandit", self._run_args(weights)))

    def on_spend(self, intent: Intent) -> AIMessage:
        rr = self.facts.rerank
        if self.facts.run_result is None:
            return ai_reply("There is no run yet, so nothing to settle. Describe your use case first.")
        if rr is None or rr.settled or not rr.calls_to_settle:
            return ai_reply("Nothing to spend: the cached outcomes already settle the current ranking.")
        if blocked := self.needs("run_bandit"):
            return blocked
        budget = self.facts.run_result.budget + rr.calls_to_settle
        args = self._run_args(self.facts.current_weights(), budget=budget)
        return ai_reply(f"A run with budget {budget:,} ({rr.calls_to_settle:,} more calls than the last one; cached "
                   "outcomes are reused) to settle the ranking. Approve it first.", tool_call("run_bandit", args))

    def on_why(self, intent: Intent) -> AIMessage:
        if self.facts.run_result is None:
            return ai_reply("There is no result to explain yet. Describe your use case and I will run a selection.")
        ranking = self.facts.ranking()
        text = explain(ranking, self.facts.current_weights(), self.facts.run_result, self.facts.reward_weights())
        seen = [r for r in ranking if r.est_reward is not None and not r.excluded]
        named = [r for r in seen[1:]
                 if re.search(rf"(?<![\w.:-]){re.escape(r.name)}(?![\w.:-])", intent.text, re.IGNORECASE)]
        if seen and named:       # "why is X first?" when X is not: say so, then X beside the leader
            lead = f"**{named[0].name}** is not first: it ranks #{named[0].rank}.\n\n"
            text = lead + text + "\n\n" + compare_text([seen[0], named[0]], self.facts.current_weights())
        return ai_reply(text)

    def on_compare(self, intent: Intent) -> AIMessage:
        ranking = {r.name: r for r in self.facts.ranking()}
        if all(name in ranking for name in intent.models):
            return ai_reply(compare_text([ranking[n] for n in intent.models], self.facts.current_weights()))
        if blocked := self.needs("list_models"):
            return blocked
        lead = ("Those models are not both in your last run, so here are their cards (no evaluation on your images "
                "yet)." if self.facts.run_result else "No run yet; here are their cards.")
        return ai_reply(lead, tool_call("list_models", {"names": intent.models}))

    def on_help(self, intent: Intent) -> AIMessage:
        return ai_reply(self.help("I pick the right pretrained model for your use case and your images."))


__all__ = ["NOT_UNDERSTOOD", "Facts", "OfflineReasoner", "compare_text", "explain", "proposal_markdown"]
