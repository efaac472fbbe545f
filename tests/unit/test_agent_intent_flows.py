"""Issue 11 through the real graph (offline reasoner, demo zoo): follow-ups by intent keep the context and answer from
the cache, limits re-rank from the cache, nothing spends compute without an approved staging step, an approval sent
twice gets a clear reply, non-English input gets a clear answer."""
from __future__ import annotations

import pytest
from langchain_core.messages import ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.graph import checkpoint_serde
from agent.session import NOTHING_PENDING, ChatSession
from tests.integration.app_server import fresh_cache
from tools.settings import workspace_for


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> ChatSession:
    context = Context(llm="offline", include_torchvision=False, default_sample=40,
                      metrics_dir=str(tmp_path_factory.mktemp("metrics")))
    s = ChatSession("intent-flows", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    first = s.send("Count sheep from a drone with a small onboard computer")
    assert first.interrupt is not None and first.interrupt["cost"]          # staging states what it spends
    s.resume(True)
    assert s.values()["last_run"] is not None
    return s


def rows(session: ChatSession) -> int:
    return workspace_for(session.context).outcome_cache.stats().rows


def tool_message(reply, name: str) -> ToolMessage:
    return next(m for m in reply.messages if isinstance(m, ToolMessage) and m.name == name)


def test_paraphrased_weight_change_reranks_and_keeps_the_drone_context(session):
    before = dict(session.values()["weights"])
    reply = session.send("could you make model size count for more?")
    calls = reply.tool_calls()
    assert [c["name"] for c in calls] == ["rerank"] and reply.interrupt is None
    assert calls[0]["args"]["weights"] == {"size": round(before["size"] + 0.15, 3)}
    assert session.values()["proposal"]["cues"] == ["drone"]               # context not lost


def test_out_of_range_values_are_refused_with_the_valid_range(session):
    for text in ("set accuracy to 7", "set accuracy to -1", "set size to nan"):
        reply = session.send(text)
        assert not reply.tool_calls() and "did not change anything" in reply.text
        assert "[0, 1]" in reply.text or "finite" in reply.text


def test_top_5_comes_from_the_cache(session):
    n = rows(session)
    reply = session.send("show me the top 5")
    assert [c["name"] for c in reply.tool_calls()] == ["rerank"]
    assert "| 5 |" in tool_message(reply, "rerank").content and rows(session) == n


def test_a_size_limit_follow_up_answers_from_the_cache(session):
    n = rows(session)
    sizes = sorted(r.size_mb for r in session.values()["last_run"].result.ranking)
    limit = sizes[len(sizes) // 2]
    reply = session.send(f"what if the limit is {limit:g} MB?")
    call = reply.tool_calls()[0]
    assert call["name"] == "rerank" and call["args"]["constraints"]["max_size_mb"] == pytest.approx(limit)
    after = tool_message(reply, "rerank").artifact.after
    assert all(r.size_mb <= limit for r in after.ranking) and rows(session) == n
    lifted = session.send("drop the size limit")
    assert lifted.tool_calls()[0]["args"]["lift_constraints"] == []    # the run itself had no size limit


def test_benchmark_card_question_spends_nothing_and_names_the_pick(session):
    n = rows(session)
    reply = session.send("what did the benchmark-card approach pick?")
    call = reply.tool_calls()[0]
    assert call["name"] == "compare_baselines" and call["args"]["max_new_calls"] == 0
    assert reply.interrupt is None and rows(session) == n
    assert "benchmark card" in tool_message(reply, "compare_baselines").content


def test_running_baselines_or_brute_force_is_staged_with_its_cost(session):
    n = rows(session)
    for text in ("run brute force", "run the baselines"):
        reply = session.send(text)
        assert reply.interrupt is not None and reply.interrupt["type"] == "staging_baselines"
        assert "evaluation calls" in reply.interrupt["message"]
        session.resume(False)
    assert rows(session) == n


def test_latency_weight_without_measurement_is_staged_with_the_timing_cost(session):
    reply = session.send("I care about latency now")
    call = reply.tool_calls()[0]
    assert call["name"] == "run_bandit" and call["args"]["weights"]["latency"] > 0
    assert any("Measures latency" in line for line in reply.interrupt["cost"])
    session.resume(False)


def test_approving_twice_gets_a_clear_reply(session):
    reply = session.send("run it")
    assert reply.interrupt is not None
    session.resume(False)
    again = session.resume(True)
    assert again.text == NOTHING_PENDING


def test_non_english_gets_english_only_offline(session):
    reply = session.send("Erkennen von Verkehrszeichen mit einer Kamera im Auto, ohne GPU")
    assert not reply.tool_calls() and "English" in reply.text and "LLM" in reply.text


def test_numeric_use_case_stages_constraints_beside_weights(tmp_path):
    context = Context(llm="offline", include_torchvision=False, default_sample=20, metrics_dir=str(tmp_path))
    s = ChatSession("limits", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    reply = s.send("Classify digits on a phone; the model must be no larger than 0.5 MB")
    assert reply.interrupt["constraints"] == {"max_size_mb": 0.5}
    assert "Hard constraints" in reply.interrupt["message"] and "no larger than 0.5 MB" in reply.interrupt["message"]
    done = s.resume(True)
    result = tool_message(done, "run_bandit").artifact.result
    assert result.removed_by_constraints and all(r.size_mb <= 0.5 for r in result.ranking)


def test_base_url_without_key_says_so_instead_of_going_offline(monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    context = Context(base_url="http://127.0.0.1:9/v1", include_torchvision=False, metrics_dir=str(tmp_path))
    s = ChatSession("no-key", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    reply = s.send("Classify digits on a phone")
    assert "OPENAI_BASE_URL is set" in reply.text and "OPENAI_API_KEY" in reply.text and not reply.tool_calls()


def test_after_an_approved_latency_run_latency_and_energy_follow_ups_come_from_the_cache(tmp_path, _isolated_cache):
    # its own cache folder (a copy of the session's demo zoo): timed cards must not leak into other tests' workspace
    cache = fresh_cache(_isolated_cache, tmp_path / "cache")
    context = Context(llm="offline", include_torchvision=False, default_sample=20, metrics_dir=str(tmp_path),
                      cache_dir=str(cache))
    s = ChatSession("latency", checkpointer=InMemorySaver(serde=checkpoint_serde()), context=context)
    s.send("Classify digits on a phone")
    s.resume(False)
    staged = s.send("set latency to 0.3")
    assert staged.interrupt is not None and any("Measures latency" in line for line in staged.interrupt["cost"])
    done = s.resume(True)
    result = tool_message(done, "run_bandit").artifact.result
    assert result.weights["latency"] == 0.3 and all(r.latency_ms for r in result.ranking)
    n = rows(s)
    reply = s.send("energy matters more")
    call = reply.tool_calls()[0]
    assert call["name"] == "rerank" and call["args"]["weights"] == {"energy": 0.15} and reply.interrupt is None
    text = tool_message(reply, "rerank").content
    assert "counted as latency" in text and rows(s) == n


def test_an_approval_typed_when_nothing_is_staged_gets_the_same_clear_reply(session):
    reply = session.send("approve")
    assert reply.text == NOTHING_PENDING and not reply.tool_calls()
