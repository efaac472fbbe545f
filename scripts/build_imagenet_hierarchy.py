"""Build ``greenrunner_core/labels/imagenet_hierarchy.json``: the WordNet 3.0 noun hierarchy above the 1000 ImageNet-1k
classes, shipped as data so the automatic label map needs neither WordNet nor nltk at run time.

How the data was built (run once; the output is committed):

    python scripts/build_imagenet_hierarchy.py \
        --wordnet /usr/share/wordnet/data.noun          # Debian package wordnet-base (WordNet 3.0)
        --wnids ../shared/data/imagenetv2/matched_frequency.npz   # class_wnids: the ImageNet-1k class order

ImageNet wnids are WordNet 3.0 noun offsets (``n02123045`` = line ``02123045`` of data.noun = tabby). For every class
and every synset above it (hypernym ``@`` and instance-hypernym ``@i`` pointers, parsed straight from data.noun) the
file keeps the synset's lemmas and its parents. Class display names are torchvision's ImageNet category names, in the
same (sorted-wnid) order.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "greenrunner_core" / "labels" / "imagenet_hierarchy.json"


def parse_data_noun(path: Path) -> dict[str, tuple[list[str], list[str]]]:
    """offset -> (lemmas, hypernym offsets) for every noun synset of a WordNet data.noun file."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith(" "):
            continue                                 # the licence header
        fields = line.split(" | ", 1)[0].split()
        offset, n_words = fields[0], int(fields[3], 16)
        lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(n_words)]
        k = 4 + 2 * n_words
        n_ptr = int(fields[k])
        parents = []
        for j in range(n_ptr):
            symbol, target, pos = fields[k + 1 + 4 * j: k + 4 + 4 * j]
            if symbol in ("@", "@i") and pos == "n":
                parents.append(target)
        out[offset] = (lemmas, parents)
    return out


def build(data_noun: Path, wnids_npz: Path) -> dict:
    from torchvision.models._meta import _IMAGENET_CATEGORIES
    noun = parse_data_noun(data_noun)
    wnids = [str(w) for w in np.load(wnids_npz, allow_pickle=False)["class_wnids"]]
    if len(wnids) != 1000 or wnids != sorted(wnids):
        raise SystemExit(f"expected the 1000 sorted ImageNet-1k wnids, got {len(wnids)}")
    synsets: dict[str, list[str]] = {}
    parents: dict[str, list[str]] = {}
    todo = [w[1:] for w in wnids]
    while todo:
        offset = todo.pop()
        if f"n{offset}" in synsets:
            continue
        lemmas, ups = noun[offset]
        synsets[f"n{offset}"] = lemmas
        parents[f"n{offset}"] = [f"n{p}" for p in ups]
        todo.extend(ups)
    return {"about": "WordNet 3.0 hierarchy above the ImageNet-1k classes; built by "
                     "scripts/build_imagenet_hierarchy.py from Debian wordnet-base data.noun",
            "classes": wnids, "names": list(_IMAGENET_CATEGORIES),
            "lemmas": dict(sorted(synsets.items())), "parents": dict(sorted(parents.items()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet/data.noun"))
    parser.add_argument("--wnids", type=Path, default=Path("../shared/data/imagenetv2/matched_frequency.npz"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = build(args.wordnet, args.wnids)
    args.out.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(data['classes'])} classes, {len(data['lemmas'])} synsets")


if __name__ == "__main__":
    main()
