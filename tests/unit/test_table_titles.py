"""The per-model table's title names what the table shows: a run that measured only energy said "Latency and energy
per model" over a table without a latency column."""
import dataclasses

import pytest

from greenrunner_core.experiment import run_experiment
from greenrunner_core.latency import LatencyStats
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from tests.conftest import synthetic_matrix
from ui.present.markdown import markdown_report
from ui.present.tables import green_sections
from ui.present.terminal import terminal_report

STATS = LatencyStats(median_ms=2.5, p90_ms=3.0, batch_size=16, batch_median_ms=0.5, batch_p90_ms=0.6, repeats=20,
                     hardware="test CPU", hardware_id="abc")


@pytest.fixture(scope="module")
def replayed():
    return run_experiment(ReplayEnvironment(synthetic_matrix()), Weights({"accuracy": 1.0}),
                          make_strategy("paired_elimination", seed=0, batch_size=8), budget=400, dataset="synthetic")


@pytest.mark.parametrize("latency, energy, title, columns", [
    (False, True, "Energy per model — energy estimated (time x W)", {"energy / call"}),
    (True, False, "Latency per model", {"latency ms b1 (p90)"}),
    (True, True, "Latency and energy per model — energy estimated (time x W)", {"energy / call", "latency ms b1 (p90)"}),
])
def test_the_title_names_only_what_was_measured(replayed, latency, energy, title, columns):
    result = dataclasses.replace(replayed, latency={r.name: STATS for r in replayed.ranking} if latency else {},
                                 energy_kind="estimated (time x W)" if energy else "")
    (shown, header, _), *_ = green_sections(result)
    assert shown == title and columns <= set(header)
    assert ("latency" in title.lower()) == any("latency" in h for h in header)
    assert f"\n{title}:\n" in terminal_report(result) and f"**{title}**" in markdown_report(result)


def test_no_table_when_nothing_was_measured(replayed):
    assert green_sections(replayed) == []
