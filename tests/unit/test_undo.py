"""Undoing the last change of weights or limits ("undo that"): the offline reasoner goes back to the state before it,
or says there is nothing to undo and shows the current values."""
from __future__ import annotations

from langchain_core.messages import HumanMessage, ToolMessage

from agent.offline import Turn

TOOLS = {"propose_weights", "run_bandit", "rerank"}


def _conversation(*texts: str):
    """Each message answered, each tool call acknowledged; returns the messages and the replies."""
    messages, replies = [], []
    for text in texts:
        messages.append(HumanMessage(text))
        reply = Turn(messages, TOOLS).reply()
        replies.append(reply)
        messages += [reply, *[ToolMessage(content="ok", tool_call_id=tc["id"], name=tc["name"])
                              for tc in reply.tool_calls]]
    return replies


def test_undo_after_a_weight_change_goes_back_to_the_weights_before_it():
    replies = _conversation("Detect cars on a phone within 30 ms", "what if size matters more?", "undo that")
    proposed = replies[0].tool_calls[0]["args"]["weights"]
    changed = replies[1].tool_calls[0]["args"]["weights"]
    assert changed != proposed
    undo = replies[2]
    assert undo.tool_calls[0]["args"]["weights"] == proposed
    assert "undid the last change" in undo.content and f"size {changed['size']:g}" in undo.content


def test_undo_after_a_limit_change_restores_the_old_limit():
    replies = _conversation("Detect cars on a phone within 30 ms, model under 20 MB", "relax the size limit to 200MB",
                            "undo the last change")
    assert replies[1].tool_calls[0]["args"]["constraints"]["max_size_mb"] == 200.0
    assert replies[2].tool_calls[0]["args"]["constraints"] == {"max_size_mb": 20.0, "max_latency_ms": 30.0}
    assert "size ≤ 20 MB" in replies[2].content


def test_undo_twice_walks_back_one_change_at_a_time():
    replies = _conversation("Detect cars on a phone", "what if size matters more?", "accuracy more", "undo that")
    assert replies[3].tool_calls[0]["args"]["weights"] == replies[1].tool_calls[0]["args"]["weights"]


def test_nothing_to_undo_says_so_and_shows_the_current_values():
    replies = _conversation("Detect cars on a phone within 30 ms", "undo that")
    assert "no earlier change to undo" in replies[1].content and not replies[1].tool_calls
    assert "accuracy 0.6" in replies[1].content and "latency ≤ 30 ms" in replies[1].content


def test_undo_again_goes_further_back_not_forward():
    replies = _conversation("Detect cars on a phone within 30 ms, model under 20 MB", "relax the size limit to 200MB",
                            "latency matters less", "undo that", "undo that")
    assert replies[3].tool_calls[0]["args"]["weights"] == replies[1].tool_calls[0]["args"]["weights"]
    assert replies[4].tool_calls[0]["args"]["constraints"]["max_size_mb"] == 20.0
    assert "no earlier change" in _conversation("Detect cars on a phone", "bump accuracy", "undo", "undo")[3].content


def test_undo_after_a_run_re_ranks_from_the_cache_with_the_old_values():
    messages = []
    for text in ("Detect cars on a phone within 30 ms, model under 20 MB", "relax the size limit to 200MB"):
        messages.append(HumanMessage(text))
        reply = Turn(messages, TOOLS).reply()
        messages += [reply, *[ToolMessage(content="ok", tool_call_id=tc["id"], name=tc["name"])
                              for tc in reply.tool_calls]]
    turn = Turn([*messages, HumanMessage("undo that")], TOOLS)
    turn.facts.run_result = object()          # a run exists: the cache answers, nothing is staged
    call = turn.reply().tool_calls[0]
    assert call["name"] == "rerank" and call["args"]["constraints"] == {"max_size_mb": 20.0, "max_latency_ms": 30.0}
