"""The graph's own feedback (invalid tool calls) is typed: the offline reasoner answers it instead of reading it as
the user's words; failures name the step the user asked for, not the tool function."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import ToolException

from agent.context import Context
from agent.feedback import CallProblem, ToolCallRepair
from agent.llm import invoke_with_repair, repair_request, tool_call_problems
from agent.offline import NOT_UNDERSTOOD, OfflineReasoner
from agent.tools import TOOLS, TOOLS_BY_NAME
from greenrunner_core.errors import UnknownModelError
from tools.agent_tools import _respond

BAD = AIMessage(content="", tool_calls=[{"name": "rerank", "args": {"weights": {"size": 2}}, "id": "c1",
                                         "type": "tool_call"}])


class FirstInvalid:
    """A chat model whose first reply has invalid tool calls; the offline reasoner answers after that."""

    def __init__(self) -> None:
        self.seen: list[list[BaseMessage]] = []

    def invoke(self, messages: list[BaseMessage]) -> AIMessage:
        self.seen.append(messages)
        if len(self.seen) == 1:
            return BAD
        return OfflineReasoner().bind_tools(TOOLS).invoke(messages)


def test_repair_request_is_typed_feedback_with_the_problems() -> None:
    problems = tool_call_problems(BAD, TOOLS_BY_NAME)
    assert [p.kind for p in problems] == ["schema"]
    ask = repair_request(BAD, problems)[-1]
    assert isinstance(ask, ToolCallRepair) and isinstance(ask, HumanMessage)    # an LLM still reads it as a turn
    assert ask.problems == problems
    assert "rerank({\"weights\": {\"size\": 2}})" in str(ask.content)           # the model sees its call


def test_offline_reasoner_answers_the_feedback_not_as_user_text() -> None:
    model = FirstInvalid()
    reply = invoke_with_repair(model, [HumanMessage(content="set size to 2")], TOOLS_BY_NAME, Context())
    assert len(model.seen) == 2
    assert not reply.tool_calls
    text = str(reply.content)
    assert NOT_UNDERSTOOD not in text and "invalid tool calls" not in text
    assert "nothing was run" in text and "Re-ranking: weights" in text and "size=2" in text
    assert "rerank(" not in text                                               # no function name reaches the user


def test_unknown_tool_keeps_its_name_for_the_model_and_words_for_the_user() -> None:
    problem = CallProblem("unknown", "launch_rockets", "rerank, run_bandit")
    assert str(problem) == "unknown tool 'launch_rockets'; available: rerank, run_bandit"
    assert "launch rockets" in problem.words() and "launch_rockets" not in problem.words()


@pytest.mark.parametrize(("tool", "step"), [("list_models", "Listing models"), ("run_bandit", "The selection run"),
                                            ("rerank", "Re-ranking")])
def test_a_failed_tool_names_the_step(tool: str, step: str) -> None:
    def work() -> Any:
        raise UnknownModelError("resnet9000", ["resnet18", "resnet50"])
    with pytest.raises(ToolException) as err:
        _respond(tool, SimpleNamespace(tool_call_id="c1"), work)  # type: ignore[arg-type]
    assert str(err.value).startswith(f"{step} failed: ")
    assert tool not in str(err.value) and "resnet9000" in str(err.value)
