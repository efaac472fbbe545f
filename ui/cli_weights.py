"""The weights and hard limits of a `greenrunner` command: given with --weights (checked by the same rule as the chat's,
``tools.weight_rule``) or proposed from --use-case by the offline reasoner, and the --max-* flags."""
from __future__ import annotations

import argparse

from greenrunner_core.constraints import Constraints
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.reward import Weights
from tools.weight_rule import check_weights


def parse_weights(text: str) -> Weights:
    """``acc=0.63,size=0.25`` -> Weights; a weight outside [0, 1] stops the command (exit 2) before anything runs."""
    weights = Weights.parse(text)
    check_weights(weights.values, fix="e.g. --weights acc=0.63,size=0.25,complexity=0.21")
    return weights


def weights_for(args: argparse.Namespace) -> tuple[Weights, str, Constraints]:
    """Weights (given, or proposed from the use case) and the hard limits: the use case's, overridden by --max-*."""
    flags = constraint_flags(args)
    if args.weights:
        text, note = energy_as_latency(args.weights)
        return parse_weights(text), "given with --weights" + note, flags
    if not args.use_case:
        raise GreenRunnerError("give --use-case TEXT (weights are proposed from it) or --weights acc=..,size=..,complexity=..")
    from agent.proposal import propose_weights
    proposal = propose_weights(args.use_case)
    lines = [f"proposed from the use case by the offline reasoner (cues: {', '.join(proposal.cues) or 'none'})"]
    lines += [f"    {m} = {w:g}: {proposal.justification[m]}" for m, w in proposal.weights.items()]
    lines += [f"    limit {k}: {proposal.constraint_justification.get(k, '')}" for k in proposal.constraints
              if k != "latency_hardware"]
    lines += [f"    trade-off: {t}" for t in proposal.trade_offs]
    lines += [f"    reading: {n}" for n in proposal.notes]
    if proposal.missing_metrics:
        lines.append(f"    not measured yet (MACs/size stand in): {', '.join(proposal.missing_metrics)}")
    return Weights(proposal.weights), "\n".join(lines), Constraints.from_mapping(proposal.constraints).merged(flags)


def energy_as_latency(text: str) -> tuple[str, str]:
    """``energy=w`` weighs estimated energy per image, i.e. measured latency × constant power: on the log scale of
    the reward that ranks exactly as latency, so it is counted as latency (and says so)."""
    import re
    if not re.search(r"(?<![\w])energy\s*=", text):
        return text, ""
    from tools.selection import ENERGY_AS_LATENCY
    return re.sub(r"(?<![\w])energy\s*=", "latency=", text), f"; energy is {ENERGY_AS_LATENCY}"


def constraint_flags(args: argparse.Namespace) -> Constraints:
    """--max-size MB, --max-macs MACS, --max-latency MS, --max-params N (counts are parsed by ``cli_types``)."""
    return Constraints(max_size_mb=getattr(args, "max_size", None), max_macs=getattr(args, "max_macs", None),
                       max_latency_ms=getattr(args, "max_latency", None), max_params=getattr(args, "max_params", None))
