"""Label map edits typed in the chat: "map boat to canoe and speedboat", "map bike to mountain bike, bicycle-built-for-two",
checked against the labels of the models the next run will evaluate before they are saved."""
from __future__ import annotations

import re
from typing import Any

__all__ = ["parse_map_edit", "save_label_map_edit"]

_EDIT = re.compile(r"^\s*map\s+(?:the\s+)?(?:class\s+)?[\"'“]?(?P<cls>[^\"'”]+?)[\"'”]?\s+(?:to|onto|->|→)\s+(?P<labels>.+?)\s*\.?\s*$",
                   re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bor\b|\+)\s*", re.IGNORECASE)


def parse_map_edit(text: str) -> dict[str, list[str]] | None:
    """``{class: [labels]}`` for a "map X to A and B" message, else None (not an edit)."""
    match = _EDIT.match(text or "")
    if not match:
        return None
    labels = [part.strip(" \"'“”") for part in _SPLIT.split(match["labels"])]
    labels = [label for label in labels if label]
    return {match["cls"].strip(): labels} if labels else None


def save_label_map_edit(conversations: Any, thread_id: str, edit: dict[str, list[str]],
                        pending: dict[str, Any] | None) -> str:
    """Check a typed label map edit against the candidates' labels (the staged run's, else the last run's on the
    same uploaded dataset), save it, and say what happens next. ``conversations``: ``ui.conversations.Conversations``."""
    from greenrunner_core.errors import GreenRunnerError
    from greenrunner_core.label_map import check_label_map
    from tools.settings import workspace_for
    models = ((pending or {}).get("run") or {}).get("models")
    if not (isinstance(models, list) and models):
        models = _last_run_models(conversations, thread_id)
    try:
        if models:
            registry = workspace_for(conversations.context(thread_id)).registry
            check_label_map({k: frozenset(v) for k, v in edit.items()},
                            [registry.get(m).class_labels for m in models])
        conversations.uploads(thread_id).edit_label_map(edit)
    except (GreenRunnerError, KeyError) as err:
        return f"That label map edit was not saved: {err}"
    (cls, labels), = edit.items()
    where = ("Press **Run** on the proposal to use it." if pending else
             "It applies to the next proposal (say *run it*).")
    return f"Label map edit saved: **{cls}** → {', '.join(labels)}. {where}"


def _last_run_models(conversations: Any, thread_id: str) -> list[str]:
    """The models of the last run when it ran on the conversation's current upload (the next run's candidates)."""
    from tools.result import RunRecord
    dataset = conversations.uploads(thread_id).dataset()
    record = conversations.session(thread_id).values().get("last_run")
    args = RunRecord.revive(record).args if record is not None and dataset is not None else None
    if args is None or not args.models or str(args.dataset) != str(dataset):
        return []
    return list(args.models)
