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
