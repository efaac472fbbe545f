"""The offline reasoner's replies to follow-ups read by intent (``agent.followups``): weight changes, factors, values
refused with the valid range, limits set or lifted, top N. Answers come from the cache (``rerank``) whenever the last
run can give them; anything that needs new evaluations or latency measurements is staged for approval first."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.followups import FollowUp, parse_followup
from agent.proposal import adjust_weight, constraint_label
from agent.replies import ai_reply, tool_call

LATENCY_METRICS = ("latency", "energy")
CHANGES = ("propose_weights", "run_bandit", "rerank", "shortlist_models")      # tool calls that set weights/limits
SECONDS_PER_UNTIMED_MODEL = 6       # latency at batch 1 and at the evaluation batch, ~3 s each at most


class FollowUpReplies:
    """Mixin of ``agent.offline.Turn``: one ``on_fu_<kind>`` per follow-up kind."""

    facts: Any
    messages: list[Any]

    # provided by Turn
    def _reweigh(self, weights: dict[str, float], why: str) -> AIMessage: ...
    def _run_args(self, weights: dict[str, float], **overrides: Any) -> dict[str, Any]: ...
    def needs(self, *names: str) -> AIMessage | None: ...
    reshortlist: Callable[[dict[str, float], dict[str, Any], str], AIMessage | None]   # ShortlistReplies

    def _latency_measured(self) -> bool:
        run = self.facts.run_result
        return run is not None and bool(run.latency) and len(run.latency) >= len(run.observations)

    def _n_candidates(self) -> int | None:
        run = self.facts.run_result
        return len(run.observations) + len(run.removed_by_constraints) if run is not None else None

    def _measure_cost(self) -> str:
        n = self._n_candidates()
        models = f"the {n} candidates" if n else "every candidate"
        return (f"it times {models} once on this machine (cached per machine; up to ~{SECONDS_PER_UNTIMED_MODEL} s "
                "per model not timed yet)")

    def _latency_change(self, changes: dict[str, float], why: str) -> AIMessage:
        """Latency/energy weights: from the cache when the last run measured latency, else a staged run."""
        if self._latency_measured():
            return self._reweigh(changes, why)
        if blocked := self.needs("run_bandit"):
            return blocked
        weights = {**self.facts.current_weights(), **changes}
        return ai_reply(f"{why} Latency is not measured yet, so this cannot come from the cache: {self._measure_cost()}"
                        ". I staged that run (cached outcomes are reused); approve it first.",
                        tool_call("run_bandit", self._run_args(weights)))

    def on_fu_adjust(self, fu: FollowUp) -> AIMessage:
        weights = self.facts.current_weights()
        sentences = []
        for metric, direction in fu.changes.items():
            weights, sentence = adjust_weight(weights, metric, int(direction))
            sentences.append(sentence)
        changes = {m: weights[m] for m in fu.changes}
        why = " ".join(sentences) + " The other weights stay as they are."
        if any(m in LATENCY_METRICS for m in changes):
            return self._latency_change(changes, why)
        return self._reweigh(changes, why)

    def on_fu_scale(self, fu: FollowUp) -> AIMessage:
        metric, factor = next(iter(fu.changes.items()))
        old = float(self.facts.current_weights().get(metric, 0.0))
        if old == 0 and factor > 1:
            return ai_reply(f"The {metric} weight is 0, and {factor:g} × 0 is still 0. Say e.g. “set {metric} to 0.3” "
                            "instead. I did not change anything.")
        new = round(min(1.0, max(0.0, old * factor)), 3)
        capped = " (capped at 1, the most a weight can count)" if old * factor > 1 else ""
        why = f"I set the {metric} weight from {old:g} to {new:g} ({factor:g} ×){capped}; the others stay as they are."
        if metric in LATENCY_METRICS:
            return self._latency_change({metric: new}, why)
        return self._reweigh({metric: new}, why)

    def on_fu_set(self, fu: FollowUp) -> AIMessage:
        current = self.facts.current_weights()
        why = "I set " + ", ".join(f"{m} from {current.get(m, 0):g} to {v:g}" for m, v in fu.changes.items()) + "."
        if any(m in LATENCY_METRICS and v > 0 for m, v in fu.changes.items()):
            return self._latency_change(dict(fu.changes), why)
        return self._reweigh(dict(fu.changes), why)

    def on_fu_about(self, fu: FollowUp) -> AIMessage:
        metric, said = next(iter(fu.changes)), fu.reason
        weight = self.facts.current_weights().get(metric, 0.0)
        now = (f"{metric.capitalize()} counts with weight {weight:g} in the current weights" if weight else
               f"{metric.capitalize()} is not in the current weights (weight 0)")
        measured = " It is measured on this machine when a run weighs it." if metric in ("latency", "energy") else ""
        how = (f"say “{said} matters more”, “{said} matters less”, “ignore {said}” or “set {metric} to 0.3”" if weight
               else f"say “{said} matters more” or “set {metric} to 0.3”")
        return ai_reply(f"{now}.{measured} To change it, {how}.")

    def on_fu_invalid(self, fu: FollowUp) -> AIMessage:
        return ai_reply(f"I did not change anything: {fu.reason}.")

    def on_fu_top_n(self, fu: FollowUp) -> AIMessage:
        if self.facts.run_result is None:
            return ai_reply("There is no run yet, so no ranking to show. Describe your use case first.")
        if blocked := self.needs("rerank"):
            return blocked
        return ai_reply(f"The top {fu.top_n} of your last run, from cached outcomes (0 new evaluations).",
                        tool_call("rerank", {"weights": {}, "top_n": fu.top_n}))

    def _limits(self, limits: dict[str, Any], lift: list[str], why: str) -> AIMessage:
        run = self.facts.run_result
        needs_timing = "max_latency_ms" in limits and not self._latency_measured()
        if run is not None and not needs_timing:
            if blocked := self.needs("rerank"):
                return blocked
            lifted = [f for f in lift if f in run.constraints.to_dict()]
            if lifted and run.removed_by_constraints:
                why += (" Models the old limit removed were never evaluated, so the cache cannot rank them; say "
                        "“run it” to stage a run that includes them.")
            return ai_reply(why + " Re-ranking your last run from cached outcomes (0 new evaluations).",
                            tool_call("rerank", {"weights": {}, "constraints": limits or None,
                                                  "lift_constraints": lifted}))
        if not needs_timing and (again := self.reshortlist(self.facts.current_weights(), limits, why)):
            return again
        if blocked := self.needs("run_bandit"):
            return blocked
        cost = f" A latency limit needs latency measured: {self._measure_cost()}." if needs_timing else ""
        args = self._run_args(self.facts.current_weights(), constraints=limits or None)
        args["constraints"] = limits or {}       # explicit: no limits (not "those of the proposal")
        return ai_reply(f"{why}{cost} I staged a run with these limits; approve it first.",
                        tool_call("run_bandit", args))

    def on_fu_constraint(self, fu: FollowUp) -> AIMessage:
        limits = {**self.facts.constraints, **fu.constraints}
        said = ", ".join(constraint_label(k, v, fu.constraints) for k, v in fu.constraints.items()
                         if k != "latency_hardware")
        return self._limits(limits, [], f"New hard limit: {said} (from “{fu.text.strip()}”); models over it are "
                                        "removed, never traded off.")

    def on_fu_reset(self, fu: FollowUp) -> AIMessage:
        proposed = dict((self.facts.proposal or {}).get("weights") or {})
        if not proposed:
            return ai_reply("There is no proposal to go back to yet: describe your use case and I propose weights.")
        return self._reweigh(proposed, "Back to the weights I proposed for your use case: "
                             + ", ".join(f"{k} {v:g}" for k, v in proposed.items()) + ".")

    def _before_last_change(self) -> Any:
        """The conversation's facts just before its last change of weights or limits that is not undone yet (a
        proposal, run, re-rank or shortlist whose tool result came back; an undo takes its change off the stack), or
        None when there is nothing before it to go back to."""
        done = {m.tool_call_id for m in self.messages if isinstance(m, ToolMessage) and m.status != "error"}
        stack: list[int] = []
        for i, msg in enumerate(self.messages):
            if not (isinstance(msg, AIMessage) and any(tc["name"] in CHANGES and tc["id"] in done
                                                       for tc in msg.tool_calls)):
                continue
            said = self.messages[i - 1] if i else None
            undo = isinstance(said, HumanMessage) and isinstance(said.content, str) and \
                getattr(parse_followup(said.content), "kind", "") == "undo"
            if undo and stack:
                stack.pop()
            elif not undo:
                stack.append(i)
        if len(stack) < 2:
            return None              # only the proposal: nothing before it to go back to
        return type(self.facts).read(self.messages[:stack[-1]])

    def on_fu_undo(self, fu: FollowUp) -> AIMessage:
        now_w, now_c = self.facts.current_weights(), dict(self.facts.constraints)
        before = self._before_last_change()
        if before is None:
            return ai_reply("There is no earlier change to undo: the weights are " + _weights_text(now_w) + " and the "
                            "limits " + _limits_text(now_c) + ". Change one with e.g. “set size to 0.3” or “limit "
                            "size to 20 MB”; “reset the weights” goes back to the proposal.")
        old_w, old_c = before.current_weights(), dict(before.constraints)
        lifted = [k for k in now_c if k not in old_c and k != "latency_hardware"]
        said = [f"weights back to {_weights_text(old_w)} (they were {_weights_text(now_w)})" if old_w != now_w else
                f"weights unchanged ({_weights_text(now_w)})",
                f"limits back to {_limits_text(old_c)} (they were {_limits_text(now_c)})" if old_c != now_c else
                f"limits unchanged ({_limits_text(now_c)})"]
        why = f"I undid the last change: {', '.join(said)}."
        if self.facts.run_result is not None:
            if blocked := self.needs("rerank"):
                return blocked
            return ai_reply(why + " Re-ranking your last run from cached outcomes (0 new evaluations).",
                            tool_call("rerank", {"weights": old_w, "constraints": old_c or None,
                                                 "lift_constraints": lifted}))
        if blocked := self.needs("run_bandit"):
            return blocked
        args = self._run_args(old_w, constraints=old_c or None)
        args["constraints"] = old_c or {}
        return ai_reply(why + " There is no run yet, so I staged one with them; approve it first.",
                        tool_call("run_bandit", args))

    def on_fu_lift(self, fu: FollowUp) -> AIMessage:
        limits = {k: v for k, v in self.facts.constraints.items() if k not in fu.lift}
        limits.update(fu.constraints)
        if "max_latency_ms" not in limits:
            limits.pop("latency_hardware", None)
        gone = [k for k in fu.lift if k in self.facts.constraints]
        if not gone:
            return ai_reply("There is no such limit in force, so nothing changes. Limits now: "
                            + (", ".join(constraint_label(k, v, limits) for k, v in limits.items()
                                         if k != "latency_hardware") or "none") + ".")
        said = " and ".join(constraint_label(k, self.facts.constraints[k], self.facts.constraints) for k in gone)
        kept = ", ".join(constraint_label(k, v, fu.constraints) for k, v in fu.constraints.items()
                         if k != "latency_hardware")
        return self._limits(limits, gone, f"I dropped the limit{'s' if len(gone) > 1 else ''} {said}."
                            + (f" New hard limit: {kept}." if kept else ""))


def _weights_text(weights: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in weights.items()) or "none"


def _limits_text(limits: dict[str, Any]) -> str:
    return ", ".join(constraint_label(k, v, limits) for k, v in limits.items() if k != "latency_hardware") or "none"
