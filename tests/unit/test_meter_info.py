"""An energy meter describes itself as data (``MeterInfo``), worded by tools/energy_text.py; a run keeps it typed
through JSON and the checkpointer, and runs saved with the description as a sentence still load with the same words."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from greenrunner_core.energy import ESTIMATED, MEASURED_RAPL, HardwarePart, MeterInfo
from greenrunner_core.experiment import run_experiment
from greenrunner_core.notes import EnergyEstimated
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from tools.energy_text import energy_summary, meter_line, meter_words, report_dict
from tools.notes_text import words
from tools.result import CHECKPOINTED_TYPES, RunRecord

CODECARBON = MeterInfo("codecarbon", hardware=(HardwarePart("CPU", "intel_rapl"), HardwarePart("GPU"),
                                               HardwarePart("RAM"), HardwarePart("AppleSiliconChip")))
OLD_WORDS = "CPU seconds x 10 W per busy core; no readable RAPL counters under /sys/class/powercap"


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    run = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                         make_strategy("ucb1", seed=0, batch_size=8), budget=200)
    meter = MeterInfo("estimate", watts_per_core=10.0, no_rapl_under="/sys/class/powercap")
    return replace(run, energy_kind=ESTIMATED, energy_detail=meter, notes=[*run.notes, EnergyEstimated(ESTIMATED, meter)])


def test_each_meter_in_words():
    assert meter_words(CODECARBON) == "CodeCarbon: CPU from RAPL, GPU from NVML, RAM estimated, AppleSiliconChip"
    assert meter_words(MeterInfo("codecarbon")) == "CodeCarbon: hardware unknown"
    assert meter_words(MeterInfo("nvml", counters=("0",))) == "NVML total energy of GPU(s) 0"
    assert meter_words(MeterInfo("a meter of my own")) == "a meter of my own"
    assert meter_words(None) == "" and meter_words(MeterInfo(saved_text=OLD_WORDS)) == OLD_WORDS
    assert meter_line(MEASURED_RAPL, MeterInfo("rapl", counters=("package-0",))) == \
        "energy: measured (RAPL) — CPU package counters: package-0"


def test_the_meter_stays_typed_through_json_and_the_checkpointer(result):
    from agent.graph import checkpoint_serde
    assert {MeterInfo, HardwarePart} <= set(CHECKPOINTED_TYPES)
    data = json.loads(json.dumps(report_dict(result)))
    assert data["energy_detail"]["source"] == "estimate" and data["energy"]["detail"] == OLD_WORDS
    back = ExperimentResult.from_dict(data)
    assert back.energy_detail == result.energy_detail and back.notes == result.notes
    with_parts = replace(result, energy_detail=CODECARBON, notes=[EnergyEstimated(ESTIMATED, CODECARBON)])
    assert ExperimentResult.from_dict(json.loads(json.dumps(with_parts.to_dict()))).energy_detail == CODECARBON
    serde = checkpoint_serde()
    revived = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(with_parts)}))["last_run"]
    assert revived.result.energy_detail == CODECARBON and revived.result.notes == with_parts.notes
    assert energy_summary(revived.result)["detail"] == meter_words(CODECARBON)


def test_runs_saved_with_the_meter_as_a_sentence_still_load(result):
    data = report_dict(result)
    data["energy_detail"] = OLD_WORDS                                  # a JSON report from before meters were data
    data["notes"] = [{"kind": "EnergyEstimated", "energy_kind": "estimated (time x W)", "detail": OLD_WORDS}]
    old = ExperimentResult.from_dict(data)
    assert old.energy_detail == MeterInfo(saved_text=OLD_WORDS) and energy_summary(old)["detail"] == OLD_WORDS
    assert words(old.notes) == [f"energy is estimated (time x W): {OLD_WORDS}"] == words([EnergyEstimated(ESTIMATED, OLD_WORDS)])
    data["energy_detail"] = ""                                         # a replay saved then: no meter
    assert ExperimentResult.from_dict(data).energy_detail is None
    from agent.graph import checkpoint_serde
    serde = checkpoint_serde()
    legacy = replace(result)
    legacy.energy_detail = OLD_WORDS                                   # as a checkpoint from before meters were data
    old_note = EnergyEstimated(ESTIMATED, None)
    object.__setattr__(old_note, "detail", OLD_WORDS)                 # a note saved with its detail as a sentence
    legacy.notes = [old_note]
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(legacy)}))["last_run"]
    assert back.result.energy_detail == MeterInfo(saved_text=OLD_WORDS)
    assert words(back.result.notes) == [f"energy is estimated (time x W): {OLD_WORDS}"]
