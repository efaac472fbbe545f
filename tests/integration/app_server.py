"""Start the Chainlit app (``ui/app.py``) as a subprocess on a free 127.0.0.1 port for the integration tests, and
stop it by its process id (its own process group, so kaleido's Chromium children go with it)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("GREENRUNNER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
                 "--no-first-run", "--disable-component-update", "--disable-sync"]


def app_env(data: Path, cache: Path, **settings: str) -> dict[str, str]:
    """The web app's environment for a browser test: its own folders, the offline reasoner, no Slack/login/LLM keys."""
    env = {**os.environ, "GREENRUNNER_CACHE_DIR": str(cache),
           "GREENRUNNER_CONVERSATIONS_DB": str(data / "conversations.sqlite"),
           "GREENRUNNER_UPLOADS_DIR": str(data / "uploads"), "GREENRUNNER_LLM": "offline",
           "BROWSER_PATH": str(CHROMIUM), **settings}
    for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "GREENRUNNER_AUTH_USERS", "OPENAI_API_KEY"):
        env.pop(key, None)
    return env


def require_browser() -> None:
    """Skip the calling test (with the fix) when Debian's Chromium or Playwright's Python package is missing."""
    import pytest
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (install it: apt-get install chromium; .ci/run does)")
    pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")


def launch_chromium():
    """Debian's Chromium driven by Playwright (no browser download): yields the browser, closes it after."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def fresh_cache(session_cache: Path, folder: Path) -> Path:
    """A cache folder with the session's demo zoo (built once per test session) but no cached outcomes, so runs do
    real evaluations whatever ran before."""
    from greenrunner_core.registry.demo_zoo import DemoZooSource
    DemoZooSource(cache_dir=session_cache).ensure_built()
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(session_cache / "demo_zoo", folder / "demo_zoo", dirs_exist_ok=True)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppServer:
    """``chainlit run ui/app.py --host 127.0.0.1 --port PORT --headless`` in the repository (its committed
    ``.chainlit/config.toml``), with the given environment; ``log`` collects its output for failure messages."""

    def __init__(self, env: dict[str, str], log: Path, port: int | None = None) -> None:
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 240.0) -> AppServer:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "chainlit", "run", "ui/app.py", "--host", "127.0.0.1", "--port",
                 str(self.port), "--headless"], cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the app did not answer within {timeout:.0f} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)          # the group led by our child: its pid, nothing broader
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"
