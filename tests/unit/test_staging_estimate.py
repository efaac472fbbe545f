"""Staging a run on uploaded images shows one time estimate, said what it is based on: it showed two for one run
(about 0.08 s scaled from MACs in the plan, about 0.065 s measured in the last run under "What it spends"), and the
plan's calls ignored the staged budget."""
from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from tools.run_cost import seconds_per_call
from ui.conversations import Conversations
from ui.settings import AppSettings

SECONDS = re.compile(r"about [\d.]+ (?:s|ms|min)\b")


def _uploads(tmp: Path) -> list[tuple[Path, str]]:
    """A zip of 2 classes x 20 tiny images and two TorchScript checkpoints with their manifest."""
    with zipfile.ZipFile(tmp / "pets.zip", "w") as archive:
        for k, c in enumerate(["cat", "ship"]):
            for i in range(20):
                Image.new("RGB", (8, 8), (40 * k, 10 * i, 9)).save(tmp / "x.png")
                archive.write(tmp / "x.png", f"pets/{c}/{i}.png")
    files = [(tmp / "pets.zip", "pets.zip")]
    manifest = {}
    for name in ("alpha", "beta"):
        net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)).eval()
        torch.jit.save(torch.jit.script(net), str(tmp / f"{name}.pt"))
        files.append((tmp / f"{name}.pt", f"{name}.pt"))
        manifest[f"{name}.pt"] = {"input_size": [3, 8, 8], "mean": [0.5] * 3, "std": [0.5] * 3,
                                  "class_labels": ["cat", "ship"]}
    (tmp / "greenrunner.json").write_text(json.dumps(manifest))
    return [(tmp / "greenrunner.json", "greenrunner.json"), *files]


@pytest.fixture(scope="module")
def stagings(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("staging")
    store = Conversations(AppSettings(conversations_db=tmp / "db" / "c.sqlite", uploads_dir=tmp / "up",
                                      include_torchvision=False, llm="offline"))
    assert all(r.ok for r in store.uploads("t").accept_many(_uploads(tmp)))
    session = store.session("t")
    session.send("Pick the most accurate model for my pet photos")
    first = session.pending()["message"]
    session.resume({"approved": True})
    last_run = session.values()["last_run"].result
    session.send("run it again with budget 30")
    return first, session.pending()["message"], last_run


def test_each_staging_shows_one_time_estimate_and_what_it_is_based_on(stagings):
    first, again, _ = stagings
    for message, basis in ((first, "at a MACs-scaled CPU speed"), (again, "at the speed measured in the last run")):
        assert len(SECONDS.findall(message)) == 1, message
        assert basis in message and "(calls and time as estimated above)" in message


def test_the_estimate_counts_the_staged_budget(stagings):
    _, again, _ = stagings
    assert "this run spends at most 30 calls" in again and "Spends at most 30 evaluation calls" in again


def test_the_last_runs_measured_speed_is_each_models_own(stagings):
    _, again, last_run = stagings
    measured = seconds_per_call(last_run)
    assert set(measured) == {"alpha", "beta"} and all(s > 0 for s in measured.values())
    assert f"~{sum(measured.values()) / 2 * 1000:.3g} ms per call" in again
