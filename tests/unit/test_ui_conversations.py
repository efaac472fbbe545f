"""The app's conversation store: each thread's uploaded checkpoints reach the agent's model registry, and
conversations persist in the SQLite file (a restarted server continues them; tests/unit/test_ui_web_history.py and
the browser test cover which thread a page shows)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from greenrunner_core.registry.cifar10_shared import checkpoint_source
from tools.settings import workspace_for
from ui.conversations import Conversations
from ui.settings import AppSettings


def _store(tmp_path) -> Conversations:
    """The session's cache (the demo zoo is built once per test session), everything else in tmp_path."""
    return Conversations(AppSettings(conversations_db=tmp_path / "db" / "c.sqlite", uploads_dir=tmp_path / "uploads",
                                     include_torchvision=False, llm="offline"))


def test_uploaded_checkpoints_reach_the_registry_and_conversations_persist(tmp_path):
    store = _store(tmp_path)
    assert store.context("t1").checkpoints == ()
    model = tmp_path / "tiny.pt"
    torch.jit.save(torch.jit.script(nn.Sequential(nn.Flatten(), nn.Linear(64, 10)).eval()), str(model))
    (tmp_path / "greenrunner.json").write_text('{"tiny.pt": {"input_size": [1, 8, 8], "mean": [0.5], "std": [0.5]}}')
    replies = store.uploads("t1").accept_many([(tmp_path / "greenrunner.json", "greenrunner.json"), (model, "tiny.pt")])
    assert all(r.ok for r in replies), [r.message for r in replies]
    context = store.context("t1")
    assert len(context.checkpoints) == 1 and context.checkpoints[0].startswith(str(tmp_path / "uploads"))
    workspace = workspace_for(context)                     # what the agent's tools use for this conversation
    assert [c.name for source in map(checkpoint_source, map(Path, workspace.checkpoints)) for c in source.cards()] \
        == ["tiny"]
    assert store.context("t2").checkpoints == ()         # uploads belong to their conversation
    session = store.session("t1")
    assert session.send("hello").text                              # the offline reasoner answers
    assert len(_store(tmp_path).session("t1").history()) == 2     # another store (a restart) sees the conversation


def test_the_app_owns_its_workspaces_and_closes_them(tmp_path, monkeypatch):
    """The conversations' workspaces travel in each turn's context; another owner (or none: LangGraph Server) has its
    own; closing stops what they started and the next turn builds anew."""
    from tools.settings import ToolSettings, Workspaces
    store = _store(tmp_path)
    first = workspace_for(store.context("t1"))
    assert first is store.workspaces.get(store.context("t2")) is workspace_for(store.session("t1").context)
    other = _store(tmp_path)
    assert workspace_for(other.context("t1")) is not first           # another owner, its own workspaces
    bare = ToolSettings(cache_dir=str(store.settings.cache_root()), include_torchvision=False)
    assert workspace_for(bare) is workspace_for(bare) is not first    # no owner: the process's shared ones
    closed = []
    monkeypatch.setattr(type(first), "close", lambda ws: closed.append(ws))
    store.close()
    assert closed == [first] and workspace_for(store.context("t1")) is not first
    assert isinstance(store.workspaces, Workspaces)


def test_a_typed_label_map_edit_after_a_run_is_checked_against_that_runs_models(tmp_path):
    """After a run on the upload (no proposal pending), "map cat to tabby" with models that have no 'tabby' is refused
    with the labels they have, instead of being saved and making the next run fail."""
    import io
    import json
    import zipfile

    from PIL import Image

    from ui.label_edit import save_label_map_edit
    store = _store(tmp_path)
    manifest = {}
    for i, name in enumerate(("a.pt", "b.pt")):
        torch.manual_seed(i)
        net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 2)).eval()
        torch.jit.save(torch.jit.script(net), str(tmp_path / name))
        manifest[name] = {"input_size": [3, 8, 8], "mean": [0.5] * 3, "std": [0.5] * 3, "class_labels": ["cat", "ship"]}
    (tmp_path / "greenrunner.json").write_text(json.dumps(manifest))
    with zipfile.ZipFile(tmp_path / "pets.zip", "w") as zf:
        for k, cls in enumerate(("cat", "ship")):
            for j in range(4):
                buf = io.BytesIO()
                Image.new("RGB", (8, 8), (60 * k + 10 * j, 30, 90)).save(buf, format="PNG")
                zf.writestr(f"pets/{cls}/{j}.png", buf.getvalue())
    files = [(tmp_path / n, n) for n in ("greenrunner.json", "a.pt", "b.pt", "pets.zip")]
    replies = store.uploads("t1").accept_many(files)
    assert all(r.ok for r in replies), [r.message for r in replies]
    session = store.session("t1")
    assert session.send("pick the most accurate model for my photos").interrupt is not None
    session.resume(True)
    assert store.session("t1").values()["last_run"] is not None and store.session("t1").pending() is None
    refused = save_label_map_edit(store, "t1", {"cat": ["tabby"]}, None)
    assert refused.startswith("That label map edit was not saved") and "'tabby'" in refused, refused
    assert store.uploads("t1").label_map_edits() == {}
    assert save_label_map_edit(store, "t1", {"cat": ["cat"]}, None).startswith("Label map edit saved")
    assert store.uploads("t1").label_map_edits() == {"cat": ["cat"]}
