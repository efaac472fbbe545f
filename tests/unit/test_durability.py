"""Durability (issue 14): a selection killed with SIGKILL mid-run leaves an outcome cache that passes
``PRAGMA integrity_check``, and the rerun recomputes nothing that was committed before the kill."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from tests.unit.test_hostile_inputs import META, image_folder

REPO = Path(__file__).resolve().parents[2]
N_IMAGES = 50                       # per class: 2 models x 100 images = 200 evaluation calls

CHILD = """
import json, sys
from pathlib import Path
from greenrunner_core.reward import Weights
from greenrunner_core.workspace import Workspace
root = Path(sys.argv[1])
ws = Workspace(cache_dir=root / "cache", checkpoints=[root / "ckpt"], include_torchvision=False, include_timm=False,
               include_demo=False)
def progress(event):
    print("progress", event.spent, flush=True)
result, _ = ws.select(Weights({"accuracy": 1.0}), data=root / "d", strategy="brute_force", progress=progress)
print(json.dumps({"calls": result.spent.calls, "new": result.spent.new_evaluations,
                  "hits": result.spent.cache_hits}), flush=True)
"""


class Slow(nn.Module):
    """3x8x8 -> 2 logits after many small matrix products: slow enough to be killed mid-run."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.w = nn.Parameter(torch.randn(12, 12) * 0.3)
        self.fc = nn.Linear(12, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = nn.functional.adaptive_avg_pool2d(x, 2).flatten(1)
        for _ in range(4000):
            y = torch.tanh(y @ self.w)
        return self.fc(y)


def _child(root: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=os.environ | {"PYTHONPATH": str(REPO)})


def _rows(db: Path) -> tuple[str, int]:
    with sqlite3.connect(db) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        return check, conn.execute("SELECT COUNT(*) FROM outcomes").fetchone()[0]


def test_kill_9_mid_run_then_rerun(tmp_path: Path) -> None:
    (tmp_path / "ckpt").mkdir()
    names = ["slow_a.pt", "slow_b.pt"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for k, name in enumerate(names):
            torch.jit.save(torch.jit.script(Slow(k)), str(tmp_path / "ckpt" / name))
    (tmp_path / "ckpt" / "greenrunner.json").write_text(json.dumps({n: META for n in names}))
    image_folder(tmp_path / "d", {"cat": N_IMAGES, "dog": N_IMAGES})

    first = _child(tmp_path)
    assert first.stdout is not None
    for line in first.stdout:          # the first pull is committed: kill it while the next ones are computed
        if line.startswith("progress"):
            break
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    assert first.returncode == -signal.SIGKILL, first.stderr.read() if first.stderr else ""

    db = tmp_path / "cache" / "outcomes.sqlite"
    check, committed = _rows(db)
    assert check == "ok"
    assert 0 < committed < 2 * 2 * N_IMAGES, f"{committed} outcomes committed: the kill was not mid-run"

    second = _child(tmp_path)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err[-2000:]
    spent = json.loads(out.strip().splitlines()[-1])
    assert spent["calls"] == 2 * 2 * N_IMAGES
    assert spent["hits"] == committed and spent["new"] == spent["calls"] - committed   # nothing recomputed
    assert _rows(db) == ("ok", spent["calls"])
