"""The ChatOpenAI path end to end against a loopback OpenAI-compatible server (http.server in a thread) that replays
scripted chat-completions: tool calls and structured output, malformed output with one repair, a body that is not
JSON, and an endpoint that is down. The same graph as the offline reasoner; the conversation is never lost."""
from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from agent.context import Context
from agent.llm import load_chat_model
from agent.offline import OfflineReasoner
from agent.session import ChatSession
from agent.tools import TOOLS

pytestmark = pytest.mark.integration

Response = dict[str, Any] | tuple[int, bytes] | Callable[[dict[str, Any]], Any]


def completion(content: str | None = None, calls: list[tuple[str, Any]] = ()) -> dict[str, Any]:
    """A chat.completion body; a call's arguments may be a dict (encoded) or a raw string (sent as-is)."""
    tool_calls = [{"id": f"call_{i}_{name}", "type": "function",
                   "function": {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}}
                  for i, (name, args) in enumerate(calls)]
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": "loopback-model",
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if tool_calls else "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


class ScriptedServer:
    """Serves POST /v1/chat/completions from a queue of scripted responses and records every request body."""

    def __init__(self) -> None:
        self.script: list[Response] = []
        self.requests: list[dict[str, Any]] = []
        self.unexpected: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/v1/chat/completions" or not server.script:
                    server.unexpected.append(f"{self.path} ({len(server.script)} scripted left)")
                    self._send(404, b'{"error": {"message": "not scripted"}}')
                    return
                server.requests.append(body)
                item = server.script.pop(0)
                if callable(item):
                    item = item(body)
                if isinstance(item, tuple):
                    self._send(*item)
                else:
                    self._send(200, json.dumps(item).encode())

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = ScriptedServer()
    yield s
    s.close()


def _context(base_url: str, tmp_path) -> Context:
    return Context(llm="openai", api_key="sk-loopback", base_url=base_url, model="loopback-model",
                   llm_timeout=20, llm_max_retries=0, include_torchvision=False, default_sample=40,
                   metrics_dir=str(tmp_path / "metrics"))


PROPOSAL = {"use_case": "count digits on parcels from a drone",
            "weights": {"accuracy": 0.6, "size": 0.25, "complexity": 0.2},
            "justification": {"accuracy": "Parcels must be counted correctly.",
                              "size": "The drone has little memory.",
                              "complexity": "Fewer MACs save battery."},
            "trade_offs": ["A smaller model may win over a slightly more accurate one."],
            "missing_metrics": ["latency"], "cues": ["drone"]}


def test_model_choice_follows_the_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert isinstance(load_chat_model(Context()), OfflineReasoner)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    model = load_chat_model(Context(base_url="http://127.0.0.1:9/v1", llm_timeout=7, llm_max_retries=1))
    assert type(model).__name__ == "ChatOpenAI"
    assert model.request_timeout == 7 and model.max_retries == 1
    assert isinstance(load_chat_model(Context(llm="offline")), OfflineReasoner)


def test_tool_calls_and_structured_proposal_run_the_graph_end_to_end(server, tmp_path):
    run_args = {"weights": PROPOSAL["weights"], "use_case": PROPOSAL["use_case"], "budget": 160, "seed": 1}
    server.script = [completion(None, [("propose_weights", PROPOSAL)]),
                     completion("Please approve the run.", [("run_bandit", run_args)]),
                     lambda body: completion("The top model is " + _top_from(body) + ".")]
    session = ChatSession("openai-1", checkpointer=InMemorySaver(), context=_context(server.base_url, tmp_path))
    reply = session.send("Count digits on parcels from a drone")
    assert [c["name"] for c in reply.tool_calls()] == ["propose_weights", "run_bandit"]
    assert reply.interrupt["type"] == "staging"
    assert reply.interrupt["justification"] == PROPOSAL["justification"]      # structured output, shown for approval
    assert session.values()["proposal"]["weights"] == PROPOSAL["weights"]

    done = session.resume({"approved": True})
    run = next(m for m in done.messages if isinstance(m, ToolMessage) and m.name == "run_bandit")
    top = run.artifact.result.top3[0].name
    assert done.text == f"The top model is {top}."
    assert done.progress, "run_bandit streamed progress"
    assert not server.unexpected and not server.script

    first = server.requests[0]
    sent_tools = {t["function"]["name"]: t["function"] for t in first["tools"]}
    assert set(sent_tools) == {t.name for t in TOOLS}
    for fn in sent_tools.values():                         # every argument is described for the LLM
        for name, prop in fn["parameters"].get("properties", {}).items():
            assert prop.get("description"), (fn["name"], name)
    assert first["messages"][0]["role"] == "system" and "propose_weights" in first["messages"][0]["content"]
    assert first["model"] == "loopback-model"
    tool_msgs = [m for m in server.requests[1]["messages"] if m["role"] == "tool"]
    assert "Weight proposal" in tool_msgs[-1]["content"]


def _top_from(body: dict[str, Any]) -> str:
    """The scripted LLM reads the run_bandit tool result it was sent, like a real one would."""
    tool = [m for m in body["messages"] if m["role"] == "tool"][-1]["content"]
    row = next(line for line in tool.splitlines() if line.startswith("| 1 |"))
    return row.split("|")[2].strip()


def test_invalid_structured_output_gets_one_repair_attempt(server, tmp_path):
    bad = {**PROPOSAL, "weights": {"accuracy": 3.0, "size": 0.2}, "justification": {"accuracy": "x"}}
    server.script = [completion(None, [("propose_weights", bad)]),
                     completion(None, [("propose_weights", PROPOSAL)]),
                     completion("Here is my proposal; say run it when ready.")]
    session = ChatSession("openai-2", checkpointer=InMemorySaver(), context=_context(server.base_url, tmp_path))
    reply = session.send("Count digits on parcels from a drone")
    assert reply.text == "Here is my proposal; say run it when ready."
    repair = server.requests[1]["messages"][-1]
    assert repair["role"] == "user" and "invalid tool calls" in repair["content"]
    assert "propose_weights" in repair["content"] and "accuracy=3.0 must be in [0, 1]" in repair["content"]
    assert session.values()["proposal"]["weights"] == PROPOSAL["weights"]
    # the invalid reply was not kept: only the repaired call is in the history
    calls = [tc for m in session.history() if isinstance(m, AIMessage) for tc in m.tool_calls]
    assert [c["args"]["weights"] for c in calls] == [PROPOSAL["weights"]]


def test_malformed_twice_gives_a_clear_error_and_keeps_the_conversation(server, tmp_path):
    server.script = [completion(None, [("propose_weights", "{not json")]),
                     completion(None, [("launch_rockets", {"count": 3})])]
    session = ChatSession("openai-3", checkpointer=InMemorySaver(), context=_context(server.base_url, tmp_path))
    reply = session.send("Count digits on parcels from a drone")
    assert "invalid tool calls twice" in reply.text
    assert "not valid JSON" in server.requests[1]["messages"][-1]["content"]
    assert "unknown tool 'launch_rockets'" in reply.text
    history = session.history()
    assert [type(m).__name__ for m in history] == ["HumanMessage", "AIMessage"]
    assert not history[-1].tool_calls


def test_body_that_is_not_json_is_reported(server, tmp_path):
    server.script = [(200, b"<html>this is not an OpenAI server</html>")]
    session = ChatSession("openai-4", checkpointer=InMemorySaver(), context=_context(server.base_url, tmp_path))
    reply = session.send("Count digits on parcels from a drone")
    assert "loopback-model" in reply.text and "conversation is saved" in reply.text
    assert not reply.tool_calls()


def test_endpoint_down_then_back_nothing_is_lost(server, tmp_path):
    with socket.socket() as sock:          # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    saver = InMemorySaver()
    down = ChatSession("openai-5", checkpointer=saver, context=_context(f"http://127.0.0.1:{dead}/v1", tmp_path))
    reply = down.send("Count digits on parcels from a drone")
    assert "not reachable" in reply.text and f"127.0.0.1:{dead}" in reply.text and "conversation is saved" in reply.text

    server.script = [lambda body: completion(f"I see {sum(m['role'] == 'user' for m in body['messages'])} messages "
                                             "from you.")]
    up = ChatSession("openai-5", checkpointer=saver, context=_context(server.base_url, tmp_path))
    again = up.send("Are you back?")
    assert again.text == "I see 2 messages from you."      # the first message was kept and sent again
    assert [type(m) for m in up.history()] == [HumanMessage, AIMessage, HumanMessage, AIMessage]
