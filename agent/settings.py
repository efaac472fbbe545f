"""The environment of every front door, read in one place: ``GREENRUNNER_*`` variables (or a ``.env`` file) and the
OpenAI-compatible endpoint (``OPENAI_API_KEY``, ``OPENAI_BASE_URL``). The web app extends it (``ui/settings.py``);
the CLI and LangGraph Server read it as it is. Front doors read it once and pass values down (``Context``,
``Workspace``); the core keeps its own documented fallbacks (``GREENRUNNER_CACHE_DIR``, ``GREENRUNNER_METRICS_DIR``,
``GREENRUNNER_CPU_WATTS_PER_CORE``) only for callers that give nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


class EnvSettings(BaseSettings):
    """Every field has a default; see ``docs/architecture.md`` for where each is used."""

    model_config = SettingsConfigDict(env_prefix="GREENRUNNER_", env_file=".env", extra="ignore")

    cache_dir: Path | None = Field(None, description="cache folder (demo zoo, outcomes); None = the user cache dir")
    metrics_dir: Path | None = Field(None, description="the user's metric stubs; None = <cache>/metrics")
    include_torchvision: bool = Field(True, description="list the torchvision catalog next to the demo zoo")
    sample: int | None = Field(None, ge=1, description="evaluate on a seeded sample of this many target images")
    llm: Literal["auto", "offline", "openai"] = Field("auto", description="auto: OpenAI-compatible endpoint when "
                                                                          "OPENAI_API_KEY is set, else offline")
    model: str = Field(DEFAULT_OPENAI_MODEL, description="model name at the OpenAI-compatible endpoint")
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL"),
                                        description="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1")
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY"),
                                             description="API key of the endpoint (any value for local servers)")

    def cache_root(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir).expanduser()
        from greenrunner_core.paths import cache_dir
        return cache_dir()

    def api_key(self) -> str | None:
        return self.openai_api_key.get_secret_value() if self.openai_api_key else None
