"""`--sample N` larger than the dataset used every image without a word: the report now says so, first among its
notes (terminal and JSON); N <= 0 is refused when parsed (tests/unit/test_hostile_inputs.py)."""
import json
import re

from ui.cli import main

TWO_DEMO_MODELS = ["select", "--weights", "acc=1", "--no-torchvision", "--no-timm", "--models", "demo_linear,demo_lenet",
                   "--strategy", "brute_force"]


def test_a_sample_larger_than_the_dataset_is_said_in_the_report(capsys, tmp_path):
    assert main([*TWO_DEMO_MODELS, "--sample", "100000", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    images = int(re.search(r"Top 3 \(brute_force, 2 models, ([\d,]+) target images\)", out).group(1).replace(",", ""))
    notes = out.split("Notes:\n", 1)[1].splitlines()
    assert notes[0] == (f"  - sampled all {images:,} usable images: a sample of 100,000 asked for more images than the "
                        "dataset has")
    saved = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert {"kind": "SampleCoversAll", "asked": 100000, "images": images} in saved["notes"]


def test_a_sample_within_the_dataset_adds_no_note(capsys, tmp_path):
    assert main([*TWO_DEMO_MODELS, "--sample", "40", "--out", str(tmp_path)]) == 0
    assert "sampled all" not in capsys.readouterr().out
