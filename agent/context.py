"""Per-run settings injected through LangGraph's runtime context: which LLM, its endpoint, and the tools' settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agent.prompts import system_prompt
from agent.settings import EnvSettings
from greenrunner_core.registry.hub_cache import HubSettings
from tools.settings import ToolSettings


@dataclass(kw_only=True)
class Context(ToolSettings):
    """Pass as ``graph.invoke(..., context=Context(...))``; every field has a default. Front doors build it with
    ``from_settings``; the endpoint fields left out are read from the environment through ``EnvSettings``."""

    system_prompt: str = field(default_factory=system_prompt, metadata={
        "description": "System prompt for an LLM (prompts/system.txt with the knowledge base filled in)."})
    llm: Literal["auto", "offline", "openai"] = field(default="auto", metadata={
        "description": "auto: ChatOpenAI when an API key is set, else the offline reasoner."})
    model: str = field(default_factory=lambda: EnvSettings().model, metadata={
        "description": "Model name for the OpenAI-compatible endpoint ($GREENRUNNER_MODEL)."})
    base_url: str | None = field(default_factory=lambda: EnvSettings().openai_base_url, metadata={
        "description": "OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama ($OPENAI_BASE_URL)."})
    api_key: str | None = field(default_factory=lambda: EnvSettings().api_key(), repr=False, metadata={
        "description": "API key ($OPENAI_API_KEY); in the runtime context only, never in the graph state."})
    # the tools' settings an unconfigured caller (LangGraph Server) takes from the environment, through EnvSettings
    cache_dir: str | None = field(default_factory=lambda: _env_path(EnvSettings().cache_dir), metadata={
        "description": "GreenRunner cache folder ($GREENRUNNER_CACHE_DIR); None = the user cache dir."})
    metrics_dir: str | None = field(default_factory=lambda: _env_path(EnvSettings().metrics_dir), metadata={
        "description": "The user's metrics folder ($GREENRUNNER_METRICS_DIR); None = <cache>/metrics."})
    cpu_watts_per_core: float | None = field(default_factory=lambda: EnvSettings().cpu_watts_per_core, metadata={
        "description": "Power of one busy core for the energy estimate ($GREENRUNNER_CPU_WATTS_PER_CORE)."})
    ray_address: str | None = field(default_factory=lambda: EnvSettings().ray_address, metadata={
        "description": "Join an existing Ray cluster: 'auto' or 'HOST:PORT' ($RAY_ADDRESS); None = no cluster."})
    hub: HubSettings = field(default_factory=lambda: EnvSettings().hub(), metadata={
        "description": "The Hugging Face Hub cache folder and offline switch ($HF_HUB_CACHE, $HF_HOME, $HF_HUB_OFFLINE)."})
    llm_timeout: float = field(default=60.0, metadata={"description": "Seconds per LLM request."})
    llm_max_retries: int = field(default=2, metadata={"description": "Retries of a failed LLM request."})
    temperature: float = field(default=0.0, metadata={"description": "Sampling temperature of the LLM."})

    @classmethod
    def from_settings(cls, env: EnvSettings, **overrides: Any) -> Context:
        """The context of a front door that read the environment once (``env``), with per-conversation overrides."""
        values: dict[str, Any] = {
            "llm": env.llm, "model": env.model, "base_url": env.openai_base_url, "api_key": env.api_key(),
            "cache_dir": str(env.cache_root()), "include_torchvision": env.include_torchvision,
            "default_sample": env.sample, "metrics_dir": str(env.metrics_dir) if env.metrics_dir else None,
            "cpu_watts_per_core": env.cpu_watts_per_core, "ray_address": env.ray_address, "hub": env.hub()}
        return cls(**(values | overrides))

    def resolved_api_key(self) -> str | None:
        return self.api_key or None

    def uses_openai(self) -> bool:
        """An API key, an endpoint ($OPENAI_BASE_URL) or ``llm="openai"`` selects ChatOpenAI; an endpoint without a
        key then fails with a clear message rather than falling back to the offline reasoner unnoticed."""
        if self.llm == "offline":
            return False
        if self.llm == "openai":
            return True
        return self.resolved_api_key() is not None or bool(self.base_url)


def _env_path(path: object) -> str | None:
    return str(path) if path else None
