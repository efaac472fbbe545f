"""Three CLI defects: a shortlist (or a hub listing) trained the offline demo zoo it never uses (~20 s on first use);
progress bars wrote hundreds of carriage-return updates into pipes and logs; the one-time seconds (model loads,
warm-up) the brute-force comparison leaves out were shown nowhere."""
from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest

from greenrunner_core.experiment import run_experiment
from greenrunner_core.registry.demo_zoo import DemoZooSource
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import ExperimentResult
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from greenrunner_core.strategies.progress import ProgressEvent
from tests.conftest import synthetic_matrix
from tools.energy_text import report_dict, report_json
from ui.cli import main
from ui.cli_args import build_parser
from ui.cli_progress import DEMO_BUILD, CallProgress, build_demo_with_progress
from ui.cli_workspace import uses_demo
from ui.present.html import html_report
from ui.present.markdown import markdown_report
from ui.present.terminal import terminal_report

COMMANDS = {name: (lambda args: 0) for name in ("models", "shortlist", "select", "record", "replay")}


@pytest.mark.parametrize("argv, demo", [
    (["shortlist", "--weights", "acc=1"], False),
    (["shortlist", "--use-case", "birds", "--source", "timm"], False),
    (["shortlist", "--weights", "acc=1", "--source", "demo"], True),
    (["shortlist", "--weights", "acc=1", "--include", "demo_lenet"], True),
    (["models"], True),
    (["models", "--source", "demo"], True),
    (["models", "--source", "timm", "--max-macs", "1e9"], False),
    (["models", "--source", "torchvision"], False),
    (["select", "--use-case", "x"], True),
    (["select", "--weights", "acc=1", "--models", "demo_lenet,demo_linear"], True),
    (["select", "--weights", "acc=1", "--models", "resnet18,mobilenet_v3_small", "--data", "imgs"], False),
    (["select", "--weights", "acc=1", "--data", "imgs"], False),
    (["record", "--out", "m.npz"], True),
    (["record", "--out", "m.npz", "--models", "resnet18,timm:resnet18", "--data", "imgs"], False),
    (["replay", "m.npz"], False),
])
def test_only_the_commands_that_use_the_demo_zoo_include_it(argv, demo):
    assert uses_demo(build_parser(COMMANDS).parse_args(argv)) is demo


def _no_training(self, progress=None):                   # the build itself: never reached by these commands
    raise AssertionError("the demo zoo was built")


@pytest.mark.parametrize("argv", [
    ["shortlist", "--weights", "acc=1", "-k", "4", "--no-torchvision"],
    ["models", "--source", "timm", "--max-macs", "1e8", "--limit", "3"],
])
def test_a_fresh_hub_shortlist_or_listing_trains_no_demo_zoo(argv, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GREENRUNNER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(DemoZooSource, "_build", _no_training)
    assert main(argv) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "timm:" in out and DEMO_BUILD not in err
    assert not (tmp_path / "demo_zoo").exists()          # the build's folder (manifest, weights, images) is not made


def test_an_unknown_source_still_names_the_demo_zoo_among_the_sources(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GREENRUNNER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(DemoZooSource, "_build", _no_training)
    assert main(["models", "--source", "nosuch", "--no-torchvision"]) == 2
    assert "unknown source 'nosuch'; sources: demo, timm" in capsys.readouterr().err


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Demo:
    """A demo zoo whose build reports 15 steps, as the real one does."""

    def ensure_built(self, progress=None):
        for done in range(16):
            progress(f"step {done}", done, 15)


class _Workspace:
    demo = _Demo()


def _events(progress: CallProgress, calls: int = 500, batch: int = 10) -> None:
    for spent in range(batch, calls + 1, batch):
        progress(ProgressEvent(spent=spent, budget=2_000, model="m", batch_calls=batch, leader="m01", counts={}))


def test_on_a_pipe_each_phase_says_one_line_when_it_starts_and_one_when_it_ends():
    log = io.StringIO()
    build_demo_with_progress(_Workspace(), stream=log)
    bar = CallProgress("paired_elimination", stream=log)
    _events(bar)
    bar.close()
    text = log.getvalue()
    assert "\r" not in text and "\x1b" not in text
    start, end, run, finish = text.splitlines()
    assert start == f"{DEMO_BUILD}: training small models on scikit-learn's digits…"
    assert end.startswith(f"{DEMO_BUILD}: done, 15 steps in ") and end.endswith(" s (step 15)")
    assert run == "paired_elimination: evaluating, at most 2,000 calls…"
    assert finish.startswith("paired_elimination: stopped after 500 of at most 2,000 calls in ")
    assert finish.endswith(" s (leader=m01)")


def test_on_a_terminal_the_bars_are_live():
    screen = _Terminal()
    build_demo_with_progress(_Workspace(), stream=screen)
    bar = CallProgress("paired_elimination", stream=screen)
    _events(bar)
    bar.close()
    text = screen.getvalue()
    assert text.count("\r") > 10 and "15/15" in text and "500/2000" in text and "…" not in text


def test_a_select_into_a_log_has_no_carriage_returns(tmp_path, capsys):
    code = main(["select", "--weights", "acc=1", "--no-torchvision", "--no-timm", "--sample", "40",
                 "--models", "demo_linear,demo_mlp_tiny", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "\r" not in err and "paired_elimination: evaluating, at most " in err
    assert "paired_elimination: done, " in err or "paired_elimination: stopped after " in err


@pytest.fixture(scope="module")
def loaded() -> ExperimentResult:
    result = run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                            make_strategy("paired_elimination", seed=0, batch_size=8), budget=400, dataset="synthetic")
    return dataclasses.replace(result, spent=dataclasses.replace(result.spent, one_time_seconds=0.42))


LINE = "model loads and warm-up: 0.42 s in this run (one-time, not in the comparison: brute force is priced per call)"


def test_the_one_time_seconds_have_their_own_line_in_the_savings(loaded, tmp_path: Path):
    terminal = terminal_report(loaded).splitlines()
    block = terminal[terminal.index("Against brute force:"):]
    assert "  " + LINE in block[:block.index("")]
    assert f"- {LINE}" in markdown_report(loaded)
    assert f"<li>{LINE}</li>" in html_report(loaded, tmp_path / "r.html").read_text()


def test_the_json_report_carries_the_one_time_seconds_and_reads_back(loaded):
    block = report_dict(loaded)["one_time"]
    assert block == {"seconds": 0.42, "label": "model loads and warm-up", "in_brute_force_comparison": False}
    again = ExperimentResult.from_dict(json.loads(report_json(loaded)))
    assert again.spent.one_time_seconds == 0.42


def test_no_one_time_line_when_no_model_was_loaded(loaded):
    replayed = dataclasses.replace(loaded, spent=dataclasses.replace(loaded.spent, one_time_seconds=0.0))
    assert "model loads and warm-up" not in terminal_report(replayed)
