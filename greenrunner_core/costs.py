"""What a run cost and what brute force would cost: calls, MACs, seconds and joules, per model and in total.

Brute-force seconds and energy are extrapolated from the measured per-call figures (models never evaluated are
scaled by MACs); calls answered from cache rows older than energy recording get the measured per-call energy.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

import numpy as np

from greenrunner_core.energy import combine_kinds
from greenrunner_core.energy_ledger import EnergyLedger
from greenrunner_core.environment import Accounting
from greenrunner_core.notes import BruteForceExtrapolated, CachedEnergyExtrapolated, RunNote
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.result import Cost


def cost_of(accounting: Accounting, energy: EnergyLedger | None = None) -> tuple[Cost, dict[str, Cost]]:
    per = {name: Cost(**asdict(a)) for name, a in accounting.per_model.items()}
    total = Cost(**asdict(accounting.total()))
    if energy is None:
        return total, per
    for name, account in energy.per_model.items():
        cost = per.setdefault(name, Cost())
        cost.joules, cost.energy_calls = account.joules, account.known_calls
        cost.spent_joules, cost.energy_kind = account.spent_joules, combine_kinds(account.kinds)
    total.joules = sum(c.joules for c in per.values())
    total.energy_calls = sum(c.energy_calls for c in per.values())
    total.spent_joules = sum(c.spent_joules for c in per.values())
    total.energy_kind = combine_kinds(energy.kinds())
    return total, per


def _energy_rates(cards: Sequence[ModelCard], per_model: Mapping[str, Cost]) -> tuple[dict[str, float], float]:
    """Joules per call of each model with recorded energy, and the median joules per MAC (for the others)."""
    rates = {n: c.joules / c.energy_calls for n, c in per_model.items() if c.energy_calls and c.joules > 0}
    per_mac = [rates[c.name] / c.macs for c in cards if c.name in rates]
    return rates, float(np.median(per_mac)) if per_mac else 0.0


def fill_unrecorded_energy(cards: Sequence[ModelCard], per_model: Mapping[str, Cost], total: Cost) -> list[RunNote]:
    """Calls answered from cache rows written before energy was recorded: extrapolate their energy (in place)."""
    rates, per_mac = _energy_rates(cards, per_model)
    by_name = {c.name: c for c in cards}
    filled = 0
    for name, cost in per_model.items():
        missing = cost.calls - cost.energy_calls
        card = by_name.get(name)
        if missing <= 0 or card is None:
            continue
        rate = rates.get(name, per_mac * card.macs)
        if rate <= 0:
            continue
        cost.joules += rate * missing
        filled += missing
    if not filled:
        return []
    total.joules = sum(c.joules for c in per_model.values())
    return [CachedEnergyExtrapolated(filled)]


def brute_force_cost(cards: Sequence[ModelCard], n_images: int,
                     per_model: Mapping[str, Cost]) -> tuple[Cost, list[RunNote]]:
    """Brute force = every model on every image. Seconds are extrapolated from measured per-call seconds;
    models never evaluated get seconds-per-MAC of the measured ones."""
    notes: list[RunNote] = []
    rates = {n: c.compute_seconds / c.calls for n, c in per_model.items() if c.calls and c.compute_seconds > 0}
    sec_per_mac = [rates[c.name] / c.macs for c in cards if c.name in rates]
    fallback = float(np.median(sec_per_mac)) if sec_per_mac else 0.0
    seconds = 0.0
    for c in cards:
        rate = rates.get(c.name, fallback * c.macs)
        seconds += rate * n_images
    if len(rates) < len(cards):
        notes.append(BruteForceExtrapolated("seconds", len(rates), len(cards)))
    total_calls = len(cards) * n_images
    energy_rates, per_mac = _energy_rates(cards, per_model)
    joules = sum(energy_rates.get(c.name, per_mac * c.macs) * n_images for c in cards)
    kinds = combine_kinds(c.energy_kind for c in per_model.values())
    if energy_rates and len(energy_rates) < len(cards):
        notes.append(BruteForceExtrapolated("energy", len(energy_rates), len(cards)))
    return Cost(calls=total_calls, new_evaluations=total_calls, macs=int(sum(c.macs for c in cards) * n_images),
                compute_seconds=seconds, seconds=seconds, joules=joules, energy_calls=total_calls if joules else 0,
                spent_joules=joules, energy_kind=kinds), notes


