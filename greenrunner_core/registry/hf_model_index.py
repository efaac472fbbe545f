"""The ImageNet-1k top-1 a Hugging Face repo reports in its model card (``model-index`` in README.md's front matter).

Self-reported figures, not timm's measured results table: the card of such a model says so
(``ModelCard.benchmark_self_reported``). Only an accuracy on ImageNet-1k itself counts; a fine-tune's accuracy on its
own dataset (``imagefolder``, ``food101``, ...) is not comparable and is ignored. Parsing is huggingface_hub's
(``metadata_load``, ``model_index_to_eval_results``); the README is read from the Hub cache, and fetched only when
downloads are allowed and the hubs are online (a missing or unreadable card means "no published accuracy", never an
error: the model is still a candidate, measured on the user's images).
"""
from __future__ import annotations

from pathlib import Path

from greenrunner_core.registry.hub_cache import HubSettings, cached_file

__all__ = ["IMAGENET_DATASETS", "card_readme", "imagenet_top1", "readme_top1"]

IMAGENET_DATASETS = frozenset({"imagenet", "imagenet-1k", "imagenet1k", "imagenet_1k", "ilsvrc2012", "ilsvrc-2012",
                               "ilsvrc/imagenet-1k", "timm/imagenet-1k-wds", "imagenet-1k val"})
TOP1_METRICS = frozenset({"accuracy", "acc", "top-1", "top1", "top_1", "acc@1", "top-1 accuracy", "top1_accuracy",
                          "top_1_accuracy", "top-1-accuracy"})


def _norm(text: object) -> str:
    return str(text or "").strip().lower()


def imagenet_top1(metadata: dict | None) -> float | None:
    """The best ImageNet-1k top-1 (in [0, 1]) among the card's image-classification results, None when it has none."""
    if not metadata or not isinstance(metadata.get("model-index"), list):
        return None
    from huggingface_hub.repocard_data import model_index_to_eval_results

    try:
        _, results = model_index_to_eval_results(metadata["model-index"])
    except (KeyError, TypeError, ValueError, AttributeError):   # a malformed model-index: no usable figure
        return None
    found = []
    for result in results:
        dataset = {_norm(result.dataset_type), _norm(result.dataset_name)}
        metric = {_norm(result.metric_type), _norm(result.metric_name)} - {""}
        if _norm(result.task_type) != "image-classification" or not dataset & IMAGENET_DATASETS:
            continue
        if not metric & TOP1_METRICS or any("5" in m for m in metric):
            continue
        try:
            value = float(result.metric_value)
        except (TypeError, ValueError):
            continue
        value = value / 100.0 if value > 1.0 else value
        if 0.0 < value <= 1.0:
            found.append(value)
    return max(found) if found else None


def readme_top1(readme: Path | None) -> float | None:
    """``imagenet_top1`` of a README.md file (None when there is none or it cannot be read)."""
    if readme is None:
        return None
    import yaml
    from huggingface_hub import metadata_load

    try:
        return imagenet_top1(metadata_load(readme))
    except (OSError, ValueError, yaml.YAMLError):      # unreadable or broken front matter: no published figure
        return None


def card_readme(repo: str, hub: HubSettings, *, allow_download: bool) -> Path | None:
    """The repo's README.md: from the Hub cache, else downloaded when allowed and online, else None."""
    local = Path(repo) / "README.md"
    if local.is_file():                      # a local save_pretrained folder
        return local
    found = cached_file(repo, ("README.md",), hub)
    if found is not None or hub.is_offline() or not allow_download:
        return found
    from huggingface_hub import hf_hub_download

    try:
        return Path(hf_hub_download(repo, "README.md", cache_dir=str(hub.hub_dir()), etag_timeout=10.0))
    except Exception:  # noqa: BLE001 - no card, network, auth: the model simply has no published figure
        return None
