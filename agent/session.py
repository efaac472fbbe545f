"""A conversation with the graph for front doors (web app, Slack, tests): send text, stream progress, answer the
staging interrupt, and pick up after a restart. One ``ChatSession`` per thread id; the SQLite file keeps them all."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command

from agent.context import Context
from agent.graph import build_graph, open_checkpointer
from agent.staging import NOTHING_PENDING
from tools.progress import ToolProgress


@dataclass
class Event:
    """One streamed item: ``kind`` is "progress" (data: a ``ToolProgress`` of run_bandit/compare_baselines), "message"
    (data: a new BaseMessage) or "interrupt" (data: the staging payload to show; answer with ``resume``)."""

    kind: str
    data: Any


@dataclass
class Reply:
    """What one ``send``/``resume`` produced."""

    messages: list[BaseMessage] = field(default_factory=list)
    interrupt: dict[str, Any] | None = None
    progress: list[ToolProgress] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The assistant's last words in this reply (what a chat shows)."""
        for msg in reversed(self.messages):
            if isinstance(msg, AIMessage) and isinstance(msg.content, str) and msg.content:
                return msg.content
        return ""

    def tool_calls(self) -> list[dict[str, Any]]:
        return [tc for m in self.messages if isinstance(m, AIMessage) for tc in m.tool_calls]


class ChatSession:
    """``send(text)`` / ``resume(decision)`` (or the ``stream_*`` variants) on one thread of the SQLite checkpointer."""

    def __init__(self, thread_id: str, *, checkpointer: BaseCheckpointSaver | None = None,
                 db_path: str | Path | None = None, context: Context | None = None) -> None:
        self.thread_id = thread_id
        self.checkpointer = checkpointer if checkpointer is not None else open_checkpointer(db_path)
        self.graph = build_graph(self.checkpointer)
        self.context = context or Context()
        self.config: dict[str, Any] = {"configurable": {"thread_id": thread_id}}

    # ---- streaming -------------------------------------------------------------------------------------------
    def _stream(self, graph_input: Any) -> Iterator[Event]:
        for mode, chunk in self.graph.stream(graph_input, self.config, context=self.context,
                                             stream_mode=["updates", "custom"]):
            if mode == "custom":
                yield Event("progress", chunk)
                continue
            for node, update in chunk.items():
                if node == "__interrupt__":
                    for item in update:
                        yield Event("interrupt", item.value)
                elif isinstance(update, dict):
                    for msg in update.get("messages") or []:
                        yield Event("message", msg)

    def stream_send(self, text: str) -> Iterator[Event]:
        """Stream the answer to a user message. If a staging question is pending, answer it first (``resume``)."""
        if self.pending() is not None:
            raise RuntimeError("a staging question is pending: answer it with resume()/stream_resume() first "
                               f"(pending: {self.pending().get('type')})")
        return self._stream({"messages": [HumanMessage(content=text)]})

    def stream_resume(self, decision: Any) -> Iterator[Event]:
        """Answer the pending interrupt: True/"approve", False/"no", or {"approved": bool, "weights": {...},
        "strategy": ..., "budget": ..., "reason": ...}. With nothing pending (an approval sent twice), a clear reply."""
        if self.pending() is None:
            return iter([Event("message", AIMessage(content=NOTHING_PENDING))])
        return self._stream(Command(resume=decision))

    @staticmethod
    def _collect(events: Iterator[Event]) -> Reply:
        reply = Reply()
        for event in events:
            if event.kind == "message":
                reply.messages.append(event.data)
            elif event.kind == "progress":
                reply.progress.append(event.data)
            elif event.kind == "interrupt":
                reply.interrupt = event.data
        return reply

    def send(self, text: str) -> Reply:
        return self._collect(self.stream_send(text))

    def resume(self, decision: Any) -> Reply:
        return self._collect(self.stream_resume(decision))

    # ---- state -----------------------------------------------------------------------------------------------
    def pending(self) -> dict[str, Any] | None:
        """The staging payload waiting for an answer (also after a restart), or None."""
        snapshot = self.graph.get_state(self.config)
        for task in snapshot.tasks:
            for item in task.interrupts:
                return item.value
        return None

    def history(self) -> list[BaseMessage]:
        return list(self.graph.get_state(self.config).values.get("messages") or [])

    def values(self) -> dict[str, Any]:
        return dict(self.graph.get_state(self.config).values)
