"""A result's latency, variants, limits, workers and place of execution stay typed from the core to the screen:
one serialisation at the persistence edge (JSON report, checkpointer), and runs saved in the older dict / sentence
shape still load with the same words."""
from __future__ import annotations

import json
from dataclasses import asdict, replace

import pytest

from greenrunner_core.constraints import Constraints
from greenrunner_core.execution import ExecutionPlace, ExecutionSettings, WorkerAccount
from greenrunner_core.experiment import run_experiment
from greenrunner_core.latency_stats import LatencyStats
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from greenrunner_core.variant_info import VariantInfo
from tests.conftest import synthetic_matrix
from tools.result import RunRecord
from tools.text import execution_text
from ui.present.tables import green_sections

STATS = LatencyStats(median_ms=2.5, p90_ms=3.0, batch_size=16, batch_median_ms=0.5, batch_p90_ms=0.6, repeats=20,
                     hardware="test CPU", hardware_id="abc", joules=1.5, energy_kind="estimated (time x W)")
CLUSTER = ExecutionPlace(ray=True, workers=2, ray_address="127.0.0.1:6379", started=True, devices=("cpu",),
                         nodes=("10.0.0.5",))


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    run = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                         make_strategy("paired_race", seed=0, batch_size=8), budget=600, dataset="synthetic")
    names = [r.name for r in run.ranking]
    return replace(run, latency={n: STATS for n in names},
                   variants={names[1]: VariantInfo(names[0], "quantize", "int8 Linear")},
                   constraints=Constraints(max_size_mb=50.0), execution=CLUSTER,
                   workers={"w1@10.0.0.5": WorkerAccount(tasks=3, evaluations=24, seconds=1.5, joules=2.0,
                                                         models=[names[0]])})


def test_the_json_report_keeps_its_keys_and_reads_back_typed(result):
    data = json.loads(result.to_json())
    name = next(iter(result.latency))
    assert data["latency"][name]["median_ms"] == 2.5 and data["latency"][name]["batch_size"] == 16
    assert data["variants"] == {k: {"base": v.base, "tactic": "quantize", "note": "int8 Linear"}
                                for k, v in result.variants.items()}
    assert data["constraints"] == {"max_size_mb": 50.0}
    assert data["workers"]["w1@10.0.0.5"]["tasks"] == 3 and data["workers"]["w1@10.0.0.5"]["models"] == [name]
    assert data["execution"]["workers"] == 2 and data["execution"]["nodes"] == ["10.0.0.5"]
    back = ExperimentResult.from_dict(data)
    assert back.latency == result.latency and back.variants == result.variants
    assert back.constraints == result.constraints and back.execution == CLUSTER and back.workers == result.workers


def test_runs_saved_with_dicts_and_a_sentence_still_load_with_the_same_words(result):
    data = json.loads(result.to_json())
    data["execution"] = "Ray: 2 worker(s) (cpu) on 1 node(s) (10.0.0.5) of the cluster at 127.0.0.1:6379"
    data["latency"] = {k: {**v, "from_a_newer_run": 1} for k, v in data["latency"].items()}
    old = ExperimentResult.from_dict(data)
    assert old.latency == result.latency and old.workers == result.workers and old.variants == result.variants
    assert execution_text(old.execution) == execution_text(CLUSTER) == data["execution"]
    assert green_sections(old) == green_sections(result)
    data["execution"] = ""                                     # the old default: not recorded (a replay)
    assert ExperimentResult.from_dict(data).execution is None


def test_the_checkpointer_revives_the_typed_parts(result):
    from agent.graph import checkpoint_serde
    serde = checkpoint_serde()
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(result)}))["last_run"].result
    assert back.latency == result.latency and back.variants == result.variants
    assert back.constraints == result.constraints and back.execution == CLUSTER and back.workers == result.workers
    assert isinstance(back.execution.nodes, tuple) and isinstance(back.workers["w1@10.0.0.5"], WorkerAccount)
    legacy = replace(result, execution=ExecutionPlace())       # as a checkpoint from before these were typed
    legacy.latency, legacy.execution = {k: asdict(v) for k, v in result.latency.items()}, "in process"
    legacy.workers = {k: asdict(v) for k, v in result.workers.items()}
    legacy.constraints = {"max_size_mb": 50.0}
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(legacy)}))["last_run"].result
    assert back.latency == result.latency and back.workers == result.workers
    assert back.constraints == result.constraints and execution_text(back.execution) == "in process"


def test_the_tables_word_the_typed_parts():
    worker_table = green_sections(ExperimentResult.from_dict(json.loads(_tiny().to_json())))[-1]
    assert worker_table[0] == ("Where evaluations ran — Ray: 2 worker(s) (cpu) on 1 node(s) (10.0.0.5) of the "
                               "cluster at 127.0.0.1:6379")
    assert worker_table[2] == [["w1@10.0.0.5", "3", "24", worker_table[2][0][3], worker_table[2][0][4], "m00"]]


def test_settings_are_worded_as_before_by_the_tools():
    assert execution_text(ExecutionSettings().place()) == "in process"
    assert execution_text(ExecutionSettings(workers=2, ray_address="10.0.0.5:6379").place()) == (
        "Ray: 2 worker(s) on the cluster at 10.0.0.5:6379")
    assert execution_text(ExecutionSettings(ray_address="auto", num_gpus=0.5).place()) == (
        "Ray: one worker per free CPU on the cluster at auto, 0.5 GPU each")
    assert execution_text(ExecutionSettings(workers=3).place()) == "Ray: 3 worker(s) on the local Ray runtime"
    assert execution_text(None) == "not recorded"


def _tiny() -> ExperimentResult:
    run = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                         make_strategy("paired_race", seed=0, batch_size=8), budget=200, dataset="synthetic")
    return replace(run, execution=CLUSTER, workers={"w1@10.0.0.5": WorkerAccount(3, 24, 1.5, 0.2, 2.0, ["m00"])})


def test_a_rerank_keeps_its_limits_typed_and_reads_them_back_from_a_stored_message():
    from greenrunner_core.result import Rerank
    from tools.result import RerankArtifact
    empty = Rerank(weights={"accuracy": 1.0}, ranking=[], settled=True, calls_to_settle=0, contenders=[])
    artifact = RerankArtifact(before=empty, after=empty, constraints=Constraints(max_size_mb=50.0))
    stored = json.loads(json.dumps(asdict(artifact)))              # every field, unset limits as null
    assert RerankArtifact.revive(stored).constraints == Constraints(max_size_mb=50.0)
    assert RerankArtifact.revive({**stored, "constraints": {"size": 50}}).constraints == artifact.constraints
    assert RerankArtifact.revive({**stored, "constraints": None}).constraints == Constraints()
