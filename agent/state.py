"""The graph's typed state: the conversation plus what the tools remember (last run, current weights, proposal)."""
from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain_core.messages import AnyMessage
from langgraph.graph import add_messages
from langgraph.managed import IsLastStep

from tools.result import RunRecord


def latest(old: Any, new: Any) -> Any:
    """Reducer: the newest non-None value wins (several tool calls of one step may each set it)."""
    return old if new is None else new


@dataclass
class InputState:
    """What a caller sends: new messages (appended, or replaced when they reuse a message id)."""

    messages: Annotated[Sequence[AnyMessage], add_messages] = field(default_factory=list)


@dataclass
class State(InputState):
    proposal: Annotated[dict[str, Any] | None, latest] = None
    """The last weight proposal (``ProposeWeightsArgs`` as a dict): weights, justification, trade-offs, cues."""

    weights: Annotated[dict[str, float] | None, latest] = None
    """The current weights, as the user asked for them (metrics not measured yet included; tools leave those out)."""

    last_run: Annotated[RunRecord | None, latest] = None
    """The last selection run: its typed ``ExperimentResult`` and the ``run_bandit`` arguments it ran with."""

    evaluations: Annotated[int, operator.add] = 0
    """New model evaluations this conversation has computed (re-ranks add 0)."""

    is_last_step: IsLastStep = field(default=False)
    """Set by LangGraph when the recursion limit is one step away."""
