"""A skipped file's reason is data in the core (``ValidationIssue.why`` and what its words need) and words in
tools/dataset_text.py, the same words as before; issues saved as sentences (a zip's manifest) read as saved."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import get_args

import pytest

from greenrunner_core.dataset_scan import IssueWhy, ValidationIssue
from tools.dataset_text import issue_words

REPO = Path(__file__).resolve().parents[2]
WORDS = [
    (ValidationIssue("a", "unsafe_path", "/x/y.png", "link_outside"),
     "refused: symbolic link to /x/y.png, outside the dataset folder (copy the file in instead)"),
    (ValidationIssue("a", "unsafe_path", why="link_to_folder"), "refused: symbolic link to a folder"),
    (ValidationIssue("a", "unmapped_class", why="not_in_class_folder"),
     "image is not inside a class folder (expected <class>/<image>)"),
    (ValidationIssue("a", "unreadable", "Permission denied", "cannot_list"), "cannot list folder: Permission denied"),
    (ValidationIssue("a", "unreadable", "Permission denied", "cannot_read"), "cannot read: Permission denied"),
    (ValidationIssue("a", "too_large", why="file_too_large", figures=(70.25, 64)),
     "70.2 MB, above the 64 MB limit for one image; not read"),
    (ValidationIssue("a", "too_large", why="too_many_pixels", figures=(12000, 6000, 64_000_000, 216)),
     "12000x6000 pixels, above the limit of 64,000,000 (about 216 MB decoded); not decoded"),
    (ValidationIssue("a", "zero_byte", why="empty"), "file is empty (0 bytes)"),
    (ValidationIssue("a", "corrupt", ".png", "unidentified"), "named .png but Pillow cannot identify the content as an image"),
    (ValidationIssue("a", "not_image", "", "not_image"),
     "not an image (extension none; content not a known image format)"),
    (ValidationIssue("a", "corrupt", "Image size exceeds limit", "decompression_bomb"),
     "refused as a decompression bomb: Image size exceeds limit"),
    (ValidationIssue("a", "corrupt", "OSError: truncated", "cannot_decode"), "cannot be decoded: OSError: truncated"),
    (ValidationIssue("a", "duplicate", "cat/0.png", "same_content"), "same content as cat/0.png; kept that one"),
    (ValidationIssue("a", "duplicate", "cat/0.png", "same_content", labels=("cat",)),
     "same content as cat/0.png (labelled 'cat' there); kept that one"),
    (ValidationIssue("a", "unmapped_class", "boat", "class_unmatched", figures=(1, 1000), labels=("tench", "goldfish",
                                                                                                "great white shark")),
     ("class 'boat' matches no label of model label space #1 (1000 labels, e.g. 'tench', 'goldfish', "
     "'great white shark')")),
    (ValidationIssue("a", "unsafe_path", why="zip_absolute_path"), "refused: absolute path"),
    (ValidationIssue("a", "unsafe_path", why="zip_dotdot"),
     "refused: path contains '..' (would escape the extraction folder)"),
    (ValidationIssue("a", "unsafe_path", why="zip_link"), "refused: symbolic link"),
    (ValidationIssue("a", "unsafe_path", why="zip_outside"), "refused: resolves outside the extraction folder"),
    (ValidationIssue("a", "unreadable", why="zip_encrypted"), "entry is encrypted (password-protected zip)"),
    (ValidationIssue("a", "duplicate", why="zip_same_name"), "the zip holds two entries with this name; kept the first"),
    (ValidationIssue("a", "corrupt", "Bad CRC-32", "zip_damaged"), "damaged zip entry: Bad CRC-32"),
    (ValidationIssue("a", "unreadable", "compression method 99", "zip_cannot_extract"),
     "cannot extract: compression method 99"),
]


@pytest.mark.parametrize(("issue", "sentence"), WORDS, ids=[i.why + str(k) for k, (i, _) in enumerate(WORDS)])
def test_each_reason_reads_as_before(issue, sentence):
    assert issue_words(issue) == sentence


def test_every_reason_has_its_words_here():
    assert {i.why for i, _ in WORDS} == set(get_args(IssueWhy)) - {""}


def test_issues_saved_as_sentences_read_as_saved_and_new_ones_round_trip():
    old = ValidationIssue(path="a.png", kind="corrupt", detail="cannot be decoded: OSError: x")
    assert issue_words(old) == "cannot be decoded: OSError: x"            # a zip manifest from before
    new = WORDS[6][0]
    assert ValidationIssue(**json.loads(json.dumps(asdict(new)))) == new


def test_the_scan_writes_no_sentences():
    for name in ("dataset_scan.py", "zip_extract.py"):
        text = (REPO / "greenrunner_core" / name).read_text()
        for _, sentence in WORDS:
            assert sentence[:24] not in text, (name, sentence)
