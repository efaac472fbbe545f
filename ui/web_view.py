"""The live view of a turn in the browser: a Step per tool call (live progress for selection runs, ■ stops it) and
the assistant's intermediate texts, in order inside the answer."""
from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

import chainlit as cl
from chainlit.utils import utc_now
from langchain_core.messages import AIMessage, ToolMessage

from agent.session import Event
from agent.tools import STAGED_TOOLS
from greenrunner_core.strategies.progress import ProgressEvent
from tools.progress import ToolProgress
from tools.text import tool_step
from ui.present.markdown import progress_markdown
from ui.present.turn import tool_step_input, tool_step_output, warmup_step_text
from ui.present.web import web_markdown
from ui.turns import CANCELLABLE_TOOLS


class WarmupLike(Protocol):
    done: bool
    step: str
    error: str | None


class StepLike(Protocol):
    output: str

    async def update(self) -> Any: ...


async def follow_warmup(warmup: WarmupLike, step: StepLike, interval: float = 0.5) -> float:
    """Show the first-start preparation live in ``step`` (already sent, under the user's message) until it is done;
    returns the seconds waited. The turn then runs: it needs the demo zoo's registry."""
    start = time.monotonic()
    shown = None
    while not warmup.done:
        text = warmup_step_text(False, warmup.step, None, time.monotonic() - start)
        if text != shown:
            step.output = shown = text
            await step.update()
        await asyncio.sleep(interval)
    waited = time.monotonic() - start
    step.output = warmup_step_text(True, warmup.step, warmup.error, waited)
    await step.update()
    return waited


def step_label(tool: str, failed: bool = False) -> str:
    """The label of a finished tool's step: what it did, in the user's words ("Ran the selection"). Chainlit would
    show "Used <name>"; our translation (.chainlit/translations/en-US.json) leaves the label to the name alone."""
    words = tool_step(tool)
    return f"{words.failed} failed" if failed else words.done


class WebTurnView:
    """A Step per tool call (live progress for selection runs) and the assistant's intermediate texts."""

    def __init__(self, calls: dict[str, dict[str, Any]] | None = None, skip_call_ids: set[str] | None = None,
                 progress_interval: float = 0.4) -> None:
        self.progress_interval = progress_interval
        self.calls: dict[str, dict[str, Any]] = dict(calls or {})
        self.skip_call_ids = set(skip_call_ids or ())
        self.shown: set[str] = set()
        self.steps: dict[str, cl.Step] = {}
        self.open_by_tool: dict[str, str] = {}
        self.progress: dict[str, ProgressEvent] = {}
        self.last_update = 0.0

    async def on_event(self, event: Event) -> None:
        if event.kind == "message":
            if isinstance(event.data, AIMessage):
                await self._ai(event.data)
            elif isinstance(event.data, ToolMessage):
                await self._tool_result(event.data)
        elif event.kind == "progress" and isinstance(event.data, ToolProgress):
            await self._progress(event.data)

    async def _ai(self, msg: AIMessage) -> None:
        for call in msg.tool_calls:
            self.calls[call["id"]] = call
        if not msg.tool_calls or {c["id"] for c in msg.tool_calls} & self.skip_call_ids:
            return                     # the answer (shown at the end) or an adjusted staged call (already shown)
        if msg.content and not any(c["name"] in STAGED_TOOLS for c in msg.tool_calls):
            await cl.Message(content=web_markdown(str(msg.content))).send()
            self.shown.add(str(msg.id))
        for call in msg.tool_calls:
            if call["name"] not in STAGED_TOOLS:
                await self._open(call)

    async def _open(self, call: dict[str, Any]) -> cl.Step:
        long_tool = call["name"] in CANCELLABLE_TOOLS
        parent = cl.context.current_step       # the message's run: the step shows inside the answer, in order
        step = cl.Step(name=tool_step(call["name"]).doing, type="tool", default_open=long_tool, show_input="json",
                       parent_id=parent.id if parent else None)
        step.input = tool_step_input(call.get("args") or {})
        step.start = utc_now()
        if long_tool:
            step.output = "Starting… (press ■ to stop: results so far are kept)"
        await step.send()
        self.steps[call["id"]] = step
        self.open_by_tool[call["name"]] = call["id"]
        return step

    async def _progress(self, progress: ToolProgress) -> None:
        tool, event = progress.tool, progress.event
        self.progress[tool] = event
        call_id = self.open_by_tool.get(tool)
        if call_id is None:            # a staged call: it starts running in this (resumed) turn
            call = next((c for c in reversed(self.calls.values()) if c["name"] == tool),
                        {"id": f"progress-{tool}", "name": tool, "args": {}})
            await self._open(call)
            call_id = call["id"]
        now = time.monotonic()
        if now - self.last_update < self.progress_interval and event.spent != event.budget:
            return
        self.last_update = now
        step = self.steps[call_id]
        step.output = web_markdown(progress_markdown(event))
        await step.update()

    async def _tool_result(self, msg: ToolMessage) -> None:
        call_id = msg.tool_call_id
        if call_id not in self.steps:
            if msg.name in self.open_by_tool:
                call_id = self.open_by_tool[msg.name]
            elif str(msg.content).startswith("Not run"):
                return                 # refused at the staging step: nothing ran
            else:
                await self._open(self.calls.get(call_id) or {"id": call_id, "name": msg.name or "tool", "args": {}})
        step = self.steps.pop(call_id)
        self.open_by_tool = {k: v for k, v in self.open_by_tool.items() if v != call_id}
        progress = self.progress.pop(msg.name or "", None)
        summary = tool_step_output(msg)
        if progress is not None and msg.status != "error":
            stopped = bool(getattr(getattr(msg.artifact, "result", None), "interrupted", False))
            summary = progress_markdown(progress, finished=True) + (
                "\n\nStopped: the ranking of what was evaluated so far is in the answer below." if stopped else
                "\n\nFinished. The results are in the answer below.")
        step.output = web_markdown(summary)
        step.is_error = msg.status == "error"
        step.name = step_label(msg.name or self.calls.get(call_id, {}).get("name", ""), failed=step.is_error)
        step.end = utc_now()
        await step.update()

    async def finish(self, note: str = "Stopped.") -> None:
        for step in self.steps.values():
            step.output = (step.output or "") + f"\n\n{web_markdown(note)}"
            step.name = f"{step.name} (stopped)"
            step.end = utc_now()
            await step.update()
        self.steps.clear()
