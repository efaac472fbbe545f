"""`greenrunner select --max-size/--max-macs/--max-latency/--max-params` and limits read from the use case."""
import json

import pytest

from greenrunner_core.workspace import Workspace
from ui.cli import main


@pytest.fixture(scope="module")
def sizes():
    from greenrunner_core.paths import cache_dir
    return sorted(c.size_mb for c in Workspace(cache_dir=cache_dir(), include_torchvision=False).demo_cards())


def test_max_size_removes_larger_models_before_evaluation(capsys, tmp_path, sizes):
    limit = sizes[len(sizes) // 2]
    code = main(["select", "--weights", "acc=1", "--no-torchvision", "--sample", "40", "--max-size", f"{limit}",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "Hard constraints: size ≤" in out and "removed by a constraint:" in out
    data = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert data["constraints"] == {"max_size_mb": limit} and data["removed_by_constraints"]
    assert all(r["size_mb"] <= limit for r in data["ranking"])
    assert not set(data["removed_by_constraints"]) & set(data["observations"])


def test_a_limit_in_the_use_case_text_becomes_a_constraint(capsys, tmp_path, sizes):
    limit = sizes[len(sizes) // 2]
    code = main(["select", "--use-case", f"classify digits on a phone; the model must stay under {limit} MB",
                 "--no-torchvision", "--sample", "30", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0 and "Hard constraints: size ≤" in out and "limit max_size_mb: from “" in out
    data = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert data["constraints"]["max_size_mb"] == pytest.approx(limit)


@pytest.mark.parametrize("argv, message", [
    (["--weights", "acc=1", "--max-size", "-5"], "not a finite number"),
    (["--weights", "acc=1", "--max-params", "10"], "remove all"),
    (["--use-case", "Clasificar las imágenes de frutas en un teléfono móvil con poca memoria"], "English"),
])
def test_bad_limits_and_non_english_are_clear_errors(capsys, argv, message):
    try:
        code = main(["select", "--no-torchvision", "--sample", "20", *argv])
    except SystemExit as stop:            # refused by argparse's type check
        code = stop.code
    assert code == 2 and message in capsys.readouterr().err


def test_an_energy_weight_is_accepted_and_counted_as_latency(capsys):
    code = main(["select", "--weights", "acc=1,energy=0.3", "--no-torchvision", "--sample", "20"])
    err = capsys.readouterr().err
    assert code == 2 and "latency" in err and "--measure-latency" in err     # accepted; latency must be timed
