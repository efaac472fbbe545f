"""One turn of a conversation, run off the event loop: the graph's events reach the UI as they happen, and a stop
request stops a running selection cooperatively (a ``CancelToken`` checked between batches) the way Ctrl-C does in
the CLI: the strategy returns its ranking so far and every evaluation already made stays in the outcome cache."""
from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from agent.session import ChatSession, Event
from greenrunner_core.cancel import CancelToken

CANCELLABLE_TOOLS = frozenset({"run_bandit", "compare_baselines"})
STOPPED_BEFORE_RESULT = ("Stopped by the user before a result was ready. Every evaluation finished so far is kept "
                         "in the outcome cache: say \"run it\" to continue from there at no extra cost.")


class Canceller(BaseCallbackHandler):
    """A LangChain callback that knows which long tools are running, and the turn's ``CancelToken``.

    A stop request cancels the token: the running selection stops at its next check (between batches), keeps
    what it computed and returns its ranking so far, like Ctrl-C in the CLI. Nothing is injected into the tool's
    thread. A long tool that would start after the stop is refused at its start.
    """

    run_inline = True

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._running: dict[UUID, str] = {}
        self.token = CancelToken()
        self.interrupted: list[str] = []

    @property
    def requested(self) -> bool:
        return self.token.cancelled

    def track(self, run_id: UUID, name: str) -> None:
        with self._lock:
            if self.token.cancelled:
                raise KeyboardInterrupt(f"{name} stopped by the user before it started")
            self._running[run_id] = name

    def untrack(self, run_id: UUID) -> None:
        with self._lock:
            self._running.pop(run_id, None)

    def on_tool_start(self, serialized: dict[str, Any] | None, input_str: str, *, run_id: UUID,
                      **kwargs: Any) -> None:
        name = (serialized or {}).get("name") or kwargs.get("name") or ""
        if name in CANCELLABLE_TOOLS:
            self.track(run_id, name)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.untrack(run_id)

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.untrack(run_id)

    def cancel(self) -> list[str]:
        """Stop the running long tools (and any that start later in this turn); returns the tools stopped."""
        with self._lock:
            self.token.cancel("stopped by the user")
            hit = list(self._running.values())
            self._running.clear()
            self.interrupted += hit
            return hit


@dataclass
class TurnResult:
    """Everything one turn produced, in order."""

    messages: list[BaseMessage] = field(default_factory=list)
    interrupt: dict[str, Any] | None = None
    progress: int = 0
    cancelled: bool = False
    error: BaseException | None = None

    def tool_messages(self, name: str | None = None) -> list[ToolMessage]:
        return [m for m in self.messages if isinstance(m, ToolMessage) and (name is None or m.name == name)]

    def final_ai(self) -> AIMessage | None:
        """The turn's answer: its last AI message without tool calls (None when the turn paused or failed)."""
        for msg in reversed(self.messages):
            if isinstance(msg, AIMessage):
                return None if msg.tool_calls else msg
        return None

    @property
    def stopped_by_user(self) -> bool:
        return self.cancelled or isinstance(self.error, KeyboardInterrupt)


EventHandler = Callable[[Event], Awaitable[None]]


async def run_turn(events: Callable[[], Iterator[Event]], on_event: EventHandler | None = None,
                   canceller: Canceller | None = None) -> TurnResult:
    """Iterate ``events()`` (a ChatSession stream) in a worker thread and hand each event to ``on_event``.

    If this task is cancelled (Chainlit's stop button), the running selection is interrupted and the turn goes on
    until the graph has stored what was computed, so the partial result is still shown.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def put(item: tuple[str, Any]) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:          # the event loop is gone (server shutting down): nobody is listening
            pass

    def work() -> None:
        try:
            for event in events():
                put(("event", event))
        except BaseException as err:  # noqa: BLE001 - a stop (KeyboardInterrupt) or a bug: reported to the UI
            put(("error", err))
        else:
            put(("done", None))

    threading.Thread(target=work, name="greenrunner-turn", daemon=True).start()
    result = TurnResult()
    while True:
        try:
            kind, item = await queue.get()
            if kind == "done":
                return result
            if kind == "error":
                result.error = item
                return result
            event: Event = item
            if event.kind == "message":
                result.messages.append(event.data)
            elif event.kind == "progress":
                result.progress += 1
            elif event.kind == "interrupt":
                result.interrupt = event.data
            if on_event is not None:
                await on_event(event)
        except asyncio.CancelledError:
            result.cancelled = True
            if canceller is not None:
                canceller.cancel()
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()


def close_dangling_tool_calls(session: ChatSession, reason: str = STOPPED_BEFORE_RESULT) -> int:
    """After a turn failed mid-way, answer the tool calls left without a result, so the conversation goes on
    (an OpenAI-compatible model rejects a history with unanswered tool calls). Returns how many were closed."""
    if session.pending() is not None:
        return 0
    history = session.history()
    answered = {m.tool_call_id for m in history if isinstance(m, ToolMessage)}
    last_ai = next((m for m in reversed(history) if isinstance(m, AIMessage)), None)
    if last_ai is None:
        return 0
    missing = [tc for tc in last_ai.tool_calls if tc["id"] not in answered]
    if not missing:
        return 0
    session.graph.update_state(session.config, {"messages": [
        ToolMessage(content=reason, tool_call_id=tc["id"], name=tc["name"], status="error") for tc in missing]},
        as_node="tools")
    return len(missing)
