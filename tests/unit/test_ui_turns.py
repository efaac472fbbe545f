"""Running a turn off the event loop: events arrive in order, failures are reported, and a stop interrupts a running
selection like Ctrl-C (partial result kept), also through the real graph, after which the conversation goes on."""
from __future__ import annotations

import asyncio
import threading
import time
import uuid

import pytest
from langchain_core.messages import AIMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import checkpoint_serde
from agent.session import ChatSession, Event
from greenrunner_core.experiment import run_experiment
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from ui.turns import Canceller, close_dangling_tool_calls, run_turn


def test_events_arrive_in_order_and_are_collected():
    seen = []

    async def on_event(event: Event) -> None:
        seen.append(event.kind)

    def events():
        yield Event("message", AIMessage(content="hi", id="a1"))
        yield Event("progress", {"spent": 8, "budget": 16})
        yield Event("interrupt", {"type": "staging"})

    result = asyncio.run(run_turn(events, on_event))
    assert seen == ["message", "progress", "interrupt"]
    assert result.progress == 1 and result.interrupt == {"type": "staging"} and result.error is None
    assert [m.content for m in result.messages] == ["hi"]


def test_a_failure_is_reported_not_raised():
    def events():
        yield Event("message", AIMessage(content="partial", id="a1"))
        raise RuntimeError("endpoint down")

    result = asyncio.run(run_turn(events))
    assert isinstance(result.error, RuntimeError) and len(result.messages) == 1 and not result.stopped_by_user


def test_stop_interrupts_a_running_selection_and_keeps_its_results():
    """The Canceller cancels the turn's token; the strategy stops at its next check and returns what it has."""
    canceller = Canceller()
    started = threading.Event()
    out = {}

    def progress(event) -> None:
        started.set()
        time.sleep(0.02)                 # slow batches: the stop arrives while the strategy is running

    def work() -> None:
        canceller.track(uuid.uuid4(), "run_bandit")
        env = ReplayEnvironment(synthetic_matrix())
        out["result"] = run_experiment(env, Weights({"accuracy": 1.0}), make_strategy("ucb1", seed=0, batch_size=4),
                                       budget=2000, progress=progress, cancel=canceller.token)

    thread = threading.Thread(target=work)
    thread.start()
    assert started.wait(30)
    assert canceller.cancel() == ["run_bandit"]
    thread.join(30)
    result = out["result"]
    assert result.interrupted and 0 < result.spent.calls < 2000
    assert result.top3 and all(r.pulls > 0 for r in result.top3)
    with pytest.raises(KeyboardInterrupt):           # a long tool starting after the stop is stopped at once
        canceller.track(uuid.uuid4(), "compare_baselines")


def test_cancelling_the_task_stops_the_tool_and_the_turn_still_finishes():
    canceller = Canceller()

    def events():
        yield Event("progress", {"spent": 4, "budget": 100})
        for _ in range(500):
            if canceller.requested:
                break
            time.sleep(0.01)
        yield Event("message", AIMessage(content="ranking so far", id="a2"))

    async def main():
        first = asyncio.Event()

        async def on_event(event: Event) -> None:
            first.set()

        task = asyncio.create_task(run_turn(events, on_event, canceller))
        await first.wait()
        task.cancel()                    # what Chainlit's stop button does
        return await task

    result = asyncio.run(main())
    assert result.cancelled and canceller.requested
    assert [m.content for m in result.messages] == ["ranking so far"]


def test_a_stop_before_the_tool_starts_leaves_a_usable_conversation(tmp_path):
    context = Context(llm="offline", include_torchvision=False, metrics_dir=str(tmp_path / "metrics"))
    session = ChatSession("stop-early", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    assert session.send("detect digits on parcels from a delivery drone").interrupt is not None
    canceller = Canceller()
    canceller.cancel()
    session.config["callbacks"] = [canceller]
    with pytest.raises(KeyboardInterrupt):
        session.resume(True)
    assert close_dangling_tool_calls(session) == 1
    last = session.history()[-1]
    assert isinstance(last, ToolMessage) and last.status == "error" and "outcome cache" in last.content
    assert close_dangling_tool_calls(session) == 0
    session.config.pop("callbacks")
    reply = session.send("what if size matters more?")
    assert reply.messages and reply.interrupt is not None     # no run yet: the reasoner stages one
