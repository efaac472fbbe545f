"""Issue 13: the offline reasoner proposes a hub shortlist when asked ("which models should I try?"), through a real
shortlist_models call in the graph, spending no evaluation; "run it" then stages a run on those candidates."""
from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.followups import parse_followup
from agent.graph import checkpoint_serde
from agent.intents import parse_intent
from agent.session import ChatSession
from greenrunner_core import candidate_plan
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.workspace import Workspace

PARAPHRASES = [  # text, k, source, limits read from the text
    ("which models should I try?", None, None, {}),
    ("shortlist 20 models from timm for this", 20, "timm", {}),
    ("what candidates would you pick for a drone under 50 MB?", None, None, {"max_size_mb": 50.0}),
    ("show me timm models under 1 GMACs", None, "timm", {"max_macs": 1e9}),
    ("Which models would you recommend?", None, None, {}),
    ("give me a shortlist of 12 from torchvision", 12, "torchvision", {}),
    ("suggest some candidates under 20 MB", None, None, {"max_size_mb": 20.0}),
    ("what models should we evaluate?", None, None, {}),
]


def read(text: str):
    return parse_followup(text) or parse_intent(text)


@pytest.mark.parametrize("text, k, source, limits", PARAPHRASES)
def test_shortlist_requests_are_read_with_k_source_and_limits(text, k, source, limits):
    intent = read(text)
    assert intent is not None and intent.kind == "shortlist", text
    assert (intent.k, intent.source) == (k, source)
    assert intent.filters == pytest.approx(limits)


@pytest.mark.parametrize("text, kind", [
    ("show the models under 20 MB", "list"), ("what if the limit is 50 MB?", "constraint"),
    ("show me the top 5", "top_n"), ("run it", "run"),
    ("Pick the most accurate model for sorting photos on a laptop", "use_case"),
])
def test_other_requests_are_not_shortlists(text, kind):
    assert read(text).kind == kind


def test_a_shortlist_size_out_of_range_is_refused_with_the_range():
    intent = read("shortlist 500 models")
    assert intent.kind == "shortlist" and "from 2 to 200" in intent.reason


@pytest.fixture()
def no_evaluation(monkeypatch):
    """Any model evaluation fails the test (the run stops before loading a model when it is approved)."""
    calls: list[tuple] = []

    def stop(*args, **kwargs):
        calls.append(args)
        raise GreenRunnerError("stopped by the test before loading any model")
    monkeypatch.setattr(Workspace, "select", stop)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return calls


def session(name: str, **context) -> ChatSession:
    return ChatSession(name, checkpointer=InMemorySaver(serde=checkpoint_serde()),
                       context=Context(llm="offline", **context))


def shortlist_message(reply) -> ToolMessage:
    return next(m for m in reply.messages if isinstance(m, ToolMessage) and m.name == "shortlist_models")


@pytest.mark.parametrize("text, k, source, limits", PARAPHRASES[:4])
def test_the_offline_graph_calls_shortlist_models_and_spends_nothing(text, k, source, limits, no_evaluation):
    s = session(f"ask-{text}")
    reply = s.send(text)
    calls = reply.tool_calls()
    assert [c["name"] for c in calls] == ["shortlist_models"] and reply.interrupt is None
    args = calls[0]["args"]
    assert (args.get("k"), args.get("source")) == (k, source)
    assert args["constraints"] == pytest.approx(limits) and args["weights"]["accuracy"] > 0
    tool = shortlist_message(reply)
    names = tool.artifact["shortlist"]
    assert len(names) == (k or 30) and tool.status != "error"
    if source == "timm":
        assert all(n.startswith("timm:") for n in names)
    assert "why kept" in reply.text and "Pareto front" in reply.text and "Nothing was evaluated" in reply.text
    assert no_evaluation == [] and s.values().get("last_run") is None


def test_the_shortlist_uses_the_conversations_weights_and_limits(no_evaluation):
    s = session("after-use-case")
    staged = s.send("Detect people from a drone with a small onboard computer; the model must be under 40 MB")
    proposal = s.values()["proposal"]
    assert staged.interrupt is not None
    s.resume(False)                                   # refused: the weights stay, nothing ran
    reply = s.send("which models should I try?")
    args = reply.tool_calls()[0]["args"]
    assert args["weights"] == proposal["weights"] and args["constraints"] == {"max_size_mb": 40.0}
    assert all(e["name"] for e in shortlist_message(reply).artifact["entries"])
    assert no_evaluation == []


def _images(root: Path) -> Path:
    from PIL import Image
    for k, cls in enumerate(("tabby", "goldfish")):
        (root / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8), (80 * k, 0, 0)).save(root / cls / "0.png")
    return root


def test_run_it_stages_the_shortlisted_candidates_for_approval(tmp_path, monkeypatch, no_evaluation):
    monkeypatch.setattr(candidate_plan, "weights_online", lambda *a, **k: True)
    s = session("upload-run", uploaded_dataset=str(_images(tmp_path / "pets")))
    names = shortlist_message(s.send("shortlist 8 models from timm under 1 GMACs")).artifact["shortlist"]
    staged = s.send("run it")
    assert staged.interrupt is not None and staged.interrupt["run"]["models"] == names
    assert all(f"`{n}`" in staged.interrupt["message"] for n in names)       # listed for approval
    assert staged.interrupt["constraints"] == {"max_macs": 1e9}
    assert no_evaluation == []
    s.resume(True)                                    # approved: the call that runs names them
    ran = [m for m in s.history() if getattr(m, "tool_calls", None)][-1]
    assert ran.tool_calls[0]["args"]["models"] == names and len(no_evaluation) == 1


def test_offline_weights_not_cached_are_listed_as_left_out_before_approval(tmp_path, monkeypatch, no_evaluation):
    monkeypatch.setattr(candidate_plan, "weights_online", lambda *a, **k: False)
    monkeypatch.setattr(candidate_plan, "_weights_cached", lambda card, *_: False)
    s = session("upload-offline", uploaded_dataset=str(_images(tmp_path / "pets")))
    names = shortlist_message(s.send("shortlist 5 models from timm")).artifact["shortlist"]
    reply = s.send("run it")
    assert reply.interrupt is None and no_evaluation == []
    assert "Left out" in reply.text and "not cached and this machine is offline" in reply.text
    assert f"`{names[0]}`" in reply.text


def test_without_uploaded_images_the_shortlist_is_not_run_on_the_digits(no_evaluation):
    s = session("demo-run")
    s.send("which models should I try?")
    reply = s.send("run it")
    assert reply.interrupt is None and no_evaluation == []
    assert "Upload your images" in reply.text and "handwritten digits" in reply.text


def test_changing_weights_or_limits_before_a_run_proposes_the_shortlist_again(no_evaluation):
    s = session("reshortlist")
    first = s.send("shortlist 10 models from timm").tool_calls()[0]["args"]
    more = s.send("what if size matters more?").tool_calls()
    assert [c["name"] for c in more] == ["shortlist_models"]
    assert more[0]["args"]["weights"]["size"] > first["weights"]["size"]
    assert (more[0]["args"]["k"], more[0]["args"]["source"]) == (10, "timm")
    limited = s.send("only models under 10 MB please")
    assert limited.tool_calls()[0]["args"]["constraints"] == {"max_size_mb": 10.0}
    names = shortlist_message(limited).artifact["shortlist"]
    lifted = s.send("drop the size limit").tool_calls()[0]
    assert lifted["name"] == "shortlist_models" and lifted["args"]["constraints"] == {}
    assert s.values().get("last_run") is None and no_evaluation == []
    assert names != shortlist_message(s.send("shortlist 10 models from timm")).artifact["shortlist"]
