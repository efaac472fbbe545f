"""The offline reasoner's understanding: each follow-up phrasing of issue 3 maps to the right tool call in a real
graph run, nonsense gets "I did not understand, try: ...", and its weights are sensible per use case."""
from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import checkpoint_serde
from agent.intents import parse_intent
from agent.offline import NOT_UNDERSTOOD
from agent.proposal import propose_weights
from agent.session import ChatSession
from greenrunner_core.strategies import DEFAULT_STRATEGY
from tools.settings import workspace_for
from tools.text import DEFAULT_BUDGET_TEXT

# ---- the reasoner's weights ------------------------------------------------------------------------------------

def test_drone_weights_size_and_complexity_well_above_offline_gpu_batch():
    drone = propose_weights("Count sheep from a drone; the model runs on the drone's small onboard computer").weights
    server = propose_weights("Offline batch analysis of archived photos on a GPU server").weights
    assert drone["size"] >= server["size"] + 0.15
    assert drone["complexity"] >= server["complexity"] + 0.15
    assert server["accuracy"] > drone["accuracy"]


def test_medical_screening_makes_accuracy_dominant():
    p = propose_weights("Medical screening of skin lesion photos in a clinic")
    assert p.weights["accuracy"] >= 0.85
    assert p.weights["accuracy"] > 5 * max(p.weights["size"], p.weights["complexity"])
    assert "medical" in p.cues and "calibration" in p.missing_metrics
    assert "patients" in p.justification["accuracy"]


def test_cues_combine_and_each_weight_is_justified():
    both = propose_weights("a phone app for real-time plant recognition")
    phone = propose_weights("a phone app for plant recognition")
    assert set(both.cues) == {"mobile", "realtime"}
    assert both.weights["complexity"] > phone.weights["complexity"]
    assert all(both.justification[m] for m in both.weights)
    assert both.trade_offs


# ---- phrasings -> intents (pure) ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, kind, detail", [
    ("what if size matters more?", "more", {"metric": "size"}),
    ("What if accuracy matters less", "less", {"metric": "accuracy"}),
    ("ignore complexity", "ignore", {"metric": "complexity"}),
    ("set accuracy to 0.8", "set", {"metrics": {"accuracy": 0.8}}),
    ("use UCB", "strategy", {"strategy": "ucb1"}),
    ("budget 2000", "budget", {"budget": 2000}),
    ("run it", "run", {}),
    ("why this model?", "why", {}),
    ("compare demo_lenet and demo_mlp_tiny", "compare", {"models": ["demo_lenet", "demo_mlp_tiny"]}),
    ("show the models under 20 MB", "list", {"filters": {"max_size_mb": 20.0}}),
    ("what did brute force cost?", "brute_force_cost", {}),
])
def test_issue_phrasings_are_understood(text, kind, detail):
    intent = parse_intent(text)
    assert intent is not None and intent.kind == kind
    for key, value in detail.items():
        assert getattr(intent, key) == value


@pytest.mark.parametrize("text", ["asdf qwerty blah", "hello", "the weather is nice", "42"])
def test_nonsense_is_not_guessed(text):
    assert parse_intent(text) is None


# ---- the same phrasings through the graph, after one real run ---------------------------------------------------

@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> ChatSession:
    context = Context(llm="offline", include_torchvision=False, default_sample=48,
                      metrics_dir=str(tmp_path_factory.mktemp("metrics")))
    s = ChatSession("follow-ups", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    first = s.send("Classify handwritten digits on a mobile phone app")
    assert first.interrupt is not None
    s.resume(True)
    assert s.values()["last_run"] is not None
    return s


def _only_call(reply) -> dict:
    calls = reply.tool_calls()
    assert len(calls) == 1, calls
    return calls[0]


def test_a_new_use_case_after_a_run_on_the_default_budget_keeps_the_default_cap(session):
    """The default budget (50 % of brute force) was worked out for the last run's images; it is not the next run's."""
    assert session.values()["last_run"].args.budget is None
    reply = session.send("detect digits on parcels from a delivery drone")
    assert reply.interrupt is not None and reply.interrupt["run"]["budget"] == DEFAULT_BUDGET_TEXT
    run = next(c for c in reply.tool_calls() if c["name"] == "run_bandit")
    assert run["args"].get("budget") is None
    session.resume(False)


def test_use_ucb_stages_a_run_with_ucb_and_refusal_runs_nothing(session):
    rows = workspace_for(session.context).outcome_cache.stats().rows
    reply = session.send("use UCB")
    call = _only_call(reply)
    assert call["name"] == "run_bandit" and call["args"]["strategy"] == "ucb1"
    assert reply.interrupt["run"]["strategy"] == "ucb1"
    refused = session.resume({"approved": False, "reason": "not now"})
    tool = next(m for m in refused.messages if isinstance(m, ToolMessage))
    assert tool.status == "error" and "not now" in tool.content
    assert "nothing was run" in refused.text
    assert workspace_for(session.context).outcome_cache.stats().rows == rows


def test_budget_2000_stages_a_run_with_that_budget_and_adjusted_weights_are_used(session):
    reply = session.send("budget 2000")
    call = _only_call(reply)
    assert call["name"] == "run_bandit" and call["args"]["budget"] == 2000
    # the user adjusts the weights at the staging step: the run uses them and the history shows them
    done = session.resume({"approved": True, "weights": {"accuracy": 1.0, "size": 0.0, "complexity": 0.0}})
    run = next(m for m in done.messages if isinstance(m, ToolMessage) and m.name == "run_bandit")
    assert run.artifact.result.weights == {"accuracy": 1.0, "size": 0.0, "complexity": 0.0}
    assert run.artifact.args.budget == 2000 and run.artifact.result.spent.calls <= 2000
    staged = [m for m in session.history() if getattr(m, "tool_calls", None)][-1]
    assert staged.tool_calls[0]["args"]["weights"]["accuracy"] == 1.0


def test_run_it_stages_a_run_with_the_current_weights(session):
    reply = session.send("run it")
    call = _only_call(reply)
    assert call["name"] == "run_bandit"
    assert call["args"]["weights"] == session.values()["weights"]
    assert reply.interrupt["run"]["strategy"] in (call["args"].get("strategy"), DEFAULT_STRATEGY)
    session.resume(False)


def test_set_accuracy_reranks(session):
    reply = session.send("set accuracy to 0.8")
    call = _only_call(reply)
    assert call["name"] == "rerank" and call["args"]["weights"] == {"accuracy": 0.8}


def test_why_this_model_explains_the_winner_from_the_result(session):
    reply = session.send("why this model?")
    assert not reply.tool_calls()
    ranking = session.values()["last_run"].result.ranking
    text = reply.text
    assert "ranks first" in text and "accuracy" in text and "size" in text and "MACs" in text
    leader = text.split("**")[1]
    assert leader in [r.name for r in ranking]


def test_why_is_x_first_when_x_is_not_says_so_and_compares_it_with_the_leader(session):
    leader = session.send("why this model?").text.split("**")[1]
    other = next(r.name for r in session.values()["last_run"].result.ranking
                 if r.est_reward is not None and not r.excluded and r.name != leader)
    reply = session.send(f"Why is {other} first?")
    assert not reply.tool_calls()
    assert reply.text.startswith(f"**{other}** is not first: it ranks #")
    assert "ranks first" in reply.text and "is ahead" in reply.text


def test_compare_two_models_of_the_run(session):
    top = [r.name for r in session.values()["last_run"].result.top3]
    reply = session.send(f"compare {top[0]} and {top[2]}")
    assert not reply.tool_calls()
    assert top[0] in reply.text and top[2] in reply.text and "target accuracy" in reply.text


def test_compare_with_an_unknown_model_returns_close_names(session):
    reply = session.send("compare demo_lenet and demo_resnet")
    call = _only_call(reply)
    assert call["name"] == "list_models"
    tool = next(m for m in reply.messages if isinstance(m, ToolMessage))
    assert tool.status == "error" and "demo_resnet_s" in tool.content and "did you mean" in tool.content
    assert "did you mean" in reply.text


def test_show_models_under_20_mb(session):
    reply = session.send("show the models under 20 MB")
    call = _only_call(reply)
    assert call["name"] == "list_models" and call["args"] == {"max_size_mb": 20.0}
    cards = next(m for m in reply.messages if isinstance(m, ToolMessage)).artifact["cards"]
    assert cards and all(c["size_mb"] <= 20 for c in cards)
    assert cards[0]["name"] in reply.text


def test_what_did_brute_force_cost(session):
    reply = session.send("what did brute force cost?")
    call = _only_call(reply)
    # a question about cost spends nothing: the answer comes from the cache and the last run
    assert call["name"] == "compare_baselines" and call["args"] == {"baselines": ["brute_force"], "max_new_calls": 0}
    artifact = next(m for m in reply.messages if isinstance(m, ToolMessage)).artifact
    result = session.values()["last_run"].result
    assert artifact.brute_force_calls == result.brute_force.calls
    assert f"{result.brute_force.calls:,}" in reply.text
    if artifact.brute_force_uncached_calls:
        assert artifact.brute_force.run is False and "not run" in reply.text


def test_nonsense_gets_i_did_not_understand_with_phrasings(session):
    before = len(session.history())
    reply = session.send("purple monkey dishwasher")
    assert not reply.tool_calls() and reply.interrupt is None
    assert reply.text.startswith(NOT_UNDERSTOOD) and "Try:" in reply.text
    assert "what if size matters more" in reply.text
    assert len(session.history()) == before + 2      # the question and the answer; nothing else changed


def test_spend_them_settles_a_rerank_only_with_approval(session):
    reply = session.send("what if accuracy matters less?")
    after = next(m for m in reply.messages if isinstance(m, ToolMessage)).artifact.after
    spend = session.send("spend them")
    if after.settled:
        assert not spend.tool_calls() and "Nothing to spend" in spend.text
        return
    call = _only_call(spend)
    budget = session.values()["last_run"].result.budget
    assert call["name"] == "run_bandit" and call["args"]["budget"] == budget + after.calls_to_settle
    assert spend.interrupt["type"] == "staging"
    session.resume(False)


IMPLEMENTED_CALIBRATION = '''    def measure(self, model, card, images, correct):
        import torch
        with torch.no_grad():
            probs = torch.softmax(model(images), 1)
        conf, pred = probs.max(1)
        hits = torch.tensor([p in ok for p, ok in zip(pred.tolist(), correct)], dtype=torch.float32)
        return float((conf - hits).abs().mean())
'''


def test_metric_stub_then_enable_with_confirmation_then_measured_in_the_next_run(session):
    from pathlib import Path
    stub = session.send("write a metric stub for calibration")
    call = _only_call(stub)
    assert call["name"] == "generate_metric_stub" and call["args"]["name"] == "calibration_error"
    path = Path(next(m for m in stub.messages if isinstance(m, ToolMessage)).artifact["path"])
    assert "enable metric calibration_error" in stub.text and "left out of the reward" in stub.text
    text = path.read_text()
    path.write_text(text[:text.index("    def measure(")] + IMPLEMENTED_CALIBRATION + text[text.index("\nMETRIC = "):])

    asked = session.send("enable metric calibration_error")
    assert asked.interrupt["type"] == "confirm_enable_metric" and asked.interrupt["name"] == "calibration_error"
    enabled = session.resume(True)
    assert "Enabled user metric calibration_error" in enabled.text

    staged = session.send("run it")
    assert staged.interrupt["type"] == "staging"
    done = session.resume(True)
    run = next(m for m in done.messages if isinstance(m, ToolMessage) and m.name == "run_bandit")
    measured = run.artifact.user_metrics
    assert measured and measured[0].name == "calibration_error" and not measured[0].errors
    assert set(measured[0].values) == {r.name for r in run.artifact.result.top3}
    assert "calibration_error (lower is better)" in done.text


def test_deployment_cues_read_as_words(session):
    reply = session.send("classify skin lesions on a phone, must be under 20 MB")
    said = " ".join(str(m.content) for m in reply.messages)
    cues = said.split("Deployment cues I found in your use case (knowledge base in prompts/): ")[1].split(".")[0]
    assert "app size" in cues and "_" not in cues, cues
    session.resume(False)


@pytest.mark.parametrize("text", ["show me models under -5 MB", "list models under 0 MB", "which models below -3 mmacs"])
def test_a_list_limit_of_zero_or_below_is_refused_not_ignored(text):
    """'under -5 MB' listed all 1,398 models: the minus sign was not read, so the limit became 5 MB, or none."""
    intent = parse_intent(text)
    assert intent is not None and intent.kind == "list" and not intent.filters
    assert "leaves no model to show" in intent.reason and "above 0" in intent.reason


def test_a_refused_list_limit_is_answered_without_calling_the_tool():
    from langchain_core.messages import HumanMessage

    from agent.offline import Turn
    reply = Turn([HumanMessage(content="show me models under -5 MB")], {"list_models"}).reply()
    assert not reply.tool_calls and "A limit of -5 MB leaves no model to show" in reply.content


@pytest.mark.parametrize("text, said", [("what if the limit is -5 MB?", "-5 MB"), ("limit size to -5 MB", "-5 MB"),
                                        ("must be under -5 MB", "-5 MB"), ("latency within -20 ms", "-20 ms"),
                                        ("what if the limit is 0 MB?", "0 MB"), ("size limit 0", "0")])
def test_a_limit_of_zero_or_below_is_refused_with_the_rule(text, said):
    """'what if the limit is -5 MB?' was not understood, 'limit size to -5 MB' was refused as a weight ('weights are
    numbers in [0, 1]') and 'size limit 0' was told to say 'limit size to 0 MB'."""
    from agent.followups import parse_followup
    found = parse_followup(text)
    assert found is not None and found.kind == "invalid"
    assert found.reason.startswith(f"a limit of {said} leaves no model to run: give a limit above 0")


@pytest.mark.parametrize("text, kind", [("what if the limit is 50 MB?", "constraint"),
                                        ("latency under 0.5 ms", "constraint"), ("set size to 0", "set")])
def test_positive_limits_and_zero_weights_are_still_read(text, kind):
    from agent.followups import parse_followup
    assert parse_followup(text).kind == kind


def test_a_top_n_below_one_is_refused():
    from agent.followups import parse_followup
    found = parse_followup("show me the top -3")
    assert found.kind == "invalid" and found.reason == "top -3: give a whole number from 1 to 50"


LATENCY_ANSWER = ("Latency is not in the current weights (weight 0). It is measured on this machine when a run weighs "
                  "it. To change it, say “latency matters more” or “set latency to 0.3”.")
SIZE_ANSWER = ("Size counts with weight 0.15 in the current weights. To change it, say “size matters more”, “size "
               "matters less”, “ignore size” or “set size to 0.3”.")


@pytest.mark.parametrize("text, answer", [("what about latency?", LATENCY_ANSWER), ("how about size", SIZE_ANSWER)])
def test_a_question_about_one_metric_gets_its_weight_and_how_to_change_it(text, answer):
    """'what about latency?' was answered with 'I did not understand' and the list of every phrasing."""
    from langchain_core.messages import HumanMessage

    from agent.offline import Turn
    assert Turn([HumanMessage(content=text)], {"rerank", "run_bandit"}).reply().content == answer
