"""The automatic label map (exact names, synonyms, the shipped WordNet tree) and label-map validation."""
from __future__ import annotations

import pytest
from torchvision.models._meta import _IMAGENET_CATEGORIES

from greenrunner_core.data import load_target
from greenrunner_core.errors import DatasetError
from greenrunner_core.labels import auto_label_map, imagenet_hierarchy, is_imagenet_1k
from greenrunner_core.registry.cifar_archs import CIFAR10_CLASSES

IMAGENET = list(_IMAGENET_CATEGORIES)

# every CIFAR-10 class -> labels that must be in its ImageNet set, and labels that must not
CIFAR_ON_IMAGENET = {
    "airplane": ({"airliner", "warplane"}, {"plane", "wing"}),
    "automobile": ({"sports car", "convertible", "cab", "jeep", "limousine"}, {"trailer truck"}),
    "bird": ({"goldfinch", "robin", "bald eagle", "ostrich"}, {"airliner"}),
    "cat": ({"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}, {"lynx", "tiger", "cougar"}),
    "deer": ({"impala", "gazelle"}, {"ox"}),
    "dog": ({"beagle", "golden retriever", "Chihuahua", "pug"}, {"timber wolf", "red fox"}),
    "frog": ({"bullfrog", "tree frog", "tailed frog"}, set()),
    "horse": ({"sorrel"}, {"zebra"}),
    "ship": ({"container ship", "liner", "aircraft carrier"}, {"canoe", "speedboat"}),
    "truck": ({"fire engine", "garbage truck", "pickup", "tow truck", "trailer truck"}, {"sports car"}),
}


def test_hierarchy_data_covers_the_1000_classes():
    h = imagenet_hierarchy()
    assert len(h.classes) == 1000 and h.classes == tuple(sorted(h.classes)) and h.classes[281] == "n02123045"
    assert h.names[281] == "tabby" and "tabby cat" in h.lemmas["n02123045"]
    assert all("n00001740" in anc for anc in h.class_ancestors)          # every class reaches 'entity'
    assert is_imagenet_1k(IMAGENET) and not is_imagenet_1k(IMAGENET[:999]) and not is_imagenet_1k(["x"] * 1000)


def test_cifar10_class_names_map_onto_imagenet_sensibly():
    result = auto_label_map(CIFAR10_CLASSES, [IMAGENET])
    assert not result.questions()
    mapping = result.mapping()
    assert set(mapping) == set(CIFAR10_CLASSES)
    for cls, (must, must_not) in CIFAR_ON_IMAGENET.items():
        got = set(mapping[cls])
        assert got and must <= got, (cls, must - got)
        assert not got & must_not, (cls, got & must_not)
    assert set(mapping["cat"]) == {"tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}
    assert len(mapping["dog"]) == 118
    assert result.get("deer").how == "nearest" and result.get("deer").needs_review
    assert result.get("cat").how == "synonym" and "n02121808" in result.get("cat").via


def test_ambiguous_and_unmapped_names_are_asked_not_guessed():
    result = auto_label_map(["bike", "plane", "qwertyzzz", "tabby cat", "boat"], [IMAGENET])
    bike, plane, nothing, tabby, boat = result.matches
    assert bike.how == "ambiguous" and bike.labels == () and len(bike.options) == 2
    assert {lab for _, labs in bike.options for lab in labs} >= {"mountain bike", "moped"}
    assert plane.how == "ambiguous" and {"airliner", "warplane"} in [set(o[1]) for o in plane.options]
    assert nothing.how == "unmapped" and nothing.needs_answer
    assert tabby.how == "hierarchy" and tabby.labels == ("tabby",)
    assert {"canoe", "speedboat"} <= set(boat.labels)
    assert set(result.mapping()) == {"tabby cat", "boat"}
    assert [m.dataset_class for m in result.questions()] == ["bike", "plane", "qwertyzzz"]


def test_an_imagenet_label_with_another_reading_is_asked_about():
    crane, tench = auto_label_map(["crane", "tench"], [IMAGENET]).matches
    assert crane.how == "ambiguous" and {o[1] for o in crane.options} == {("crane bird",), ("crane",)}
    assert tench.how == "exact" and tench.labels == ("tench",)


def test_small_label_spaces_use_synonyms_and_hypernyms():
    result = auto_label_map(["car", "Airplanes", "kitten", "dog", "zebra"], [CIFAR10_CLASSES])
    assert result.mapping() == {"car": ["automobile"], "Airplanes": ["airplane"], "kitten": ["cat"], "dog": ["dog"]}
    assert result.get("zebra").how == "unmapped"
    assert auto_label_map(["cat", "dog"], [CIFAR10_CLASSES]).is_identity()


def test_several_label_spaces_take_the_union():
    result = auto_label_map(["cat"], [CIFAR10_CLASSES, IMAGENET])
    assert set(result.mapping()["cat"]) == {"cat", "tabby", "tiger cat", "Persian cat", "Siamese cat", "Egyptian cat"}


# ----------------------------------------------------------------------------------------- label map validation

def _folder(root, classes):
    from PIL import Image
    for c in classes:
        (root / c).mkdir(parents=True)
        Image.new("RGB", (8, 8), (len(c) * 20 % 255, 0, 0)).save(root / c / "0.png")
    return root


@pytest.mark.parametrize("entry", ["-1", -1, "-0003"])
def test_negative_indices_are_refused(tmp_path, entry):
    with pytest.raises(DatasetError, match="count from 0"):
        load_target(_folder(tmp_path / "d", ["cat"]), label_map={"cat": [entry]})


def test_out_of_range_indices_and_unknown_names_are_refused_with_the_valid_range(tmp_path):
    ds = load_target(_folder(tmp_path / "d", ["cat", "dog"]), label_map={"cat": ["99"], "dog": ["dog"]})
    with pytest.raises(DatasetError, match=r"out of range.*0\.\.9"):
        ds.restrict_to([CIFAR10_CLASSES])
    ds = load_target(_folder(tmp_path / "e", ["cat", "dog"]), label_map={"cat": ["cta"], "dog": ["dog"]})
    with pytest.raises(DatasetError, match="'cta' is not a label of any candidate model; did you mean 'cat'"):
        ds.restrict_to([CIFAR10_CLASSES])
    ok = load_target(_folder(tmp_path / "f", ["cat", "dog"]), label_map={"cat": ["3", "281"], "dog": ["dog"]})
    restricted = ok.restrict_to([CIFAR10_CLASSES, IMAGENET])        # 281 is valid for the ImageNet model
    assert restricted.allowed_indices("cat", CIFAR10_CLASSES) == {3}
    assert restricted.allowed_indices("cat", IMAGENET) == {3, 281}
