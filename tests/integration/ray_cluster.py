"""A real single-node Ray cluster for tests and benchmarks: ``ray start --head --block`` on 127.0.0.1.

Ports are chosen free, the dashboard is off, CPUs and the object store are small, and everything lives
under its own ``--temp-dir``. Stopping kills the ``ray start`` process group by its id, then any process
whose command line names that temp dir (never a machine-wide ``ray stop``, which would hit other clusters).
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Self

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT_S = 90.0


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_ports(count: int, span: int = 0) -> tuple[list[int], int]:
    """``count`` free single ports, and the first of ``span`` consecutive free ports (for worker ports)."""
    rng = random.Random(os.getpid() ^ int(time.time()))
    while True:
        base = rng.randrange(20_000, 60_000 - count - span)
        ports = list(range(base, base + count + span))
        if all(_free(p) for p in ports):
            return ports[:count], base + count


def processes_mentioning(text: str) -> list[int]:
    """Process ids whose command line contains ``text`` (read from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            out.append(int(entry.name))
    return out


class LocalRayHead:
    """``with LocalRayHead() as head: ... head.address ...`` — a head node that is gone after the block."""

    def __init__(self, num_cpus: int = 2, object_store_mb: int = 200, auth_mode: str = "disabled") -> None:
        self.num_cpus = num_cpus
        self.auth_mode = auth_mode          # loopback-only test cluster; real clusters keep Ray's token auth
        self.object_store_mb = object_store_mb
        self.temp_dir = ""
        self.address = ""
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        self.temp_dir = tempfile.mkdtemp(prefix="grray-", dir="/tmp")
        (gcs, node, obj, client, agent, agent_grpc, env_agent, metrics), workers = free_ports(8, span=40)
        self.address = f"127.0.0.1:{gcs}"
        cmd = [str(RAY), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={gcs}",
               f"--node-manager-port={node}", f"--object-manager-port={obj}", f"--ray-client-server-port={client}",
               f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
               f"--runtime-env-agent-port={env_agent}", f"--metrics-export-port={metrics}",
               f"--min-worker-port={workers}", f"--max-worker-port={workers + 39}", "--include-dashboard=false",
               f"--num-cpus={self.num_cpus}", "--num-gpus=0", f"--object-store-memory={self.object_store_mb * 2**20}",
               f"--temp-dir={self.temp_dir}", "--disable-usage-stats"]
        env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_AUTH_MODE": self.auth_mode}
        log = open(Path(self.temp_dir) / "ray-start.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"ray start exited ({self.proc.returncode}): {self.log()[-3000:]}")
            if list(Path(self.temp_dir).glob("session_*/sockets/raylet*")):
                probe = subprocess.run([str(RAY), "status", f"--address={self.address}"], capture_output=True, check=False,
                                       text=True, timeout=30, env=os.environ | {"RAY_AUTH_MODE": self.auth_mode})
                if probe.returncode == 0:
                    return
            time.sleep(0.5)
        raise RuntimeError(f"the Ray head did not come up within {START_TIMEOUT_S:.0f} s: {self.log()[-3000:]}")

    def log(self) -> str:
        path = Path(self.temp_dir) / "ray-start.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def leftovers(self) -> list[int]:
        return processes_mentioning(self.temp_dir) if self.temp_dir else []

    def stop(self) -> None:
        """Stop the head: SIGTERM to its process group, then SIGKILL to whatever still names its temp dir."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        deadline = time.monotonic() + 3
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.25)
        for pid in self.leftovers():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
