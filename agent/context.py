"""Per-run settings injected through LangGraph's runtime context: which LLM, its endpoint, and the tools' settings."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

from agent.prompts import system_prompt
from tools.settings import ToolSettings

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value else default


@dataclass(kw_only=True)
class Context(ToolSettings):
    """Pass as ``graph.invoke(..., context=Context(...))``; every field has a default (env vars where noted)."""

    system_prompt: str = field(default_factory=system_prompt, metadata={
        "description": "System prompt for an LLM (prompts/system.txt with the knowledge base filled in)."})
    llm: Literal["auto", "offline", "openai"] = field(default="auto", metadata={
        "description": "auto: ChatOpenAI when an API key is set, else the offline reasoner."})
    model: str = field(default_factory=lambda: _env("GREENRUNNER_MODEL", DEFAULT_OPENAI_MODEL), metadata={
        "description": "Model name for the OpenAI-compatible endpoint ($GREENRUNNER_MODEL)."})
    base_url: str | None = field(default_factory=lambda: _env("OPENAI_BASE_URL"), metadata={
        "description": "OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 for Ollama ($OPENAI_BASE_URL)."})
    api_key: str | None = field(default=None, repr=False, metadata={
        "description": "API key; None reads $OPENAI_API_KEY when the model is created (never stored in state)."})
    llm_timeout: float = field(default=60.0, metadata={"description": "Seconds per LLM request."})
    llm_max_retries: int = field(default=2, metadata={"description": "Retries of a failed LLM request."})
    temperature: float = field(default=0.0, metadata={"description": "Sampling temperature of the LLM."})

    def resolved_api_key(self) -> str | None:
        return self.api_key or _env("OPENAI_API_KEY")

    def uses_openai(self) -> bool:
        """An API key, an endpoint ($OPENAI_BASE_URL) or ``llm="openai"`` selects ChatOpenAI; an endpoint without a
        key then fails with a clear message rather than falling back to the offline reasoner unnoticed."""
        if self.llm == "offline":
            return False
        if self.llm == "openai":
            return True
        return self.resolved_api_key() is not None or bool(self.base_url)
