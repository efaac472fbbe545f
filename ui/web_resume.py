"""A page reloaded (or reopened) while a turn of its conversation is still running on the server. The turn keeps
running for the page that started it, which is gone: its live steps and answer went there, so the new page showed
*Welcome back* and then nothing, and the answer only appeared after yet another reload. ``show_when_finished`` waits
for the turn and shows its answer (text, charts, a staging question) on the new page."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from langchain_core.messages import BaseMessage, ToolMessage

from agent.explain import revive
from tools.result import RerankArtifact, RunRecord
from ui.present.turn import Presentation, present
from ui.turns import TurnResult

RUNNING_NOTE = ("A request of this conversation is still running (it started before this page was loaded); its answer "
                "appears here when it finishes.")
FINISHED_NOTE = "The request that was running when this page was loaded has finished."


def welcome_back_text(running: bool) -> str:
    """The first message of a reopened conversation. No message count: the agent's count (tool calls and results
    included) was not what the page shows, e.g. "(0 messages)" above an upload and its reply."""
    return "Welcome back: this conversation continues where it left off." + (f" {RUNNING_NOTE}" if running else "")


class BusyRuntime(Protocol):
    conversations: Any

    def busy(self, thread_id: str) -> bool: ...


def _typed(message: BaseMessage) -> BaseMessage:
    """A tool message as the turn made it: its artifact typed again (the checkpoint stores a plain form)."""
    kind = {"run_bandit": RunRecord, "rerank": RerankArtifact}.get(getattr(message, "name", None) or "")
    if not isinstance(message, ToolMessage) or kind is None or isinstance(message.artifact, kind):
        return message
    return message.model_copy(update={"artifact": revive(kind, message.artifact)})


async def show_when_finished(rt: BusyRuntime, thread_id: str, seen: int,
                             show: Callable[[Presentation], Awaitable[None]], interval: float = 0.5) -> Presentation:
    """Wait until ``thread_id`` is no longer busy, then ``show`` what its messages after the first ``seen`` answer
    (with their intermediate texts: the live view of them went to the page that is gone)."""
    while rt.busy(thread_id):
        await asyncio.sleep(interval)
    chat = rt.conversations.session(thread_id)
    history, pending, values = await asyncio.gather(asyncio.to_thread(chat.history), asyncio.to_thread(chat.pending),
                                                    asyncio.to_thread(chat.values))
    turn = TurnResult(messages=[_typed(m) for m in history[seen:]], interrupt=pending)
    out = present(turn, values.get("last_run"), live=False)
    out.text = f"{FINISHED_NOTE}\n\n{out.text}" if out.text else FINISHED_NOTE
    await show(out)
    return out
