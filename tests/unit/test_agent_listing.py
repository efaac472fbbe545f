"""A model listing never drops part of the request silently (QA: "show me model resnet9000" and "list models with
accuracy above 150%" both listed all 1,398 models): each filter is applied, or refused with its rule, or named back
as not understood with the filters that exist."""
from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import checkpoint_serde
from agent.intents import parse_intent
from agent.offline import Turn
from agent.session import ChatSession
from greenrunner_core.errors import UnknownModelError
from tools import catalog, schemas
from tools.settings import workspace_for


@pytest.mark.parametrize("text, args", [
    ("show me model resnet9000", {"names": ["resnet9000"]}),
    ("show models with fewer than 1M params", {"max_params": 1e6}),
    ("models with accuracy above 80%", {"min_benchmark_accuracy": 0.8, "sort": "top1"}),
    ("show models above 80% accuracy", {"min_benchmark_accuracy": 0.8, "sort": "top1"}),
    ("show me resnet models", {"family": "resnet"}),
    ("list the 5 smallest models", {"limit": 5, "sort": "size"}),
    ("show the models under 20 MB", {"max_size_mb": 20.0}),
    ("models under 500 mmacs from demo", {"max_mmacs": 500.0, "source": "demo"}),
    ("show me model resnet18 and resnet50", {"names": ["resnet18", "resnet50"]}),
    ("show models resnet18, mobilenet_v3_small", {"names": ["resnet18", "mobilenet_v3_small"]}),
    ("show me 10 models", {"limit": 10}),
    ("list models from demo sorted by accuracy", {"source": "demo", "sort": "top1"}),
    ("list models under 5 MB from timm", {"max_size_mb": 5.0, "source": "timm"}),
    ("list 3 resnet models", {"limit": 3, "family": "resnet"}),
])
def test_every_part_of_a_listing_is_read(text, args):
    intent = parse_intent(text)
    assert intent is not None and intent.kind == "list" and not intent.reason, (text, intent)
    assert intent.filters == args


@pytest.mark.parametrize("text, said", [
    ("list models with accuracy above 150%", "accuracy is between 0 and 100 %"),
    ("list models with banana above 3", "I did not understand “with banana above 3”"),
    ("list models with accuracy below 50%", "I did not understand “with accuracy below 50%”"),
    ("list the 5 fastest models", "“fastest” is not a limit or an order I can apply"),
    ("show me small models", "“small” is not a limit or an order I can apply"),
    ("list models sorted by banana", "I did not understand “sorted by banana”"),
    ("show me 0 models", "give a count from 1 to 500"),
    ("show models with fewer than 0 params", "leaves no model to show"),
])
def test_what_cannot_be_applied_is_refused_with_the_reason_and_nothing_is_listed(text, said):
    reply = Turn([HumanMessage(content=text)], {"list_models"}).reply()
    assert not reply.tool_calls and said in reply.content, reply.content


@pytest.mark.parametrize("text", ["list hf models", "list candidates from timm", "show me timm models under 1 GMACs"])
def test_the_hub_and_candidates_stay_a_shortlist(text):
    """The verb "list" asks the catalog (list_models); the Hugging Face Hub and candidates are searched by the
    shortlist only."""
    intent = parse_intent(text)
    assert intent is not None and intent.kind == "shortlist"


def test_listing_timm_models_under_a_size_lists_every_match():
    ws = workspace_for(Context(llm="offline", include_torchvision=False))
    intent = parse_intent("list models under 5 MB from timm")
    out = catalog.list_models(ws, schemas.ListModelsArgs(**intent.filters))
    cards = out.artifact["cards"]
    assert cards and all(c["source"] == "timm" and c["size_mb"] <= 5 for c in cards)
    assert out.artifact["total"] == sum(1 for c in ws.registry.cards() if c.source == "timm" and c.size_mb <= 5)


def test_a_filter_not_understood_says_how_to_ask():
    reply = Turn([HumanMessage(content="list models with banana above 3")], {"list_models"}).reply()
    assert "accuracy above 80%" in reply.content and "fewer than 5M params" in reply.content


def test_a_listing_passes_its_filters_to_the_tool():
    reply = Turn([HumanMessage(content="models with accuracy above 80%")], {"list_models"}).reply()
    assert reply.tool_calls[0]["name"] == "list_models"
    assert reply.tool_calls[0]["args"] == {"min_benchmark_accuracy": 0.8, "sort": "top1"}


def test_an_unknown_family_gets_close_names_not_an_empty_list():
    ws = workspace_for(Context(llm="offline", include_torchvision=False))
    with pytest.raises(UnknownModelError, match=r"unknown family 'resnt' — did you mean .*resnet"):
        catalog.list_models(ws, schemas.ListModelsArgs(family="resnt"))
    cards = catalog.list_models(ws, schemas.ListModelsArgs(family="resnet", limit=3)).artifact["cards"]
    assert cards and all(c["family"] == "resnet" for c in cards)


def test_an_unknown_model_name_in_the_chat_gets_did_you_mean():
    s = ChatSession("listing-unknown", checkpointer=InMemorySaver(serde=checkpoint_serde()),
                    context=Context(llm="offline", include_torchvision=False))
    reply = s.send("show me model resnet9000")
    assert [c["name"] for c in reply.tool_calls()] == ["list_models"]
    tool = next(m for m in reply.messages if isinstance(m, ToolMessage))
    assert tool.status == "error" and "unknown model 'resnet9000' — did you mean" in tool.content
    assert "resnet9000" in reply.text and "did you mean" in reply.text


def test_an_accuracy_listing_names_the_benchmarks_it_mixes():
    ws = workspace_for(Context(llm="offline", include_torchvision=False))
    out = catalog.list_models(ws, schemas.ListModelsArgs(min_benchmark_accuracy=0.8, sort="top1"))
    assert "own benchmark, not on your images" in out.text and "digits-clean" in out.text
    assert all(c["benchmark_accuracy"] >= 0.8 for c in out.artifact["cards"])


def test_the_listing_phrasings_offered_in_help_are_read():
    from agent.intents import PHRASINGS
    offered = next(p for p in PHRASINGS if "show the models under 20 MB" in p)
    for text in offered.strip('"').split('" / "'):
        intent = parse_intent(text)
        assert intent is not None and intent.kind == "list" and intent.filters and not intent.reason, text
