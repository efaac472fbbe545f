"""What the tools need from their caller (cache folder, model sources, limits, where evaluations run), and the
Workspaces a front door keeps while it serves: one per setting (a Ray backend then lives as long as its workspace)."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenrunner_core.cancel import CancelToken
from greenrunner_core.execution import ExecutionSettings
from greenrunner_core.registry.hub_cache import HUB_DEFAULTS, HubSettings
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
    hub: HubSettings = field(default=HUB_DEFAULTS, metadata={
        "description": "The Hugging Face Hub cache folder and offline switch (the agent's Context reads HF_HUB_CACHE, "
                       "HF_HOME, HF_HUB_OFFLINE); the default is huggingface_hub's own."})
    workspaces: Workspaces | None = field(default=None, compare=False, repr=False, metadata={
        "description": "The front door's workspaces, kept while it serves; None = the process's shared ones (a caller "
                       "without a front door, such as LangGraph Server)."})

    def execution(self) -> ExecutionSettings:
        return ExecutionSettings.from_options(self.workers, self.ray_address, self.gpus_per_worker)


class Workspaces:
    """The Workspaces of one owner: one per setting (cache dir, checkpoints, sources, execution, zip limits, watts, hub),
    built on first use and kept, since a Workspace holds what must outlive a turn (loaded models, the outcome cache
    connection, a started Ray backend, hub descriptions). A front door owns one for as long as it serves, puts it in
    the ``ToolSettings`` it builds each turn, and closes it when it stops."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_setting: dict[tuple, Workspace] = {}

    def get(self, settings: ToolSettings) -> Workspace:
        from greenrunner_core.paths import cache_dir
        root = cache_dir(settings.cache_dir)
        execution = settings.execution()
        key = (str(root), tuple(str(c) for c in settings.checkpoints), settings.include_torchvision,
               settings.include_timm, execution, settings.zip_limits, settings.cpu_watts_per_core, settings.hub)
        with self._lock:
            ws = self._by_setting.get(key)
            if ws is None:
                ws = Workspace(cache_dir=root, checkpoints=[Path(c) for c in settings.checkpoints],
                               include_torchvision=settings.include_torchvision, include_timm=settings.include_timm,
                               execution=execution, zip_limits=settings.zip_limits,
                               cpu_watts_per_core=settings.cpu_watts_per_core, hub=settings.hub)
                self._by_setting[key] = ws
            return ws

    def close(self) -> None:
        """Stop the Ray workers of every workspace (in process: nothing to stop); the next ``get`` builds anew."""
        with self._lock:
            workspaces, self._by_setting = list(self._by_setting.values()), {}
        for ws in workspaces:
            ws.close()


_SHARED = Workspaces()
"""The workspaces of callers without a front door (LangGraph Server builds a fresh context for every run, and a
library caller may pass none): one per setting for the life of the process."""


def workspace_for(settings: ToolSettings | None) -> Workspace:
    """The Workspace for ``settings``: from the front door's ``settings.workspaces``, else the process's shared ones."""
    settings = settings if isinstance(settings, ToolSettings) else ToolSettings()
    return (settings.workspaces or _SHARED).get(settings)


def metrics_folder(settings: ToolSettings | None) -> Path:
    """The user's metrics folder: ``metrics_dir``, else ``<cache>/metrics``."""
    from greenrunner_core.metrics_protocol import metrics_dir
    settings = settings if isinstance(settings, ToolSettings) else ToolSettings()
    return Path(settings.metrics_dir).expanduser() if settings.metrics_dir else metrics_dir(settings.cache_dir)
