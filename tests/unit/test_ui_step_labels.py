"""The browser's step labels say what a step does in the user's words, never the function behind it."""
from __future__ import annotations

import asyncio
import json
import types
from pathlib import Path
from typing import ClassVar

import pytest
from langchain_core.messages import ToolMessage

from agent.tools import TOOLS
from tools.text import TOOL_STEPS, step_words, tool_step
from ui import web_view
from ui.present.turn import WARMUP_STEP_NAME

TRANSLATION = Path(__file__).resolve().parents[2] / ".chainlit" / "translations" / "en-US.json"


def _reads_as_words(label: str) -> bool:
    return bool(label.strip()) and not label.isidentifier() and "_" not in label and label[0].isupper()


@pytest.mark.parametrize("tool", [t.name for t in TOOLS])
def test_every_tool_has_a_step_in_the_users_words(tool: str) -> None:
    assert tool in TOOL_STEPS, f"{tool}: add its words to tools/text.TOOL_STEPS"
    words = TOOL_STEPS[tool]
    for label in (words.doing, words.done, words.failed, web_view.step_label(tool), web_view.step_label(tool, True)):
        assert _reads_as_words(label), f"{tool}: step label {label!r} is not in words"
        assert tool not in label


def test_the_failure_words_are_the_same_mapping() -> None:
    assert step_words("run_bandit") == "The selection run" == TOOL_STEPS["run_bandit"].failed
    assert step_words("list_models") == TOOL_STEPS["list_models"].doing == "Listing models"
    made_up = tool_step("launch_rockets")
    assert all("launch rockets" in w and _reads_as_words(w) for w in (made_up.doing, made_up.done, made_up.failed))
    assert _reads_as_words(WARMUP_STEP_NAME)


def test_chainlit_shows_the_step_name_alone() -> None:
    status = json.loads(TRANSLATION.read_text(encoding="utf-8"))["chat"]["messages"]["status"]
    assert status == {"using": "", "used": ""}       # else the page says "Used Ran the selection"


class _Step:
    made: ClassVar[list[_Step]] = []

    def __init__(self, name: str = "", **kwargs: object) -> None:
        self.name, self.input, self.output, self.is_error, self.end = name, None, "", False, None
        self.names = [name]
        _Step.made.append(self)

    async def send(self) -> _Step:
        return self

    async def update(self) -> _Step:
        self.names.append(self.name)
        return self


def test_a_live_step_is_labelled_by_what_it_does_then_by_what_it_did(monkeypatch) -> None:
    monkeypatch.setattr(web_view, "cl", types.SimpleNamespace(Step=_Step, context=types.SimpleNamespace(
        current_step=None)))

    async def play() -> None:
        view = web_view.WebTurnView()
        await view._open({"id": "c1", "name": "list_models", "args": {}})
        await view._tool_result(ToolMessage(content="3 models", tool_call_id="c1", name="list_models"))
        await view._open({"id": "c2", "name": "rerank", "args": {}})
        await view._tool_result(ToolMessage(content="no run yet", tool_call_id="c2", name="rerank", status="error"))
        await view._open({"id": "c3", "name": "run_bandit", "args": {}})
        await view.finish("Stopped.")

    _Step.made = []
    asyncio.run(play())
    assert [s.names for s in _Step.made] == [["Listing models", "Listed models"], ["Re-ranking", "Re-ranking failed"],
                                             ["Running the selection", "Running the selection (stopped)"]]
