"""A budget or sample below 1 in the chat is refused with the rule, like `--sample 0` and `--budget 0` on the command
line: "use a sample of 0 images" was read as a new use case and staged a run on every image, "sample -5" was not
understood, and "budget -5" was kept as a preference for the next run."""
from __future__ import annotations

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import checkpoint_serde
from agent.intents import parse_intent
from agent.session import ChatSession


@pytest.mark.parametrize("text, words", [
    ("use a sample of 0 images", "a sample of 0 images has nothing to evaluate"),
    ("sample -5", "a sample of -5 images has nothing to evaluate"),
    ("run on 0 images", "a sample of 0 images"),
    ("budget 0", "a budget of 0 calls evaluates nothing"),
    ("budget -5", "a budget of -5 calls evaluates nothing"),
])
def test_a_number_below_one_is_read_as_the_setting_with_its_rule(text, words):
    intent = parse_intent(text)
    assert intent is not None and intent.kind == "budget" and words in intent.reason and "(1 or more)" in intent.reason


@pytest.mark.parametrize("text", ["sample 50", "budget 500", "use a sample of 200 images", "budget 2k"])
def test_valid_numbers_are_not_refused(text):
    intent = parse_intent(text)
    assert intent is not None and intent.reason == ""


def test_the_chat_refuses_them_and_stages_nothing():
    context = Context(llm="offline", include_torchvision=False)
    session = ChatSession("run-numbers", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    for text, words in (("use a sample of 0 images", "a sample of 0 images has nothing to evaluate"),
                        ("budget -5", "a budget of -5 calls evaluates nothing")):
        reply = session.send(text)
        assert reply.interrupt is None and not reply.tool_calls(), text
        assert f"I did not change anything: {words}" in reply.text
    reply = session.send("detect digits from a drone")          # the refused numbers did not become preferences
    assert reply.interrupt is not None and reply.interrupt["run"]["sample"] is None
    assert reply.interrupt["run"]["budget"] != -5
