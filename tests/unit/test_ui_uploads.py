"""Uploads: every bad file gets a clear reply and nothing unsafe happens (corrupt zip, zip without images, oversize,
zip-slip, a checkpoint that needs pickled code), good files are validated and kept with the conversation."""
from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from ui.uploads import ConversationUploads, safe_name, upload_kind


def _png(color: int) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (8, 8), color).save(buf, format="PNG")
    return buf.getvalue()


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


@pytest.fixture
def uploads(tmp_path: Path) -> ConversationUploads:
    return ConversationUploads.for_thread(tmp_path / "uploads", "thread/../1", tmp_path / "cache", max_mb=1)


class Tiny(nn.Module):
    """Any input size and channel count -> 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(8)
        self.fc = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pool(x.mean(1, keepdim=True)).flatten(1))


class NotATensor:
    """A Python object: saving it in a checkpoint makes loading it need pickled code."""

    value = 1


def test_names_and_kinds():
    assert safe_name("../../etc/passwd") == "passwd" and safe_name("my data (1).zip") == "my_data_1_.zip"
    assert safe_name("...") == "upload"
    assert [upload_kind(n) for n in ("a.ZIP", "net.pt", "m.pt2", "greenrunner.json", "notes.txt")] == \
        ["dataset", "checkpoint", "checkpoint", "manifest", "unsupported"]


def test_thread_folder_cannot_escape(uploads: ConversationUploads, tmp_path: Path):
    assert uploads.root.parent == tmp_path / "uploads" and ".." not in uploads.root.name


def test_good_dataset_is_validated_and_becomes_the_conversation_dataset(uploads, tmp_path):
    src = _zip(tmp_path / "digits.zip", {"digits/0/a.png": _png(0), "digits/0/b.png": _png(10),
                                         "digits/1/c.png": _png(200), "digits/1/broken.png": b"not a png"})
    reply = uploads.accept(src, "digits.zip")
    assert reply.ok and reply.kind == "dataset"
    assert "3 usable images in 2 classes" in reply.message and "broken.png" in reply.message
    assert uploads.dataset() == reply.path and reply.path.exists()
    assert reply.details == {"usable": 3, "classes": ["0", "1"], "issues": 1}


def test_corrupt_zip(uploads, tmp_path):
    good = _zip(tmp_path / "good.zip", {"a/x.png": _png(1)}).read_bytes()
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(good[: len(good) // 2])
    reply = uploads.accept(corrupt, "corrupt.zip")
    assert not reply.ok and "not a valid zip archive" in reply.message
    assert uploads.dataset() is None


def test_zip_without_images(uploads, tmp_path):
    src = _zip(tmp_path / "docs.zip", {"readme.txt": b"hello", "notes/a.md": b"# notes"})
    reply = uploads.accept(src, "docs.zip")
    assert not reply.ok and "cannot be used as a target dataset: no usable images in docs.zip" in reply.message
    assert "notes/a.md: not an image" in reply.message and str(tmp_path) not in reply.message
    assert not list((uploads.root / "datasets").glob("*"))


def test_zip_slip_entries_are_skipped_and_never_written_outside(uploads, tmp_path):
    src = _zip(tmp_path / "slip.zip", {"cls/a.png": _png(5), "cls/b.png": _png(99), "../../evil.png": _png(7),
                                       "/abs/evil2.png": _png(8)})
    reply = uploads.accept(src, "slip.zip")
    assert reply.ok and "2 usable images" in reply.message
    assert not list(tmp_path.rglob("evil.png")) and not Path("/abs/evil2.png").exists()


def test_oversize_upload_is_refused_before_reading_it(uploads, tmp_path):
    big = tmp_path / "big.zip"
    big.write_bytes(b"\0" * (uploads.max_bytes + 1))
    reply = uploads.accept(big, "big.zip")
    assert not reply.ok and "too large" in reply.message and "GREENRUNNER_MAX_UPLOAD_MB" in reply.message


def test_empty_and_unsupported_files(uploads, tmp_path):
    empty = tmp_path / "e.pt"
    empty.write_bytes(b"")
    assert "empty" in uploads.accept(empty, "e.pt").message
    text = tmp_path / "notes.txt"
    text.write_text("hi")
    reply = uploads.accept(text, "notes.txt")
    assert not reply.ok and reply.kind == "unsupported" and ".zip" in reply.message


def test_checkpoint_needing_pickled_code_is_refused(uploads, tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"model": NotATensor(), "fc.weight": torch.zeros(2)}, path)
    reply = uploads.accept(path, "evil.pt")
    assert not reply.ok and reply.kind == "checkpoint"
    assert "pickled code" in reply.message and "state_dict" in reply.message
    assert uploads.checkpoint_folders() == ()


def test_torchscript_checkpoint_is_added_with_its_card(uploads, tmp_path):
    path = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(Tiny().eval()), str(path))
    (tmp_path / "greenrunner.json").write_text(json.dumps(
        {"tiny.pt": {"input_size": [1, 8, 8], "mean": [0.5], "std": [0.5], "class_labels": list("0123456789")}}))
    replies = uploads.accept_many([(path, "tiny.pt"), (tmp_path / "greenrunner.json", "greenrunner.json")])
    assert [r.kind for r in replies] == ["manifest", "checkpoint"]        # the manifest is applied first
    assert all(r.ok for r in replies), [r.message for r in replies]
    assert "model `tiny` added" in replies[1].message and "10 classes" in replies[1].message
    assert uploads.model_names() == ["tiny"] and len(uploads.checkpoint_folders()) == 1
    again = uploads.accept(path, "tiny.pt")
    assert again.ok and "already uploaded" in again.message and len(uploads.checkpoint_folders()) == 1


def test_name_clash_and_state_dict_without_architecture(uploads, tmp_path):
    path = tmp_path / "demo_lenet.pt"
    torch.jit.save(torch.jit.script(Tiny().eval()), str(path))
    reply = uploads.accept(path, "demo_lenet.pt", known_models={"demo_lenet"})
    assert not reply.ok and "already exists" in reply.message
    sd = tmp_path / "weights.pth"
    torch.save(Tiny().state_dict(), sd)
    reply = uploads.accept(sd, "weights.pth")
    assert not reply.ok and "greenrunner.json" in reply.message and "arch" in reply.message


def test_a_model_that_fails_on_its_input_gets_a_short_reason(uploads, tmp_path):
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))        # only 8x8 single-channel inputs
    path = tmp_path / "small_input.pt"
    torch.jit.save(torch.jit.script(model.eval()), str(path))
    reply = uploads.accept(path, "small_input.pt")
    assert not reply.ok and "mat1 and mat2 shapes cannot be multiplied" in reply.message
    assert "input_size" in reply.message and len(reply.message) < 1200


def test_bad_manifest(uploads, tmp_path):
    bad = tmp_path / "greenrunner.json"
    bad.write_text("{not json")
    assert "not valid JSON" in uploads.accept(bad, "greenrunner.json").message
    bad.write_text(json.dumps({"a.pt": {"colour": "red"}}))
    reply = uploads.accept(bad, "greenrunner.json")
    assert not reply.ok and "unknown keys ['colour']" in reply.message


def test_a_label_map_json_is_saved_as_edits_and_bad_ones_are_refused(uploads, tmp_path):
    good = tmp_path / "labels.json"
    good.write_text(json.dumps({"boat": ["canoe", "speedboat"]}))
    reply = uploads.accept(good, "labels.json")
    assert reply.ok and reply.kind == "label_map" and "boat → canoe, speedboat" in reply.message
    assert uploads.label_map_edits() == {"boat": ["canoe", "speedboat"]}
    uploads.edit_label_map({"cat": ["tabby"]})
    assert uploads.label_map_edits() == {"boat": ["canoe", "speedboat"], "cat": ["tabby"]}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"cat": ["-1"]}))
    reply = uploads.accept(bad, "bad.json")
    assert not reply.ok and "count from 0" in reply.message
    assert uploads.label_map_edits()["cat"] == ["tabby"]


def test_a_published_cifar_checkpoint_is_named_in_the_reply_as_the_runs_will_name_it(tmp_path, shared_data):
    """The akamaster / chenyaofo files are recognised by their names (``checkpoint_source``): the upload reply, the
    conversation's model list and the staging's candidates all say ``resnet20_akamaster``."""
    from greenrunner_core.registry.cifar10_shared import checkpoint_source
    uploads = ConversationUploads.for_thread(tmp_path / "uploads", "t", tmp_path / "cache", max_mb=20)
    name = "akamaster_resnet20-12fca82f.th"
    reply = uploads.accept(shared_data / "cifar10" / "models" / name, name)
    assert reply.ok, reply.message
    folder, = uploads.checkpoint_folders()
    registry_name = checkpoint_source(Path(folder)).cards()[0].name
    assert registry_name == "resnet20_akamaster"
    assert f"model `{registry_name}` added" in reply.message and uploads.model_names() == [registry_name]
