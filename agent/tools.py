"""The agent's own tool, ``propose_weights`` (the reasoning step's structured output), plus every tool the graph binds."""
from __future__ import annotations

from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command

from agent.prompts import load_prompt
from agent.proposal import ProposeWeightsArgs, proposal_markdown, trade_offs
from tools.agent_tools import STAGED_TOOLS, requires_approval
from tools.agent_tools import TOOLS as CORE_TOOLS


@tool("propose_weights", args_schema=ProposeWeightsArgs, description=load_prompt("propose_weights"))
def propose_weights(runtime: ToolRuntime, **kwargs: Any) -> Command:
    proposal = ProposeWeightsArgs(**kwargs)
    if not proposal.trade_offs:
        proposal = proposal.model_copy(update={"trade_offs": trade_offs(proposal.weights)})
    text = "**Weight proposal**\n\n" + proposal_markdown(proposal)
    message = ToolMessage(content=text, artifact={"proposal": proposal.model_dump()}, name="propose_weights",
                          tool_call_id=runtime.tool_call_id or "propose_weights")
    return Command(update={"proposal": proposal.model_dump(), "weights": dict(proposal.weights),
                           "messages": [message]})


TOOLS: list[BaseTool] = [propose_weights, *CORE_TOOLS]
TOOLS_BY_NAME: dict[str, BaseTool] = {t.name: t for t in TOOLS}

__all__ = ["STAGED_TOOLS", "TOOLS", "TOOLS_BY_NAME", "propose_weights", "requires_approval"]
