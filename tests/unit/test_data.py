"""Target dataset loading: folders and zips, zip-slip safety, skipped-and-reported files, label maps, sampling."""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from greenrunner_core.data import TargetDataset, load_target
from greenrunner_core.errors import DatasetError
from tools.dataset_text import dataset_summary

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _image_bytes(i: int, fmt: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    """A small image whose content differs for every i."""
    buf = io.BytesIO()
    Image.new("RGB", size, ((i * 37) % 256, (i * 91) % 256, i % 256)).save(buf, fmt)
    return buf.getvalue()


def _make_folder(root: Path, classes: dict[str, int], start: int = 0) -> Path:
    i = start
    for c, n in classes.items():
        (root / c).mkdir(parents=True, exist_ok=True)
        for k in range(n):
            (root / c / f"{k}.png").write_bytes(_image_bytes(i))
            i += 1
    return root


def _zip(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return path


def _kinds(ds: TargetDataset) -> dict[str, str]:
    return {i.path: i.kind for i in ds.report.issues}


# --------------------------------------------------------------------------------------------------- folders

def test_folder_dataset_lists_images_sorted_with_content_ids(tmp_path):
    root = _make_folder(tmp_path / "data", {"dog": 2, "cat": 3})
    ds = load_target(root)
    assert len(ds) == 5
    assert ds.class_names == ["cat", "dog"]
    assert [(im.class_name, im.path) for im in ds.images] == sorted((im.class_name, im.path) for im in ds.images)
    first = ds.images[0]
    assert first.path == "cat/0.png"
    assert first.id == hashlib.sha256((root / "cat" / "0.png").read_bytes()).hexdigest()[:32]
    assert ds.report.issues == [] and ds.report.usable == 5 and ds.report.total_files == 5
    assert ds.label_map is None
    img = ds.load_image(first)
    assert img.convert("RGB").size == (8, 8)


def test_load_image_detects_a_file_changed_after_loading(tmp_path):
    root = _make_folder(tmp_path / "data", {"cat": 2})
    ds = load_target(root)
    (root / ds.images[0].path).write_bytes(_image_bytes(99))
    with pytest.raises(DatasetError, match="changed"):
        ds.load_image(ds.images[0])


def test_bad_files_are_skipped_and_reported_never_usable(tmp_path):
    root = _make_folder(tmp_path / "data", {"cat": 3, "dog": 3})
    jpeg = _image_bytes(50, "JPEG", size=(64, 64))
    (root / "cat" / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    png = _image_bytes(51, "PNG", size=(32, 32))
    (root / "cat" / "badcrc.png").write_bytes(png[:-20] + bytes(b ^ 0xFF for b in png[-20:-12]) + png[-12:])
    (root / "cat" / "garbage.jpg").write_bytes(b"this is not a jpeg at all" * 10)
    (root / "dog" / "empty.png").write_bytes(b"")
    (root / "dog" / "notes.txt").write_text("a note")
    os.symlink(tmp_path / "nowhere.png", root / "dog" / "gone.png")
    shutil.copy(root / "cat" / "0.png", root / "dog" / "zz_copy.png")
    (root / "loose.png").write_bytes(_image_bytes(60))
    (root / "README.md").write_text("not part of the dataset")
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "cat" / ".hidden.png").write_bytes(b"")

    ds = load_target(root)
    assert _kinds(ds) == {
        "cat/truncated.jpg": "corrupt",
        "cat/badcrc.png": "corrupt",
        "cat/garbage.jpg": "corrupt",
        "dog/empty.png": "zero_byte",
        "dog/notes.txt": "not_image",
        "dog/gone.png": "unreadable",
        "dog/zz_copy.png": "duplicate",
        "loose.png": "unmapped_class",
    }
    assert len(ds) == 6
    assert {im.path for im in ds.images} == {f"{c}/{k}.png" for c in ("cat", "dog") for k in range(3)}
    report = ds.report
    assert report.usable + len(report.issues) == report.total_files == 14
    assert report.counts() == {"corrupt": 3, "zero_byte": 1, "not_image": 1, "unreadable": 1, "duplicate": 1,
                               "unmapped_class": 1}
    dup = next(i for i in report.issues if i.kind == "duplicate")
    assert "cat/0.png" in dup.detail
    text = dataset_summary(report)
    for path in ("cat/truncated.jpg", "dog/empty.png", "dog/notes.txt", "dog/gone.png", "loose.png"):
        assert path in text


def test_missing_empty_and_all_bad_datasets_raise(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_target(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no images found"):
        load_target(tmp_path / "empty")
    bad = tmp_path / "bad" / "cat"
    bad.mkdir(parents=True)
    (bad / "a.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="no usable images") as err:
        load_target(tmp_path / "bad")
    assert "cat/a.jpg" in str(err.value)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(DatasetError, match="not a zip"):
        load_target(tmp_path / "file.txt")


def test_dataset_is_picklable(tmp_path):
    ds = load_target(_make_folder(tmp_path / "data", {"cat": 2, "dog": 1}))
    ds.allowed_indices("cat", ["cat", "dog"])   # fills the internal cache
    again = pickle.loads(pickle.dumps(ds))
    assert again.images == ds.images and again.root == ds.root and again.report == ds.report


# --------------------------------------------------------------------------------------------------- zips

def test_zip_dataset_extracts_to_cache_and_matches_folder(tmp_path):
    entries = {f"{c}/{k}.png": _image_bytes(i) for i, (c, k) in enumerate((c, k) for c in ("cat", "dog")
                                                                            for k in range(2))}
    archive = _zip(tmp_path / "data.zip", entries)
    cache = tmp_path / "cache"
    ds = load_target(archive, cache_dir=cache)
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    assert ds.root == cache / digest
    assert ds.class_names == ["cat", "dog"] and len(ds) == 4 and ds.report.issues == []
    assert ds.report.source == str(archive.resolve())
    again = load_target(archive, cache_dir=cache)   # reuses the extraction
    assert again.root == ds.root and again.images == ds.images
    folder = tmp_path / "folder"
    for name, data in entries.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    assert [im.id for im in load_target(folder).images] == [im.id for im in ds.images]
    assert [p.name for p in cache.iterdir()] == [digest]     # no temporary folders left behind


def test_wrapped_zip_is_unwrapped_and_macos_junk_ignored(tmp_path):
    archive = _zip(tmp_path / "mydata.zip", {
        "mydata/cat/1.png": _image_bytes(1),
        "mydata/cat/2.png": _image_bytes(2),
        "mydata/dog/1.png": _image_bytes(3),
        "mydata/.DS_Store": b"junk",
        "mydata/labels.txt": b"not an image beside the class folders",
        "__MACOSX/mydata/cat/._1.png": b"resource fork",
    })
    ds = load_target(archive, cache_dir=tmp_path / "cache")
    assert ds.class_names == ["cat", "dog"]
    assert [im.path for im in ds.images] == ["cat/1.png", "cat/2.png", "dog/1.png"]
    assert ds.report.issues == []


def test_zip_slip_entries_are_refused_and_reported(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("cat/1.png", _image_bytes(1))
        zf.writestr("dog/1.png", _image_bytes(2))
        zf.writestr("../escaped.png", _image_bytes(3))
        zf.writestr("cat/../../escaped2.png", _image_bytes(4))
        zf.writestr("/abs/escaped3.png", _image_bytes(5))
        link = zipfile.ZipInfo("cat/link.png")
        link.create_system = 3
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    cache = tmp_path / "deep" / "cache"
    ds = load_target(archive, cache_dir=cache)
    assert len(ds) == 2
    unsafe = {i.path for i in ds.report.issues if i.kind == "unsafe_path"}
    assert unsafe == {"../escaped.png", "cat/../../escaped2.png", "/abs/escaped3.png", "cat/link.png"}
    assert ds.report.total_files == 6
    written = {p.name for p in tmp_path.rglob("*") if p.is_file() or p.is_symlink()}
    assert not written & {"escaped.png", "escaped2.png", "escaped3.png", "link.png"}
    assert not Path("/abs/escaped3.png").exists()
    assert "unsafe paths (refused)" in dataset_summary(ds.report)
    # the reused extraction still reports the refused entries
    assert {i.path for i in load_target(archive, cache_dir=cache).report.issues} == unsafe


def test_zip_caps_on_entries_and_uncompressed_size(tmp_path):
    archive = _zip(tmp_path / "d.zip", {f"cat/{k}.png": _image_bytes(k) for k in range(5)})
    with pytest.raises(DatasetError, match="5 entries"):
        load_target(archive, cache_dir=tmp_path / "c", max_zip_entries=4)
    with pytest.raises(DatasetError, match="limit"):
        load_target(archive, cache_dir=tmp_path / "c", max_zip_bytes=100)
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())
    assert len(load_target(archive, cache_dir=tmp_path / "c")) == 5


def test_damaged_zip_entry_is_reported_not_fatal(tmp_path):
    archive = _zip(tmp_path / "d.zip", {"cat/a.png": _image_bytes(1), "cat/b.png": _image_bytes(2)})
    raw = bytearray(archive.read_bytes())
    start = raw.index(_image_bytes(2))   # stored uncompressed: flip bytes of b.png so its CRC fails
    raw[start + 30:start + 34] = b"\x00\x00\x00\x00"
    archive.write_bytes(bytes(raw))
    ds = load_target(archive, cache_dir=tmp_path / "c")
    assert [im.path for im in ds.images] == ["cat/a.png"]
    assert _kinds(ds) == {"cat/b.png": "corrupt"}


# --------------------------------------------------------------------------------------------------- labels

def test_allowed_indices_by_normalised_class_name(tmp_path):
    ds = load_target(_make_folder(tmp_path / "d", {"Golden_Retriever": 1, "tiger-cat": 1, "zebra": 1}))
    labels = ["tabby", "golden retriever", "Tiger Cat", "dog"]
    assert ds.allowed_indices("Golden_Retriever", labels) == {1}
    assert ds.allowed_indices("tiger-cat", labels) == {2}
    assert ds.allowed_indices("zebra", labels) == frozenset()
    assert ds.allowed_indices("Golden_Retriever", ("golden retriever", "GOLDEN-RETRIEVER")) == {0, 1}


def test_label_map_with_sets_and_indices(tmp_path):
    root = _make_folder(tmp_path / "d", {"chair": 2, "cup": 1, "other": 2})
    mapping = {"chair": ["folding chair", "Rocking_Chair"], "cup": ["coffee mug", "3"], "spoon": ["wooden spoon"]}
    labels = ["folding chair", "rocking chair", "tabby", "cup", "coffee mug"]
    for spec in (mapping, _write_json(tmp_path / "map.json", mapping)):
        ds = load_target(root, label_map=spec)
        assert ds.class_names == ["chair", "cup"]
        assert ds.label_map == {"chair": frozenset({"folding chair", "Rocking_Chair"}),
                                "cup": frozenset({"coffee mug", "3"})}
        assert ds.allowed_indices("chair", labels) == {0, 1}
        assert ds.allowed_indices("cup", labels) == {3, 4}
        assert ds.allowed_indices("cup", ["a", "b"]) == frozenset()   # index 3 out of range, no names match
        assert _kinds(ds) == {"other/0.png": "unmapped_class", "other/1.png": "unmapped_class"}
        assert ds.report.usable == 3 and ds.report.total_files == 5


def test_label_map_keys_match_folders_by_normalised_name(tmp_path):
    root = _make_folder(tmp_path / "d", {"Folding_Chair": 1})
    ds = load_target(root, label_map={"folding chair": ["rocking chair"]})
    assert ds.allowed_indices("Folding_Chair", ["tabby", "rocking chair"]) == {1}


def _write_json(path: Path, obj: object) -> Path:
    path.write_text(json.dumps(obj))
    return path


@pytest.mark.parametrize("bad", [["cat"], {"cat": "tabby"}, {"cat": [["nested"]]}, {}, {"cat": [True]}])
def test_invalid_label_maps_explain_the_format(tmp_path, bad):
    root = _make_folder(tmp_path / "d", {"cat": 1})
    with pytest.raises(DatasetError, match="e.g.") as err:
        load_target(root, label_map=_write_json(tmp_path / "m.json", bad))
    assert "list of model labels" in str(err.value).lower()


def test_label_map_file_errors(tmp_path):
    root = _make_folder(tmp_path / "d", {"cat": 1})
    with pytest.raises(DatasetError, match="not found"):
        load_target(root, label_map=tmp_path / "missing.json")
    (tmp_path / "broken.json").write_text("{'cat': ['tabby']")
    with pytest.raises(DatasetError, match="not valid JSON"):
        load_target(root, label_map=tmp_path / "broken.json")
    with pytest.raises(DatasetError, match="no dataset class"):
        load_target(root, label_map={"dog": ["beagle"]})


def test_restrict_to_drops_unmapped_classes_and_reports_them(tmp_path):
    ds = load_target(_make_folder(tmp_path / "d", {"cat": 2, "dog": 2, "zebra": 1}))
    space_a = ["cat", "dog", "tabby"]
    space_b = ["Cat", "zebra"]
    only_a = ds.restrict_to([space_a])
    assert only_a.class_names == ["cat", "dog"] and len(only_a) == 4
    assert _kinds(only_a) == {"zebra/0.png": "unmapped_class"}
    assert only_a.report.usable == 4 and only_a.report.classes == ["cat", "dog"]
    both = ds.restrict_to([space_a, space_b])
    assert both.class_names == ["cat"] and len(both) == 2
    assert set(_kinds(both)) == {"zebra/0.png", "dog/0.png", "dog/1.png"}
    assert both.report.usable + len(both.report.issues) == both.report.total_files
    assert ds.report.issues == [] and len(ds) == 5     # the original is unchanged
    assert ds.restrict_to([["cat", "dog", "zebra"]]).images == ds.images
    with pytest.raises(DatasetError) as err:
        ds.restrict_to([["tench", "goldfish"]])
    msg = str(err.value)
    assert "cat" in msg and "zebra" in msg and "tench" in msg and "label map" in msg


# --------------------------------------------------------------------------------------------------- sampling

def test_sample_is_deterministic_stratified_and_uses_no_global_rng(tmp_path):
    ds = load_target(_make_folder(tmp_path / "d", {"a": 10, "b": 10, "c": 10}))
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    s1 = ds.sample(9, seed=0)
    assert np.array_equal(np.random.get_state()[1], state)
    assert s1.images == ds.sample(9, seed=0).images
    assert s1.images != ds.sample(9, seed=1).images
    assert len(s1) == 9
    assert {c: sum(im.class_name == c for im in s1.images) for c in "abc"} == {"a": 3, "b": 3, "c": 3}
    assert s1.images == sorted(s1.images, key=lambda im: (im.class_name, im.path))
    assert set(s1.images) <= set(ds.images)
    assert ds.sample(None, seed=0).images == ds.images
    assert ds.sample(1000, seed=0).images == ds.images
    small = ds.sample(2, seed=5)
    assert len(small) == 2 and small.class_names == sorted({im.class_name for im in small.images})
    for n in (0, -3):
        with pytest.raises(DatasetError, match="positive"):
            ds.sample(n, seed=0)


# --------------------------------------------------------------------------------------------------- shared data

@pytest.mark.integration
def test_cifar10_test_set_loads_fully():
    root = SHARED_DATA / "cifar10" / "test"
    if not root.is_dir():
        pytest.skip(f"shared CIFAR-10 test set not found at {root}")
    ds = load_target(root)
    assert len(ds) == 10_000 and ds.report.usable == 10_000
    assert ds.class_names == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                              "truck"]
    assert ds.report.issues == []
    assert len({im.id for im in ds.images}) == 10_000
