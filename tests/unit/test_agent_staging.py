"""A staging answer can redirect the staged run to the user's uploads (dataset, models) and seed."""
from langchain_core.messages import AIMessage

from agent.staging import StagingDecision, apply_decision


def _staged() -> AIMessage:
    return AIMessage(content="", id="m1", tool_calls=[{"id": "c1", "name": "run_bandit", "args": {
        "weights": {"accuracy": 0.6, "size": 0.2}, "strategy": None, "budget": 500, "seed": 0}}])


def test_uploads_and_seed_replace_the_staged_arguments():
    decision = StagingDecision.coerce({"approved": True, "dataset": "/tmp/up/mine.zip",
                                       "models": ["demo_lenet", "demo_mlp_tiny"], "seed": 7})
    update = apply_decision(_staged(), {"c1"}, decision)
    args = update["messages"][0].tool_calls[0]["args"]
    assert args["dataset"] == "/tmp/up/mine.zip"
    assert args["models"] == ["demo_lenet", "demo_mlp_tiny"]
    assert args["seed"] == 7 and args["budget"] == 500


def test_plain_approval_changes_nothing_and_refusal_runs_nothing():
    assert apply_decision(_staged(), {"c1"}, StagingDecision.coerce(True)) == {}
    refused = apply_decision(_staged(), {"c1"}, StagingDecision.coerce("no, too expensive"))
    assert refused["messages"][0].status == "error" and "too expensive" in refused["messages"][0].content


def test_a_quoted_limit_is_named_in_words_not_by_its_argument_name():
    from agent.staging import staging_payload
    call = {"id": "c1", "name": "run_bandit", "args": {"weights": {"accuracy": 0.9, "size": 0.4},
                                                       "constraints": {"max_size_mb": 20.0}}}
    proposal = {"weights": {"accuracy": 0.9, "size": 0.4},
                "constraint_justification": {"max_size_mb": "from “must be under 20 MB”: a hard limit"}}
    message = staging_payload(call, proposal)["message"]
    assert "- size ≤ 20 MB: from “must be under 20 MB”" in message and "max_size_mb" not in message


def test_the_run_line_shows_a_budget_as_calls_with_thousands_separators():
    from agent.staging import staging_payload
    call = {"id": "c1", "name": "run_bandit", "args": {"weights": {"accuracy": 1.0}, "budget": 2918}}
    payload = staging_payload(call, None)
    assert "budget 2,918 calls" in payload["message"] and payload["run"]["budget"] == 2918


def test_a_changed_weight_says_what_it_was_and_the_unchanged_keep_their_reasons():
    from agent.staging import staging_payload
    proposal = {"weights": {"accuracy": 0.65, "size": 0.27, "complexity": 0.23},
                "justification": {"accuracy": "aerial views are unusual", "size": "little memory",
                                  "complexity": "battery"}}
    call = {"id": "c1", "name": "run_bandit", "args": {"weights": {"accuracy": 0.65, "size": 0.42,
                                                                   "complexity": 0.23, "latency": 0.15}}}
    payload = staging_payload(call, proposal)
    assert payload["justification"] == {"accuracy": "aerial views are unusual", "size": "changed from the proposed 0.27",
                                        "complexity": "battery", "latency": "added after the proposal"}
    assert "| size | 0.42 | changed from the proposed 0.27 |" in payload["message"]


def test_the_run_line_reads_as_a_sentence_naming_the_models():
    from agent.staging import run_line, staging_payload
    demo = staging_payload({"id": "c1", "name": "run_bandit", "args": {"weights": {"accuracy": 1.0}}}, None)
    line = next(x for x in demo["message"].splitlines() if x.startswith("Run: "))
    assert line.startswith("Run: every model of the demo zoo (small digit classifiers) on the demo images")
    assert "for uploaded images" not in line and "dataset demo" not in line and "models the" not in line
    named = run_line({"strategy": "ucb1", "budget": 800, "models": [f"m{i}" for i in range(10)], "seed": 3,
                      "dataset": "/c/uploads/0123456789abcdef-cats.zip", "sample": 200})
    assert named == ("Run: 10 models (`m0`, `m1`, `m2`, `m3`, `m4`, `m5`, `m6`, `m7` and 2 more) on your images "
                     "`cats.zip` (a seeded sample of 200): ucb1 strategy, budget 800 calls, seed 3.")
    hub = run_line({"strategy": "ucb1", "budget": 800, "models": None, "dataset": "/c/cats", "seed": 0})
    assert "the hub models whose labels cover your classes on your images `cats`" in hub
