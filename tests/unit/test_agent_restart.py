"""A conversation survives a process restart: new graph + new SqliteSaver on the same file, same thread id."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from agent.context import Context
from agent.graph import open_checkpointer
from agent.session import ChatSession

REPO = Path(__file__).resolve().parents[2]


def _context(tmp: Path) -> Context:
    return Context(llm="offline", include_torchvision=False, default_sample=40, metrics_dir=str(tmp / "metrics"))


def test_pending_staging_and_history_survive_a_restart_in_process(tmp_path: Path):
    db = tmp_path / "conversations.sqlite"
    first = ChatSession("thread-1", db_path=db, context=_context(tmp_path))
    reply = first.send("Sort photos of digits for a web service in the cloud")
    assert reply.interrupt is not None and reply.interrupt["type"] == "staging"
    proposed = reply.interrupt["weights"]
    first.checkpointer.conn.close()          # the "process" ends: its connection and graph are gone
    del first

    second = ChatSession("thread-1", db_path=db, context=_context(tmp_path))
    assert second.pending() == reply.interrupt            # the question is still waiting
    with pytest.raises(RuntimeError, match="pending"):
        second.send("hello")                               # new text must not bypass the pending approval
    done = second.resume({"approved": True})
    run = [m for m in done.messages if isinstance(m, ToolMessage) and m.name == "run_bandit"]
    assert run and run[0].artifact.result.weights == {k: v for k, v in proposed.items()}
    history = second.history()
    assert isinstance(history[0], HumanMessage) and "web service" in history[0].content
    assert second.pending() is None

    # another thread in the same file is independent
    other = ChatSession("thread-2", checkpointer=second.checkpointer, context=_context(tmp_path))
    assert other.history() == [] and other.pending() is None


def test_follow_up_after_a_real_process_restart_reranks_the_earlier_run(tmp_path: Path):
    """Process 1 runs a selection and exits; process 2 (this one) opens the same file and asks a follow-up."""
    db = tmp_path / "conversations.sqlite"
    metrics = tmp_path / "metrics"
    script = textwrap.dedent(f"""
        from agent.context import Context
        from agent.session import ChatSession
        ctx = Context(llm="offline", include_torchvision=False, default_sample=40, metrics_dir={str(metrics)!r})
        s = ChatSession("t", db_path={str(db)!r}, context=ctx)
        assert s.send("Recognise digits on an embedded microcontroller").interrupt is not None
        s.resume(True)
        import json
        print("PULLS=" + json.dumps({{r.name: r.pulls for r in s.values()["last_run"].result.ranking}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    pulls = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("PULLS=")).split("=", 1)[1])

    saver = open_checkpointer(db)
    session = ChatSession("t", checkpointer=saver, context=_context(tmp_path))
    assert {r.name: r.pulls for r in session.values()["last_run"].result.ranking} == pulls
    reply = session.send("what if accuracy matters more?")
    assert [c["name"] for c in reply.tool_calls()] == ["rerank"]
    rerank = next(m for m in reply.messages if isinstance(m, ToolMessage))
    assert rerank.status != "error", rerank.content
    # the re-rank works on the observations of process 1's run
    assert {r.name: r.pulls for r in rerank.artifact.after.ranking} == pulls
    assert rerank.artifact.new_evaluations == 0
    assert isinstance(reply.messages[-1], AIMessage) and "0 new evaluations" in reply.text


def test_async_app_and_sync_process_share_the_sqlite_conversations(tmp_path: Path):
    """An async front door (Chainlit) writes with AsyncSqliteSaver; a later sync process resumes the same thread."""
    import asyncio

    from agent.graph import build_graph, open_async_checkpointer

    db = tmp_path / "conversations.sqlite"
    config = {"configurable": {"thread_id": "web-1"}}

    async def web_turn() -> dict:
        saver = await open_async_checkpointer(db)
        graph = build_graph(saver)
        interrupt = None
        async for _mode, chunk in graph.astream({"messages": [HumanMessage("Classify digits in a phone app")]},
                                               config, context=_context(tmp_path), stream_mode=["updates", "custom"]):
            if "__interrupt__" in chunk:
                interrupt = chunk["__interrupt__"][0].value
        await saver.conn.close()
        return interrupt

    interrupt = asyncio.run(web_turn())
    assert interrupt["type"] == "staging"
    later = ChatSession("web-1", db_path=db, context=_context(tmp_path))
    assert later.pending() == interrupt
    done = later.resume(True)
    assert done.progress and "Top 3" in done.text
