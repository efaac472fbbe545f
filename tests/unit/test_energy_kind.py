"""How an energy figure was obtained is a typed ``EnergyKind`` from the meter to the screen, worded only in tools/
(``kind_words``); runs, checkpoints and outcome-cache rows saved with the kind as words load as the same kind."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from greenrunner_core.energy_kind import (
    ESTIMATED,
    MEASURED_NVML,
    MEASURED_RAPL,
    NOT_MEASURED,
    EnergyKind,
    EnergyMethod,
    combine_kinds,
)
from greenrunner_core.experiment import run_experiment
from greenrunner_core.latency_stats import LatencyStats
from greenrunner_core.notes import EnergyEstimated, EnergyHalvingSummary, LatencyMeasured
from greenrunner_core.outcome_cache import Outcome, OutcomeCache
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from tools.energy_text import energy_summary, kind_words, report_dict
from tools.notes_text import word
from tools.result import CHECKPOINTED_TYPES, RunRecord

REPO = Path(__file__).resolve().parents[2]
MIXED_WORDS = "mixed: measured (RAPL) + estimated (time x W)"
STATS = LatencyStats(median_ms=2.5, p90_ms=3.0, batch_size=16, batch_median_ms=0.5, batch_p90_ms=0.6, repeats=20,
                     hardware="test CPU", hardware_id="abc", joules=1.5, energy_kind=MEASURED_RAPL)


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    run = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                         make_strategy("ucb1", seed=0, batch_size=8), budget=200)
    mixed = combine_kinds([MEASURED_RAPL, ESTIMATED])
    name = run.ranking[0].name
    return replace(run, energy_kind=mixed, spent=replace(run.spent, energy_kind=mixed),
                   per_model={**run.per_model, name: replace(run.per_model[name], energy_kind=ESTIMATED)},
                   latency={name: STATS},
                   notes=[*run.notes, EnergyEstimated(mixed, None), LatencyMeasured("test CPU", 20, 1.5, MEASURED_RAPL),
                          EnergyHalvingSummary(0.1, "joules", 8, (), None, ESTIMATED)])


def test_kinds_are_values_worded_in_tools():
    assert kind_words(MEASURED_RAPL) == "measured (RAPL)" and kind_words(MEASURED_NVML) == "measured (NVML)"
    assert kind_words(ESTIMATED) == "estimated (time x W)" and kind_words(NOT_MEASURED) == ""
    mixed = combine_kinds([ESTIMATED, MEASURED_RAPL, ESTIMATED, NOT_MEASURED])
    assert mixed.methods == (EnergyMethod.RAPL, EnergyMethod.ESTIMATE) and mixed.mixed and mixed.estimated
    assert kind_words(mixed) == MIXED_WORDS                           # estimated parts last, each once
    assert combine_kinds([MEASURED_RAPL, MEASURED_RAPL]) == MEASURED_RAPL and not MEASURED_RAPL.estimated
    assert combine_kinds([]) == NOT_MEASURED and not NOT_MEASURED and NOT_MEASURED.estimated
    assert {MEASURED_RAPL, EnergyKind((EnergyMethod.RAPL,))} == {MEASURED_RAPL}        # hashable, by value


def test_the_core_holds_no_words_of_a_kind():
    """Only the reader of runs saved before kinds were data knows the words (energy_kind.py's _SAVED_WORDS)."""
    for path in (REPO / "greenrunner_core").rglob("*.py"):
        if path.name == "energy_kind.py":
            continue
        text = path.read_text()
        assert "measured (RAPL)" not in text and "estimated (time x W)" not in text, path


def test_kinds_stay_typed_through_json_and_the_checkpointer(result):
    from agent.graph import checkpoint_serde
    assert {EnergyKind, EnergyMethod} <= set(CHECKPOINTED_TYPES)
    data = json.loads(json.dumps(report_dict(result)))
    assert data["energy"]["kind"] == MIXED_WORDS and data["energy"]["estimated"] is True
    back = ExperimentResult.from_dict(data)
    assert back.energy_kind == result.energy_kind and back.spent.energy_kind == result.spent.energy_kind
    assert back.per_model == result.per_model and back.latency == result.latency and back.notes == result.notes
    serde = checkpoint_serde()
    revived = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(result)}))["last_run"].result
    assert revived.energy_kind == result.energy_kind and isinstance(revived.energy_kind.methods[0], EnergyMethod)
    assert revived.latency == result.latency and revived.notes == result.notes
    assert [word(n) for n in revived.notes[-3:]] == [word(n) for n in result.notes[-3:]]


def test_runs_saved_with_kinds_as_words_load_as_the_same_kinds(result):
    data = report_dict(result)
    data["energy_kind"] = MIXED_WORDS                               # a JSON report from before kinds were data
    data["spent"]["energy_kind"] = MIXED_WORDS
    name = result.ranking[0].name
    data["per_model"][name]["energy_kind"] = "estimated (time x W)"
    data["latency"][name]["energy_kind"] = "measured (RAPL)"
    data["notes"][-3:] = [{"kind": "EnergyEstimated", "energy_kind": MIXED_WORDS, "detail": None},
                          {"kind": "LatencyMeasured", "hardware": "test CPU", "repeats": 20, "joules": 1.5,
                           "energy_kind": "measured (RAPL)"},
                          {"kind": "EnergyHalvingSummary", "energy_weight": 0.1,
                           "cost_unit": "J per call, estimated (time x W)", "explore_images": 8, "pruned": [],
                           "unspent": None}]
    old = ExperimentResult.from_dict(data)
    assert old.energy_kind == result.energy_kind and old.spent.energy_kind == result.spent.energy_kind
    assert old.per_model[name].energy_kind == ESTIMATED and old.latency == result.latency
    assert old.notes[:-1] == result.notes[:-1]
    assert [word(n) for n in old.notes] == [word(n) for n in result.notes]      # the same words on screen
    assert energy_summary(old)["kind"] == MIXED_WORDS
    assert EnergyKind.revive("measured (my meter)") == EnergyKind(saved_text="measured (my meter)")
    assert kind_words("measured (my meter)") == "measured (my meter)" and not is_estimated_text("measured (my meter)")
    assert EnergyKind.revive({"methods": ["nvml"]}) == MEASURED_NVML and EnergyKind.revive(None) == NOT_MEASURED


def is_estimated_text(text: str) -> bool:
    return EnergyKind.revive(text).estimated


def test_energy_halving_names_its_cost_unit():
    words = {unit: word(EnergyHalvingSummary(0.3, unit, 16, (), None, kind)) for unit, kind in
             [("joules", MEASURED_RAPL), ("seconds", NOT_MEASURED), ("macs", NOT_MEASURED)]}
    assert "normalised log(J per call, measured (RAPL));" in words["joules"]
    assert "log(seconds per call (no energy recorded));" in words["seconds"]
    assert "log(MACs per image (nothing measured));" in words["macs"]
    assert "log(J per call);" in word(EnergyHalvingSummary(0.3, "joules", 16, ()))


def test_outcome_cache_rows_keep_the_kind_as_a_code_and_read_old_words(tmp_path):
    path = tmp_path / "outcomes.sqlite"
    with OutcomeCache(path) as cache:
        cache.put_many("m", "w", "p", {"new": Outcome(1, 0.5, 0.02, 0.004, combine_kinds([ESTIMATED, MEASURED_RAPL])),
                                       "none": Outcome(2, 0.4, 0.01)})
    with sqlite3.connect(path) as conn:
        assert dict(conn.execute("SELECT image_id, energy_kind FROM outcomes")) == {"new": "rapl+estimate",
                                                                                   "none": None}
        conn.execute("UPDATE outcomes SET energy_kind='measured (RAPL)' WHERE image_id='none'")   # an older row
    with OutcomeCache(path) as cache:
        got = cache.get_many("m", "w", "p", ["new", "none"])
    assert got["new"].energy_kind == combine_kinds([MEASURED_RAPL, ESTIMATED])
    assert got["none"].energy_kind == MEASURED_RAPL


def test_checkpoints_saved_with_kinds_as_words_load_as_the_same_kinds(result):
    from agent.graph import checkpoint_serde
    legacy = replace(result)
    legacy.energy_kind = MIXED_WORDS                                  # as a checkpoint from before kinds were data
    legacy.spent = replace(result.spent)
    legacy.spent.energy_kind = MIXED_WORDS
    note = EnergyEstimated(ESTIMATED, None)
    object.__setattr__(note, "energy_kind", "estimated (time x W)")
    legacy.notes = [note]
    serde = checkpoint_serde()
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(legacy)}))["last_run"].result
    assert back.energy_kind == result.energy_kind and back.spent.energy_kind == result.spent.energy_kind
    assert back.notes == [EnergyEstimated(ESTIMATED, None)] and word(back.notes[0]).startswith("energy is estimated")
