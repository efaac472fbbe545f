"""The words for a target dataset: its validation report (each skipped file's reason), its display label, and a
refusal with its report.

One place for them (the core returns the typed ``ValidationReport``); the tools' summaries, the CLI and the upload
replies all show the same text.
"""
from __future__ import annotations

from pathlib import Path

from greenrunner_core.dataset_scan import ISSUE_KINDS, ValidationIssue, ValidationReport
from greenrunner_core.selection_run import DEMO_DATASET

__all__ = ["DEMO_LABEL", "KIND_WORDS", "dataset_label", "dataset_summary", "error_text", "issue_words", "kind_words",
           "upload_name"]

DEMO_LABEL = "demo (digits through a new camera)"


# each kind of skipped file (``IssueKind``), as the report's heading for its files
KIND_WORDS = {"corrupt": "damaged images",
              "zero_byte": "empty files",
              "not_image": "not images",
              "unreadable": "unreadable files",
              "unmapped_class": "images of a class no model's labels cover",
              "duplicate": "duplicates",
              "unsafe_path": "unsafe paths (refused)",
              "too_large": "too large to read"}


def kind_words(kind: str) -> str:
    """A kind of skipped file in words ("not_image" -> "not images"); an unknown kind reads as its name."""
    return KIND_WORDS.get(kind) or kind.replace("_", " ")


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
        lines.append(f"  {kind_words(kind)}: {n}")
        of_kind = [i for i in report.issues if i.kind == kind]
        lines += [f"    - {issue.path}: {issue_words(issue)}" for issue in of_kind[:max_per_kind]]
        if n > max_per_kind:
            lines.append(f"    ... and {n - max_per_kind} more")
    return "\n".join(lines)


def error_text(err: BaseException) -> str:
    """A refusal as the user reads it: the error's message, then the dataset report it carries (if any)."""
    report = getattr(err, "report", None)
    return f"{err}\n{dataset_summary(report)}" if isinstance(report, ValidationReport) else str(err)


_FIXED = {"link_to_folder": "refused: symbolic link to a folder",
          "not_in_class_folder": "image is not inside a class folder (expected <class>/<image>)",
          "empty": "file is empty (0 bytes)",
          "zip_absolute_path": "refused: absolute path",
          "zip_dotdot": "refused: path contains '..' (would escape the extraction folder)",
          "zip_link": "refused: symbolic link",
          "zip_outside": "refused: resolves outside the extraction folder",
          "zip_encrypted": "entry is encrypted (password-protected zip)",
          "zip_same_name": "the zip holds two entries with this name; kept the first"}
_WITH_DETAIL = {"link_outside": "refused: symbolic link to {d}, outside the dataset folder (copy the file in instead)",
                "cannot_list": "cannot list folder: {d}",
                "cannot_read": "cannot read: {d}",
                "unidentified": "named {d} but Pillow cannot identify the content as an image",
                "decompression_bomb": "refused as a decompression bomb: {d}",
                "cannot_decode": "cannot be decoded: {d}",
                "zip_damaged": "damaged zip entry: {d}",
                "zip_cannot_extract": "cannot extract: {d}"}


def issue_words(issue: ValidationIssue) -> str:
    """Why one file was skipped (an issue saved as a sentence reads as saved)."""
    why, d, f = issue.why, issue.detail, issue.figures
    if why in _FIXED:
        return _FIXED[why]
    if why in _WITH_DETAIL:
        return _WITH_DETAIL[why].format(d=d)
    if why == "file_too_large":
        return f"{f[0]:,.1f} MB, above the {f[1]:,.0f} MB limit for one image; not read"
    if why == "too_many_pixels":
        return (f"{f[0]:.0f}x{f[1]:.0f} pixels, above the limit of {f[2]:,.0f} (about {f[3]:,.0f} MB decoded); "
                "not decoded")
    if why == "not_image":
        return f"not an image (extension {d or 'none'}; content not a known image format)"
    if why == "same_content":
        there = f" (labelled {issue.labels[0]!r} there)" if issue.labels else ""
        return f"same content as {d}{there}; kept that one"
    if why == "class_unmatched":
        shown = ", ".join(repr(x) for x in issue.labels)
        space = f"{f[1]:.0f} labels, e.g. {shown}" if f[1] else "no labels"
        return f"class {d!r} matches no label of model label space #{f[0]:.0f} ({space})"
    return d
