"""The `greenrunner` command end to end on the embedded demo (real models, real cache), and its bad inputs."""
import json
from pathlib import Path

import pytest
from PIL import Image

from ui.cli import main


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def first_and_second_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    args = ["select", "--use-case", "detect digits from a drone", "--no-torchvision", "--sample", "120",
            "--budget", "400", "--seed", "1", "--out", str(out)]
    first = main(args)
    second_out = out / "second"
    second = main(args[:-1] + [str(second_out)])
    return first, second, out, second_out


def test_select_on_demo_reports_top3_and_savings(first_and_second_run):
    first, _, out, _ = first_and_second_run
    assert first == 0
    data = json.loads(next(out.glob("*.json")).read_text())
    assert len(data["top3"]) == 3
    assert data["spent"]["calls"] <= 400 < data["brute_force"]["calls"]
    assert data["weights"]["size"] > 0.2          # proposed from "drone" by the offline reasoner
    html = next(out.glob("*.html")).read_text()
    assert "Selection counts" in html and "reward vs macs" in html.lower() and "plotly" in html.lower()


def test_second_identical_run_needs_no_new_evaluations(first_and_second_run):
    _, second, out, second_out = first_and_second_run
    assert second == 0
    one = json.loads(next(out.glob("*.json")).read_text())
    two = json.loads(next(second_out.glob("*.json")).read_text())
    assert two["spent"]["new_evaluations"] == 0
    assert two["spent"]["cache_hits"] == two["spent"]["calls"] > 0
    assert two["top3"] == one["top3"]


@pytest.mark.parametrize("argv, message", [
    (["--weights", "acc=-1"], "must be >= 0"),
    (["--weights", "acc=0,size=0"], "all weights are zero"),
    (["--weights", "acc=1", "--models", "demo_mlp_tiny,resnet"], "unknown model 'resnet'"),
    (["--weights", "acc=1", "--budget", "3"], "raise it to at least"),
    (["--weights", "acc=1", "--strategy", "thomson"], "did you mean"),
    ([], "give --use-case"),
])
def test_bad_input_is_a_clear_error_not_a_crash(capsys, argv, message):
    code, _, err = _run(capsys, "select", "--no-torchvision", "--sample", "50", *argv)
    assert code == 2
    assert message in err


def test_empty_and_corrupt_datasets_are_reported(capsys, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = _run(capsys, "select", "--no-torchvision", "--weights", "acc=1", "--data", str(empty),
                        "--models", "demo_mlp_tiny,demo_cnn_small")
    assert code == 2 and "error:" in err
    bad = tmp_path / "bad"
    (bad / "3").mkdir(parents=True)
    (bad / "3" / "broken.png").write_bytes(b"\x89PNG not really")
    (bad / "3" / "empty.png").write_bytes(b"")
    code, _, err = _run(capsys, "select", "--no-torchvision", "--weights", "acc=1", "--data", str(bad),
                        "--models", "demo_mlp_tiny,demo_cnn_small")
    assert code == 2 and "error:" in err


def test_select_on_own_folder_skips_bad_files_and_runs(capsys, tmp_path):
    from greenrunner_core.workspace import Workspace
    demo = Workspace(include_torchvision=False).demo
    target = Path(demo.target_dir)
    data = tmp_path / "mine"
    for digit in ("1", "7"):
        (data / digit).mkdir(parents=True)
        for src in sorted((target / digit).glob("*.png"))[:10]:
            (data / digit / src.name).write_bytes(src.read_bytes())
    (data / "7" / "corrupt.png").write_bytes(b"garbage")
    Image.new("L", (16, 16)).save(data / "unmapped_class.png")
    code, out, _ = _run(capsys, "select", "--no-torchvision", "--weights", "acc=1", "--data", str(data),
                        "--models", "demo_mlp_tiny,demo_cnn_small,demo_linear", "--budget", "30",
                        "--out", str(tmp_path / "r"))
    assert code == 0, out
    assert "corrupt" in out and "Top 3" in out
