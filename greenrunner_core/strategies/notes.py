"""Notes the eliminating strategies add to a run's report (shared wording, one place)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def never_evaluated_note(names: Sequence[str], mask: np.ndarray, bound: str) -> list[str]:
    """The models dropped before their first call because even accuracy 1.0 cannot beat ``bound``."""
    never = [names[a] for a in np.flatnonzero(mask)]
    if not never:
        return []
    shown = ", ".join(never[:8]) + (", ..." if len(never) > 8 else "")
    return [(f"{len(never)} model(s) dropped before any evaluation: their best possible reward (accuracy 1.0) "
             f"cannot beat {bound} ({shown})")]
