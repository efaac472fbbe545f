"""Candidates that fit the data, decided before approval: kept with why, excluded with reason and fix; the label map
edits; staging refuses to offer Run when nothing can be evaluated."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from greenrunner_core.candidate_plan import plan_candidates
from greenrunner_core.workspace import Workspace
from tools.candidate_text import verdict_fix, verdict_why
from tools.candidates import stage_run
from tools.settings import ToolSettings
from ui.label_edit import parse_map_edit


def _images(root: Path, classes) -> Path:
    for k, c in enumerate(classes):
        (root / c).mkdir(parents=True)
        for i in range(2):
            Image.new("RGB", (8, 8), (40 * k, 20 * i, 9)).save(root / c / f"{i}.png")
    return root


def _model(folder: Path, name: str, labels: list[str]) -> Path:
    folder.mkdir(parents=True)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, len(labels))).eval()
    torch.jit.save(torch.jit.script(net), str(folder / f"{name}.pt"))
    (folder / "greenrunner.json").write_text(json.dumps(
        {f"{name}.pt": {"input_size": [3, 8, 8], "mean": [0.5] * 3, "std": [0.5] * 3, "class_labels": labels}}))
    return folder


def _workspace(tmp_path: Path, models: dict[str, list[str]]) -> Workspace:
    folders = [_model(tmp_path / "m" / n, n, labels) for n, labels in models.items()]
    return Workspace(cache_dir=_cache(), checkpoints=folders, include_torchvision=False)


def _cache() -> Path:
    """The session's cache: the demo zoo (a source of every registry) is built once per test session."""
    return Path(os.environ["GREENRUNNER_CACHE_DIR"])


def test_checkpoints_that_cover_the_classes_are_kept_others_excluded_with_the_fix(tmp_path):
    data = _images(tmp_path / "d", ["cat", "car", "ship"])
    ws = _workspace(tmp_path, {"full": ["cat", "automobile", "ship", "dog"], "other": ["cat", "auto", "vessel"],
                               "partial": ["cat", "dog", "automobile"], "none": ["0", "1"]})
    plan = plan_candidates(ws, data, online=lambda: False)
    assert plan.pool == "checkpoints" and plan.names == ["full", "other"]
    excluded = {v.name: v for v in plan.excluded}
    assert set(excluded) == {"partial", "none"}
    assert "not ship" in verdict_why(excluded["partial"]) and "map 'ship'" in verdict_fix(excluded["partial"])
    assert "match none" in verdict_why(excluded["none"]) and "label map" in verdict_fix(excluded["none"])
    assert plan.runnable
    assert plan.label_map() == {"car": ["automobile", "auto"], "cat": ["cat"], "ship": ["ship", "vessel"]}


def test_user_edits_replace_the_automatic_map_and_are_validated(tmp_path):
    data = _images(tmp_path / "d", ["cat", "bike"])
    ws = _workspace(tmp_path, {"a": ["cat", "bicycle", "motorcycle"], "b": ["cat", "bicycle", "motorcycle", "x"]})
    plan = plan_candidates(ws, data, online=lambda: False)
    assert [m.dataset_class for m in plan.questions()] == ["bike"]        # bicycle or motorcycle: asked
    assert plan.label_map() == {"cat": ["cat"]}
    edited = plan_candidates(ws, data, overrides={"bike": ["bicycle"]}, online=lambda: False)
    assert edited.questions() == () and edited.label_map() == {"cat": ["cat"], "bike": ["bicycle"]}


def test_staging_refuses_to_offer_run_when_nothing_can_be_evaluated(tmp_path):
    data = _images(tmp_path / "d", ["cat", "ship"])
    folders = [_model(tmp_path / "m" / "only", "only", ["cat", "ship"]), _model(tmp_path / "m" / "no", "no", ["7"])]
    settings = ToolSettings(cache_dir=str(_cache()), checkpoints=tuple(map(str, folders)),
                            include_torchvision=False, uploaded_dataset=str(data))
    staged = stage_run({"weights": {"accuracy": 1.0}}, settings)
    assert not staged.runnable
    text = "\n".join(staged.lines)
    assert "fewer than 2 candidate models" in text and "`no`" in text and "Fix:" in text
    ok = _model(tmp_path / "m" / "also", "also", ["cat", "ship", "dog"])
    settings = ToolSettings(cache_dir=str(_cache()), checkpoints=(str(folders[0]), str(ok)),
                            include_torchvision=False, uploaded_dataset=str(data))
    staged = stage_run({"weights": {"accuracy": 1.0}}, settings)
    assert staged.runnable and staged.args["dataset"] == str(data) and sorted(staged.args["models"]) == ["also", "only"]
    assert any("Estimated cost" in line and "calls" in line for line in staged.lines)


def test_chat_label_map_edits_are_parsed():
    assert parse_map_edit("map boat to canoe and speedboat") == {"boat": ["canoe", "speedboat"]}
    assert parse_map_edit("Map 'bike' to mountain bike, moped.") == {"bike": ["mountain bike", "moped"]}
    assert parse_map_edit("what if size matters more?") is None


def test_cli_auto_label_map_is_printed_for_review(tmp_path):
    from tools.candidates import auto_label_map_for
    data = _images(tmp_path / "d", ["car", "bike", "cat"])
    ws = _workspace(tmp_path, {"p": ["cat", "automobile", "bicycle", "motorcycle"],
                               "q": ["cat", "automobile", "bicycle", "motorcycle"]})
    mapping, lines = auto_label_map_for(ws, str(data), ["p", "q"])
    assert mapping == {"car": ["automobile"], "cat": ["cat"]}
    text = "\n".join(lines)
    assert "car -> automobile" in text and "bike: ambiguous" in text and "--label-map" in text
    same = _images(tmp_path / "e", ["cat", "automobile"])
    assert auto_label_map_for(ws, str(same), ["p", "q"]) == (None, [])


def test_hard_limits_that_leave_fewer_than_two_candidates_block_staging(tmp_path):
    data = _images(tmp_path / "d", ["cat", "ship"])
    folders = [_model(tmp_path / "m" / n, n, ["cat", "ship"]) for n in ("one", "two")]
    settings = ToolSettings(cache_dir=str(_cache()), checkpoints=tuple(map(str, folders)),
                            include_torchvision=False, uploaded_dataset=str(data))
    staged = stage_run({"weights": {"accuracy": 1.0}, "constraints": {"max_params": 10}}, settings)
    assert not staged.runnable and "hard limits leave 0 of the 2" in staged.lines[0]
    assert stage_run({"weights": {"accuracy": 1.0}, "constraints": {"max_params": 1e6}}, settings).runnable


def test_a_dataset_upload_says_which_class_names_match_no_model_label(tmp_path):
    from tools.candidates import class_name_lines
    folders = [_model(tmp_path / "m" / n, n, ["cat", "ship"]) for n in ("one", "two")]
    settings = ToolSettings(cache_dir=str(_cache()), checkpoints=tuple(map(str, folders)), include_torchvision=False)
    lines = class_name_lines(["cat", "zebra"], settings)
    assert lines[0].startswith("Class names cat match your models' labels")
    assert "**zebra** matches no label of your models: say *map zebra to <label>*" in lines[1]
    assert class_name_lines(["3", "7"], ToolSettings(cache_dir=str(_cache()), include_torchvision=False)) == []


def test_estimated_cost_uses_measured_speed_when_known(tmp_path):
    from greenrunner_core.latency import LatencyStats
    from tools.candidates import cost_lines
    data = _images(tmp_path / "d", ["cat", "ship"])
    ws = _workspace(tmp_path, {"fast": ["cat", "ship"], "slow": ["cat", "ship"]})
    plan = plan_candidates(ws, data, online=lambda: False)
    assert "MACs-scaled CPU speed" in cost_lines(plan, ws)[0] and "2 models × 4 images = 8 calls" in cost_lines(plan, ws)[0]
    for name in ("fast", "slow"):
        ws.latency_stats[name] = LatencyStats(median_ms=1.0, p90_ms=1.0, batch_size=16, batch_median_ms=500.0,
                                              batch_p90_ms=600.0, repeats=3, hardware="test", hardware_id="t")
    line = cost_lines(plan, ws)[0]
    assert "the speed measured on this machine" in line and "~500 ms per call" in line and "about 4 s" in line  # 8 calls: never more than brute force


def test_one_checkpoint_of_yours_is_compared_with_imagenet_models_that_cover_the_classes(tmp_path):
    data = _images(tmp_path / "d", ["tabby", "goldfish"])
    folder = _model(tmp_path / "m" / "solo", "solo", ["tabby", "goldfish"])
    ws = Workspace(cache_dir=_cache(), checkpoints=[folder], include_torchvision=True, include_timm=False)
    offline = plan_candidates(ws, data, online=lambda: False)
    assert offline.names == ["solo"] and not offline.runnable
    assert any("not cached and this machine is offline" in verdict_why(v) for v in offline.excluded)
    online = plan_candidates(ws, data, online=lambda: True)
    assert online.names[0] == "solo" and len(online.names) >= 3 and online.runnable
    assert all(ws.registry.get(n).source == "torchvision" for n in online.names[1:])


def test_cli_without_models_plans_like_staging(tmp_path):
    from tools.candidates import plan_for_cli
    data = _images(tmp_path / "d", ["car", "cat"])
    ws = _workspace(tmp_path, {"u": ["cat", "automobile"], "v": ["cat", "automobile", "dog"], "w": ["7"]})
    names, label_map, lines, runnable = plan_for_cli(ws, str(data), {"accuracy": 1.0}, {}, None)
    assert runnable and names == ["u", "v"] and label_map == {"car": ["automobile"], "cat": ["cat"]}
    text = "\n".join(lines)
    assert "`w`" in text and "Fix:" in text and "car → automobile" in text and "Estimated cost" in text
    names, _, lines, runnable = plan_for_cli(ws, str(data), {"accuracy": 1.0}, {"max_params": 1}, None)
    assert not runnable and "hard limits leave 0 of the 2" in lines[0]


def test_a_label_map_edit_no_model_knows_names_the_upload_as_the_user_named_it(tmp_path):
    """Uploads are stored as ``<hash>-<name>``: a refusal names ``photos.zip``, not the stored name."""
    data = _images(tmp_path / "ee2947285db49599-photos.zip", ["cat", "ship"])
    folders = [_model(tmp_path / "m" / n, n, ["cat", "ship"]) for n in ("a", "b")]
    edits = tmp_path / "label_map.json"
    edits.write_text(json.dumps({"cat": ["tabby"]}))
    settings = ToolSettings(cache_dir=str(_cache()), checkpoints=tuple(map(str, folders)), include_torchvision=False,
                            uploaded_dataset=str(data), label_map_file=str(edits))
    staged = stage_run({"weights": {"accuracy": 1.0}}, settings)
    assert not staged.runnable
    assert staged.lines[0].startswith("Nothing can run on `photos.zip`: label map entry 'cat'"), staged.lines


def test_estimated_cost_follows_the_runs_sample_budget_and_strategy(tmp_path):
    # `select --data DIR --sample 400` said "7 models × 10000 images ... at most 35,000 calls": the run's own
    # sample, budget and strategy were not counted
    from tools.candidates import cost_lines
    data = _images(tmp_path / "d", ["cat", "ship"])
    ws = _workspace(tmp_path, {"fast": ["cat", "ship"], "slow": ["cat", "ship"]})
    plan = plan_candidates(ws, data, online=lambda: False)
    assert "2 models × 3 images = 6 calls by brute force; this run spends at most 6 calls" in \
        cost_lines(plan, ws, sample=3)[0]                      # never more than brute force
    assert "this run spends at most 5 calls" in cost_lines(plan, ws, budget=5)[0]
    assert "this run spends at most 4 calls" in cost_lines(plan, ws, strategy="benchmark_card")[0]
    assert "this run spends at most 8 calls" in cost_lines(plan, ws, strategy="brute_force")[0]


def test_your_checkpoints_named_again_by_a_follow_up_run_are_still_called_yours(tmp_path):
    """'run it' after a run names the last run's candidates: they are the user's checkpoints, not 'named by you'."""
    from tools.candidates import plan_lines
    data = _images(tmp_path / "d", ["cat", "ship"])
    ws = _workspace(tmp_path, {"a": ["cat", "ship"], "b": ["cat", "ship"]})
    plan = plan_candidates(ws, data, models=["a", "b"], online=lambda: False)
    assert plan.pool == "named" and all(verdict_why(v).startswith("your checkpoint;") for v in plan.kept), plan.kept
    assert plan_lines(plan, ws)[0].endswith("your checkpoints.")
    demo = plan_candidates(ws, data, models=["a", "demo_lenet"], online=lambda: False)
    assert [verdict_why(v).split(";")[0] for v in demo.kept + demo.excluded if v.name == "a"] == ["your checkpoint"]


def test_a_label_map_entry_for_a_class_the_images_lack_is_pointed_out(tmp_path):
    # {"aeroplane": [...]} for a folder named airplane was dropped without a word
    from tools.candidates import plan_for_cli
    data = _images(tmp_path / "d", ["car", "cat"])
    ws = _workspace(tmp_path, {"u": ["cat", "automobile"], "v": ["cat", "automobile", "dog"]})
    edits = tmp_path / "map.json"
    edits.write_text(json.dumps({"kat": ["cat"], "car": ["automobile"]}))
    _, label_map, lines, runnable = plan_for_cli(ws, str(data), {"accuracy": 1.0}, {}, str(edits))
    assert runnable and label_map["car"] == ["automobile"]
    assert any(line.startswith("- **kat**: not a class of your images") and "car, cat" in line for line in lines)
    assert not any("**car**: not a class" in line for line in lines)


def test_estimated_cost_says_when_the_sample_asked_for_is_larger_than_the_dataset(tmp_path):
    # `select --data DIR --sample 50000` on 10,000 images said "7 models × 10,000 images" with no word on the 50,000
    from tools.candidates import cost_lines
    data = _images(tmp_path / "d", ["cat", "ship"])
    ws = _workspace(tmp_path, {"fast": ["cat", "ship"], "slow": ["cat", "ship"]})
    plan = plan_candidates(ws, data, online=lambda: False)
    assert ("2 models × 4 images (sampled all 4 usable images: a sample of 10 asked for more images than the dataset "
            "has) = 8 calls") in cost_lines(plan, ws, sample=10)[0]
    assert "sampled all" not in cost_lines(plan, ws, sample=4)[0] + cost_lines(plan, ws)[0]


def test_estimated_cost_says_which_speeds_are_timed_measured_in_the_last_run_or_macs_scaled(tmp_path):
    from greenrunner_core.latency import LatencyStats
    from tools.candidates import cost_lines
    data = _images(tmp_path / "d", ["cat", "ship"])
    ws = _workspace(tmp_path, {"fast": ["cat", "ship"], "slow": ["cat", "ship"], "third": ["cat", "ship"]})
    plan = plan_candidates(ws, data, online=lambda: False)
    ws.latency_stats["fast"] = LatencyStats(median_ms=1.0, p90_ms=1.0, batch_size=16, batch_median_ms=300.0,
                                            batch_p90_ms=400.0, repeats=3, hardware="test", hardware_id="t")
    line = cost_lines(plan, ws, last_run={"slow": 0.6}, strategy="brute_force")[0]
    assert "measured speed for 2 of 3 models (1 timed on this machine, 1 in the last run), MACs-scaled for the rest" \
        in line and "this run spends at most 12 calls" in line
    ws.latency_stats.pop("fast")
    line = cost_lines(plan, ws, last_run={"fast": 0.3, "slow": 0.6, "third": 0.9}, budget=6)[0]
    assert "about 3.6 s at the speed measured in the last run (~600 ms per call" in line


def test_estimated_cost_uses_the_seconds_of_cached_outcomes_from_earlier_runs(tmp_path):
    # `select --data cifar10/test --sample 500` said "about 4.3 s at a MACs-scaled CPU speed (~2.45 ms per call)" and
    # computed for 85 s; a second run still guessed from MACs though every model's calls were timed in the first
    from greenrunner_core.outcome_cache import Outcome
    from tools.candidates import cost_lines
    data = _images(tmp_path / "d", ["cat", "ship"])
    folders = [_model(tmp_path / "m" / n, n, ["cat", "ship"]) for n in ("fast", "slow")]
    # its own cache: the timings it writes and reads must be the only ones the estimate can find
    ws = Workspace(cache_dir=tmp_path / "cache", checkpoints=folders, include_torchvision=False)
    plan = plan_candidates(ws, data, online=lambda: False)
    assert "at a MACs-scaled CPU speed, a rough guess until a run measures it" in cost_lines(plan, ws)[0]
    for name, seconds in (("fast", 0.02), ("slow", 0.06)):
        card = ws.registry.get(name)
        ws.outcome_cache.put_many(card.name, card.weights_id, card.preprocess.id,
                                  {f"img{i}": Outcome(0, 0.9, seconds) for i in range(3)})
    assert ws.outcome_cache.mean_seconds(card.name, card.weights_id, card.preprocess.id) == pytest.approx((0.06, 3))
    line = cost_lines(plan, ws, strategy="brute_force")[0]
    assert "8 calls, about 0.32 s at the speed measured in earlier runs (~40 ms per call" in line
    line = cost_lines(plan, ws, strategy="brute_force", last_run={"fast": 0.1})[0]
    assert "measured speed for 2 of 2 models (1 in the last run, 1 in earlier runs) (~80 ms per call" in line
