"""The shipped timm catalog: every pretrained timm classifier as a card with timm's published figures, offline."""
from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest

from greenrunner_core.errors import GreenRunnerError
from greenrunner_core.registry.label_sets import IMAGENET_1K, imagenet1k_labels
from greenrunner_core.registry.query import CardQuery, parse_count, run_query
from greenrunner_core.registry.timm_source import TimmSource, catalog_about, default_tag, load_catalog


@pytest.fixture(scope="module")
def cards():
    return {c.name: c for c in TimmSource().cards()}


def test_catalog_holds_the_published_classifiers_with_attribution(cards):
    assert len(cards) >= 1300
    assert all(c.source == "timm" and c.name.startswith("timm:") for c in cards.values())
    with_top1 = [c for c in cards.values() if c.benchmark_accuracy is not None]
    assert len(with_top1) >= 1250
    about = catalog_about()
    assert "Apache License 2.0" in about and "pytorch-image-models" in about
    licence = resources.files("greenrunner_core.registry").joinpath("data", "TIMM_LICENSE").read_text()
    assert "Apache License" in licence


def test_a_card_carries_timm_config_and_published_figures(cards):
    card = cards["timm:resnet50.a1_in1k"]
    assert card.benchmark_accuracy == pytest.approx(0.80382)            # results-imagenet.csv
    assert card.params == 25_560_000 and card.size_mb == pytest.approx(25.56e6 * 4 / 2 ** 20)
    assert card.macs == pytest.approx(4.1e9, rel=0.02)
    assert card.preprocess.crop == (224, 224) and card.preprocess.resize == 235     # floor(224 / 0.95)
    assert card.preprocess.interpolation == "bicubic" and card.preprocess.mean == (0.485, 0.456, 0.406)
    assert dict(card.shifted_accuracy)["imagenetv2"] == pytest.approx(0.6847)
    assert set(dict(card.shifted_accuracy)) == {"imagenetv2", "sketch", "imagenet-r", "imagenet-a"}
    assert card.label_set == IMAGENET_1K and card.class_labels == imagenet1k_labels()
    assert card.pretraining_data == "in1k"
    assert cards["timm:convnext_tiny.fb_in22k_ft_in1k"].pretraining_data == "in22k"
    in22k = cards["timm:convnext_tiny.fb_in22k"]
    assert in22k.label_set == "imagenet-22k" and len(in22k.class_labels) == 21841


def test_catalog_agrees_with_the_installed_timm_configs():
    from timm.models import get_pretrained_cfg
    entries = {e.name: e for e in load_catalog()}
    for name in ("resnet50.a1_in1k", "vit_base_patch16_224.augreg2_in21k_ft_in1k", "mobilenetv3_small_100.lamb_in1k",
                 "convnext_tiny.fb_in22k", "test_vit.r160_in1k"):
        cfg = get_pretrained_cfg(name)
        entry = entries[name]
        assert tuple(cfg.input_size) == entry.input_size and cfg.crop_pct == entry.crop_pct
        assert tuple(cfg.mean) == pytest.approx(entry.mean) and cfg.interpolation == entry.interpolation
        assert cfg.hf_hub_id == entry.hf_hub_id


def test_timm_arch_without_tag_means_its_best_published_tag():
    assert default_tag("timm:resnet50") == "timm:resnet50.fb_swsl_ig1b_ft_in1k"
    assert default_tag("timm:not_a_model") is None


def test_query_filters_and_sorts_timm_by_published_top1(cards):
    picked = run_query(cards.values(), CardQuery(source="timm", max_macs=1e9, sort="top1"))
    assert len(picked) > 100 and all(c.macs <= 1e9 for c in picked)
    tops = [c.benchmark_accuracy for c in picked if c.benchmark_accuracy is not None]
    assert tops == sorted(tops, reverse=True) and tops[0] > 0.8
    robust = run_query(cards.values(), CardQuery(min_shifted_top1=0.6, pretraining="laion2b", sort="shifted"))
    assert robust and all(c.shifted_top1 >= 0.6 and c.pretraining_data == "laion2b" for c in robust)
    small = run_query(cards.values(), CardQuery(max_params=2e6, sort="params"))
    assert [c.params for c in small] == sorted(c.params for c in small)


def test_parse_count():
    assert parse_count("1e9") == 1e9 and parse_count("600M") == 6e8 and parse_count("1.5G") == 1.5e9
    with pytest.raises(GreenRunnerError, match="600 MACs"):
        parse_count("600 MACs")


def test_listing_the_hubs_imports_neither_timm_nor_transformers(tmp_path):
    code = ("import sys, time; t = time.perf_counter(); from greenrunner_core.registry.timm_source import TimmSource; "
            "n = len(TimmSource().cards()); print(n, round(time.perf_counter() - t, 2)); "
            "assert 'timm' not in sys.modules and 'transformers' not in sys.modules, 'hub library imported'")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.split()[0]) >= 1300


def test_cli_lists_timm_models_under_a_mac_limit_by_published_top1(capsys):
    from ui import cli
    assert cli.main(["models", "--source", "timm", "--max-macs", "1e9", "--sort", "top1", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("timm:")]
    assert len(rows) == 5 and "more not shown" in out and "Apache License 2.0" in out
    assert "timm:tf_efficientnet_b1.ns_jft_in1k" in rows[0] and "0.814" in rows[0]


def test_hub_names_resolve_prefixless_tags_and_bare_architectures(tmp_path):
    from greenrunner_core.registry.base import Registry
    from greenrunner_core.registry.hub_names import resolve
    registry, skips = Registry([TimmSource()]), {}
    names = resolve(registry, ["resnet50.a1_in1k", "timm:resnet50", "timm:nope"], tmp_path, skips)
    assert names == ["timm:resnet50.a1_in1k", "timm:resnet50.fb_swsl_ig1b_ft_in1k", "timm:nope"] and not skips
