"""What the tools need from their caller (cache folder, model sources, limits, where evaluations run) and one shared
Workspace per setting (a Ray backend then lives as long as its workspace)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenrunner_core.cancel import CancelToken
from greenrunner_core.execution import ExecutionSettings
from greenrunner_core.workspace import Workspace
from greenrunner_core.zip_extract import ZipLimits


def described(default: Any, description: str) -> Any:
    """A settings field with an immutable default and its description (shown with the graph's runtime context)."""
    return field(default=default, metadata={"description": description})


@dataclass(kw_only=True)
class ToolSettings:
    """Settings the tools read from the graph's runtime context (the agent's ``Context`` extends this)."""

    cache_dir: str | None = described(None, "GreenRunner cache folder (outcomes, demo zoo, complexity); None = the "
                                            "user cache dir.")
    checkpoints: tuple[str, ...] = described((), "Local checkpoint folders added to the model registry.")
    include_torchvision: bool = described(True, "Include the torchvision catalog (weights usable only when cached "
                                                "offline).")
    include_timm: bool = described(True, "Include timm's pretrained classifiers (cards from the shipped catalog; "
                                         "weights from the Hugging Face cache).")
    metrics_dir: str | None = described(None, "The user's metrics folder for metric stubs; None = <cache>/metrics.")
    cpu_watts_per_core: float | None = described(None, "Power of one busy core for the energy estimate when RAPL is "
                                                       "unreadable; None = 10 W.")
    user_metric_timeout: float = described(30.0, "Seconds an enabled user metric may take per model before it is "
                                                 "reported as timed out.")
    max_brute_force_calls: int = described(5000, "compare_baselines runs brute force only when it needs at most this "
                                                 "many NEW evaluations; otherwise it states the cost and asks.")
    default_sample: int | None = described(None, "Evaluate on a seeded sample of this many target images unless the "
                                                 "tool call says otherwise.")
    cancel: CancelToken | None = field(default=None, compare=False, metadata={
        "description": "The current turn's stop flag: long tools stop at the next batch once it is cancelled."})
    zip_limits: ZipLimits = field(default_factory=ZipLimits, metadata={
        "description": "Limits a dataset zip is unpacked under (per file, in all, compression ratio, entries)."})
    workers: int = described(0, "Evaluate on this many Ray workers (a local Ray runtime, or actors on ray_address); 0 "
                                "= in process, without Ray.")
    ray_address: str | None = described(None, "Join an existing Ray cluster: 'auto' or 'HOST:PORT'; None = no "
                                              "cluster (the agent's Context takes $RAY_ADDRESS).")
    gpus_per_worker: float = described(0.0, "GPUs each Ray worker requests.")
    uploaded_dataset: str | None = described(None, "The conversation's uploaded target dataset: a run the user stages "
                                                   "without one uses it.")
    label_map_file: str | None = described(None, "The user's label map edits (JSON {class: [labels]}), applied over "
                                                 "the automatic map.")

    def execution(self) -> ExecutionSettings:
        return ExecutionSettings.from_options(self.workers, self.ray_address, self.gpus_per_worker)


_lock = threading.Lock()
_workspaces: dict[tuple, Workspace] = {}


def workspace_for(settings: ToolSettings | None) -> Workspace:
    """One Workspace per setting (cache dir, checkpoints, sources, execution, zip limits, watts), built once per process.

    Why a per-process table rather than an object the front door owns and passes down: the tools get their settings
    from LangGraph's runtime context, which front doors rebuild for every turn and LangGraph Server builds with no
    front door at all; the Workspace holds what must outlive a turn (loaded models, the outcome cache connection, a
    started Ray backend, hub descriptions). Carrying an owner object in every ``Context`` would touch every tool, the
    app's runtime and 40-odd call sites for the same behaviour, and LangGraph Server would still need a default one.
    """
    settings = settings if isinstance(settings, ToolSettings) else ToolSettings()
    from greenrunner_core.paths import cache_dir
    root = cache_dir(settings.cache_dir)
    execution = settings.execution()
    key = (str(root), tuple(str(c) for c in settings.checkpoints), settings.include_torchvision,
           settings.include_timm, execution, settings.zip_limits, settings.cpu_watts_per_core)
    with _lock:
        ws = _workspaces.get(key)
        if ws is None:
            ws = Workspace(cache_dir=root, checkpoints=[Path(c) for c in settings.checkpoints],
                           include_torchvision=settings.include_torchvision, include_timm=settings.include_timm,
                           execution=execution, zip_limits=settings.zip_limits,
                           cpu_watts_per_core=settings.cpu_watts_per_core)
            _workspaces[key] = ws
        return ws


def metrics_folder(settings: ToolSettings | None) -> Path:
    """The user's metrics folder: ``metrics_dir``, else ``<cache>/metrics``."""
    from greenrunner_core.metrics_protocol import metrics_dir
    settings = settings if isinstance(settings, ToolSettings) else ToolSettings()
    return Path(settings.metrics_dir).expanduser() if settings.metrics_dir else metrics_dir(settings.cache_dir)
