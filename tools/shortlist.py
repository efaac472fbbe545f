"""shortlist_models: K hub candidates from published figures under the run's weights and hard constraints, with the
Hugging Face models that publish none (measured on the user's images) and the models the user named.

Also ``shortlist_when_unnamed``: the one step where the agent chooses candidates itself, when the user named no
models for their own images.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from greenrunner_core.constraints import Constraints
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.hf_discovery import HubDiscovery, NotSearched
from greenrunner_core.reward import Weights
from greenrunner_core.selection_run import DEMO_DATASET
from greenrunner_core.shortlist import DEFAULT_K, Evidence, Reason, Shortlist, proxy_weights, shortlist
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
    Reason.NAMED: "you named it",
    Reason.UNPUBLISHED: "no published accuracy: ranked by size/MACs under your weights, measured on your images",
}
EVIDENCE_TEXT: dict[Evidence, str] = {
    Evidence.PUBLISHED: "published",
    Evidence.MODEL_CARD: "model card (self-reported)",
    Evidence.NONE: "none: measured on your images",
}
NOT_SEARCHED_TEXT: dict[NotSearched, str] = {
    NotSearched.OFFLINE: "HF_HUB_OFFLINE is set",
    NotSearched.DOWNLOADS_DISABLED: "downloads are disabled",
    NotSearched.SEARCH_FAILED: "the Hub did not answer",
    NotSearched.NOT_ASKED: "only the cache was asked for",
}
SHORTLIST_HEADER = ("model", "MACs", "size MB", "top-1", "top-1 from", "shifted top-1", "proxy reward", "why kept")


class ShortlistArgs(_Args):
    """Propose K candidate models from the catalogs (timm, torchvision) and the Hugging Face Hub before any evaluation."""

    weights: dict[str, float] = Field(description="reward weights, e.g. {\"accuracy\": 0.63, \"size\": 0.25, "
                                                  "\"complexity\": 0.21}; published top-1 stands in for accuracy")
    k: int = Field(DEFAULT_K, ge=2, le=200, description="how many candidates to propose")
    constraints: dict[str, float | str | None] = Field(
        default_factory=dict, description="hard limits: max_size_mb, max_macs, max_params, max_latency_ms")
    source: str | None = Field(None, description="only this source, e.g. timm, torchvision or hf (the Hugging Face Hub)")
    models: list[str] = Field(default_factory=list, description="models the user named (hf:<repo id>, timm:<arch>, "
                                                               "torchvision names): always on the shortlist")


@dataclass(frozen=True)
class ShortlistReport:
    """The shortlist, the Hub models found to consider (None: the Hub was not asked), and the named or found hub
    models that could not be described, with why."""

    shortlist: Shortlist
    hub: HubDiscovery | None = None
    skipped: tuple[tuple[str, str], ...] = ()


def shortlist_report(ws: Workspace, weights: dict[str, float], constraints: dict[str, Any] | None = None,
                     k: int = DEFAULT_K, source: str | None = None, models: Sequence[str] = ()) -> ShortlistReport:
    """The shortlist over the workspace's registry plus the Hugging Face image classifiers it can find (cached; online,
    a bounded search) and the ``models`` the user named; weights on metrics the core does not know (user metrics) are
    left out of the proxy reward."""
    hub = ws.discover_hub() if source in (None, "hf") else None
    named = ws.resolve_hub_names(list(models)) if models else []
    cards = ws.registry.cards()
    if source:
        cards = [c for c in cards if c.source == source or c.name in named]
    wanted = (hub.names if hub else []) + list(models)
    skipped = tuple((n, ws.hub_skips[n]) for n in dict.fromkeys(wanted) if n in ws.hub_skips)
    if source == "hf" and not any(c.source == "hf" for c in cards):
        raise GreenRunnerError(no_hub_models_text(hub, skipped))
    result = shortlist(cards, Weights(proxy_weights(weights)), Constraints.from_mapping(constraints), k=k,
                       pinned=[n for n in named if n in ws.registry.names()])
    return ShortlistReport(result, hub, skipped)


def run_shortlist(ws: Workspace, weights: dict[str, float], constraints: dict[str, Any] | None = None,
                  k: int = DEFAULT_K, source: str | None = None, models: Sequence[str] = ()) -> Shortlist:
    return shortlist_report(ws, weights, constraints, k, source, models).shortlist


def no_hub_models_text(hub: HubDiscovery | None, skipped: Sequence[tuple[str, str]]) -> str:
    """Why a shortlist from the Hugging Face Hub has nothing to propose, and the fix."""
    where = f" in the Hub cache at {hub.hub_dir}" if hub else ""
    why = f" and the Hub was not searched ({NOT_SEARCHED_TEXT[hub.not_searched]})" if hub and hub.not_searched else ""
    lines = [(f"no Hugging Face image classifier is available{where}{why}; name repos as hf:<repo id> after "
             "downloading them once with network access (`hf download <repo id>`), or point HF_HOME at a cache "
             "that has them")]
    lines += [f"{name} was left out: {reason}" for name, reason in skipped[:3]]
    return "; ".join(lines)


def shortlist_rows(result: Shortlist) -> list[list[str]]:
    """One row per shortlisted model (SHORTLIST_HEADER): models without a published accuracy say so."""
    rows = []
    for e in result.all_entries:
        card = e.card
        rows.append([card.name, fmt_macs(card.macs), f"{card.size_mb:.3g}",
                     f"{card.benchmark_accuracy:.3f}" if card.benchmark_accuracy is not None else "-",
                     EVIDENCE_TEXT[e.evidence], f"{card.shifted_top1:.3f}" if card.shifted_top1 is not None else "-",
                     f"{e.proxy_reward:.3f}" if e.proxy_reward is not None else "-",
                     "; ".join(REASON_TEXT[r] for r in e.reasons)])
    return rows


def shortlist_notes(report: ShortlistReport) -> list[str]:
    """Sentences under the table: how many have a published accuracy and how many are measured only on the images,
    where the Hub models came from, what was removed, left out or ignored."""
    result = report.shortlist
    counts = {ev: sum(e.evidence is ev for e in result.all_entries) for ev in Evidence}
    lines = [f"{counts[Evidence.PUBLISHED] + counts[Evidence.MODEL_CARD]} with a published ImageNet top-1"
             + (f" ({counts[Evidence.MODEL_CARD]} self-reported in the model card)" if counts[Evidence.MODEL_CARD]
                else "")
             + f", {counts[Evidence.NONE]} without one (their accuracy is measured on your images, like everyone's)."]
    hub = report.hub
    if hub is not None:
        found = f"{len(hub.cached)} Hugging Face image classifiers in the Hub cache ({hub.hub_dir})"
        if hub.not_searched is None:
            found += f" and the {len(hub.searched)} most downloaded on the Hub"
        elif hub.not_searched is not NotSearched.NOT_ASKED:
            found += f"; the Hub was not searched: {NOT_SEARCHED_TEXT[hub.not_searched]}" + \
                (f" ({hub.error})" if hub.error else "")
        lines.append(f"Hub models considered: {found}.")
    for name, reason in report.skipped:
        lines.append(f"{name} was left out: {reason}")
    if result.removed:
        lines.append(f"{len(result.removed)} models removed by the hard constraints.")
    if result.ignored_weights:
        lines.append(f"Not known before evaluation, left out of the proxy: {', '.join(result.ignored_weights)}.")
    return lines


def with_shortlist(ws: Workspace, models: list[str] | None, dataset: str | None, weights: dict[str, float],
                   constraints: dict[str, Any] | None = None) -> list[str] | None:
    """The models to evaluate: the named ones, none for the demo data (its zoo), else the hub shortlist."""
    if models or dataset in (None, "", DEMO_DATASET):
        return models
    limits = {k: v for k, v in (constraints or {}).items() if k != "latency_hardware"}
    return run_shortlist(ws, weights, limits).names


def shortlist_models(ws: Workspace, args: ShortlistArgs) -> ToolResult:
    report = shortlist_report(ws, args.weights, args.constraints, args.k, args.source, args.models)
    result = report.shortlist
    lines = [(f"Shortlist: {len(result.all_entries)} candidates, {len(result.entries)} of the {result.pool_size} "
              f"models with a published ImageNet top-1{' within the constraints' if result.removed else ''} "
              f"(weights {fmt_weights(args.weights)}; published top-1 stands in for accuracy on your images until "
              "they are evaluated)."), "", markdown_table(SHORTLIST_HEADER, shortlist_rows(result)), "",
             *shortlist_notes(report)]
    artifact = {"shortlist": result.names,
                "entries": [{"name": e.card.name, "proxy_reward": e.proxy_reward, "evidence": e.evidence.value,
                             "reasons": [r.value for r in e.reasons]} for e in result.all_entries],
                "pool_size": result.pool_size, "removed": len(result.removed),
                "unpublished_pool": result.unpublished_pool}
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
