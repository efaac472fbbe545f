"""Notes the eliminating strategies add to a run's report (typed records; ``tools/notes_text.py`` words them)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from greenrunner_core.notes import NeverEvaluated


def never_evaluated_note(names: Sequence[str], mask: np.ndarray, *, proven: bool) -> list[NeverEvaluated]:
    """The models dropped before their first call because even accuracy 1.0 cannot beat the leader's bound."""
    never = tuple(names[a] for a in np.flatnonzero(mask))
    return [NeverEvaluated(never, proven=proven)] if never else []
