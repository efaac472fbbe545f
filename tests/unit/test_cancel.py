"""Cooperative cancel (issue 14 item 9): a stop is a CancelToken the run loop checks before every step and the
evaluator checks after every committed batch — the stop is immediate, nothing is injected into a thread, and what
was computed is kept (a rerun answers it from the cache)."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest

from greenrunner_core.cancel import Cancelled, CancelToken
from greenrunner_core.execution.local import LocalBackend
from greenrunner_core.notes import Interrupted
from greenrunner_core.reward import Weights
from greenrunner_core.workspace import Workspace
from tests.unit.test_hostile_inputs import checkpoints
from tools.notes_text import word


def test_token_is_one_way_and_thread_safe():
    token = CancelToken()
    token.check()
    threads = [threading.Thread(target=token.cancel, args=(f"stop {k}",)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert token.cancelled and token.reason.startswith("stop ")
    with pytest.raises(Cancelled, match="stop "):
        token.check()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    checkpoints(good=3, data=12)(tmp_path)
    return Workspace(cache_dir=tmp_path / "cache", checkpoints=[tmp_path / "ckpt"], include_torchvision=False,
                     include_timm=False, include_demo=False)


def test_cancel_during_a_run_stops_at_once_and_keeps_what_was_computed(workspace, tmp_path):
    token = CancelToken()
    events = []

    def progress(event) -> None:
        events.append(event.spent)
        if len(events) == 2:
            token.cancel("stopped by the user")

    result, _ = workspace.select(Weights({"accuracy": 1.0}), data=tmp_path / "d", strategy="ucb1", budget=60,
                                 batch_size=2, seed=0, progress=progress, cancel=token)
    assert result.interrupted and result.stop_reason == Interrupted("stopped by the user")
    assert word(result.stop_reason).startswith("interrupted, stopped by the user")
    assert len(events) == 2                                 # no step after the stop
    assert result.spent.calls == events[-1] < 60
    again, _ = workspace.select(Weights({"accuracy": 1.0}), data=tmp_path / "d", strategy="ucb1", budget=60,
                                batch_size=2, seed=0)
    assert not again.interrupted
    assert again.spent.cache_hits >= result.spent.new_evaluations > 0     # nothing computed before the stop again


def test_the_evaluator_stops_between_batches_after_committing_the_first(workspace, tmp_path):
    cards = workspace.candidates(None, tmp_path / "d")
    dataset = workspace.dataset(tmp_path / "d", cards)
    token = CancelToken()
    env = workspace.environment(cards, dataset, batch_size=4, cancel=token)
    inner = env.evaluator.backend

    class StopDuringFirst(LocalBackend):
        def run(self, tasks):
            for done in inner.run(tasks):
                token.cancel("stopped by the user")     # the stop arrives while the first batch is computed
                yield done

    env.evaluator.backend = StopDuringFirst(worker=workspace.pull_worker)
    with pytest.raises(Cancelled):
        env.pull(0, list(range(12)))                        # three batches of 4: only the first runs
    card = cards[0]
    cached = workspace.outcome_cache.get_many(card.name, card.weights_id, card.preprocess.id,
                                              [img.id for img in dataset.images])
    assert len(cached) == 4


def test_a_stop_through_the_real_graph_reaches_the_running_tool(tmp_path, monkeypatch):
    """The web app's path: Conversations gives the turn's Context the Canceller's token; cancelling it while
    run_bandit streams progress ends the run early with the ranking so far (no exception in any thread).

    The stop lands right after the tool emits its second progress event (in the tool's thread, the way a click
    lands between two steps). Cancelling when the reader *receives* the event would race the tool: with the
    outcomes already cached a step takes microseconds and the tool emits more events before the reader acts."""
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.context import Context
    from agent.graph import checkpoint_serde
    from agent.session import ChatSession
    from tools import agent_tools
    from ui.turns import Canceller

    canceller = Canceller()
    stopped_with: list[list[str]] = []
    emitted = 0
    real_stream_progress = agent_tools.stream_progress

    def stop_after_two(tool):
        emit = real_stream_progress(tool)

        def emit_then_stop(event):
            nonlocal emitted
            emit(event)
            emitted += 1
            if emitted == 2:
                stopped_with.append(canceller.cancel())
        return emit_then_stop

    monkeypatch.setattr(agent_tools, "stream_progress", stop_after_two)
    context = Context(llm="offline", include_torchvision=False, metrics_dir=str(tmp_path / "metrics"))
    context.cancel = canceller.token
    session = ChatSession("stop-live", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    assert session.send("detect digits on parcels from a delivery drone").interrupt is not None
    session.config["callbacks"] = [canceller]
    progress = 0
    for event in session.stream_resume({"approved": True, "budget": 5000, "strategy": "ucb1", "seed": 3}):
        if event.kind == "progress":
            progress += 1
    assert stopped_with == [["run_bandit"]]                # the stop found the running tool
    assert emitted == 2 and progress == 2                  # nothing ran after the stop
    record = session.values()["last_run"]
    assert record.result.interrupted and record.result.stop_reason == Interrupted("stopped by the user")
    assert word(record.result.stop_reason).startswith("interrupted, stopped by the user")
    assert 0 < record.result.spent.calls < 5000
