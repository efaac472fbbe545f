"""The langchain tools the agent calls: typed argument schemas in, text for the LLM + artifact for the UI out.

Each tool reads its settings from the graph's runtime context (a ``ToolSettings``) and the last run from the graph
state, and returns a ``Command`` that adds its ToolMessage (content + artifact) and updates the state. Core errors
become ToolMessages with status "error" whose text says what to do (e.g. close model names).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, ToolException, tool
from langgraph.errors import GraphBubbleUp
from langgraph.prebuilt import ToolRuntime
from langgraph.types import Command

from greenrunner_core.errors import GreenRunnerError
from tools import catalog, selection, shortlist, user_metrics
from tools.dataset_text import error_text
from tools.progress import stream_progress
from tools.result import ToolResult
from tools.schemas import (
    CompareBaselinesArgs,
    ComputeComplexityArgs,
    EnableMetricArgs,
    GenerateMetricStubArgs,
    ListModelsArgs,
    RerankArgs,
    RunBanditArgs,
)
from tools.settings import ToolSettings, workspace_for
from tools.text import step_words

_log = logging.getLogger(__name__)


def settings_of(runtime: ToolRuntime | None) -> ToolSettings:
    ctx = getattr(runtime, "context", None)
    return ctx if isinstance(ctx, ToolSettings) else ToolSettings()


def state_value(runtime: ToolRuntime | None, key: str) -> Any:
    state = getattr(runtime, "state", None)
    if state is None:
        return None
    return state.get(key) if isinstance(state, dict) else getattr(state, key, None)


def _respond(name: str, runtime: ToolRuntime, work: Callable[[], ToolResult]) -> Command:
    try:
        result = work()
    except GraphBubbleUp:
        raise                         # LangGraph control flow (interrupts), not an error
    except GreenRunnerError as err:
        raise ToolException(f"{step_words(name)} failed: {error_text(err)}") from err
    except Exception as err:          # a bug: still answer the tool call, so the conversation stays usable
        _log.exception("tool %s failed unexpectedly", name)
        raise ToolException(f"{step_words(name)} failed unexpectedly ({type(err).__name__}: {err}); this is a GreenRunner bug, "
                            "please report it. Nothing else was changed.") from err
    message = ToolMessage(content=result.text, artifact=result.artifact, name=name,
                          tool_call_id=runtime.tool_call_id or name)
    return Command(update={**result.updates, "messages": [message]})


@tool("list_models", args_schema=ListModelsArgs)
def list_models(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """List candidate models (name, source, family, params, size MB, MACs, benchmark accuracy) with optional
    filters. Use it to answer questions such as 'show the models under 20 MB' before any evaluation."""
    args = ListModelsArgs(**kwargs)
    return _respond("list_models", runtime, lambda: catalog.list_models(workspace_for(settings_of(runtime)), args))


@tool("shortlist_models", args_schema=shortlist.ShortlistArgs)
def shortlist_models(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Propose K candidate models (default 30) from the timm and torchvision catalogs before any evaluation: the
    Pareto front of published accuracy vs MACs/size under the weights and hard constraints, each with why it was
    kept. Use it when the user names no models for their own images."""
    args = shortlist.ShortlistArgs(**kwargs)
    return _respond("shortlist_models", runtime,
                    lambda: shortlist.shortlist_models(workspace_for(settings_of(runtime)), args))


@tool("compute_complexity", args_schema=ComputeComplexityArgs)
def compute_complexity(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Measure MACs per image, parameter count and serialized size of named models with fvcore (cached on disk)."""
    args = ComputeComplexityArgs(**kwargs)
    return _respond("compute_complexity", runtime,
                    lambda: catalog.compute_complexity(workspace_for(settings_of(runtime)), args))


@tool("run_bandit", args_schema=RunBanditArgs)
def run_bandit(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Select the best model for the user's images under a budget of evaluation calls with a bandit strategy, and
    report the top 3 with what was spent and saved against brute force. It spends compute: the user approves the
    weights before it runs. Streams progress events."""
    args = RunBanditArgs(**kwargs)
    settings = settings_of(runtime)
    return _respond("run_bandit", runtime, lambda: selection.run_bandit(
        workspace_for(settings), args, settings, progress=stream_progress("run_bandit"), cancel=settings.cancel))


@tool("rerank", args_schema=RerankArgs)
def rerank(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Answer 'what if X matters more/less' or 'ignore X': re-rank the last run under new weights from cached
    outcomes only (0 new evaluations), showing the old and new top 3, and say how many calls would settle it if the
    cache does not."""
    args = RerankArgs(**kwargs)
    settings = settings_of(runtime)
    return _respond("rerank", runtime, lambda: selection.rerank(
        workspace_for(settings), args, state_value(runtime, "last_run"), state_value(runtime, "weights"), settings))


@tool("compare_baselines", args_schema=CompareBaselinesArgs)
def compare_baselines(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Compare the bandit's pick with brute force (every model on every image) and the benchmark-card pick (by
    published accuracy), from the cache where possible. Brute force runs only within a limit of new evaluations;
    above it the reply states its cost instead. Answers 'what did brute force cost?'."""
    args = CompareBaselinesArgs(**kwargs)
    settings = settings_of(runtime)
    return _respond("compare_baselines", runtime, lambda: selection.compare_baselines(
        workspace_for(settings), args, state_value(runtime, "last_run"), state_value(runtime, "weights"), settings,
        progress=stream_progress("compare_baselines"), cancel=settings.cancel))


@tool("generate_metric_stub", args_schema=GenerateMetricStubArgs)
def generate_metric_stub(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Write a Python stub for a metric the use case needs but GreenRunner does not measure (robustness to blur,
    calibration, per-class fairness, latency on a device...) into the user's metrics folder, checked by parsing but
    never run until the user enables it; explains how to complete it."""
    args = GenerateMetricStubArgs(**kwargs)
    return _respond("generate_metric_stub", runtime,
                    lambda: user_metrics.generate_metric_stub(args, settings_of(runtime)))


@tool("enable_metric", args_schema=EnableMetricArgs)
def enable_metric(runtime: ToolRuntime, **kwargs: Any) -> Command:
    """Enable a completed user metric so it is measured in later runs. It runs the user's code: the user confirms
    before it executes."""
    args = EnableMetricArgs(**kwargs)
    return _respond("enable_metric", runtime, lambda: user_metrics.enable_metric(args, settings_of(runtime)))


TOOLS: list[BaseTool] = [list_models, shortlist_models, compute_complexity, run_bandit, rerank, compare_baselines,
                         generate_metric_stub, enable_metric]
for _t in TOOLS:
    _t.handle_tool_error = True   # ToolException -> ToolMessage(status="error") the LLM can act on

STAGED_TOOLS: frozenset[str] = frozenset({"run_bandit", "enable_metric"})
"""Tools that spend compute or run user code: the graph pauses for the user's approval before they execute."""


def requires_approval(call: Mapping[str, Any]) -> bool:
    """This tool call spends compute or runs user code, so the user approves it first. ``compare_baselines`` needs
    approval unless it may spend no new evaluation (``max_new_calls=0``: answers from the cache only)."""
    if call["name"] == "compare_baselines":
        return (call.get("args") or {}).get("max_new_calls") != 0
    return call["name"] in STAGED_TOOLS
