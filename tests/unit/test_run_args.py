"""A run's tool arguments stay the typed ``RunBanditArgs`` in its ``RunRecord`` and a re-rank's artifact, through the
checkpointer; records saved with the arguments as a dict (older checkpoints, stored tool messages) still revive."""
from __future__ import annotations

from dataclasses import asdict

import pytest

from greenrunner_core.experiment import run_experiment
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import ExperimentResult, Rerank
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from tools.result import CHECKPOINTED_TYPES, RerankArtifact, RunRecord, run_args_from
from tools.schemas import RunBanditArgs

SAVED = {"weights": {"accuracy": 0.7, "size": 0.3}, "strategy": "ucb1", "budget": 200, "models": ["m01", "m02"],
         "dataset": None, "sample": 40, "seed": 3, "label_map": None, "use_case": "drone parcels",
         "constraints": {"max_size_mb": 50.0}}


@pytest.fixture(scope="module")
def result() -> ExperimentResult:
    return run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                          make_strategy("ucb1", seed=0, batch_size=8), budget=200)


def test_the_arguments_are_typed_through_the_checkpointer(result):
    from agent.graph import checkpoint_serde
    assert RunBanditArgs in CHECKPOINTED_TYPES
    args = RunBanditArgs.model_validate(SAVED)
    serde = checkpoint_serde()
    back = serde.loads_typed(serde.dumps_typed({"last_run": RunRecord(result, args)}))["last_run"]
    assert isinstance(back.args, RunBanditArgs) and back.args == args
    assert back.args.sample == 40 and back.args.constraints == {"max_size_mb": 50.0}


def test_records_saved_with_the_arguments_as_a_dict_still_revive(result):
    from agent.graph import checkpoint_serde
    serde = checkpoint_serde()
    legacy = RunRecord(result)
    legacy.args = dict(SAVED)                              # as a checkpoint from before the arguments were typed
    back = serde.loads_typed(serde.dumps_typed({"last_run": legacy}))["last_run"]
    assert back.args == RunBanditArgs.model_validate(SAVED) and back.args.models == ["m01", "m02"]
    stored = {"result": result.to_dict(), "args": dict(SAVED), "excluded_weights": {}, "user_metrics": []}
    assert RunRecord.revive(stored).args == back.args           # a stored tool message's artifact
    assert RunRecord.revive({**stored, "args": {}}).args is None and RunRecord(result, {}).args is None
    empty = Rerank({}, [], True, 0, [])
    artifact = asdict(RerankArtifact(before=empty, after=empty))
    artifact["run_args"] = dict(SAVED)
    assert RerankArtifact.revive(artifact).run_args == back.args
    odd = run_args_from({**SAVED, "budget": 0})               # saved by a version with other rules: kept as saved
    assert isinstance(odd, RunBanditArgs) and odd.budget == 0 and odd.seed == 3


def test_the_offline_reasoner_reads_the_last_runs_arguments(result):
    from langchain_core.messages import AIMessage, ToolMessage

    from agent.offline import Facts
    call = {"name": "run_bandit", "args": {"weights": {"accuracy": 1.0}}, "id": "c1", "type": "tool_call"}
    messages = [AIMessage("", tool_calls=[call]),
                ToolMessage("done", tool_call_id="c1", artifact=RunRecord(result, RunBanditArgs.model_validate(SAVED)))]
    facts = Facts.read(messages)
    assert facts.run_args is not None and facts.run_args.sample == 40
    assert facts.constraints == {"max_size_mb": 50.0}
    stored = {"result": result.to_dict(), "args": dict(SAVED)}   # read back from a checkpoint in its stored form
    facts = Facts.read([AIMessage("", tool_calls=[call]), ToolMessage("done", tool_call_id="c1", artifact=stored)])
    assert facts.run_args == RunBanditArgs.model_validate(SAVED)
    facts = Facts.read([AIMessage("", tool_calls=[call]), ToolMessage("done", tool_call_id="c1")])
    assert facts.run_args == RunBanditArgs(weights={"accuracy": 1.0}) and facts.constraints == {}
