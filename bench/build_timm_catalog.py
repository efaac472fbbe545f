"""Build the shipped timm catalog (greenrunner_core/registry/data/timm_catalog.json) from timm's published results.

    python -m bench.build_timm_catalog [--results ../shared/data/timm_results]

Joins, per pretrained tag (``arch.tag``) of the installed timm, its pretrained config (input size, mean/std,
interpolation, crop) with timm's published figures (results/*.csv of github.com/huggingface/pytorch-image-models,
Apache-2.0): ImageNet-1k top-1/top-5, params, GMACs (the inference benchmarks; scaled by pixel count when the
benchmark ran at another resolution) and top-1 on ImageNetV2 / Sketch / R / A. Run once per timm release;
the product reads only the JSON it writes, never ``../shared``.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "greenrunner_core" / "registry" / "data" / "timm_catalog.json"
DEFAULT_RESULTS = Path(__file__).resolve().parents[2] / "shared" / "data" / "timm_results"
SHIFTED = {"imagenetv2": "results-imagenetv2-matched-frequency.csv", "sketch": "results-sketch.csv",
           "imagenet-r": "results-imagenet-r.csv", "imagenet-a": "results-imagenet-a.csv"}
BENCHMARKS = ("benchmark-infer-fp32-nchw-pt240-cpu-i7_12700h-dynamo.csv", "benchmark-infer-amp-nchw-pt291-cu128-4090.csv")
# label sets timm classifiers predict, by number of outputs (timm/data/_info files)
LABEL_SETS = {1000: "imagenet-1k", 11821: "imagenet-12k", 21841: "imagenet-22k", 21843: "imagenet-21k-goog"}
# pretraining data named in pretrained tags, most specific first
PRETRAIN_TOKENS = ("laion2b", "laion400m", "datacomp1b", "dfn2b", "dfn5b", "metaclip", "openai", "webli", "m38m",
                   "merged2b", "jft", "ig1b", "yfcc", "lvd142m", "in22k", "in21k", "in12k",
                   "in1k")
COLUMNS = ("name", "family", "hf_hub_id", "url", "label_set", "input_size", "crop_pct", "crop_mode", "interpolation",
           "mean", "std", "params_m", "gmacs", "gmacs_note", "top1", "top5", "imagenetv2", "sketch", "imagenet-r",
           "imagenet-a", "pretrain", "license")


def _rows(path: Path) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            out.setdefault(row["model"], []).append(row)
    return out


def _num(text: str) -> float:
    return float(text.replace(",", ""))      # "1,012.56"


def _at_size(rows: list[dict[str, str]] | None, size: int) -> dict[str, str] | None:
    """The published row evaluated at the model's own input size (results list some tags at several sizes)."""
    if not rows:
        return None
    return next((r for r in rows if int(r["img_size"]) == size), rows[0])


def pretraining(tag: str, arch_meta: str | None) -> str:
    """Pretraining data from the tag (what came before ``_ft_``), else timm's in1k metadata file, else in1k."""
    head = tag.split("_ft_")[0]
    tokens = re.split(r"[_\-]", head)
    for known in PRETRAIN_TOKENS:
        if known in tokens:
            return known
    return arch_meta or "in1k"


def build(results: Path) -> dict:
    import timm
    from timm.models import get_pretrained_cfg
    from timm.models._registry import _model_to_module

    imagenet = _rows(results / "results-imagenet.csv")
    shifted = {key: _rows(results / f) for key, f in SHIFTED.items()}
    bench = [_rows(results / f) for f in BENCHMARKS]
    meta = {m: rows[0]["pretrain"] for m, rows in _rows(results / "model_metadata-in1k.csv").items()}
    entries, skipped = [], {"not a classifier": 0, "unknown label set": 0, "no published params/GMACs": 0}
    for name in timm.list_pretrained():
        arch, tag = name.split(".", 1)
        cfg = get_pretrained_cfg(name)
        if not cfg.num_classes:
            skipped["not a classifier"] += 1
            continue
        if cfg.num_classes not in LABEL_SETS:
            skipped["unknown label set"] += 1
            continue
        size = int(cfg.input_size[-1])
        top = _at_size(imagenet.get(name), size)
        macs_rows = [b[arch][0] for b in bench if arch in b]
        same = [r for r in macs_rows if int(r["infer_img_size"]) == size]
        bench_row = (same or macs_rows or [None])[0]
        if bench_row is None or (top is None and not bench_row.get("param_count")):
            skipped["no published params/GMACs"] += 1
            continue
        bench_size = int(bench_row["infer_img_size"])
        gmacs = _num(bench_row["infer_gmacs"]) * (size / bench_size) ** 2
        note = "" if bench_size == size else f"scaled from {bench_row['infer_gmacs']} GMACs at {bench_size}px"
        params = _num(top["param_count"]) if top else _num(bench_row["param_count"])
        if gmacs <= 0 or params <= 0:
            skipped["no published params/GMACs"] += 1
            continue
        row = {
            "name": name, "family": _model_to_module.get(arch, arch.split("_")[0]),
            "hf_hub_id": cfg.hf_hub_id or "", "url": "" if cfg.hf_hub_id else (cfg.url or ""),
            "label_set": LABEL_SETS[cfg.num_classes],
            "input_size": list(cfg.input_size), "crop_pct": cfg.crop_pct, "crop_mode": cfg.crop_mode,
            "interpolation": cfg.interpolation or "bicubic", "mean": [round(v, 6) for v in cfg.mean],
            "std": [round(v, 6) for v in cfg.std], "params_m": params, "gmacs": round(gmacs, 4), "gmacs_note": note,
            "top1": _num(top["top1"]) if top else None, "top5": _num(top["top5"]) if top else None,
            "pretrain": pretraining(tag, meta.get(arch)), "license": cfg.license or "",
        }
        for key, table in shifted.items():
            shifted_row = _at_size(table.get(name), size)
            row[key] = _num(shifted_row["top1"]) if shifted_row else None
        entries.append([row[c] for c in COLUMNS])
    return {
        "about": ("Published figures of timm's pretrained image classifiers, trimmed from the results/ folder of "
                  "github.com/huggingface/pytorch-image-models (commit aa4b585, 2026-08-08), (c) Ross Wightman and "
                  "the timm contributors, licensed under the Apache License 2.0 (see TIMM_LICENSE beside this file). "
                  "Joined with the pretrained configs of timm " + timm.__version__ + " by bench/build_timm_catalog.py. "
                  "Accuracies are top-1 percent; params in millions; gmacs per image at input_size."),
        "timm_version": timm.__version__, "skipped": skipped, "columns": list(COLUMNS), "rows": entries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder of timm's results/*.csv")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    catalog = build(args.results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(catalog, separators=(",", ":")) + "\n")
    licence = args.results / "LICENSE-timm"
    if licence.exists():
        (args.out.parent / "TIMM_LICENSE").write_text(licence.read_text())
    print(f"{len(catalog['rows'])} timm classifiers -> {args.out} ({args.out.stat().st_size / 1e3:.0f} kB); "
          f"skipped: {catalog['skipped']}")


if __name__ == "__main__":
    main()
