"""A candidate plan's verdicts in words: why each model fits or is left out, and the fix (the core keeps the reasons
as data, ``greenrunner_core/candidate_plan.Verdict``)."""
from __future__ import annotations

from greenrunner_core.candidate_plan import Verdict

__all__ = ["OFFLINE_FIX_GROUPED", "verdict_fix", "verdict_why"]

POOL_WORDS = {"checkpoints": "your checkpoint", "named": "named by you", "demo": "demo zoo (digits)",
              "catalog": "ImageNet catalog"}
MATCH_WORDS = {"exact": "the same names", "synonym": "synonyms", "hierarchy": "the WordNet tree",
               "nearest": "nearest classes (check them)"}
OFFLINE_FIX_GROUPED = "connect once to download them, or copy the files into the torch hub cache (TORCH_HOME)"
"""The fix of every model left out for uncached weights offline, said once for the group."""


def verdict_why(v: Verdict) -> str:
    """Why the model fits (where it comes from, how its labels matched) or why it is left out."""
    if v.reason == "fits":
        found = ", ".join(MATCH_WORDS.get(h, h) for h in v.matched_by) or "their names"
        return f"{POOL_WORDS.get(v.pool, v.pool)}; {v.n_labels} labels, your classes matched by {found}"
    if v.reason == "labels_match_none":
        return (f"its {v.n_labels} labels ({', '.join(repr(x) for x in v.examples)}) match none of the classes "
                f"{', '.join(v.classes)}")
    if v.reason == "labels_miss_classes":
        return f"its labels cover {', '.join(v.covered)} but not {', '.join(v.missing)}"
    return "its weights are not cached and this machine is offline"


def verdict_fix(v: Verdict) -> str:
    """What makes a model left out usable ("" for a kept one)."""
    if v.reason == "labels_match_none":
        return ("rename the class folders to its labels, or map them (say 'map <class> to <label>' or upload a label "
                "map JSON)")
    if v.reason == "labels_miss_classes":
        return f"map {v.missing[0]!r} to one of its labels, or drop that class"
    if v.reason == "weights_offline":
        where = v.weights_file or ("the Hugging Face Hub cache (HF_HOME)" if v.source in ("timm", "hf") else "the model cache")
        return f"connect once to download them, or copy the file to {where}"
    return ""
