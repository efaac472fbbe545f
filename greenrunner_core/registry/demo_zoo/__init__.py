"""The offline demo zoo: a dozen small models really trained on scikit-learn's digits, plus a shifted target set.

It lets ``make run`` (and the tests) do model selection without any network. The target pool is seen
through a seeded "new camera" (affine, blur, noise, brightness/contrast), where some models trained with
augmentation hold up and others do not, so the clean-accuracy ranking does not predict the target ranking.

``archs`` (architectures + recipes), ``data`` (digits, split, shift), ``train`` (training), ``source``
(the cached, verified build as a ``ModelSource``).
"""
from greenrunner_core.registry.demo_zoo.archs import SPECS, ZooSpec
from greenrunner_core.registry.demo_zoo.data import BENCHMARK_DATASET, CLASS_LABELS, IMAGE_SIZE, PREPROCESS, DemoSplit
from greenrunner_core.registry.demo_zoo.source import DemoZooSource, Progress

__all__ = ["BENCHMARK_DATASET", "CLASS_LABELS", "IMAGE_SIZE", "PREPROCESS", "SPECS", "DemoSplit", "DemoZooSource",
           "Progress", "ZooSpec"]
