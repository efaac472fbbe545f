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


def with_limits_from_text(proposal: ProposeWeightsArgs) -> ProposeWeightsArgs:
    """A proposal (e.g. from an LLM) that states no limits, for a use case with numbers in it, gets the limits the
    reader finds in the text, each quoted and said so: a number the user gave is never lost silently."""
    if proposal.constraints or not proposal.use_case.strip():
        return proposal
    from agent.reading import read_use_case
    from agent.weighing import constraint_sentence
    reading = read_use_case(proposal.use_case)
    if not reading.english or not reading.constraints:
        return proposal
    quotes = {k: constraint_sentence(k, q, reading) for k, q in reading.constraint_quotes.items()}
    note = ("The proposal stated no limits, so I took the ones your text gives (say “drop the size limit” etc. to "
            "lift one): " + ", ".join(f"“{q}”" for q in reading.constraint_quotes.values()) + ".")
    return proposal.model_copy(update={"constraints": reading.constraints.to_dict(),
                                       "constraint_justification": quotes, "notes": [*proposal.notes, note]})


@tool("propose_weights", args_schema=ProposeWeightsArgs, description=load_prompt("propose_weights"))
def propose_weights(runtime: ToolRuntime, **kwargs: Any) -> Command:
    proposal = with_limits_from_text(ProposeWeightsArgs(**kwargs))
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
