"""The words for a target dataset (tools/dataset_text.py): a refusal shows its report, the demo has its label."""
from __future__ import annotations

import pytest

from greenrunner_core.data import load_target
from greenrunner_core.errors import DatasetError, GreenRunnerError
from greenrunner_core.selection_run import DEMO_DATASET, dataset_name
from tools.dataset_text import DEMO_LABEL, dataset_label, dataset_summary, error_text


def test_a_refused_dataset_carries_its_report_and_the_front_doors_word_it(tmp_path):
    bad = tmp_path / "bad" / "cat"
    bad.mkdir(parents=True)
    (bad / "a.jpg").write_bytes(b"")
    with pytest.raises(DatasetError) as err:
        load_target(tmp_path / "bad")
    assert err.value.report is not None and err.value.report.counts() == {"zero_byte": 1}
    text = error_text(err.value)
    assert text.startswith(str(err.value)) and text.endswith(dataset_summary(err.value.report))
    assert "Skipped 1 (never counted as wrong answers):\n  empty files: 1\n    - cat/a.jpg: file is empty" in text
    assert error_text(GreenRunnerError("plain")) == "plain"


def test_summary_of_a_clean_dataset_and_the_demo_label(tmp_path):
    from PIL import Image
    for shade, cls in enumerate(("cat", "dog")):
        (tmp_path / "d" / cls).mkdir(parents=True)
        Image.new("RGB", (8, 8), (shade * 90, 0, 0)).save(tmp_path / "d" / cls / "0.png")
    report = load_target(tmp_path / "d").report
    assert dataset_summary(report) == (f"Dataset {report.source}: 2 usable images in 2 classes (2 files checked).\n"
                                       "Classes: cat, dog\nNo problems found.")
    assert dataset_name(None) == dataset_name("") == DEMO_DATASET and dataset_label(dataset_name(None)) == DEMO_LABEL
    assert dataset_label(dataset_name("/data/x.zip")) == "/data/x.zip"


def test_every_kind_of_skipped_file_is_worded_in_the_report():
    from greenrunner_core.dataset_scan import ISSUE_KINDS, ValidationIssue, ValidationReport
    from tools.dataset_text import KIND_WORDS
    assert set(KIND_WORDS) == set(ISSUE_KINDS)
    issues = [ValidationIssue(f"f{i}.png", kind) for i, kind in enumerate(ISSUE_KINDS)]
    text = dataset_summary(ValidationReport(source="d", total_files=len(issues), usable=0, classes=[], issues=issues))
    assert not [kind for kind in ISSUE_KINDS if f"{kind}:" in text], text
    assert "not images: 1" in text and "empty files: 1" in text
