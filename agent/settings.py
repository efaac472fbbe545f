"""The environment of every front door, read in one place: ``GREENRUNNER_*`` variables (or a ``.env`` file), the
OpenAI-compatible endpoint (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``) and the Hugging Face Hub cache and offline switch
(``HF_HUB_CACHE``, ``HF_HOME``, ``XDG_CACHE_HOME``, ``HF_HUB_OFFLINE``; the core gets them as ``HubSettings``). The web app extends it (``ui/settings.py``;
the CLI reads that too, for the zip limits); LangGraph Server reads it as it is, through ``Context``. Front doors read
it once and pass values down (``Context``, ``Workspace``); the core reads no GreenRunner environment variable (a
library caller that passes nothing gets the user cache dir and the 10 W per core estimate).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from greenrunner_core.execution import ExecutionSettings
    from greenrunner_core.registry.hub_cache import HubSettings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class EnvSettings(BaseSettings):
    """Every field has a default; see ``docs/architecture.md`` for where each is used."""

    model_config = SettingsConfigDict(env_prefix="GREENRUNNER_", env_file=".env", extra="ignore")

    cache_dir: Path | None = Field(None, description="cache folder (demo zoo, outcomes); None = the user cache dir")
    metrics_dir: Path | None = Field(None, description="the user's metric stubs; None = <cache>/metrics")
    cpu_watts_per_core: float | None = Field(None, description="power of one busy core for the energy estimate "
                                                               "(without RAPL); None = 10 W")
    ray_address: str | None = Field(None, validation_alias=AliasChoices("GREENRUNNER_RAY_ADDRESS", "RAY_ADDRESS"),
                                    description="join a Ray cluster: auto or HOST:PORT; local = none "
                                                "($GREENRUNNER_RAY_ADDRESS, else Ray's own $RAY_ADDRESS)")
    include_torchvision: bool = Field(True, description="list the torchvision catalog next to the demo zoo")
    sample: int | None = Field(None, ge=1, description="evaluate on a seeded sample of this many target images")
    llm: Literal["auto", "offline", "openai"] = Field("auto", description="auto: OpenAI-compatible endpoint when "
                                                                          "OPENAI_API_KEY is set, else offline")
    model: str = Field(DEFAULT_OPENAI_MODEL, description="model name at the OpenAI-compatible endpoint")
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL"),
                                        description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1")
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"),
                                             description="API key of the endpoint (any value for local servers)")
    hf_hub_cache: Path | None = Field(None, validation_alias=AliasChoices("HF_HUB_CACHE"),
                                      description="the Hugging Face Hub cache folder; None = $HF_HOME/hub")
    hf_home: Path | None = Field(None, validation_alias=AliasChoices("HF_HOME"),
                                 description="Hugging Face's home folder; None = $XDG_CACHE_HOME/huggingface")
    xdg_cache_home: Path | None = Field(None, validation_alias=AliasChoices("XDG_CACHE_HOME"),
                                        description="the user's cache folder (for Hugging Face's); None = ~/.cache")
    hf_hub_offline: bool = Field(False, validation_alias=AliasChoices("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"),
                                 description="download nothing from the hubs (1/true/yes/on, as huggingface_hub reads it)")

    @field_validator("hf_hub_offline", mode="before")
    @classmethod
    def _hub_offline(cls, raw: Any) -> bool:
        # huggingface_hub's own reading: any other value (0, "", "no", a typo) means online
        return raw if isinstance(raw, bool) else str(raw).strip().upper() in {"1", "ON", "YES", "TRUE"}

    @field_validator("hf_hub_cache", "hf_home", "xdg_cache_home", mode="before")
    @classmethod
    def _empty_path(cls, raw: Any) -> Any:
        return None if raw == "" else raw

    @field_validator("cpu_watts_per_core", mode="before")
    @classmethod
    def _watts(cls, raw: Any) -> float | None:
        from greenrunner_core.energy import WATTS_ENV
        if raw is None or raw == "":
            return None
        try:
            value = float(raw)
        except (TypeError, ValueError):
            value = -1.0
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{WATTS_ENV}={raw!r} is not a power in watts > 0; e.g. {WATTS_ENV}=8")
        return value

    def cache_root(self) -> Path:
        """``cache_dir``, else the user cache dir (created)."""
        from greenrunner_core.paths import cache_dir
        return cache_dir(self.cache_dir)

    def metrics_root(self) -> Path:
        """``metrics_dir``, else ``<cache>/metrics``."""
        return Path(self.metrics_dir).expanduser() if self.metrics_dir else self.cache_root() / "metrics"

    def execution(self, workers: int | None = None, ray_address: str | None = None,
                  num_gpus: float | None = None) -> ExecutionSettings:
        """Where evaluations run, from a front door's options; ``ray_address`` None takes this environment's
        (``RAY_ADDRESS``), ``"local"`` ignores it."""
        from greenrunner_core.execution import ExecutionSettings
        address = ray_address if ray_address is not None else self.ray_address
        return ExecutionSettings.from_options(workers, address, num_gpus)

    def hub(self) -> HubSettings:
        """The Hub cache folder (``HF_HUB_CACHE``, else ``HF_HOME``/hub, else ``XDG_CACHE_HOME``/huggingface/hub, else
        ~/.cache/huggingface/hub) and the offline switch, resolved as huggingface_hub resolves them."""
        from greenrunner_core.registry.hub_cache import HubSettings
        if self.hf_hub_cache:
            folder = Path(self.hf_hub_cache)
        else:
            home = self.hf_home or Path(self.xdg_cache_home or "~/.cache") / "huggingface"
            folder = Path(home) / "hub"
        return HubSettings(cache_dir=folder.expanduser(), offline=self.hf_hub_offline)

    def api_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None
