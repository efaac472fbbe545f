"""The offline reasoner's reply messages: an ``AIMessage`` and the tool calls it carries (shared by
``agent.offline.Turn`` and its reply mixins)."""
from __future__ import annotations

import uuid
from typing import Any

from langchain_core.messages import AIMessage

__all__ = ["ai_reply", "tool_call"]


def tool_call(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """A tool call with a fresh id, as a chat model returns it."""
    return {"name": name, "args": args, "id": f"call_{uuid.uuid4().hex[:16]}", "type": "tool_call"}


def ai_reply(content: str, *calls: dict[str, Any]) -> AIMessage:
    return AIMessage(content=content, tool_calls=list(calls))
