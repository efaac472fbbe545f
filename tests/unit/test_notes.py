"""Typed run notes: one tagged-dict serialisation at the persistence edge (JSON, checkpointer), legacy text notes
still load, and every kind has its own words in tools/notes_text.py."""
from __future__ import annotations

import json
from dataclasses import fields, replace

import pytest

from greenrunner_core import notes
from greenrunner_core.experiment import run_experiment
from greenrunner_core.note_serde import note_from, note_to_dict
from greenrunner_core.notes import (
    NOTE_KINDS,
    DatasetIssues,
    Interrupted,
    LatencyMeasured,
    LeaderProven,
    ModelLeftOut,
    Stopped,
    TextNote,
)
from greenrunner_core.registry import source_notes  # noqa: F401 - registers the source note kinds
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from tools.notes_text import notes_lines, word, words
from tools.result import CHECKPOINTED_TYPES, RunRecord


def _example(cls: type[notes.RunNote]) -> notes.RunNote:
    values = {}
    for f in fields(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", "")
        if kind.startswith("tuple"):
            values[f.name] = (("corrupt", 2),) if "tuple[str, int]" in kind else ("a", "b")
        elif kind.startswith("float"):
            values[f.name] = 0.5
        elif kind.startswith("int"):
            values[f.name] = 3
        elif kind.startswith("bool"):
            values[f.name] = True
        else:
            values[f.name] = "x"
    return cls(**values)


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    run = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 0.7, "size": 0.3}),
                         make_strategy("paired_race", seed=0, batch_size=8), budget=600, dataset="synthetic")
    extra = [ModelLeftOut("m03", "failed", "out of memory"), DatasetIssues("data", 90, 3, 95, (("corrupt", 3), ("empty", 2))),
             LatencyMeasured("test CPU", 20, 1.5, "estimated (time x W)")]
    return replace(run, notes=[*run.notes, *extra])


@pytest.mark.parametrize("kind", sorted(NOTE_KINDS))
def test_every_kind_round_trips_and_has_its_own_words(kind):
    note = _example(NOTE_KINDS[kind])
    tagged = json.loads(json.dumps(note_to_dict(note)))
    assert tagged["kind"] == kind and note_from(tagged) == note
    text = word(note)
    assert text and not text.startswith(f"{kind}:"), f"{kind} has no words in tools/notes_text.py"


def test_a_result_keeps_its_typed_notes_through_json(result):
    assert len(result.notes) >= 3
    data = json.loads(result.to_json())
    assert all(isinstance(n, dict) and n["kind"] in NOTE_KINDS for n in data["notes"])
    back = ExperimentResult.from_dict(data)
    assert back.notes == result.notes and words(back.notes) == words(result.notes)
    assert "m03 excluded: out of memory" in words(back.notes)
    assert ("dataset: Dataset data: 90 usable images in 3 classes (95 files checked); skipped 5 (damaged images: 3, "
            "empty: 2)") in words(back.notes)


def test_runs_saved_before_notes_were_typed_still_load(result):
    data = json.loads(result.to_json())
    data["notes"] = ["brute-force seconds extrapolated from measured per-call time", {"kind": "FromTheFuture", "x": 1},
                     {"kind": "ModelLeftOut", "renamed": "m01"}]
    old = ExperimentResult.from_dict(data)
    assert old.notes[0] == TextNote("brute-force seconds extrapolated from measured per-call time")
    assert all(isinstance(n, TextNote) for n in old.notes)
    assert words(old.notes)[0] == "brute-force seconds extrapolated from measured per-call time"
    assert "FromTheFuture" in words(old.notes)[1]


def test_the_checkpointer_revives_the_notes_of_the_last_run(result):
    from agent.graph import checkpoint_serde
    assert {c for c in NOTE_KINDS.values() if c.__module__ == notes.__name__} <= set(CHECKPOINTED_TYPES)
    serde = checkpoint_serde()
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(result)}))["last_run"]
    assert isinstance(back, RunRecord) and back.result.notes == result.notes
    old = replace(result)
    old.notes = ["a note saved as text by an older version"]          # as a checkpoint from before typed notes
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(old)}))["last_run"]
    assert back.result.notes == [TextNote("a note saved as text by an older version")]


def test_the_stop_reason_is_a_typed_record_through_json_and_the_checkpointer(result):
    from agent.graph import checkpoint_serde
    assert isinstance(result.stop_reason, LeaderProven) or result.stop_reason == Stopped("budget_spent")
    data = json.loads(result.to_json())
    assert data["stop_reason"] == note_to_dict(result.stop_reason) and data["stop_reason"]["kind"] in NOTE_KINDS
    assert ExperimentResult.from_dict(data).stop_reason == result.stop_reason
    stopped = replace(result, interrupted=True, stop_reason=Interrupted("stopped by the user"))
    serde = checkpoint_serde()
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(stopped)}))["last_run"]
    assert back.result.stop_reason == Interrupted("stopped by the user")
    assert word(back.result.stop_reason) == word(stopped.stop_reason)


def test_runs_saved_with_a_sentence_as_stop_reason_still_load(result):
    data = json.loads(result.to_json())
    data["stop_reason"] = "interrupted, stopped by the user: results so far are kept; re-running resumes from the cache"
    old = ExperimentResult.from_dict(data)
    assert old.stop_reason == TextNote(data["stop_reason"]) and word(old.stop_reason) == data["stop_reason"]
    data["stop_reason"] = ""                                           # the old default: no reason given
    assert ExperimentResult.from_dict(data).stop_reason is None
    data["notes"] = [{"kind": "RunInterrupted", "reason": "interrupted (Ctrl-C)"}]   # typed notes, text stop reason
    assert words(ExperimentResult.from_dict(data).notes) == ["interrupted (Ctrl-C)"]
    from agent.graph import checkpoint_serde
    serde = checkpoint_serde()
    legacy = replace(result)
    legacy.stop_reason = "budget spent"                                # as a checkpoint from before typed stops
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(legacy)}))["last_run"]
    assert back.result.stop_reason == TextNote("budget spent")


def test_notes_lines_put_ready_words_first_and_nothing_when_empty():
    assert notes_lines([]) == []
    assert notes_lines([ModelLeftOut("a", "failed", "b")], before=["w"]) == ["**Notes**", "- w", "- a excluded: b"]
