"""list_models and compute_complexity: what the registry knows about candidates before any evaluation."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from greenrunner_core.errors import GreenRunnerError, UnknownModelError, WeightsUnavailableError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.query import CardQuery, run_query
from greenrunner_core.workspace import Workspace
from tools import text
from tools.formatting import fmt_macs, markdown_table
from tools.result import ToolResult
from tools.schemas import ComputeComplexityArgs, ListModelsArgs

ARTIFACT_CARDS = 300     # the hubs list ~1,500 cards: the artifact keeps the first 300 matches (and the total)
ORDER_WORDS = {"size": "smallest first", "top1": "best published top-1 first", "shifted": "best shifted top-1 first",
               "macs": "fewest MACs first", "params": "fewest parameters first", "name": "by name"}


def filter_cards(ws: Workspace, args: ListModelsArgs) -> tuple[list[ModelCard], list[str]]:
    """The registered cards that pass every filter of ``args``, in ``args.sort`` order, and the filters in words."""
    cards: list[ModelCard] = (ws.registry.resolve(ws.resolve_hub_names(args.names)) if args.names
                              else ws.registry.cards())
    filters: list[str] = []
    if args.source:
        # the demo zoo is left out of a workspace that does not use it (not trained): still a source to name
        sources = sorted({c.source for c in ws.registry.cards()} | (set() if ws.include_demo else {ws.demo.name}))
        if args.source not in sources:
            raise GreenRunnerError(f"unknown source {args.source!r}; sources: {', '.join(sources)}")
    query = CardQuery(source=args.source, family=args.family, max_params=args.max_params,
                      max_macs=args.max_mmacs * 1e6 if args.max_mmacs is not None else None,
                      max_size_mb=args.max_size_mb, min_top1=args.min_benchmark_accuracy,
                      min_shifted_top1=args.min_shifted_accuracy, pretraining=args.pretraining, sort=args.sort)
    cards = run_query(cards, query)
    for label, value in (("source", args.source), ("family", args.family), ("pretraining", args.pretraining)):
        if value:
            filters.append(f"{label}={value}")
    if args.max_size_mb is not None:
        filters.append(f"size <= {args.max_size_mb:g} MB")
    if args.max_mmacs is not None:
        filters.append(f"MACs <= {args.max_mmacs:g} M")
    if args.max_params is not None:
        filters.append(f"params <= {args.max_params:g}")
    if args.min_benchmark_accuracy is not None:
        filters.append(f"benchmark accuracy >= {args.min_benchmark_accuracy:g}")
    if args.min_shifted_accuracy is not None:
        filters.append(f"shifted top-1 >= {args.min_shifted_accuracy:g}")
    return cards, filters


def list_models(ws: Workspace, args: ListModelsArgs) -> ToolResult:
    if args.family and not any(c.family.lower() == args.family.lower() for c in ws.registry.cards()):
        # the chat reads a family from free text ("resnt models"): a typo gets close names, not "no model matches"
        raise UnknownModelError(args.family, {c.family for c in ws.registry.cards()}, kind="family")
    cards, filters = filter_cards(ws, args)
    where = f" ({', '.join(filters)})" if filters else ""
    if not cards:
        body = f"No model matches{where}. Loosen the filter; {len(ws.registry.cards())} models are registered."
    else:
        shown = cards[:args.limit]
        body = (f"{len(cards)} models{where}, {ORDER_WORDS[args.sort]}:\n\n"
                + markdown_table(text.CARD_HEADER, text.card_rows(shown)))
        if len(cards) > len(shown):
            body += f"\n\n{len(cards) - len(shown)} more not shown; narrow the filter or raise the limit."
        body += benchmark_note(cards, args)
    return ToolResult(body, {"cards": [c.to_dict() for c in cards[:ARTIFACT_CARDS]], "total": len(cards),
                             "filters": filters})


def benchmark_note(cards: list[ModelCard], args: ListModelsArgs) -> str:
    """When accuracy filters or orders a listing of cards from different benchmarks: which ones (not the user's images)."""
    if args.min_benchmark_accuracy is None and args.sort != "top1":
        return ""
    kinds = Counter(c.benchmark_dataset or "none published" for c in cards)
    if len(kinds) < 2:
        return ""
    return ("\n\nBenchmark accuracy is each model's published figure on its own benchmark, not on your images: "
            + ", ".join(f"{k} ({n} models)" for k, n in kinds.most_common()) + ".")


def compute_complexity(ws: Workspace, args: ComputeComplexityArgs) -> ToolResult:
    from greenrunner_core.complexity import ComplexityCache
    cache = ComplexityCache(Path(ws.cache_dir) / "complexity.json")
    cards = ws.registry.resolve(ws.resolve_hub_names(args.models))
    rows, out = [], []
    for card in cards:
        try:
            model = ws.registry.load(card.name)
            c = cache.measure(model, card, card.input_size)
            how = "measured (fvcore)"
            macs, params, size = c.macs, c.params, c.size_mb
        except WeightsUnavailableError as err:
            macs, params, size = card.macs, card.params, card.size_mb
            how = f"from the model card (weights not available: {err})"
        rows.append([card.name, fmt_macs(macs), f"{params / 1e6:.3g} M", f"{size:.3g}",
                     "x".join(map(str, card.input_size)), how])
        out.append({"name": card.name, "macs": int(macs), "params": int(params), "size_mb": float(size),
                    "input_size": list(card.input_size), "how": how})
    body = markdown_table(("model", "MACs / image", "params", "size MB", "input", "how"), rows)
    return ToolResult(body, {"complexity": out})
