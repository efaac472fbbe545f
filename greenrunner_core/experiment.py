"""A budgeted selection run -> ExperimentResult, the baselines in the same shape, and re-ranking.

The result holds the ranking (estimated reward and uncertainty per model), the top 3, selection
counts, what was spent (calls, MACs, seconds, joules) and the same figures for brute force, so savings
can be reported. It also keeps the per-model observations, so new weights re-rank without new calls.
Energy figures carry their kind ("measured (RAPL)" / "estimated (time x W)"); brute-force energy is
extrapolated from the measured per-call energy and labelled so.
"""
from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from greenrunner_core.energy import (
    WORLD_AVERAGE,
    CarbonIntensity,
    EnergyLedger,
    combine_kinds,
    fmt_co2,
    fmt_joules,
    grams_co2,
    is_estimated,
)
from greenrunner_core.environment import Accounting, Environment, ModelFailedError
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.estimates import Z_95, accuracy_interval
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.reward import RewardModel, Weights
from greenrunner_core.strategies.base import BanditState, ProgressCallback, Strategy, validate_budget


@dataclass
class RankedModel:
    rank: int
    name: str
    family: str
    pulls: int                    # selection count: images this model was evaluated on
    est_accuracy: float | None    # on the target images seen (None = not evaluated)
    acc_low: float
    acc_high: float
    est_reward: float | None
    reward_low: float
    reward_high: float
    size_mb: float
    macs: int
    benchmark_accuracy: float | None
    exact: bool = False           # evaluated on every target image
    excluded: str | None = None   # reason when the model failed
    latency_ms: float | None = None   # median ms per image at batch 1 on this machine (when measured)


@dataclass
class Cost:
    calls: int = 0
    new_evaluations: int = 0
    cache_hits: int = 0
    macs: int = 0
    seconds: float = 0.0          # wall seconds of the computation done in this run
    compute_seconds: float = 0.0  # what the answered calls cost when computed (cache included)
    joules: float = 0.0           # energy the answered calls cost when computed (cache included)
    energy_calls: int = 0         # calls whose energy was recorded (older cache rows: extrapolated, see notes)
    spent_joules: float = 0.0     # energy spent computing in this run (forward passes + model loads)
    energy_kind: str = ""         # "measured (RAPL)", "estimated (time x W)", "mixed: ...", "" = not measured


@dataclass
class Savings:
    calls_pct: float              # spent / brute force, in %
    macs_pct: float
    seconds_pct: float
    calls_saved: int
    macs_saved: int
    seconds_saved: float
    joules_pct: float = 0.0
    joules_saved: float = 0.0
    co2_saved_g: float = 0.0


@dataclass
class ExperimentResult:
    strategy: str
    params: dict[str, Any]
    weights: dict[str, float]
    budget: int
    n_models: int
    n_images: int
    dataset: str
    ranking: list[RankedModel]
    spent: Cost
    brute_force: Cost             # calls/MACs exact; seconds extrapolated from measured per-call seconds
    per_model: dict[str, Cost]
    observations: dict[str, tuple[int, int]]   # name -> (images evaluated, correct)
    excluded: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False
    stop_reason: str = ""
    wall_seconds: float = 0.0
    use_case: str = ""
    confidence: float = 0.95
    energy_kind: str = ""         # kind of the energy figures ("" = energy not measured, e.g. a replay)
    energy_detail: str = ""       # how the meter works (e.g. "CPU seconds x 10 W per busy core")
    carbon_g_per_kwh: float = WORLD_AVERAGE.g_per_kwh
    carbon_source: str = WORLD_AVERAGE.source
    latency: dict[str, dict[str, Any]] = field(default_factory=dict)    # name -> LatencyStats as a dict
    variants: dict[str, dict[str, str]] = field(default_factory=dict)   # variant -> {"base", "tactic", "note"}

    @property
    def top3(self) -> list[RankedModel]:
        return [r for r in self.ranking if r.excluded is None and r.pulls > 0][:3]

    @property
    def best(self) -> RankedModel | None:
        top = self.top3
        return top[0] if top else None

    @property
    def savings(self) -> Savings:
        bf, sp = self.brute_force, self.spent
        pct = lambda a, b: 100.0 * a / b if b else 0.0
        joules_saved = max(bf.joules - sp.joules, 0.0)
        return Savings(calls_pct=pct(sp.calls, bf.calls), macs_pct=pct(sp.macs, bf.macs),
                       seconds_pct=pct(sp.compute_seconds, bf.compute_seconds),
                       calls_saved=bf.calls - sp.calls, macs_saved=bf.macs - sp.macs,
                       seconds_saved=max(bf.compute_seconds - sp.compute_seconds, 0.0),
                       joules_pct=pct(sp.joules, bf.joules), joules_saved=joules_saved,
                       co2_saved_g=self.co2_g(joules_saved))

    @property
    def carbon(self) -> CarbonIntensity:
        return CarbonIntensity(self.carbon_g_per_kwh, self.carbon_source)

    @property
    def energy_measured(self) -> bool:
        """Energy figures exist for this run (live runs; replays of matrices without energy have none)."""
        return bool(self.energy_kind)

    def co2_g(self, joules: float) -> float:
        return grams_co2(joules, self.carbon)

    def energy_summary(self) -> dict[str, Any]:
        """Energy spent and saved against brute force, in joules and grams CO2, with their labels."""
        sp, bf, sv = self.spent, self.brute_force, self.savings
        return {"kind": self.energy_kind, "estimated": is_estimated(self.energy_kind), "detail": self.energy_detail,
                "spent_joules": sp.joules, "spent_now_joules": sp.spent_joules, "brute_force_joules": bf.joules,
                "brute_force_label": "extrapolated from measured per-call energy", "saved_joules": sv.joules_saved,
                "spent_pct": sv.joules_pct, "spent_co2_g": self.co2_g(sp.joules),
                "brute_force_co2_g": self.co2_g(bf.joules), "saved_co2_g": sv.co2_saved_g,
                "carbon_g_per_kwh": self.carbon_g_per_kwh, "carbon_source": self.carbon_source}

    def energy_lines(self) -> list[str]:
        """Plain-text lines on energy and CO2 for every front door (empty when energy was not measured)."""
        if not self.energy_measured:
            return []
        sp, bf, sv = self.spent, self.brute_force, self.savings
        return [
            (f"energy: {fmt_joules(sp.joules)} of {fmt_joules(bf.joules)} for brute force, extrapolated "
             f"({sv.joules_pct:.1f} %), {fmt_joules(sv.joules_saved)} saved — {self.energy_kind}"),
            (f"CO2: {fmt_co2(self.co2_g(sp.joules))} of {fmt_co2(self.co2_g(bf.joules))} for brute force, "
             f"{fmt_co2(sv.co2_saved_g)} saved — at {self.carbon_g_per_kwh:g} g/kWh ({self.carbon_source})"),
            (f"energy spent computing in this run: {fmt_joules(sp.spent_joules)} (model loads included; "
             "cached calls cost nothing now)"),
        ]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["top3"] = [r.name for r in self.top3]
        data["savings"] = asdict(self.savings)
        data["observations"] = {k: list(v) for k, v in self.observations.items()}
        data["energy"] = self.energy_summary()
        return data

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExperimentResult:
        data = dict(data)
        data.pop("top3", None)
        data.pop("savings", None)
        data.pop("energy", None)
        data["ranking"] = [RankedModel(**r) for r in data["ranking"]]
        data["spent"] = Cost(**data["spent"])
        data["brute_force"] = Cost(**data["brute_force"])
        data["per_model"] = {k: Cost(**v) for k, v in data["per_model"].items()}
        data["observations"] = {k: (int(v[0]), int(v[1])) for k, v in data["observations"].items()}
        return cls(**data)


def reward_model_for(cards: Sequence[ModelCard], weights: Weights) -> RewardModel:
    """Eq. 1 over this candidate set (normalisation uses exactly these models)."""
    names = [c.name for c in cards]
    known: dict[str, list[float]] = {}
    for metric in {m for c in cards for m in c.known_metrics()}:
        values = [c.known_metrics().get(metric) for c in cards]
        if all(v is not None for v in values):
            known[metric] = [float(v) for v in values]  # type: ignore[arg-type]
    return RewardModel(weights, names, known)


def build_ranking(cards: Sequence[ModelCard], order: Sequence[int], pulls: np.ndarray, successes: np.ndarray,
                  n_images: int, reward_model: RewardModel, excluded: Mapping[int, str],
                  z: float = Z_95) -> list[RankedModel]:
    acc, low, high = accuracy_interval(pulls, successes, n_images, z)
    reward = reward_model.reward(acc)
    r_low, r_high = reward_model.reward(low), reward_model.reward(high)
    out = []
    for rank, i in enumerate(order, start=1):
        c = cards[i]
        seen = pulls[i] > 0
        out.append(RankedModel(
            rank=rank, name=c.name, family=c.family, pulls=int(pulls[i]),
            est_accuracy=float(acc[i]) if seen else None, acc_low=float(low[i]), acc_high=float(high[i]),
            est_reward=float(reward[i]) if seen else None, reward_low=float(r_low[i]), reward_high=float(r_high[i]),
            size_mb=float(c.size_mb), macs=int(c.macs), benchmark_accuracy=c.benchmark_accuracy,
            exact=bool(pulls[i] >= n_images), excluded=excluded.get(i),
            latency_ms=c.known_metrics().get("latency")))
    return out


def _cost_of(accounting: Accounting, energy: EnergyLedger | None = None) -> tuple[Cost, dict[str, Cost]]:
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


def fill_unrecorded_energy(cards: Sequence[ModelCard], per_model: Mapping[str, Cost], total: Cost) -> list[str]:
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
    return [(f"energy of {filled:,} cached calls recorded before energy was kept is extrapolated from the measured "
             "per-call energy")]


def brute_force_cost(cards: Sequence[ModelCard], n_images: int, per_model: Mapping[str, Cost]) -> tuple[Cost, list[str]]:
    """Brute force = every model on every image. Seconds are extrapolated from measured per-call seconds;
    models never evaluated get seconds-per-MAC of the measured ones."""
    notes: list[str] = []
    rates = {n: c.compute_seconds / c.calls for n, c in per_model.items() if c.calls and c.compute_seconds > 0}
    sec_per_mac = [rates[c.name] / c.macs for c in cards if c.name in rates]
    fallback = float(np.median(sec_per_mac)) if sec_per_mac else 0.0
    seconds = 0.0
    for c in cards:
        rate = rates.get(c.name, fallback * c.macs)
        seconds += rate * n_images
    if len(rates) < len(cards):
        notes.append(f"brute-force seconds extrapolated from measured per-call time ({len(rates)} of {len(cards)} "
                     "models measured; the rest scaled by MACs)")
    total_calls = len(cards) * n_images
    energy_rates, per_mac = _energy_rates(cards, per_model)
    joules = sum(energy_rates.get(c.name, per_mac * c.macs) * n_images for c in cards)
    kinds = combine_kinds(c.energy_kind for c in per_model.values())
    if energy_rates and len(energy_rates) < len(cards):
        notes.append(f"brute-force energy extrapolated from measured per-call energy ({len(energy_rates)} of "
                     f"{len(cards)} models measured; the rest scaled by MACs)")
    return Cost(calls=total_calls, new_evaluations=total_calls, macs=int(sum(c.macs for c in cards) * n_images),
                compute_seconds=seconds, seconds=seconds, joules=joules, energy_calls=total_calls if joules else 0,
                spent_joules=joules, energy_kind=kinds), notes


def _result(strategy: str, params: dict[str, Any], weights: Weights, budget: int, env: Environment, dataset: str,
            state_like: BanditState, ranking_order: Sequence[int], interrupted: bool, stop_reason: str,
            wall: float, use_case: str, extra_notes: Sequence[str] = ()) -> ExperimentResult:
    cards = env.cards
    ranking = build_ranking(cards, ranking_order, state_like.pulls, state_like.successes, state_like.n_images,
                            state_like.reward_model, state_like.excluded)
    ledger: EnergyLedger | None = getattr(env, "energy", None)
    spent, per_model = _cost_of(env.accounting, ledger)
    energy_notes = fill_unrecorded_energy(cards, per_model, spent) if ledger is not None else []
    brute, notes = brute_force_cost(cards, len(env.image_ids), per_model)
    excluded = {cards[i].name: reason for i, reason in state_like.excluded.items()}
    all_notes = list(extra_notes) + notes + energy_notes + [f"{n} excluded: {r}" for n, r in excluded.items()]
    energy_kind = spent.energy_kind if ledger is not None else ""
    carbon = ledger.carbon if ledger is not None else WORLD_AVERAGE
    if ledger is not None and is_estimated(energy_kind):
        all_notes.append(f"energy is {energy_kind or 'estimated'}: {ledger.detail or 'nothing could be measured'}")
    if interrupted:
        all_notes.append(stop_reason)
    return ExperimentResult(
        strategy=strategy, params=params, weights=dict(weights.values), budget=budget, n_models=len(cards),
        n_images=len(env.image_ids), dataset=dataset, ranking=ranking, spent=spent, brute_force=brute,
        per_model=per_model, observations={c.name: (int(state_like.pulls[i]), int(state_like.successes[i]))
                                           for i, c in enumerate(cards)},
        excluded=excluded, notes=all_notes, interrupted=interrupted, stop_reason=stop_reason, wall_seconds=wall,
        use_case=use_case, confidence=state_like.confidence, energy_kind=energy_kind,
        energy_detail=ledger.detail if ledger is not None else "", carbon_g_per_kwh=carbon.g_per_kwh,
        carbon_source=carbon.source)


def run_experiment(env: Environment, weights: Weights, strategy: Strategy, budget: int, *, dataset: str = "",
                   use_case: str = "", progress: ProgressCallback | None = None) -> ExperimentResult:
    """Run ``strategy`` on ``env`` under ``budget`` calls and report it with brute-force figures."""
    reward_model = reward_model_for(env.cards, weights)
    start = time.perf_counter()
    run = strategy.run(env, reward_model, budget, progress)
    return _result(strategy.name, strategy.params(), weights, budget, env, dataset, run.state, run.ranking,
                   run.interrupted, run.state.stop_reason or "", time.perf_counter() - start, use_case, run.notes)


def run_brute_force(env: Environment, weights: Weights, *, batch_size: int = 64, dataset: str = "",
                    use_case: str = "", progress: ProgressCallback | None = None) -> ExperimentResult:
    """Every model on every image: the exact answer, at full cost."""
    from greenrunner_core.strategies.base import ProgressEvent
    reward_model = reward_model_for(env.cards, weights)
    n_images = len(env.image_ids)
    budget = len(env.cards) * n_images
    state = BanditState([c.name for c in env.cards], n_images, reward_model, budget, np.random.default_rng(0))
    state.order = np.arange(n_images)
    start, interrupted = time.perf_counter(), False
    try:
        for arm in range(len(env.cards)):
            while state.pulls[arm] < n_images and arm not in state.excluded:
                images = state.next_images(arm, batch_size)
                try:
                    state.record(arm, env.pull(arm, images))
                except ModelFailedError as err:
                    state.exclude(arm, err.reason)
                if progress:
                    leader = state.leader()
                    progress(ProgressEvent(state.spent, budget, env.cards[arm].name, int(images.size),
                                           None if leader is None else env.cards[leader].name, state.counts()))
    except KeyboardInterrupt:
        interrupted = True
    est = np.nan_to_num(state.reward(), nan=-np.inf)
    order = sorted(range(len(env.cards)), key=lambda a: (a in state.excluded, -est[a], a))
    reason = "interrupted (Ctrl-C)" if interrupted else "every model evaluated on every image"
    return _result("brute_force", {"batch_size": batch_size}, weights, budget, env, dataset, state, order,
                   interrupted, reason, time.perf_counter() - start, use_case)


def run_benchmark_card(env: Environment, weights: Weights, *, batch_size: int = 64, dataset: str = "",
                       use_case: str = "") -> ExperimentResult:
    """Pick by published (benchmark) accuracy plus the known metrics; evaluate only that pick on the target."""
    cards = env.cards
    reward_model = reward_model_for(cards, weights)
    with_bench = [i for i, c in enumerate(cards) if c.benchmark_accuracy is not None]
    notes = []
    if not with_bench:
        raise GreenRunnerError("no candidate publishes a benchmark accuracy, so the benchmark-card baseline cannot pick")
    if len(with_bench) < len(cards):
        notes.append(f"{len(cards) - len(with_bench)} models have no published accuracy and were not considered")
    card_reward = reward_model.reward(np.array([cards[i].benchmark_accuracy for i in with_bench]),
                                      np.array(with_bench))
    order = [with_bench[k] for k in np.argsort(-card_reward, kind="stable")]
    n_images = len(env.image_ids)
    state = BanditState([c.name for c in cards], n_images, reward_model, n_images, np.random.default_rng(0))
    state.order = np.arange(n_images)
    start = time.perf_counter()
    for pick in order:   # if the pick fails, fall back to the next card
        try:
            while state.pulls[pick] < n_images:
                state.record(pick, env.pull(pick, state.next_images(pick, batch_size)))
            break
        except ModelFailedError as err:
            state.exclude(pick, err.reason)
    ranked = order + [i for i in range(len(cards)) if i not in order]
    ranked = [i for i in ranked if i not in state.excluded] + list(state.excluded)
    return _result("benchmark_card", {"batch_size": batch_size}, weights, n_images, env, dataset, state, ranked,
                   False, "picked by published accuracy", time.perf_counter() - start, use_case, notes)


@dataclass
class Rerank:
    """New ranking from the same observations under new weights, and whether the cache settles it."""

    weights: dict[str, float]
    ranking: list[RankedModel]
    settled: bool
    calls_to_settle: int
    contenders: list[str]

    @property
    def top3(self) -> list[RankedModel]:
        return [r for r in self.ranking if r.excluded is None and r.pulls > 0][:3]


def calls_to_resolve(acc: float, pulls: int, n_images: int, half_width: float, z: float = Z_95) -> int:
    """More images a model needs before its accuracy interval half-width is <= ``half_width``."""
    if pulls >= n_images:
        return 0
    p = min(max(acc, 0.02), 0.98)
    if half_width <= 0:
        return n_images - pulls
    ratio = (half_width / z) ** 2 / (p * (1 - p))
    needed = math.ceil(n_images / (1 + (n_images - 1) * ratio))
    return max(0, min(n_images, needed) - pulls)


def rerank(result: ExperimentResult, cards: Sequence[ModelCard], weights: Weights) -> Rerank:
    """Re-rank a finished run under new weights from its observations only (0 new evaluations)."""
    by_name = {c.name: c for c in cards}
    missing = [n for n in result.observations if n not in by_name]
    if missing:
        raise GreenRunnerError(f"cannot re-rank: no model card for {', '.join(missing)}")
    cards = [by_name[n] for n in result.observations]
    reward_model = reward_model_for(cards, weights)
    pulls = np.array([result.observations[c.name][0] for c in cards])
    successes = np.array([result.observations[c.name][1] for c in cards])
    excluded = {i: result.excluded[c.name] for i, c in enumerate(cards) if c.name in result.excluded}
    acc, low, high = accuracy_interval(pulls, successes, result.n_images)
    est = reward_model.reward(acc)
    r_low, r_high = reward_model.reward(low), reward_model.reward(high)
    alive = [i for i in range(len(cards)) if i not in excluded]
    seen = [i for i in alive if pulls[i] > 0]
    order = sorted(seen, key=lambda i: -est[i]) + [i for i in alive if pulls[i] == 0] + list(excluded)
    leader = order[0]
    contenders = [i for i in alive if i != leader and r_high[i] > r_low[leader]]
    calls = 0
    if contenders and reward_model.accuracy_weight > 0:
        for i in contenders + [leader]:
            other = est[i] if i != leader else est[contenders[0]]
            gap = float(abs(est[leader] - other)) if pulls[i] and np.isfinite(other) else 0.0  # unseen: no gap known
            calls += calls_to_resolve(float(np.nan_to_num(acc[i], nan=0.5)), int(pulls[i]), result.n_images,
                                      gap / (2 * reward_model.accuracy_weight))
    ranking = build_ranking(cards, order, pulls, successes, result.n_images, reward_model, excluded)
    return Rerank(weights=dict(weights.values), ranking=ranking, settled=not contenders,
                  calls_to_settle=int(calls), contenders=[cards[i].name for i in contenders])


def validate_run(budget: int, n_models: int, n_images: int) -> None:
    validate_budget(budget, n_models, n_images)
