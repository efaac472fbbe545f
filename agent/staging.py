"""The staging step: before a tool that spends compute or runs user code executes, show the user what it will do
and wait (LangGraph ``interrupt``) for approval, adjusted weights, or a refusal."""
from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from pydantic import BaseModel, Field, ValidationError

from greenrunner_core.selection_run import DEMO_DATASET
from greenrunner_core.strategies import DEFAULT_STRATEGY
from tools.text import DEFAULT_BUDGET_TEXT, weights_table

NOTHING_PENDING = ("There is nothing waiting for your approval: that run was already approved (or refused) and has "
                   "been handled, so nothing new was started. Say “run it” to stage another run.")
APPROVAL_WORDS = ("approve", "approved", "yes", "y", "ok", "okay", "confirm", "confirmed", "i approve", "approve it")


class StagingDecision(BaseModel):
    """How the caller resumes a staging interrupt: ``Command(resume={"approved": True, "weights": {...}})``."""

    approved: bool = Field(description="true runs the staged tool call(s); false cancels them")
    weights: dict[str, float] | None = Field(None, description="adjusted weights replacing the proposed ones")
    strategy: str | None = Field(None, description="another selection strategy")
    budget: int | None = Field(None, ge=1, description="another budget of evaluation calls")
    dataset: str | None = Field(None, description="target ImageFolder/.zip the user uploaded, replacing the staged one")
    models: list[str] | None = Field(None, description="candidate model names replacing the staged ones")
    seed: int | None = Field(None, description="another random seed")
    constraints: dict[str, float | str | None] | None = Field(None, description="hard limits replacing the staged "
                                                                                 "ones (max_size_mb, max_macs, ...)")
    label_map: dict[str, list[str]] | None = Field(None, description="label map entries the user edited after "
                                                                     "staging, replacing the staged ones per class")
    reason: str = Field("", description="why the user refused (shown to the assistant)")

    @classmethod
    def coerce(cls, value: Any) -> StagingDecision:
        """Accept a StagingDecision, a dict, a bool, or words like "approve"/"yes"/"no"."""
        if isinstance(value, cls):
            return value
        if isinstance(value, bool):
            return cls(approved=value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("approve", "approved", "yes", "y", "ok", "run", "go"):
                return cls(approved=True)
            return cls(approved=False, reason=value.strip() or "no reason given")
        if isinstance(value, dict):
            try:
                return cls.model_validate(value)
            except ValidationError as err:
                return cls(approved=False, reason=f"the approval could not be read ({err.errors()[0]['msg']})")
        return cls(approved=False, reason=f"the approval could not be read ({type(value).__name__})")


def staging_payload(call: dict[str, Any], proposal: dict[str, Any] | None, last_run: Any = None,
                    settings: Any = None, costed: bool = False) -> dict[str, Any]:
    """What the interrupt shows: the staged call, the weights with their justification, the limits, what it will
    spend (calls and estimated seconds), and how to answer. ``costed``: the candidate plan shown with it (``with_plan``)
    estimates the time, so the spend does not give a second estimate."""
    from agent.staged_costs import baselines_cost_lines, run_cost_lines
    args = dict(call["args"])
    if call["name"] == "compare_baselines":
        lines = [("**Approve this comparison?** It evaluates models on your images to compare with brute force and "
                 "the benchmark-card pick."), "", *baselines_cost_lines(args, last_run, settings), "",
                 "Approve or refuse."]
        return {"type": "staging_baselines", "tool": "compare_baselines", "tool_call_id": call["id"],
                "message": "\n".join(lines), "cost": lines[2:-2],
                "resume": {"approve": {"approved": True}, "reject": {"approved": False, "reason": "..."}}}
    if call["name"] == "enable_metric":
        return {"type": "confirm_enable_metric", "tool": "enable_metric", "tool_call_id": call["id"],
                "name": args.get("name"),
                "message": f"Enable user metric {args.get('name')!r}? This runs the Python code in its file on later "
                           "runs (with a time limit). Answer approved=true to enable it, false to keep it off.",
                "resume": {"approve": {"approved": True}, "reject": {"approved": False, "reason": "..."}}}
    weights = dict(args.get("weights") or {})
    same = proposal is not None and dict(proposal.get("weights") or {}) == weights
    justification = weight_reasons(weights, proposal)
    run = {"strategy": args.get("strategy") or DEFAULT_STRATEGY, "budget": args.get("budget") or DEFAULT_BUDGET_TEXT,
           "models": args.get("models") or "the demo zoo (for uploaded images: the hub shortlist)", "dataset": args.get("dataset") or "demo",
           "sample": args.get("sample"), "seed": args.get("seed", 0)}
    lines = ["**Approve this run?** It evaluates models on your images (one call = one model on one image).", "",
             weights_table(weights, justification)]
    constraints = dict(args.get("constraints") or {})
    quotes = dict((proposal or {}).get("constraint_justification") or {})
    if constraints:
        from tools.constraints import from_args, limit_text
        limits = from_args(constraints)
        lines += ["", (f"**Hard constraints**: {limit_text(limits)} — models over a limit are removed before any "
                      "evaluation, each with a note.")]
        from agent.proposal import constraint_label
        lines += [f"- {constraint_label(k, constraints[k], constraints)}: {quotes[k]}" for k in constraints if k in quotes]
    lines += ["", run_line(run)]
    cost = run_cost_lines(args, last_run, settings, seconds=not costed)
    lines += ["", "**What it spends**", *cost]
    if proposal and same and proposal.get("trade_offs"):
        lines += ["", "Trade-offs:"] + [f"- {t}" for t in proposal["trade_offs"]]
    if proposal and same and proposal.get("notes"):
        lines += ["", "How I read your use case:"] + [f"- {n}" for n in proposal["notes"]]
    if proposal and same and proposal.get("missing_metrics"):
        lines += ["", "Not measured (left out of the reward): " + ", ".join(proposal["missing_metrics"])]
    lines += ["", "Approve, adjust the weights, or refuse."]
    return {"type": "staging", "tool": "run_bandit", "tool_call_id": call["id"], "weights": weights,
            "justification": justification, "trade_offs": list((proposal or {}).get("trade_offs") or []) if same else [],
            "missing_metrics": list((proposal or {}).get("missing_metrics") or []) if same else [],
            "cues": list((proposal or {}).get("cues") or []) if same else [], "run": run,
            "constraints": constraints, "cost": cost,
            "message": "\n".join(lines),
            "resume": {"approve": {"approved": True}, "adjust": {"approved": True, "weights": weights},
                       "reject": {"approved": False, "reason": "..."}}}


def weight_reasons(weights: dict[str, float], proposal: dict[str, Any] | None) -> dict[str, str]:
    """The "why" of each staged weight: the proposal's reason where the weight is still the proposed one, else what
    it was changed from (a table of empty reasons said nothing once any weight had changed)."""
    proposed = dict((proposal or {}).get("weights") or {})
    reasons = dict((proposal or {}).get("justification") or {})
    return {m: reasons.get(m, "") if proposed.get(m) == w else
            (f"changed from the proposed {proposed[m]:g}" if m in proposed else "added after the proposal")
            for m, w in weights.items() if proposal is not None}


def run_line(run: dict[str, Any], shown: int = 8) -> str:
    """The staged run in one sentence: which models, on which images, with which strategy, budget and seed."""
    from tools.dataset_text import upload_name
    models, dataset, budget = run.get("models"), run.get("dataset"), run["budget"]
    demo = dataset in (None, "", DEMO_DATASET)
    if isinstance(models, list) and models:
        named = ", ".join(f"`{m}`" for m in models[:shown]) + (
            f" and {len(models) - shown} more" if len(models) > shown else "")
        which = f"{len(models)} model{'s' if len(models) != 1 else ''} ({named})"
    elif demo:
        which = "every model of the demo zoo (small digit classifiers)"
    else:
        which = "the hub models whose labels cover your classes"
    images = "the demo images (digits through a new camera)" if demo else f"your images `{upload_name(dataset)}`"
    sample = f" (a seeded sample of {run['sample']:,})" if run.get("sample") else ""
    budget = f"{budget:,} calls" if isinstance(budget, int) else budget
    return f"Run: {which} on {images}{sample}: {run['strategy']} strategy, budget {budget}, seed {run['seed']}."


def with_plan(payload: dict[str, Any], lines: list[str], label_map: dict[str, list[str]] | None) -> dict[str, Any]:
    """The staging payload with the candidates, the label map to review and the estimated cost before the question."""
    if not lines:
        return payload
    message = str(payload.get("message", ""))
    head, sep, tail = message.partition("\n\nRun: ")
    return {**payload, "message": head + "\n\n" + "\n".join(lines) + sep + tail if sep else message + "\n\n" +
            "\n".join(lines), "plan": lines, "label_map": label_map}


def apply_decision(message: AIMessage, staged_ids: set[str], decision: StagingDecision) -> dict[str, Any]:
    """State update after the user's answer: the (possibly adjusted) tool calls, or a refusal for every call."""
    if not decision.approved:
        reason = decision.reason or "no reason given"
        return {"messages": [ToolMessage(content=f"Not run: the user did not approve it ({reason}).",
                                         tool_call_id=tc["id"], name=tc["name"], status="error")
                             for tc in message.tool_calls]}
    calls = []
    for tc in message.tool_calls:
        args = dict(tc["args"])
        if tc["id"] in staged_ids and tc["name"] == "run_bandit":
            if decision.weights is not None:
                args["weights"] = dict(decision.weights)
            if decision.strategy:
                args["strategy"] = decision.strategy
            if decision.budget:
                args["budget"] = decision.budget
            if decision.dataset:
                args["dataset"] = decision.dataset
            if decision.models:
                args["models"] = list(decision.models)
            if decision.seed is not None:
                args["seed"] = decision.seed
            if decision.constraints is not None:
                args["constraints"] = dict(decision.constraints)
            if decision.label_map:
                base = args.get("label_map") if isinstance(args.get("label_map"), dict) else {}
                args["label_map"] = {**base, **{k: list(v) for k, v in decision.label_map.items()}}
        calls.append({**tc, "args": args})
    if calls == list(message.tool_calls):
        return {}
    # same message id: add_messages replaces the AI message, so the history shows what actually ran
    return {"messages": [message.model_copy(update={"tool_calls": calls})]}
