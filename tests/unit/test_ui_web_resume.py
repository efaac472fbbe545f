"""A page reloaded while its conversation's turn still runs: the new page waits for the turn and shows its answer
(the live view and the answer went to the page that is gone)."""
from __future__ import annotations

import asyncio

from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from greenrunner_core.experiment import run_experiment
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from tools.result import RunRecord
from ui.web_resume import FINISHED_NOTE, show_when_finished


class Chat:
    def __init__(self, history, last_run):
        self._history, self._last_run = history, last_run

    def history(self):
        return list(self._history)

    def pending(self):
        return None

    def values(self):
        return {"last_run": self._last_run}


class Runtime:
    def __init__(self, chat, busy_checks):
        self.chat, self.busy_checks = chat, busy_checks
        self.conversations = self

    def session(self, thread_id):
        return self.chat

    def busy(self, thread_id):
        self.busy_checks -= 1
        return self.busy_checks >= 0


def test_the_answer_of_a_turn_that_finished_after_the_reload_is_shown_on_the_new_page():
    result = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                            make_strategy("paired_elimination", seed=0, batch_size=8), budget=300, dataset="synthetic")
    record = RunRecord(result)
    call = {"id": "c1", "name": "run_bandit", "args": {"weights": {"accuracy": 1.0}}}
    earlier = [HumanMessage(content="classify digits"), AIMessage(content="Here is my proposal.")]
    turn = [AIMessage(content="", tool_calls=[call]),
            ToolMessage(content="ran", tool_call_id="c1", name="run_bandit",      # as the checkpoint stores it
                        artifact={"result": result.to_dict(), "args": None}),
            AIMessage(content="Next you can ask: why this model?")]
    rt, shown = Runtime(Chat(earlier + turn, record), busy_checks=3), []

    async def show(out):
        shown.append(out)

    out = asyncio.run(show_when_finished(rt, "t1", len(earlier), show, interval=0.01))
    assert shown == [out] and rt.busy_checks < 0                       # it waited until the turn was over
    assert out.text.startswith(FINISHED_NOTE) and "Savings against brute force" in out.text
    assert result.top3[0].name in out.text and "Next you can ask" in out.text
    assert "Here is my proposal." not in out.text                      # only what the page did not see
    assert [name for name, _ in out.charts] == ["selection_counts", "reward_vs_macs"]


def test_welcome_back_gives_no_message_count_and_says_when_a_turn_still_runs():
    from ui.web_resume import RUNNING_NOTE, welcome_back_text
    assert welcome_back_text(running=False) == "Welcome back: this conversation continues where it left off."
    assert welcome_back_text(running=True).endswith(RUNNING_NOTE)
