"""Slack through Chainlit's native integration, against the app this test starts: correctly signed requests to
/slack/events (url_verification and message events) are accepted and answered through the agent, with Slack's Web API
pointed at a loopback server that records what the bot posts; badly signed or stale requests are rejected. The
conversation is keyed by the Slack thread: use case -> staging -> "approve" -> results with PNG charts ->
"what if size matters more?" -> re-rank from the cache. The same server has the optional password login on (it
does not get in Slack's way): right password -> session cookie, wrong one -> 401."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from greenrunner_core.strategies import DEFAULT_STRATEGY
from tests.integration.app_server import AppServer, fresh_cache

pytestmark = pytest.mark.integration

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
CHANNEL = "C0TEST"
USER = "U0TESTER"
BOT = "U0BOT"
PNG = b"\x89PNG\r\n\x1a\n"
PASSWORD = "correct horse battery"
WAIT = 240.0                      # seconds for a reply that runs a selection (2 busy cores)


class FakeSlackAPI:
    """Slack's Web API on 127.0.0.1: auth.test, users.info, chat.postMessage, the three-step file upload; every
    call is recorded (method, parameters) and uploaded file bytes are kept."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.uploads: dict[str, bytes] = {}
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                if self.path.startswith("/upload/"):
                    with api.lock:
                        api.uploads[self.path.rsplit("/", 1)[-1]] = body
                    self._reply(200, b"OK", "text/plain")
                    return
                url = urllib.parse.urlsplit(self.path)
                method = url.path.removeprefix("/api/")
                params: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                if "json" in self.headers.get("Content-Type", ""):
                    params |= json.loads(body or b"{}")
                else:
                    params |= {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
                with api.lock:
                    api.calls.append((method, params))
                self._reply(200, json.dumps(api.answer(method, params)).encode(), "application/json")

            do_GET = do_POST

            def _reply(self, status: int, data: bytes, kind: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        n = len(self.calls)
        if method == "auth.test":
            return {"ok": True, "url": "https://test.slack.com/", "team": "Test", "user": "greenrunner",
                    "team_id": "T0TEST", "user_id": BOT, "bot_id": "B0BOT", "is_enterprise_install": False}
        if method == "users.info":
            return {"ok": True, "user": {"id": params.get("user"), "name": "tester",
                                         "profile": {"real_name": "Tess Ter", "email": "tess@example.org"}}}
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": f"1800000000.{n:06d}",
                    "message": {"text": params.get("text")}}
        if method == "files.getUploadURLExternal":
            return {"ok": True, "upload_url": f"http://127.0.0.1:{self.port}/upload/F{n}", "file_id": f"F{n}"}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files or []]}
        return {"ok": True}

    def posts(self, thread_ts: str) -> list[str]:
        with self.lock:
            return [str(p.get("text", "")) for m, p in self.calls
                    if m == "chat.postMessage" and p.get("thread_ts") == thread_ts]

    def completed_uploads(self, thread_ts: str) -> list[str]:
        with self.lock:
            out = []
            for method, params in self.calls:
                if method == "files.completeUploadExternal" and params.get("thread_ts") == thread_ts:
                    files = params.get("files")
                    files = json.loads(files) if isinstance(files, str) else files
                    out += [f["id"] for f in files]
            return out

    def wait_for(self, what: Callable[[], Any], timeout: float = WAIT) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            time.sleep(0.3)
        raise AssertionError(f"timed out after {timeout:.0f} s; calls so far: {self.calls[-12:]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def slack(tmp_path_factory: pytest.TempPathFactory, _isolated_cache: Path) -> Iterator[tuple[AppServer, FakeSlackAPI]]:
    pytest.importorskip("slack_bolt")
    api = FakeSlackAPI()
    data = tmp_path_factory.mktemp("slack")
    cache = fresh_cache(_isolated_cache, data / "cache")       # the zoo of the session, no cached outcomes
    env = {**os.environ, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
           "GREENRUNNER_SLACK_API_URL": api.url, "GREENRUNNER_CACHE_DIR": str(cache),
           "GREENRUNNER_CONVERSATIONS_DB": str(data / "conversations.sqlite"),
           "GREENRUNNER_UPLOADS_DIR": str(data / "uploads"), "GREENRUNNER_LLM": "offline",
           "GREENRUNNER_INCLUDE_TORCHVISION": "false", "GREENRUNNER_AUTH_USERS": f"tess:{PASSWORD}",
           "CHAINLIT_AUTH_SECRET": "test-only-auth-secret-0123456789abcdef0123456789"}
    for key in ("SLACK_WEBSOCKET_TOKEN", "OPENAI_API_KEY"):
        env.pop(key, None)
    if Path("/usr/bin/chromium").exists():
        env.setdefault("BROWSER_PATH", "/usr/bin/chromium")
    app = AppServer(env, data / "server.log").start()
    yield app, api
    app.stop()
    api.close()


def _signed(body: bytes, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": "application/json"}


def _post(app: AppServer, payload: dict[str, Any], headers: dict[str, str] | None = None,
          **sign: Any) -> tuple[int, bytes]:
    body = json.dumps(payload).encode()
    request = urllib.request.Request(app.url + "/slack/events", data=body, method="POST",
                                     headers=headers if headers is not None else _signed(body, **sign))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def _event(text: str, ts: str, thread_ts: str | None = None, kind: str = "message") -> dict[str, Any]:
    event = {"type": kind, "channel": CHANNEL, "user": USER, "text": text, "ts": ts, "channel_type": "channel"}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"token": "legacy", "team_id": "T0TEST", "api_app_id": "A0TEST", "type": "event_callback",
            "event_id": f"Ev{ts.replace('.', '')}", "event_time": int(time.time()), "event": event,
            "authorizations": [{"team_id": "T0TEST", "user_id": BOT, "is_bot": True}]}


def test_url_verification_is_answered_when_signed(slack):
    app, _ = slack
    status, body = _post(app, {"type": "url_verification", "token": "legacy", "challenge": "c-123"})
    assert status == 200 and json.loads(body) == {"challenge": "c-123"}


@pytest.mark.parametrize("sign, why", [
    ({"secret": "wrong-secret"}, "bad signature"),
    ({"timestamp": int(time.time()) - 3600}, "stale timestamp"),
])
def test_badly_signed_or_stale_requests_are_rejected(slack, sign, why):
    app, _ = slack
    status, _ = _post(app, {"type": "url_verification", "token": "legacy", "challenge": "c-9"}, **sign)
    assert status == 401, why
    status, _ = _post(app, _event("detect digits from a drone", "1700000099.000100"), **sign)
    assert status == 401, why
    status, _ = _post(app, _event("detect digits from a drone", "1700000099.000200"), headers={
        "Content-Type": "application/json"})
    assert status == 401, "no signature headers"


def test_a_slack_thread_runs_the_conversation_through_the_agent(slack):
    app, api = slack
    thread = "1700000001.000100"
    status, _ = _post(app, _event("detect digits on parcels from a delivery drone", thread))
    assert status == 200
    staging = api.wait_for(lambda: [t for t in api.posts(thread) if "Approve this run?" in t])
    assert "Reply in this thread with *approve*" in staging[0]
    assert "```" in staging[0] and "A drone carries the model" in staging[0]     # table as a code block
    assert any("Deployment cues I found" in t for t in api.posts(thread))

    _post(app, _event("approve", "1700000001.000200", thread_ts=thread))
    results = api.wait_for(lambda: [t for t in api.posts(thread) if "Savings against brute force" in t])
    text = "\n".join(api.posts(thread))
    assert f"*Top 3* — {DEFAULT_STRATEGY}" in text and "selection count" in text and "**" not in text
    assert all(len(t) <= 3000 for t in api.posts(thread))
    assert results
    if Path("/usr/bin/chromium").exists():                   # charts as PNG files in the thread
        files = api.wait_for(lambda: len(api.completed_uploads(thread)) >= 2 and api.completed_uploads(thread))
        assert all(api.uploads[f].startswith(PNG) for f in files)

    _post(app, _event("what if size matters more?", "1700000001.000300", thread_ts=thread))
    rerank = api.wait_for(lambda: [t for t in api.posts(thread) if "0 new evaluations" in t])
    assert "size 0.27 → 0.42" in rerank[0]


def test_empty_and_nonsense_messages_get_clear_replies(slack):
    app, api = slack
    empty = "1700000002.000100"
    _post(app, _event(f"<@{BOT}>", empty, kind="app_mention"))
    assert "Your message is empty" in api.wait_for(lambda: api.posts(empty), timeout=120)[0]
    nonsense = "1700000003.000100"
    _post(app, _event("purple monkey dishwasher", nonsense))
    assert "I did not understand" in api.wait_for(lambda: api.posts(nonsense), timeout=120)[0]
    assert not api.posts("1700000099.000100") and not api.posts("1700000099.000200")   # rejected: never answered


def test_password_login_when_configured(slack):
    app, _ = slack
    with urllib.request.urlopen(app.url + "/auth/config", timeout=30) as response:
        config = json.loads(response.read())
    assert config["requireLogin"] is True and config["passwordAuth"] is True

    def login(password: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({"username": "tess", "password": password}).encode()
        request = urllib.request.Request(app.url + "/login", data=body, method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers.get("Set-Cookie", "")
        except urllib.error.HTTPError as err:
            return err.code, ""

    status, cookie = login(PASSWORD)
    assert status == 200 and "access_token" in cookie
    assert login("wrong")[0] == 401 and login("")[0] in (401, 422)
