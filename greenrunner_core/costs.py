"""What a run cost and what brute force would cost: calls, MACs, seconds and joules, per model and in total.

Brute-force seconds and energy are extrapolated from the measured per-call figures, which exclude one-time costs
(model loads and their warm-up: brute force pays those once per model, not once per image); models never evaluated
get a rate from their measured latency or a power law in MACs fitted on the measured ones (``call_rates.py``).
Calls answered from cache rows older than energy recording get the measured per-call energy.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict
from typing import Literal

import numpy as np

from greenrunner_core.batch_rates import BatchCosts, rates_at_batch
from greenrunner_core.call_rates import RateBasis, call_rates
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


def _energy_rates(cards: Sequence[ModelCard], per_model: Mapping[str, Cost]) -> tuple[dict[str, float], RateBasis]:
    """Joules per call of every model: measured where energy was recorded, else extrapolated (``call_rates``)."""
    return call_rates(cards, {n: c.joules / c.energy_calls for n, c in per_model.items()
                              if c.energy_calls and c.joules > 0}, throughput=None)


def _note(quantity: Literal["seconds", "energy"], basis: RateBasis, total: int, batch: int) -> BruteForceExtrapolated:
    return BruteForceExtrapolated(quantity, basis.measured, total, from_latency=basis.from_latency,
                                  mac_exponent=basis.mac_exponent if basis.by_macs else None, fitted=basis.fitted,
                                  one_time_excluded=True, batch=batch, macs_per_second=basis.macs_per_second,
                                  via_seconds=basis.via_seconds)


def fill_unrecorded_energy(cards: Sequence[ModelCard], per_model: Mapping[str, Cost], total: Cost) -> list[RunNote]:
    """Calls answered from cache rows written before energy was recorded: extrapolate their energy (in place)."""
    rates, _ = _energy_rates(cards, per_model)
    filled = 0
    for name, cost in per_model.items():
        missing = cost.calls - cost.energy_calls
        rate = rates.get(name, 0.0)
        if missing <= 0 or rate <= 0:
            continue
        cost.joules += rate * missing
        filled += missing
    if not filled:
        return []
    total.joules = sum(c.joules for c in per_model.values())
    return [CachedEnergyExtrapolated(filled)]


def _measured(per_call: Mapping[str, float], by_batch: Mapping[str, BatchCosts], batch: int,
              complete: Collection[str] = ()) -> dict[str, float]:
    """Measured per-call rates, priced at brute force's batch size where the calls' batch sizes are known; a model
    evaluated on every image (``complete``) keeps its measured mean: that is what brute force paid for it."""
    priced = rates_at_batch({n: c for n, c in by_batch.items() if n not in complete}, batch) if batch else {}
    return {**per_call, **priced}


def _joules_per_call(cards: Sequence[ModelCard], measured: Mapping[str, float], seconds: Mapping[str, float],
                     seconds_basis: RateBasis) -> tuple[dict[str, float], RateBasis]:
    """Joules per call: measured where recorded; the others their per-call seconds (measured or extrapolated) times
    the median joules per second of the models with both (energy follows time); none: extrapolated like seconds."""
    watts = [measured[c.name] / seconds[c.name] for c in cards if measured.get(c.name, 0) > 0 and seconds.get(c.name, 0) > 0]
    if not watts:
        return call_rates(cards, measured, throughput=None)
    power = float(np.median(watts))
    rates = {c.name: measured[c.name] if measured.get(c.name, 0) > 0 else power * seconds.get(c.name, 0.0) for c in cards}
    n = sum(1 for c in cards if measured.get(c.name, 0) > 0)
    return rates, RateBasis(n, 0, len(cards) - n, seconds_basis.mac_exponent, seconds_basis.fitted,
                            seconds_basis.macs_per_second, via_seconds=True)


def brute_force_cost(cards: Sequence[ModelCard], n_images: int, per_model: Mapping[str, Cost],
                     accounting: Accounting | None = None) -> tuple[Cost, list[RunNote]]:
    """Brute force = every model on every image: each model's per-call seconds and joules (one-time costs
    excluded; at the evaluation batch size when ``accounting`` knows the batch sizes) times the images. Models never
    evaluated get extrapolated rates (``call_rates``), said in a note."""
    notes: list[RunNote] = []
    batch = accounting.eval_batch if accounting is not None else 0
    by_batch_s = accounting.seconds_by_batch if accounting is not None else {}
    by_batch_j = accounting.joules_by_batch if accounting is not None else {}
    complete = {n for n, c in per_model.items() if c.calls >= n_images}
    rates, basis = call_rates(cards, _measured({n: c.compute_seconds / c.calls for n, c in per_model.items()
                                                if c.calls and c.compute_seconds > 0}, by_batch_s, batch, complete))
    seconds = sum(rates.values()) * n_images
    partial = sum(c.calls for c in per_model.values()) < len(cards) * n_images   # not every call was made
    if basis.measured < len(cards) or (partial and by_batch_s):
        notes.append(_note("seconds", basis, len(cards), batch))
    total_calls = len(cards) * n_images
    measured_j = _measured({n: c.joules / c.energy_calls for n, c in per_model.items()
                            if c.energy_calls and c.joules > 0}, by_batch_j, batch, complete)
    energy_rates, energy_basis = _joules_per_call(cards, measured_j, rates, basis)
    joules = sum(energy_rates.values()) * n_images
    kinds = combine_kinds(c.energy_kind for c in per_model.values())
    if 0 < energy_basis.measured and (energy_basis.measured < len(cards) or (partial and by_batch_j)):
        notes.append(_note("energy", energy_basis, len(cards), batch))
    return Cost(calls=total_calls, new_evaluations=total_calls, macs=int(sum(c.macs for c in cards) * n_images),
                compute_seconds=seconds, seconds=seconds, joules=joules, energy_calls=total_calls if joules else 0,
                spent_joules=joules, energy_kind=kinds), notes
