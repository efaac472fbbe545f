"""The upload-to-answer flow without a browser: a zip of CIFAR-10 class folders and two ResNet-20 state_dicts with
uninformative names, a use case, staging (candidates, label map, cost), approval, and a top list of those two
checkpoints scored on the uploaded images. Uses ../shared/data (skipped without it)."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from ui.conversations import Conversations
from ui.settings import AppSettings

pytestmark = pytest.mark.integration

CLASSES = ("airplane", "cat", "ship")
CHECKPOINTS = {"akamaster_resnet20-12fca82f.th": "model_a.th", "chenyaofo_cifar10_resnet20-4118986f.pt": "model_b.pt"}


def make_cifar_zip(shared: Path, dest: Path, per_class: int = 30, classes=CLASSES) -> Path:
    with zipfile.ZipFile(dest, "w") as archive:
        for c in classes:
            for image in sorted((shared / "cifar10" / "test" / c).glob("*.jpg"))[:per_class]:
                archive.write(image, f"pets/{c}/{image.name}")
    return dest


def test_uploaded_images_and_checkpoints_end_in_a_ranking_of_those_checkpoints(tmp_path, shared_data):
    store = Conversations(AppSettings(conversations_db=tmp_path / "db" / "c.sqlite", uploads_dir=tmp_path / "up",
                                      include_torchvision=False, llm="offline"))
    files = [(make_cifar_zip(shared_data, tmp_path / "pets.zip"), "pets.zip")]
    for original, renamed in CHECKPOINTS.items():
        shutil.copyfile(shared_data / "cifar10" / "models" / original, tmp_path / renamed)
        files.append((tmp_path / renamed, renamed))
    replies = store.uploads("t").accept_many(files)
    assert all(r.ok for r in replies), [r.message for r in replies]
    assert "recognised as architecture 'cifar_resnet20_akamaster'" in replies[1].message
    assert "recognised as architecture 'cifar_resnet20_chenyaofo'" in replies[2].message

    session = store.session("t")
    session.send("Pick the most accurate model for sorting my pet and vehicle photos")
    pending = session.pending()
    assert pending is not None and pending["type"] == "staging"
    message = pending["message"]
    assert "demo zoo" not in message and "dataset demo" not in message
    assert "`model_a`" in message and "`model_b`" in message and "your checkpoint" in message
    assert "every class is a model label of the same name" in message
    assert "Estimated cost" in message and "calls" in message
    assert sorted(pending["run"]["models"]) == ["model_a", "model_b"]

    reply = session.resume({"approved": True})
    result = session.values()["last_run"].result
    assert sorted(o.name for o in result.top3) == ["model_a", "model_b"], reply.text
    assert result.n_images == 90
    for row in result.top3:
        assert row.est_accuracy is not None and 0.6 <= row.est_accuracy <= 1.0, (row.name, row.est_accuracy)
