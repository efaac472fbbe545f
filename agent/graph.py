"""The GreenRunner chat graph: reason (LLM or offline reasoner) -> stage (user approval) -> tools -> reason.

    START -> call_model -> (no tool calls) END
                        -> (a call that spends compute / runs user code) stage -> tools | call_model
                        -> (other tool calls) tools -> call_model

``graph`` (module level, no checkpointer: LangGraph Server adds one) is what ``langgraph.json`` points at;
``build_graph(checkpointer)`` gives the same graph with a checkpointer for apps and tests.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Literal

from langchain_core.messages import AIMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.prebuilt import ToolNode
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from agent.context import Context
from agent.llm import MissingKeyError, invoke_with_repair, load_chat_model
from agent.staging import StagingDecision, apply_decision, staging_payload, with_plan
from agent.state import InputState, State
from agent.tools import TOOLS, TOOLS_BY_NAME, requires_approval
from greenrunner_core.selection_run import DEMO_DATASET
from tools.candidates import StagedRun, stage_run
from tools.run_cost import seconds_per_call
from tools.settings import workspace_for
from tools.shortlist import shortlist_when_unnamed


def _context(runtime: Runtime[Context] | None) -> Context:
    ctx = getattr(runtime, "context", None)
    return ctx if isinstance(ctx, Context) else Context()


def call_model(state: State, runtime: Runtime[Context]) -> dict[str, list[AIMessage]]:
    """The reasoning step: the chat model reads the conversation and answers or calls tools (validated)."""
    ctx = _context(runtime)
    try:
        model = load_chat_model(ctx).bind_tools(TOOLS)
    except MissingKeyError as err:
        return {"messages": [AIMessage(content=str(err))]}
    messages = [SystemMessage(content=ctx.system_prompt), *state.messages]
    response = invoke_with_repair(model, messages, TOOLS_BY_NAME, ctx)
    if state.is_last_step and response.tool_calls:
        response = AIMessage(id=response.id, content="I could not finish this within the allowed number of steps. "
                                                     "Your conversation is saved; ask again more specifically.")
    return {"messages": [response]}


def stage(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Pause for the user's approval of every staged tool call (the paper's staging step)."""
    message = state.messages[-1]
    if not isinstance(message, AIMessage):
        raise TypeError(f"stage expects the model's tool calls last, got {type(message).__name__}")
    ctx = _context(runtime)
    staged = [tc for tc in message.tool_calls if requires_approval(tc)]
    if not staged:
        raise ValueError("stage was routed to without a staged tool call")
    # candidates that fit the user's images (their checkpoints, else the hub shortlist of models covering the classes)
    measured = seconds_per_call(state.last_run.result) if state.last_run is not None else None
    planned = {tc["id"]: stage_run(tc["args"], ctx, state.proposal, measured) for tc in staged
               if tc["name"] == "run_bandit"}
    for tc in staged:
        if tc["name"] == "run_bandit" and (why := catalog_models_on_demo(tc["args"], ctx)):
            planned[tc["id"]] = StagedRun(tc["args"], [why], runnable=False)
    blocked = [tc for tc in staged if tc["id"] in planned and not planned[tc["id"]].runnable]
    if blocked:        # staging never offers Run for what cannot run: the model answers with the reasons
        return {"messages": [ToolMessage(content="\n".join(planned[tc["id"]].lines) if tc in blocked else
                                         "Not run: another call of this step cannot run.", tool_call_id=tc["id"],
                                         name=tc["name"], status="error") for tc in message.tool_calls]}
    calls = [shortlist_when_unnamed({**tc, "args": planned[tc["id"]].args} if tc["id"] in planned else tc, ctx,
                                    state.proposal) for tc in message.tool_calls]
    calls = [with_proposed_limits(tc, state.proposal) for tc in calls]
    if calls != list(message.tool_calls):
        message = message.model_copy(update={"tool_calls": calls})
        staged = [tc for tc in calls if requires_approval(tc)]
    decision = StagingDecision(approved=True)
    for call in staged:   # one interrupt per staged call; all must be approved
        costed = bool(call["id"] in planned and planned[call["id"]].lines)   # the plan's cost line has the time
        payload = staging_payload(call, state.proposal, state.last_run, ctx, costed=costed)
        if call["id"] in planned:
            payload = with_plan(payload, planned[call["id"]].lines, planned[call["id"]].label_map)
        answer = StagingDecision.coerce(interrupt(payload))
        if not answer.approved:
            decision = answer
            break
        decision = decision.model_copy(update={k: v for k, v in answer.model_dump().items()
                                               if k != "approved" and v not in (None, "")})
    return apply_decision(message, {tc["id"] for tc in staged}, decision) or (
        {"messages": [message]} if message is not state.messages[-1] else {})


def catalog_models_on_demo(args: dict[str, Any], ctx: Context) -> str | None:
    """Why a run of named catalog models (e.g. a hub shortlist) cannot run when no images were uploaded: the demo
    data are handwritten digits, which only the demo zoo classifies; None when the run can go ahead."""
    models = list(args.get("models") or [])
    if not models or (args.get("dataset") or ctx.uploaded_dataset) not in (None, "", DEMO_DATASET):
        return None
    demo = {c.name for c in workspace_for(ctx).demo_cards()}
    if any(m in demo for m in models):
        return None
    return (f"**Nothing can run yet**: the {len(models)} candidates ({', '.join(f'`{m}`' for m in models[:3])}"
            f"{' …' if len(models) > 3 else ''}) classify ImageNet classes, and no images of yours were uploaded (the "
            "demo data are handwritten digits). Upload your images (an ImageFolder or a .zip, one folder per class), "
            "then say “run it”: staging lists these candidates for your approval.")


def with_proposed_limits(call: dict[str, Any], proposal: dict[str, Any] | None) -> dict[str, Any]:
    """A run staged without a word on limits keeps the limits of the proposal (an LLM may leave them out of the
    run_bandit call); the staging message shows them and the user can change them."""
    limits = dict((proposal or {}).get("constraints") or {})
    if call["name"] != "run_bandit" or not limits or "constraints" in call["args"]:
        return call
    return {**call, "args": {**call["args"], "constraints": limits}}


def route_model_output(state: State) -> Literal["__end__", "stage", "tools"]:
    """After the reasoning step: answer -> END; staged calls -> stage; other calls -> tools."""
    last = state.messages[-1]
    if not isinstance(last, AIMessage):
        raise TypeError(f"expected an AIMessage after call_model, got {type(last).__name__}")
    if not last.tool_calls:
        return "__end__"
    if any(requires_approval(tc) for tc in last.tool_calls):
        return "stage"
    return "tools"


def route_after_stage(state: State) -> Literal["tools", "call_model"]:
    """Approved -> run the tools; refused (refusals are ToolMessages) -> let the model answer."""
    last = state.messages[-1]
    if isinstance(last, ToolMessage):
        return "call_model"
    if isinstance(last, AIMessage) and last.tool_calls:
        return "tools"
    raise TypeError(f"unexpected last message after stage: {type(last).__name__}")


def build_graph(checkpointer: BaseCheckpointSaver | None = None) -> CompiledStateGraph:
    builder = StateGraph(State, input_schema=InputState, context_schema=Context)
    builder.add_node("call_model", call_model)
    builder.add_node("stage", stage)
    builder.add_node("tools", ToolNode(TOOLS))
    builder.add_edge(START, "call_model")
    builder.add_conditional_edges("call_model", route_model_output)
    builder.add_conditional_edges("stage", route_after_stage)
    builder.add_edge("tools", "call_model")
    return builder.compile(checkpointer=checkpointer, name="GreenRunner")


def default_conversations_path() -> Path:
    """``<cache>/conversations.sqlite`` of a caller that names no file (the cache folder from ``EnvSettings``)."""
    from agent.settings import EnvSettings
    return EnvSettings().cache_root() / "conversations.sqlite"


def checkpoint_serde() -> Any:
    """The persistence edge of the typed state: LangGraph stores dataclasses by module, name and fields, and revives
    only the types listed (``last_run``'s ``RunRecord`` and its parts) besides its own safe ones."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    from tools.result import CHECKPOINTED_TYPES
    return JsonPlusSerializer(allowed_msgpack_modules=[(t.__module__, t.__name__) for t in CHECKPOINTED_TYPES])


def open_checkpointer(path: str | Path | None = None) -> BaseCheckpointSaver:
    """A SQLite checkpointer (conversations keyed by thread id survive restarts); one connection, thread-safe use."""
    from langgraph.checkpoint.sqlite import SqliteSaver
    path = Path(path) if path is not None else default_conversations_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteSaver(sqlite3.connect(str(path), check_same_thread=False), serde=checkpoint_serde())



async def open_async_checkpointer(path: str | Path | None = None) -> BaseCheckpointSaver:
    """The same SQLite file for async apps (Chainlit): use with ``graph.astream``/``ainvoke``."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    path = Path(path) if path is not None else default_conversations_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return AsyncSqliteSaver(await aiosqlite.connect(str(path)), serde=checkpoint_serde())


graph = build_graph()
