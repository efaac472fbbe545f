"""Energy per evaluation: RAPL on a fake powercap tree (wraparound included), the labelled estimate when nothing can be
measured, energy stored with each cached outcome (and the migration of older caches), spent/saved against brute
force, CO2, and the CodeCarbon/NVML meters the front doors inject."""
from __future__ import annotations

import json
import pickle
import sqlite3
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from greenrunner_core import energy
from greenrunner_core.baselines import run_brute_force
from greenrunner_core.costs import brute_force_cost
from greenrunner_core.data import load_target
from greenrunner_core.energy import (
    ESTIMATED,
    MEASURED_NVML,
    MEASURED_RAPL,
    NOT_MEASURED,
    EnergyReading,
    EnergyUnavailableError,
    EstimatedMeter,
    MeterInfo,
    RaplMeter,
    combine_kinds,
    default_meter,
    is_estimated,
    rapl_delta_uj,
    rapl_domains,
)
from greenrunner_core.energy_ledger import WORLD_AVERAGE, CarbonIntensity, grams_co2
from greenrunner_core.evaluator import LiveEnvironment
from greenrunner_core.experiment import run_experiment
from greenrunner_core.notes import BruteForceExtrapolated, CachedEnergyExtrapolated, EnergyEstimated
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.registry.base import Registry
from greenrunner_core.registry.card import ModelCard, Preprocess
from greenrunner_core.result import Cost, ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tools.energy_text import energy_summary, kind_words, meter_words, report_dict, report_json
from tools.formatting import fmt_co2, fmt_joules
from tools.notes_text import words
from tools.text import energy_lines
from ui.present.html import html_report
from ui.present.markdown import markdown_report, savings_markdown
from ui.present.terminal import terminal_report

ESTIMATED_WORDS, RAPL_WORDS = "estimated (time x W)", "measured (RAPL)"     # how the kinds read on every screen

LABELS = ("dark", "light")
PRE = Preprocess(crop=(6, 6), mean=(0.5,), std=(0.5,), channels=1)


# ------------------------------------------------------------------------------------------------ fixtures


class Brightness(nn.Module):
    """Fixed weights: mean pixel -> (dark, light) logits; ``flip`` swaps them (a bad model)."""

    def __init__(self, flip: bool) -> None:
        super().__init__()
        self.fc = nn.Linear(1, 2)
        with torch.no_grad():
            sign = -1.0 if flip else 1.0
            self.fc.weight.copy_(torch.tensor([[-4.0 * sign], [4.0 * sign]]))
            self.fc.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(1, 2, 3)).unsqueeze(1))


@dataclass
class BrightSource:
    name: str = "bright"

    def cards(self) -> list[ModelCard]:
        return [ModelCard(name=n, source=self.name, family="toy", params=4, size_mb=0.001 * (i + 1), macs=10 * (i + 1),
                          preprocess=PRE, class_labels=LABELS, weights_id=f"{n}-w") for i, n in enumerate(("good", "bad"))]

    def load(self, card: ModelCard) -> nn.Module:
        return Brightness(flip=card.name == "bad").eval()


def _images(root: Path, per_class: int = 12) -> Path:
    rng = np.random.default_rng(0)
    for label, level in (("dark", 40), ("light", 210)):
        (root / label).mkdir(parents=True, exist_ok=True)
        for k in range(per_class):
            arr = np.clip(level + rng.integers(-20, 20, (7, 7)), 0, 255).astype(np.uint8)
            Image.fromarray(arr, mode="L").save(root / label / f"{label}{k}.png")
    return root


@dataclass
class FixedMeter:
    """Deterministic meter: every span costs ``joules`` (stands in for a real counter)."""

    joules: float = 1.6
    kind: str = MEASURED_RAPL
    info: MeterInfo = field(default_factory=lambda: MeterInfo("test meter"))
    spans: int = field(default=0, compare=False)

    def start(self) -> None:
        pass

    def stop(self) -> EnergyReading:
        self.spans += 1
        return EnergyReading(self.joules, 0.01, self.kind, self.info)


@pytest.fixture()
def dataset(tmp_path):
    return load_target(_images(tmp_path / "imgs"))


@pytest.fixture()
def cache(tmp_path):
    with OutcomeCache(tmp_path / "outcomes.sqlite") as c:
        yield c


def _env(dataset, cache, meter, carbon=None, batch_size=8):
    registry = Registry([BrightSource()])
    return LiveEnvironment(registry, registry.cards(), dataset, cache, batch_size=batch_size, meter=meter, carbon=carbon)


# --------------------------------------------------------------------------------------------------- RAPL


def _zone(root: Path, name: str, label: str, uj: int, max_uj: int = 1_000_000, readable: bool = True) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(label + "\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    (zone / "energy_uj").write_text(f"{uj}\n" if readable else "not a number\n")
    return zone


def test_rapl_reads_package_zones_only_and_handles_wraparound(tmp_path):
    root = tmp_path / "powercap"
    pkg0 = _zone(root, "intel-rapl:0", "package-0", 999_000)
    _zone(root, "intel-rapl:0:0", "core", 5)                       # a sub-zone: already inside package-0
    pkg1 = _zone(root, "intel-rapl:1", "package-1", 10)
    _zone(root, "intel-rapl:2", "package-2", 0, readable=False)   # unreadable zones are skipped
    assert [d.name for d in rapl_domains(root)] == ["package-0", "package-1"]

    meter = RaplMeter(str(root))
    assert meter.kind == MEASURED_RAPL and "package-0" in meter_words(meter.info)
    assert meter.info == MeterInfo("rapl", counters=("package-0", "package-1"))
    assert meter_words(meter.info) == "CPU package counters: package-0, package-1"
    meter.start()
    (pkg0 / "energy_uj").write_text("500\n")        # wrapped: 999_000 -> 1_000_000 (max) -> 500
    (pkg1 / "energy_uj").write_text("2000010\n")     # 2 J later, no wrap
    reading = meter.stop()
    assert reading.joules == pytest.approx((1_000_000 - 999_000 + 500 + 2_000_000) / 1e6)
    assert reading.kind == MEASURED_RAPL
    assert rapl_delta_uj(10, 20, 100) == 10 and rapl_delta_uj(90, 5, 100) == 15
    with pytest.raises(RuntimeError, match="before start"):
        meter.stop()
    assert pickle.loads(pickle.dumps(meter)).root == str(root)


def test_no_readable_rapl_falls_back_to_a_labelled_estimate(tmp_path):
    with pytest.raises(EnergyUnavailableError, match="chmod"):
        RaplMeter(str(tmp_path / "nothing"))
    meter = default_meter(tmp_path / "nothing")
    assert isinstance(meter, EstimatedMeter) and meter.kind == ESTIMATED
    assert "no readable RAPL" in meter_words(meter.info) and "W per busy core" in meter_words(meter.info)
    assert meter.info == MeterInfo("estimate", watts_per_core=10.0, default_watts=True,
                                   no_rapl_under=str(tmp_path / "nothing"))
    assert is_estimated(meter.kind) and not is_estimated(MEASURED_RAPL)
    assert is_estimated("") and is_estimated(combine_kinds([MEASURED_RAPL, ESTIMATED]))
    assert kind_words(combine_kinds([ESTIMATED, MEASURED_RAPL, ESTIMATED])) == f"mixed: {RAPL_WORDS} + {ESTIMATED_WORDS}"


def test_estimate_is_cpu_seconds_times_watts(monkeypatch):
    clock = iter([100.0, 102.5])
    monkeypatch.setattr(energy.time, "process_time", lambda: next(clock))
    meter = EstimatedMeter(watts_per_core=8.0)
    meter.start()
    assert meter.stop().joules == pytest.approx(2.5 * 8.0)
    monkeypatch.setenv(energy.WATTS_ENV, "12")          # the core reads no environment: the front doors' settings do
    assert EstimatedMeter().watts_per_core == energy.DEFAULT_WATTS_PER_CORE
    assert energy.WATTS_ENV in meter_words(EstimatedMeter().info) and EstimatedMeter().info.default_watts
    assert meter.info == MeterInfo("estimate", watts_per_core=8.0)
    assert meter_words(meter.info) == "CPU seconds x 8 W per busy core"
    assert meter_words(EstimatedMeter().info) == ("CPU seconds x 10 W per busy core (default; set "
                                                  f"{energy.WATTS_ENV} to your CPU's TDP / cores)")
    with pytest.raises(EnergyUnavailableError, match="watts_per_core=-1"):
        EstimatedMeter(watts_per_core=-1.0)


def test_co2_and_formatting():
    assert grams_co2(3.6e6) == pytest.approx(475.0)                       # 1 kWh at the world average
    assert grams_co2(3.6e6, CarbonIntensity(56.0, "FRA")) == pytest.approx(56.0)
    assert fmt_joules(0.0123) == "12.3 mJ" and fmt_joules(12.3) == "12.3 J" and fmt_joules(4.5e3) == "4.5 kJ"
    assert fmt_co2(0.0042) == "4.2 mg CO2e" and fmt_co2(2.0) == "2 g CO2e"
    with pytest.raises(Exception, match=">= 0"):
        CarbonIntensity(-1.0, "bad")


# ---------------------------------------------------------------------------------------- cache + migration


OLD_SCHEMA = """CREATE TABLE outcomes (model TEXT NOT NULL, weights_id TEXT NOT NULL, preprocess_id TEXT NOT NULL,
image_id TEXT NOT NULL, prediction INTEGER NOT NULL, prob REAL NOT NULL, seconds REAL NOT NULL, created REAL NOT NULL,
PRIMARY KEY (model, weights_id, preprocess_id, image_id)) WITHOUT ROWID"""


def test_an_older_cache_gains_the_energy_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(OLD_SCHEMA)
        conn.execute("INSERT INTO outcomes VALUES ('m','w','p','img1',3,0.9,0.01,0)")
    with OutcomeCache(path) as cache:
        assert cache.get_many("m", "w", "p", ["img1"]) == {"img1": Outcome(3, 0.9, 0.01, None, None)}
        cache.put_many("m", "w", "p", {"img2": Outcome(1, 0.5, 0.02, 0.004, ESTIMATED)})
        got = cache.get_many("m", "w", "p", ["img1", "img2"])
        assert got["img2"].joules == pytest.approx(0.004) and got["img2"].energy_kind == ESTIMATED
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(outcomes)")]
    assert columns[-3:] == ["joules", "energy_kind", "batch"]
    with OutcomeCache(path) as again:            # opening a migrated cache again changes nothing
        assert again.stats().rows == 2


def test_calls_answered_by_pre_energy_rows_are_extrapolated_and_said(dataset, cache):
    meter = FixedMeter(joules=0.8)
    env = _env(dataset, cache, meter)
    card = env.cards[0]
    # half of "good"'s outcomes were cached by an older version (no energy)
    old = {img.id: Outcome(0, 0.9, 0.001) for img in dataset.images[:12]}
    cache.put_many(card.name, card.weights_id, card.preprocess.id, old)
    result = run_brute_force(env, Weights({"accuracy": 1.0}), batch_size=8)
    good = result.per_model["good"]
    assert good.energy_calls == len(dataset.images) - 12             # 12 computed now: batches of 8 and 4
    assert CachedEnergyExtrapolated(12) in result.notes
    assert any("recorded before energy was kept is extrapolated" in n for n in words(result.notes))
    rate = 2 * 0.8 / 12                                                 # the measured joules per call
    assert good.joules == pytest.approx(rate * len(dataset.images))     # the 12 old calls at the same rate


# ------------------------------------------------------------------------------------ energy through a run


def test_energy_is_measured_per_batch_stored_and_reported_from_the_cache(dataset, cache):
    meter = FixedMeter(joules=1.6)
    env = _env(dataset, cache, meter, carbon=CarbonIntensity(100.0, "test grid"))
    result = run_brute_force(env, Weights({"accuracy": 1.0}), batch_size=8)
    n = len(dataset.images)
    for name in ("good", "bad"):
        cost = result.per_model[name]
        assert cost.energy_calls == cost.calls == n
        assert cost.joules == pytest.approx(1.6 * n / 8)                 # 1.6 J per batch of 8
        assert cost.spent_joules == pytest.approx(1.6 * n / 8 + 1.6)     # + the model load, measured on its own
        assert cost.energy_kind == MEASURED_RAPL
    rows = cache.get_many("good", "good-w", PRE.id, [img.id for img in dataset.images])
    assert all(o.joules == pytest.approx(0.2) and o.energy_kind == MEASURED_RAPL for o in rows.values())
    assert result.energy_kind == MEASURED_RAPL and result.brute_force.joules == pytest.approx(result.spent.joules)
    assert result.co2_g(3.6e6) == pytest.approx(100.0)

    # the same run again: nothing computed, nothing spent, but the calls still cost what they cost
    again_env = _env(dataset, cache, FixedMeter(joules=99.0))
    again = run_brute_force(again_env, Weights({"accuracy": 1.0}), batch_size=8)
    assert again.spent.new_evaluations == 0 and again.spent.spent_joules == 0
    assert again.spent.joules == pytest.approx(result.spent.joules)


def test_spent_and_saved_against_brute_force_extrapolated(dataset, cache):
    env = _env(dataset, cache, FixedMeter(joules=1.6))
    result = run_experiment(env, Weights({"accuracy": 1.0}), make_strategy("successive_halving", seed=0, batch_size=8),
                            budget=24)
    n = len(dataset.images)
    assert result.spent.calls == 24 and result.spent.joules == pytest.approx(24 * 0.2)
    assert result.brute_force.joules == pytest.approx(2 * n * 0.2)       # per-call energy x every call
    sv = result.savings
    assert sv.joules_saved == pytest.approx(result.brute_force.joules - result.spent.joules)
    assert sv.co2_saved_g == pytest.approx(grams_co2(sv.joules_saved, WORLD_AVERAGE))
    assert sv.joules_pct == pytest.approx(100 * 24 / (2 * n))


def test_brute_force_energy_of_unmeasured_models_scales_by_macs():
    cards = BrightSource().cards()                 # macs 10 and 20
    per_model = {"good": Cost(calls=10, joules=1.0, energy_calls=10, compute_seconds=0.1, energy_kind=ESTIMATED)}
    cost, notes = brute_force_cost(cards, 100, per_model)
    # one model size measured: an unmeasured model's energy is its estimated time x the measured joules per second,
    # and its time the measured per-call time plus its extra MACs at 10 GMAC/s at most (proportional scaling from one
    # small model overstated large ones hundredfold on the demo zoo); fitted powers: test_brute_force_estimate.py
    assert cost.joules == pytest.approx(0.1 * 100 + (0.1 + 10 * 10 / 1e10) * 100)
    assert BruteForceExtrapolated("energy", 1, 2, mac_exponent=1.0, one_time_excluded=True, macs_per_second=1e10,
                                  via_seconds=True) in notes
    assert any("brute-force energy extrapolated" in n for n in words(notes))


def test_estimated_label_everywhere_when_nothing_can_be_measured(tmp_path, dataset, cache):
    meter = default_meter(tmp_path / "no-powercap")
    env = _env(dataset, cache, meter)
    result = run_experiment(env, Weights({"accuracy": 1.0, "size": 0.2}),
                            make_strategy("energy_halving", seed=0, batch_size=8), budget=30)
    assert result.energy_kind == ESTIMATED and energy_summary(result)["estimated"]
    assert any(isinstance(n, EnergyEstimated) and n.energy_kind == ESTIMATED for n in result.notes)
    assert any(n.startswith("energy is estimated") for n in words(result.notes))
    assert all(line.endswith(ESTIMATED_WORDS) for line in energy_lines(result)[:1])
    assert ESTIMATED_WORDS in terminal_report(result)
    assert ESTIMATED_WORDS in markdown_report(result)
    savings = savings_markdown(result)
    assert "| energy |" in savings and "| CO2 |" in savings and f"Energy is {ESTIMATED_WORDS}" in savings
    assert "extrapolated" in savings
    html = html_report(result, tmp_path / "r.html").read_text()
    assert "estimated (time x W)" in html and "Energy per model" in html     # no latency was measured in this run
    assert result.energy_detail == meter.info and meter_words(result.energy_detail).startswith("CPU seconds x 10 W")
    data = json.loads(report_json(result))
    assert data["energy"]["kind"] == ESTIMATED_WORDS and data["energy"]["estimated"] is True
    assert data["energy"]["brute_force_label"].startswith("extrapolated")
    assert data["energy"]["detail"] == meter_words(meter.info) and "energy" not in result.to_dict()
    back = ExperimentResult.from_dict(data)
    assert back.energy_detail == meter.info
    assert back.energy_kind == ESTIMATED and back.spent.joules == pytest.approx(result.spent.joules)


def test_results_saved_before_energy_existed_still_load():
    from greenrunner_core.replay import ReplayEnvironment
    from tests.conftest import synthetic_matrix
    result = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                            make_strategy("ucb1", seed=0, batch_size=8), budget=200)
    data = report_dict(result)
    for key in ("energy_kind", "energy_detail", "carbon_g_per_kwh", "carbon_source", "latency", "variants", "energy"):
        data.pop(key)                                   # what a JSON written before this version lacks
    for cost in [data["spent"], data["brute_force"], *data["per_model"].values()]:
        for key in ("joules", "energy_calls", "spent_joules", "energy_kind"):
            cost.pop(key)
    for r in data["ranking"]:
        r.pop("latency_ms")
    old = ExperimentResult.from_dict(data)
    assert old.energy_kind == NOT_MEASURED and not old.energy_measured and energy_lines(old) == []
    assert old.spent.calls == result.spent.calls and old.savings.joules_saved == 0
    assert "not measured" in savings_markdown(old)


# --------------------------------------------------------------------------------- injected meters (tools)


def test_codecarbon_meter_measures_offline_and_labels_its_method():
    pytest.importorskip("codecarbon")
    from tools.energy import CodeCarbonMeter, carbon_intensity_for, meter_for
    meter = CodeCarbonMeter(country_iso_code="FRA")
    assert meter.info.source == "codecarbon" and meter_words(meter.info).startswith("CodeCarbon:")
    assert meter.kind in (ESTIMATED, MEASURED_RAPL)
    meter.start()
    sum(range(200_000))
    reading = meter.stop()
    assert reading.joules > 0 and reading.kind == meter.kind
    clone = pickle.loads(pickle.dumps(meter))                  # the tracker is rebuilt in the receiving process
    clone.start()
    assert clone.stop().joules >= 0
    fra = carbon_intensity_for("fra")
    assert 0 < fra.g_per_kwh < 200 and "France" in fra.source
    assert carbon_intensity_for(None) == WORLD_AVERAGE
    with pytest.raises(Exception, match="did you mean FRA"):
        carbon_intensity_for("FRANCE")
    with pytest.raises(Exception, match="did you mean codecarbon"):
        meter_for("codecarbn")
    auto, line = meter_for("auto")
    assert line.startswith("energy: ") and auto.kind in (ESTIMATED, MEASURED_RAPL)


def test_nvml_meter_sums_gpu_counters(monkeypatch):
    counters = {0: [1000, 4000], 1: [50, 550]}
    reads = {0: 0, 1: 0}

    def energy_of(handle):
        value = counters[handle][min(reads[handle], 1)]
        reads[handle] += 1
        return value

    fake = types.SimpleNamespace(nvmlInit=lambda: None, nvmlDeviceGetCount=lambda: 2,
                                 nvmlDeviceGetHandleByIndex=lambda i: i,
                                 nvmlDeviceGetTotalEnergyConsumption=energy_of)
    monkeypatch.setitem(sys.modules, "pynvml", fake)
    from tools.energy import NvmlMeter
    meter = NvmlMeter()
    reads.update({0: 0, 1: 0})
    meter.start()
    reading = meter.stop()
    assert meter.info == MeterInfo("nvml", counters=("0", "1"))
    assert meter_words(meter.info) == "NVML total energy of GPU(s) 0, 1" and reading.meter == meter.info
    assert reading.kind == MEASURED_NVML and kind_words(reading.kind) == "measured (NVML)" and reading.joules == pytest.approx((3000 + 500) / 1e3)
    monkeypatch.setitem(sys.modules, "pynvml", None)
    with pytest.raises(EnergyUnavailableError, match="nvidia-ml-py"):
        NvmlMeter()
