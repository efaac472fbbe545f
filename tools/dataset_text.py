"""The words for a target dataset: its validation report, its display label, and a refusal with its report.

One place for them (the core returns the typed ``ValidationReport``); the tools' summaries, the CLI and the upload
replies all show the same text.
"""
from __future__ import annotations

from pathlib import Path

from greenrunner_core.dataset_scan import ISSUE_KINDS, ValidationReport
from greenrunner_core.selection_run import DEMO_DATASET

__all__ = ["DEMO_LABEL", "dataset_label", "dataset_summary", "error_text", "upload_name"]

DEMO_LABEL = "demo (digits through a new camera)"


def dataset_label(data: str | Path | None) -> str:
    """How a run's target is named to the user: the demo's description, else the path as given."""
    return DEMO_LABEL if data in (None, "", DEMO_DATASET) else str(data)


def upload_name(data: str | Path) -> str:
    """A dataset by its file or folder name; an upload by the name the user gave it (stored as ``<hash>-<name>``)."""
    name = str(data).rstrip("/").rsplit("/", 1)[-1]
    head, sep, rest = name.partition("-")
    return rest if sep and len(head) == 16 and all(c in "0123456789abcdef" for c in head) else name


def dataset_summary(report: ValidationReport, max_per_kind: int = 5) -> str:
    """Multi-line: what was checked, the classes, and up to ``max_per_kind`` files per kind of issue."""
    classes = report.classes
    shown = ", ".join(classes[:20]) + (f", ... ({len(classes)} in all)" if len(classes) > 20 else "")
    lines = [(f"Dataset {report.source}: {report.usable} usable images in {len(classes)} classes "
              f"({report.total_files} files checked).")]
    if classes:
        lines.append(f"Classes: {shown}")
    if not report.issues:
        lines.append("No problems found.")
        return "\n".join(lines)
    lines.append(f"Skipped {len(report.issues)} (never counted as wrong answers):")
    for kind, n in sorted(report.counts().items(), key=lambda kv: ISSUE_KINDS.index(kv[0])):
        lines.append(f"  {kind}: {n}")
        of_kind = [i for i in report.issues if i.kind == kind]
        lines += [f"    - {issue.path}: {issue.detail}" for issue in of_kind[:max_per_kind]]
        if n > max_per_kind:
            lines.append(f"    ... and {n - max_per_kind} more")
    return "\n".join(lines)


def error_text(err: BaseException) -> str:
    """A refusal as the user reads it: the error's message, then the dataset report it carries (if any)."""
    report = getattr(err, "report", None)
    return f"{err}\n{dataset_summary(report)}" if isinstance(report, ValidationReport) else str(err)
