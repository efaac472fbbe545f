"""The chat model behind the reasoning node: ChatOpenAI (any OpenAI-compatible server) with a key, else the offline
reasoner; tool-call validation with one repair attempt; clear messages when the endpoint fails."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.tools import BaseTool
from pydantic import ValidationError

from agent.context import Context
from agent.feedback import CallProblem, ToolCallRepair
from agent.offline import OfflineReasoner


class MissingKeyError(ValueError):
    """An OpenAI-compatible endpoint is configured without an API key."""


def load_chat_model(ctx: Context) -> BaseChatModel:
    """ChatOpenAI when the context (or $OPENAI_API_KEY) gives a key, else the offline reasoner."""
    if not ctx.uses_openai():
        return OfflineReasoner()
    from langchain_openai import ChatOpenAI
    key = ctx.resolved_api_key()
    if not key:
        where = f"OPENAI_BASE_URL is set ({ctx.base_url}) but" if ctx.base_url else "llm='openai' is chosen but"
        raise MissingKeyError(f"{where} OPENAI_API_KEY is not: set OPENAI_API_KEY (any non-empty value for local "
                              "servers such as Ollama or vLLM), or unset OPENAI_BASE_URL to use the offline reasoner. "
                              "Nothing was run.")
    return ChatOpenAI(model=ctx.model, base_url=ctx.base_url, api_key=key, timeout=ctx.llm_timeout,
                      max_retries=ctx.llm_max_retries, temperature=ctx.temperature)


def describe_model(ctx: Context) -> str:
    return f"{ctx.model} at {ctx.base_url or 'api.openai.com'}" if ctx.uses_openai() else "the offline reasoner"


def tool_call_problems(message: AIMessage, tools: Mapping[str, BaseTool]) -> list[CallProblem]:
    """Why the model's tool calls cannot run: unparseable JSON, unknown tools, arguments failing the pydantic schema."""
    problems = []
    for bad in message.invalid_tool_calls:
        problems.append(CallProblem("json", bad.get("name") or "a tool call", "arguments are not valid JSON "
                                    f"({(bad.get('error') or '').strip() or str(bad.get('args'))[:200]})"))
    for call in message.tool_calls:
        tool = tools.get(call["name"])
        if tool is None:
            problems.append(CallProblem("unknown", call["name"], ", ".join(tools)))
            continue
        schema = tool.args_schema
        if isinstance(schema, type):
            try:
                schema.model_validate(call["args"])
            except ValidationError as err:
                details = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}"
                                    for e in err.errors())
                problems.append(CallProblem("schema", call["name"], details, json.dumps(call["args"])[:300]))
    return problems


def repair_request(message: AIMessage, problems: Sequence[CallProblem]) -> list[BaseMessage]:
    """Messages that show the model its invalid output and ask once for a corrected one (kept out of the state)."""
    shown = AIMessage(content=(message.content or "") + "\n[tool calls omitted: invalid]")
    return [shown, ToolCallRepair.about(problems)]


def endpoint_error_message(exc: Exception, ctx: Context) -> str:
    """A user-facing explanation of an LLM failure; the conversation itself is kept."""
    where = describe_model(ctx)
    name = type(exc).__name__
    kind = "failed"
    lowered = f"{name} {exc}".lower()
    if "connection" in lowered or "connect" in lowered:
        kind = "is not reachable (connection refused or no route)"
    elif "timeout" in lowered or "timed out" in lowered:
        kind = f"did not answer within {ctx.llm_timeout:g} s"
    elif "json" in lowered or "decode" in lowered or "validation" in lowered:
        kind = "returned a response that is not valid OpenAI chat-completions JSON"
    elif "status" in lowered or "error code" in lowered:
        kind = "returned an error status"
    return (f"The language model ({where}) {kind}: {name}: {str(exc)[:300]}. Nothing was run and your conversation "
            "is saved: send your message again when the endpoint works, or unset OPENAI_API_KEY to use the offline "
            "reasoner.")


def invoke_with_repair(model: Any, messages: list[BaseMessage], tools: Mapping[str, BaseTool],
                       ctx: Context) -> AIMessage:
    """One model call, validated; one repair attempt when the tool calls are invalid; then a clear error message."""
    try:
        response = model.invoke(messages)
    except Exception as exc:  # noqa: BLE001 - any endpoint failure becomes a message; the conversation stays
        return AIMessage(content=endpoint_error_message(exc, ctx))
    problems = tool_call_problems(response, tools)
    if not problems:
        return response
    try:
        repaired = model.invoke(messages + repair_request(response, problems))
    except Exception as exc:  # noqa: BLE001 - any endpoint failure becomes a message
        return AIMessage(content=endpoint_error_message(exc, ctx))
    again = tool_call_problems(repaired, tools)
    if not again:
        return repaired
    return AIMessage(content=(f"The language model ({describe_model(ctx)}) returned invalid tool calls twice, so "
                              "nothing was run:\n" + "\n".join(f"- {p}" for p in again)
                              + "\nYour conversation is saved; rephrase your request or try again."))
