"""Dataset class names -> model labels: the automatic label map (exact names, synonyms, the ImageNet WordNet tree)."""
from greenrunner_core.labels.auto_map import AutoLabelMap, ClassMatch, auto_label_map
from greenrunner_core.labels.imagenet import imagenet_hierarchy, is_imagenet_1k

__all__ = ["AutoLabelMap", "ClassMatch", "auto_label_map", "imagenet_hierarchy", "is_imagenet_1k"]
