"""Hugging Face models are fair shortlist candidates: a model card's ImageNet-1k top-1 (model-index) is read and marked
self-reported; models without one come as a bounded number of "measured on your images" candidates ranked by size and
MACs; named hf: models are always considered; offline with nothing cached says so. Tiny models in a local Hub cache,
HF_HUB_OFFLINE=1, no network."""
from __future__ import annotations

from pathlib import Path

import pytest

from agent.settings import EnvSettings
from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.card import ModelCard
from greenrunner_core.registry.hf_discovery import NotSearched, discover
from greenrunner_core.registry.hf_model_index import imagenet_top1
from greenrunner_core.registry.hf_source import HFSource
from greenrunner_core.registry.hub_cache import HubSettings
from greenrunner_core.reward import Weights
from greenrunner_core.shortlist import Evidence, Reason, shortlist
from greenrunner_core.workspace import Workspace
from tests.unit.hub_models import tiny_hf_vit, tiny_timm, write_to_hub_cache
from tools.shortlist import ShortlistArgs, shortlist_models, shortlist_report

DRONE = {"accuracy": 0.63, "size": 0.25, "complexity": 0.21}
CARD_TOP1 = """---
license: apache-2.0
model-index:
- name: tiny-vit-carded
  results:
  - task: {type: image-classification, name: Image Classification}
    dataset: {name: ImageNet-1k, type: imagenet-1k, split: validation}
    metrics:
    - {type: accuracy, value: 81.3, name: Top-1 accuracy}
    - {type: top-5, value: 95.1, name: Top-5 accuracy}
---
# tiny
"""
FINETUNE = """---
model-index:
- name: tiny-vit-beans
  results:
  - task: {type: image-classification, name: Image Classification}
    dataset: {name: beans, type: imagefolder}
    metrics:
    - {type: accuracy, value: 0.98}
---
"""


@pytest.fixture
def cached(hub: Path, tmp_path: Path) -> Path:
    """Three hf classifiers (one with a model-card top-1, one a fine-tune whose accuracy is on its own data, one with
    no card), a repo with a config but no weights, and a timm repo."""
    work = tmp_path / "work"
    tiny_hf_vit(hub, "greenrunner-test/vit-carded", seed=1, work=work, readme=CARD_TOP1)
    tiny_hf_vit(hub, "greenrunner-test/vit-finetune", seed=2, work=work, readme=FINETUNE, hidden_size=64)
    tiny_hf_vit(hub, "greenrunner-test/vit-bare", seed=3, work=work, hidden_size=48)
    config_only = work / "config.json"
    config_only.write_text('{"architectures": ["ViTForImageClassification"], "id2label": {"0": "a"}}')
    write_to_hub_cache(hub, "greenrunner-test/config-only", {"config.json": config_only})
    tiny_timm(hub, "test_vit.r160_in1k", seed=4, work=work)
    return hub


def _workspace(tmp_path: Path) -> Workspace:
    return Workspace(cache_dir=tmp_path / "cache", include_demo=False, hub=EnvSettings().hub())


def test_model_index_top1_on_imagenet_only():
    assert imagenet_top1({"model-index": [{"name": "m", "results": [{
        "task": {"type": "image-classification"}, "dataset": {"name": "ImageNet", "type": "imagenet-1k"},
        "metrics": [{"type": "accuracy", "value": 0.771}]}]}]}) == pytest.approx(0.771)
    assert imagenet_top1({"license": "mit"}) is None and imagenet_top1(None) is None
    assert imagenet_top1({"model-index": "not a list"}) is None
    assert imagenet_top1({"model-index": [{"name": "m", "results": [{"task": {"type": "image-classification"}}]}]}) \
        is None                                                      # malformed: no dataset, no metrics


def test_hf_card_carries_the_model_card_top1_marked_self_reported(cached: Path, tmp_path: Path):
    source = HFSource(repo_ids=["greenrunner-test/vit-carded", "greenrunner-test/vit-finetune",
                                "greenrunner-test/vit-bare"], hub=EnvSettings().hub(),
                      complexity_cache=tmp_path / "complexity.json")
    carded, finetune, bare = source.cards()
    assert carded.benchmark_accuracy == pytest.approx(0.813) and carded.benchmark_self_reported
    assert finetune.benchmark_accuracy is None          # 0.98 on its own 'beans' data: not an ImageNet figure
    assert bare.benchmark_accuracy is None and not bare.benchmark_self_reported


def test_discovery_offline_lists_cached_classifiers_with_weights_and_says_the_hub_was_not_searched(cached: Path):
    found = discover(EnvSettings().hub())
    assert found.cached == ("hf:greenrunner-test/vit-bare", "hf:greenrunner-test/vit-carded",
                            "hf:greenrunner-test/vit-finetune")           # no config-only repo, no timm/ repo
    assert found.searched == () and found.not_searched is NotSearched.OFFLINE


def test_discovery_online_adds_a_bounded_search_and_survives_a_failing_hub(cached: Path):
    online = HubSettings(cache_dir=cached, offline=False)
    found = discover(online, limit=2, searcher=lambda n: ["hf:greenrunner-test/vit-bare", "hf:a/b", "hf:c/d", "hf:e/f"])
    assert found.searched == ("hf:a/b", "hf:c/d") and found.not_searched is None
    assert found.names[:3] == list(found.cached)

    def down(n: int) -> list[str]:
        raise ConnectionError("Name or service not known")
    failed = discover(online, searcher=down)
    assert failed.not_searched is NotSearched.SEARCH_FAILED and "Name or service not known" in failed.error
    assert failed.cached == found.cached


def test_timm_shortlist_gets_hub_models_fairly(cached: Path, tmp_path: Path):
    report = shortlist_report(_workspace(tmp_path), DRONE, k=12)
    result = report.shortlist
    assert len(result.names) == 12
    by_name = {e.card.name: e for e in result.all_entries}
    carded = by_name["hf:greenrunner-test/vit-carded"]                 # 81.3 % claimed at a few kMACs: top reward
    assert carded.evidence is Evidence.MODEL_CARD and Reason.TOP_REWARD in carded.reasons
    unpublished = [e for e in result.unpublished]
    assert unpublished and len(unpublished) <= 12 // 6               # bounded
    assert all(e.evidence is Evidence.NONE and e.reasons == (Reason.UNPUBLISHED,) and e.proxy_reward is None
               for e in unpublished)
    assert {e.card.source for e in unpublished} == {"hf"}             # timm tags without results stay unranked
    assert report.hub is not None and report.hub.not_searched is NotSearched.OFFLINE


def test_unpublished_models_rank_by_size_and_macs_under_the_weights(cached: Path, tmp_path: Path):
    ws = _workspace(tmp_path)
    frugal = shortlist_report(ws, {"accuracy": 0.2, "size": 1.0, "complexity": 1.0}, source="hf", k=3).shortlist
    bare = [e.card for e in frugal.unpublished]
    assert [c.name for c in bare] == sorted((c.name for c in bare), key=lambda n: ws.registry.get(n).macs)
    assert frugal.entries[0].card.name == "hf:greenrunner-test/vit-carded"
    assert len(frugal.names) == 3                                      # the published pool cannot fill k: the rest can


def test_source_hf_shortlists_the_hub_and_names_what_is_self_reported(cached: Path, tmp_path: Path):
    result = shortlist_models(_workspace(tmp_path), ShortlistArgs(weights=DRONE, k=5, source="hf"))
    assert set(result.artifact["shortlist"]) == {"hf:greenrunner-test/vit-carded", "hf:greenrunner-test/vit-bare",
                                                  "hf:greenrunner-test/vit-finetune"}
    evidence = {e["name"]: e["evidence"] for e in result.artifact["entries"]}
    assert evidence["hf:greenrunner-test/vit-carded"] == "model_card"
    assert evidence["hf:greenrunner-test/vit-bare"] == "none"
    assert "model card (self-reported)" in result.text and "none: measured on your images" in result.text
    assert "1 with a published ImageNet top-1 (1 self-reported in the model card), 2 without one" in result.text
    assert "the Hub was not searched: HF_HUB_OFFLINE is set" in result.text


def test_named_hf_models_are_always_considered(hub: Path, tmp_path: Path):
    tiny_hf_vit(hub, "greenrunner-test/cifar-vit", seed=5, work=tmp_path / "work",
                id2label=dict(enumerate(("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                                         "ship", "truck"))))
    ws = _workspace(tmp_path)
    result = shortlist_models(ws, ShortlistArgs(weights=DRONE, k=4, models=["hf:greenrunner-test/cifar-vit",
                                                                             "hf:nobody/not-cached"]))
    named = result.artifact["entries"][-1]                      # another label set and no figure: still there
    assert named["name"] == "hf:greenrunner-test/cifar-vit" and named["reasons"] == ["named_by_you"]
    assert len(result.artifact["shortlist"]) == 4
    assert "hf:nobody/not-cached was left out" in result.text and "not in the Hub cache" in result.text


def test_offline_with_no_hub_model_cached_says_where_and_how(hub: Path, tmp_path: Path):
    with pytest.raises(GreenRunnerError) as err:
        shortlist_report(_workspace(tmp_path), DRONE, source="hf")
    message = str(err.value)
    assert str(hub) in message and "HF_HUB_OFFLINE is set" in message and "hf download" in message


def test_core_pinned_names_survive_k_and_unpublished_quota_is_bounded():
    def card(name: str, acc: float | None, macs: int, source: str = "hf") -> ModelCard:
        return ModelCard(name=name, source=source, family=name.split(":")[1][:3], params=macs, size_mb=macs / 1e6,
                         macs=macs, preprocess=None, class_labels=(), weights_id=name, benchmark_accuracy=acc,
                         label_set="imagenet-1k")
    published = [card(f"timm:pub{i}.x", 0.6 + i / 100, 10 ** 6 * (i + 1), "timm") for i in range(20)]
    bare = [card(f"hf:org/bare{i}", None, 10 ** 6 * (i + 1)) for i in range(10)]
    result = shortlist(published + bare, Weights(DRONE), k=12, pinned=["hf:org/bare9"])
    assert len(result.names) == 12 and "hf:org/bare9" in result.names
    unpublished = [e for e in result.unpublished if Reason.UNPUBLISHED in e.reasons]
    assert len(unpublished) == 2 and [e.card.name for e in unpublished] == ["hf:org/bare0", "hf:org/bare1"]
    assert result.unpublished_pool == 10
    only_bare = shortlist(bare, Weights(DRONE), k=6)
    assert len(only_bare.names) == 6 and not only_bare.entries          # no figures at all: still 6 candidates


def test_cli_shortlist_from_the_hub_marks_what_has_no_published_accuracy(cached: Path, tmp_path: Path, capsys):
    from ui import cli
    code = cli.main(["shortlist", "--source", "hf", "--weights", "acc=0.6,size=0.2,complexity=0.2", "-k", "3",
                     "--no-torchvision", "--include", "hf:greenrunner-test/vit-bare"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "hf:greenrunner-test/vit-carded" in out and "model card (self-reported)" in out
    assert "hf:greenrunner-test/vit-bare" in out and "you named it" in out
    assert "none: measured on your images" in out and "the Hub was not searched: HF_HUB_OFFLINE is set" in out


@pytest.mark.parametrize("text, models, source", [
    ("shortlist 4 models including hf:greenrunner-test/vit-bare", ["hf:greenrunner-test/vit-bare"], None),
    ("which candidates from hugging face? consider hf:Org/Repo-1.5 and timm:resnet50", ["hf:Org/Repo-1.5",
                                                                                       "timm:resnet50"], "hf"),
    ("which models should I try?", [], None),
])
def test_the_chat_reads_named_hub_models_in_a_shortlist_request(text, models, source):
    from agent.intents import parse_intent
    intent = parse_intent(text)
    assert intent.kind == "shortlist" and intent.models == models and intent.source == source


def test_the_offline_chat_shortlist_keeps_the_named_hf_model(cached: Path, tmp_path: Path):
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.context import Context
    from agent.graph import checkpoint_serde
    from agent.session import ChatSession
    s = ChatSession("hub-named", checkpointer=InMemorySaver(serde=checkpoint_serde()),
                    context=Context(llm="offline", cache_dir=str(tmp_path / "cache")))
    reply = s.send("shortlist 4 models including hf:greenrunner-test/vit-bare")
    (call,) = reply.tool_calls()
    assert call["name"] == "shortlist_models" and call["args"]["models"] == ["hf:greenrunner-test/vit-bare"]
    assert "hf:greenrunner-test/vit-bare" in reply.text and "you named it" in reply.text


def test_select_without_models_offline_plans_the_cached_hub_models(cached: Path, tmp_path: Path):
    from PIL import Image

    from tools.candidates import plan_for_cli
    for k, cls in enumerate(("tabby", "beagle")):
        (tmp_path / "data" / cls).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (32, 32), (i * 90, 20 + 100 * k, 40)).save(tmp_path / "data" / cls / f"{i}.png")
    ws = Workspace(cache_dir=tmp_path / "cache", include_demo=False, include_torchvision=False, hub=EnvSettings().hub())
    names, _, lines, runnable = plan_for_cli(ws, str(tmp_path / "data"), DRONE, {}, None)
    assert runnable and set(names) == {"hf:greenrunner-test/vit-carded", "hf:greenrunner-test/vit-bare",
                                       "hf:greenrunner-test/vit-finetune"}, lines
    bare = next(line for line in lines if "`hf:greenrunner-test/vit-bare`" in line)
    carded = next(line for line in lines if "`hf:greenrunner-test/vit-carded`" in line)
    assert "no published accuracy: measured on your images" in bare and "no published" not in carded


def test_a_hub_repo_with_its_config_but_not_its_weights_is_left_out_offline_with_the_fix(cached: Path, tmp_path: Path):
    from PIL import Image

    from greenrunner_core.candidate_plan import plan_candidates
    from tools.candidate_text import verdict_fix
    tiny_hf_vit(tmp_path / "elsewhere", "greenrunner-test/no-weights", seed=6, work=tmp_path / "work")
    saved = tmp_path / "work" / "greenrunner-test--no-weights"
    write_to_hub_cache(cached, "greenrunner-test/no-weights", {p.name: p for p in saved.glob("*.json")})
    for cls in ("tabby", "beagle"):
        (tmp_path / "data" / cls).mkdir(parents=True)
        Image.new("RGB", (32, 32), (90, 20, 40)).save(tmp_path / "data" / cls / "0.png")
    ws = _workspace(tmp_path)
    names = ws.resolve_hub_names(["hf:greenrunner-test/no-weights", "hf:greenrunner-test/vit-bare"])
    plan = plan_candidates(ws, tmp_path / "data", names)
    assert plan.names == ["hf:greenrunner-test/vit-bare"]
    (left,) = plan.excluded
    assert left.name == "hf:greenrunner-test/no-weights" and left.reason == "weights_offline"
    assert "Hugging Face Hub cache" in verdict_fix(left)
