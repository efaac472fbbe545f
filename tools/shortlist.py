"""shortlist_models: K hub candidates from published figures under the run's weights and hard constraints.

Also ``shortlist_when_unnamed``: the one step where the agent chooses candidates itself, when the user named no
models for their own images.
"""
from __future__ import annotations

from typing import Any

from pydantic import Field

from greenrunner_core.constraints import Constraints
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.reward import Weights
from greenrunner_core.selection_run import DEMO_DATASET
from greenrunner_core.shortlist import DEFAULT_K, Reason, Shortlist, proxy_weights, shortlist
from greenrunner_core.workspace import Workspace
from tools.formatting import fmt_macs, fmt_weights, markdown_table
from tools.result import ToolResult
from tools.schemas import _Args
from tools.settings import ToolSettings, workspace_for

REASON_TEXT: dict[Reason, str] = {
    Reason.TOP_REWARD: "among the best published rewards under your weights",
    Reason.PARETO_MACS: "on the accuracy-vs-MACs Pareto front",
    Reason.PARETO_SIZE: "on the accuracy-vs-size Pareto front",
    Reason.ROBUST: "among the most robust on shifted test sets",
    Reason.FILL: "next best published reward (varied family)",
}


class ShortlistArgs(_Args):
    """Propose K candidate models from the catalogs (timm, torchvision) before any evaluation."""

    weights: dict[str, float] = Field(description="reward weights, e.g. {\"accuracy\": 0.63, \"size\": 0.25, "
                                                  "\"complexity\": 0.21}; published top-1 stands in for accuracy")
    k: int = Field(DEFAULT_K, ge=2, le=200, description="how many candidates to propose")
    constraints: dict[str, float | str | None] = Field(
        default_factory=dict, description="hard limits: max_size_mb, max_macs, max_params, max_latency_ms")
    source: str | None = Field(None, description="only this source, e.g. timm or torchvision")


def run_shortlist(ws: Workspace, weights: dict[str, float], constraints: dict[str, Any] | None = None,
                  k: int = DEFAULT_K, source: str | None = None) -> Shortlist:
    """The shortlist over the workspace's registry; weights on metrics the core does not know (user metrics) are
    left out of the proxy reward."""
    cards = ws.registry.cards()
    if source:
        cards = [c for c in cards if c.source == source]
    return shortlist(cards, Weights(proxy_weights(weights)), Constraints.from_mapping(constraints), k=k)


def with_shortlist(ws: Workspace, models: list[str] | None, dataset: str | None, weights: dict[str, float],
                   constraints: dict[str, Any] | None = None) -> list[str] | None:
    """The models to evaluate: the named ones, none for the demo data (its zoo), else the hub shortlist."""
    if models or dataset in (None, "", DEMO_DATASET):
        return models
    limits = {k: v for k, v in (constraints or {}).items() if k != "latency_hardware"}
    return run_shortlist(ws, weights, limits).names


def shortlist_models(ws: Workspace, args: ShortlistArgs) -> ToolResult:
    result = run_shortlist(ws, args.weights, args.constraints, args.k, args.source)
    rows = [[e.card.name, fmt_macs(e.card.macs), f"{e.card.size_mb:.3g}",
             f"{e.card.benchmark_accuracy:.3f}", f"{e.card.shifted_top1:.3f}" if e.card.shifted_top1 else "-",
             f"{e.proxy_reward:.3f}", "; ".join(REASON_TEXT[r] for r in e.reasons)] for e in result.entries]
    lines = [(f"Shortlist: {len(result.entries)} of {result.pool_size} models with published ImageNet top-1"
              f"{' within the constraints' if result.removed else ''} (weights {fmt_weights(args.weights)}; "
              "published top-1 stands in for accuracy on your images until they are evaluated)."), "",
             markdown_table(("model", "MACs", "size MB", "top-1", "shifted top-1", "proxy reward", "why kept"), rows)]
    if result.removed:
        lines.append(f"\n{len(result.removed)} models removed by the hard constraints.")
    if result.ignored_weights:
        lines.append(f"Not known before evaluation, left out of the proxy: {', '.join(result.ignored_weights)}.")
    artifact = {"shortlist": result.names,
                "entries": [{"name": e.card.name, "proxy_reward": e.proxy_reward,
                             "reasons": [r.value for r in e.reasons]} for e in result.entries],
                "pool_size": result.pool_size, "removed": len(result.removed)}
    return ToolResult("\n".join(lines), artifact)


def shortlist_when_unnamed(call: dict[str, Any], settings: ToolSettings | None,
                           proposal: dict[str, Any] | None) -> dict[str, Any]:
    """A ``run_bandit`` call on the user's own images with no models named gets the shortlist as its candidates
    (so the staging step shows it for approval); any other call is returned unchanged."""
    args = dict(call.get("args") or {})
    if call.get("name") != "run_bandit" or args.get("models") or args.get("dataset") in (None, "", DEMO_DATASET):
        return call
    constraints = {**dict((proposal or {}).get("constraints") or {}), **dict(args.get("constraints") or {})}
    try:
        picked = with_shortlist(workspace_for(settings), None, args["dataset"], dict(args.get("weights") or {}),
                                constraints)
    except GreenRunnerError:          # nothing to propose: run_bandit then says how to name models
        return call
    return {**call, "args": {**args, "models": picked}}
