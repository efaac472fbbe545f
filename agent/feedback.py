"""Messages the graph itself sends the chat model, typed so a reader never takes them for the user's words.

``ToolCallRepair`` asks once for corrected tool calls after a reply whose calls failed validation
(``agent/llm.invoke_with_repair``). An LLM reads it as a user turn (it subclasses ``HumanMessage``); the offline
reasoner recognises its type and tells the user what was wrong, instead of reading it as a request."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

from langchain_core.messages import HumanMessage
from pydantic import Field

from tools.text import step_words

__all__ = ["CallProblem", "ToolCallRepair"]


class CallProblem(NamedTuple):
    """Why one tool call cannot run: arguments that are not JSON, a tool the graph does not have (``details`` lists
    those it has), or arguments failing the tool's schema (``call``: the arguments as sent, as JSON)."""

    kind: Literal["json", "unknown", "schema"]
    tool: str
    details: str
    call: str = ""

    def __str__(self) -> str:                 # the model's view: the call as it sent it
        if self.kind == "unknown":
            return f"unknown tool {self.tool!r}; available: {self.details}"
        return f"{self.tool}({self.call}): {self.details}" if self.call else f"{self.tool}: {self.details}"

    def words(self) -> str:                   # the user's view: the step, not the function
        if self.kind == "unknown":
            return f"a step this app does not have ({self.tool.replace('_', ' ')})"
        return f"{step_words(self.tool)}: {self.details}"


class ToolCallRepair(HumanMessage):
    """The graph's feedback on invalid tool calls (kept out of the conversation's state)."""

    problems: list[CallProblem] = Field(default_factory=list)

    @classmethod
    def about(cls, problems: Sequence[CallProblem]) -> ToolCallRepair:
        return cls(content="Your last reply had invalid tool calls:\n" + "\n".join(f"- {p}" for p in problems)
                   + "\nReply again, calling the tools with arguments that match their JSON schemas exactly.",
                   problems=list(problems))
