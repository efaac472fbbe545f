"""Settings of the web app and Slack bot: process settings from the environment, and the per-chat settings panel
(weights, strategy, budget, seed) whose widget ids equal the fields of ``ChatSettingsModel``."""
from __future__ import annotations

import functools
import hmac
import re
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator

from agent.settings import EnvSettings
from greenrunner_core.strategies import ALIASES, DEFAULT_STRATEGY, STRATEGIES
from greenrunner_core.zip_extract import MAX_ZIP_BYTES, MAX_ZIP_ENTRIES, ZipLimits
from tools.text import DEFAULT_BUDGET_TEXT
from tools.weight_rule import WEIGHT_RANGE, weight_problem

METRICS = ("accuracy", "size", "complexity", "latency")   # the weights the panel shows: a slider each


class AppSettings(EnvSettings):
    """The environment of the Chainlit app: every front door's settings (``EnvSettings``) plus the app's own
    ``GREENRUNNER_*`` variables and Slack's credentials; every field has a default."""

    conversations_db: Path | None = Field(None, description="SQLite file of the conversations (LangGraph "
                                                            "checkpointer); None = <cache>/conversations.sqlite")
    uploads_dir: Path | None = Field(None, description="where uploaded datasets and checkpoints are kept, one "
                                                       "folder per conversation; None = <cache>/uploads")
    workers: int = Field(0, ge=0, description="evaluate on this many Ray workers; 0 = in process, without Ray")
    max_upload_mb: float = Field(200.0, gt=0, allow_inf_nan=False,
                                 description="largest accepted upload (dataset zip or checkpoint)")
    zip_max_entries: int = Field(MAX_ZIP_ENTRIES, gt=0, description="most files and folders in one dataset zip")
    zip_max_member_mb: float = Field(64.0, gt=0, allow_inf_nan=False,
                                     description="largest file a dataset zip may unpack (counted while unpacking)")
    zip_max_total_mb: float = Field(MAX_ZIP_BYTES / 2**20, gt=0, allow_inf_nan=False,
                                    description="most a dataset zip may unpack to in all (counted while unpacking)")
    zip_max_ratio: float = Field(200.0, gt=1, allow_inf_nan=False,
                                 description="most a zip member (or the zip) may expand: unpacked / packed size")
    progress_interval: float = Field(0.4, ge=0, description="seconds between live progress updates in the web UI")
    auth_users: SecretStr | None = Field(None, description="'user:password,user2:password2' enables Chainlit's "
                                                           "password login (needs CHAINLIT_AUTH_SECRET)")
    local_login: bool = Field(True, description="on a loopback address without auth_users, sign browsers in as one "
                                                "local user (no form) so Chainlit keeps and resumes threads")
    web_elements_max_mb: float = Field(64.0, gt=0, allow_inf_nan=False,
                                       description="most disk the charts of web threads take (redrawn after a "
                                                   "reload); the oldest are dropped beyond it")
    slack_api_url: str | None = Field(None, description="Slack Web API base URL (GovSlack, a proxy, or a test "
                                                        "server); None = https://slack.com/api/")
    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"),
                                              description="Slack bot token (Chainlit mounts /slack/events with it)")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET"),
                                                   description="Slack signing secret of the app")

    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token and self.slack_signing_secret)

    def zip_limits(self) -> ZipLimits:
        """The limits every dataset zip is unpacked under (uploads and agent runs alike)."""
        return ZipLimits(max_entries=self.zip_max_entries, max_member_bytes=int(self.zip_max_member_mb * 2**20),
                         max_total_bytes=int(self.zip_max_total_mb * 2**20), max_ratio=self.zip_max_ratio)

    def conversations_path(self) -> Path:
        return Path(self.conversations_db).expanduser() if self.conversations_db else \
            self.cache_root() / "conversations.sqlite"

    def uploads_root(self) -> Path:
        return Path(self.uploads_dir).expanduser() if self.uploads_dir else self.cache_root() / "uploads"

    def users(self) -> dict[str, str]:
        """The login table from ``auth_users``; empty = no login (the app then binds to 127.0.0.1 only)."""
        if self.auth_users is None:
            return {}
        users: dict[str, str] = {}
        for item in self.auth_users.get_secret_value().split(","):
            if not item.strip():
                continue
            name, sep, password = item.strip().partition(":")
            if not sep or not name or not password:
                raise ValueError("GREENRUNNER_AUTH_USERS must look like 'alice:password,bob:password2' "
                                 f"(an entry without ':' or with an empty name/password: {name or '?'!r})")
            users[name] = password
        return users

    def check_password(self, username: str, password: str) -> bool:
        expected = self.users().get(username)
        # compare_digest on bytes: constant time, and unknown users cost the same as wrong passwords
        return hmac.compare_digest((expected or "\0").encode(), password.encode()) and expected is not None


@functools.cache
def _base_weight(metric: str) -> float:
    """The knowledge base's base weight of ``metric`` (read on first use, not at import)."""
    from agent.proposal import propose_weights
    return float(propose_weights("").weights.get(metric, 0.0))


def canonical_strategy(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return key


_LOW, _HIGH = WEIGHT_RANGE


class ChatSettingsModel(BaseModel):
    """The settings panel of a chat. Widget ids equal these field names; the defaults are valid."""

    w_accuracy: float = Field(default_factory=lambda: _base_weight("accuracy"), ge=_LOW, le=_HIGH,
                              description="weight of accuracy on your images")
    w_size: float = Field(default_factory=lambda: _base_weight("size"), ge=_LOW, le=_HIGH,
                          description="weight of model size (smaller is better)")
    w_complexity: float = Field(default_factory=lambda: _base_weight("complexity"), ge=_LOW, le=_HIGH,
                                description="weight of MACs per image (fewer is better)")
    w_latency: float = Field(default_factory=lambda: _base_weight("latency"), ge=_LOW, le=_HIGH,
                             description="weight of latency: median ms per image, timed on this machine before the "
                                         "run (faster is better); 0 leaves it out")
    strategy: str = Field(DEFAULT_STRATEGY, description="selection strategy")
    budget: int = Field(0, ge=0, le=10_000_000, description=f"evaluation calls to spend; 0 = {DEFAULT_BUDGET_TEXT}")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="random seed (same seed = same result)")

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        return canonical_strategy(value)

    @field_validator("budget", "seed", mode="before")
    @classmethod
    def _integer(cls, value: Any) -> Any:
        if value is None or value == "":
            return 0
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @model_validator(mode="after")
    def _some_weight(self) -> ChatSettingsModel:
        if not any(w > 0 for w in self.weights().values()):
            raise ValueError("at least one weight must be above 0 (e.g. accuracy 0.6)")
        return self

    def weights(self) -> dict[str, float]:
        return {m: getattr(self, f"w_{m}") for m in METRICS}

    def decision(self) -> dict[str, Any]:
        """How a staging interrupt is answered with these settings ("Adjust")."""
        return {"approved": True, "weights": self.weights(), "strategy": self.strategy,
                "budget": self.budget or None, "seed": self.seed}

    def describe(self) -> str:
        budget = f"{self.budget:,} calls" if self.budget else DEFAULT_BUDGET_TEXT
        weights = ", ".join(f"{m}={w:g}" for m, w in self.weights().items())
        return f"{weights}; strategy {self.strategy}, budget {budget}, seed {self.seed}"

    @classmethod
    def from_staging(cls, payload: dict[str, Any], current: ChatSettingsModel | None = None) -> ChatSettingsModel:
        """The panel showing a staged run: its weights (other metrics dropped), strategy, budget and seed."""
        base = current or cls()
        weights = payload.get("weights") or {}
        run = payload.get("run") or {}
        values = base.model_dump()
        values.update({f"w_{m}": min(max(float(weights.get(m, 0.0)), 0.0), 1.0) for m in METRICS})
        if isinstance(run.get("strategy"), str):
            values["strategy"] = run["strategy"]
        values["budget"] = run["budget"] if isinstance(run.get("budget"), int) else 0
        if isinstance(run.get("seed"), int):
            values["seed"] = run["seed"]
        try:
            return cls.model_validate(values)
        except ValidationError:
            return base


def settings_widgets(values: ChatSettingsModel) -> list[Any]:
    """Chainlit input widgets for the panel, ids = ``ChatSettingsModel`` fields, initial values = ``values``."""
    from chainlit.input_widget import NumberInput, Select, Slider

    fields = ChatSettingsModel.model_fields
    sliders = [Slider(id=f"w_{m}", label=f"Weight: {m}", initial=getattr(values, f"w_{m}"), min=0, max=1, step=0.05,
                      description=fields[f"w_{m}"].description) for m in METRICS]
    return [*sliders,
            Select(id="strategy", label="Strategy", values=list(STRATEGIES), initial_value=values.strategy,
                   description=f"how evaluation calls are spent ({DEFAULT_STRATEGY} is the default)"),
            NumberInput(id="budget", label="Budget (evaluation calls)", initial=values.budget,
                        description=fields["budget"].description),
            NumberInput(id="seed", label="Seed", initial=values.seed, description=fields["seed"].description)]


def parse_settings(values: dict[str, Any]) -> tuple[ChatSettingsModel | None, str]:
    """Validate what the panel sent: (settings, "") or (None, a sentence saying what is wrong)."""
    try:
        return ChatSettingsModel.model_validate(values), ""
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in err.errors())
        return None, f"These settings were not applied: {problems}."


# ---- answering a staging question with words (Slack has no buttons; the web accepts both) ----------------------

_APPROVE = {"approve", "approved", "yes", "y", "ok", "okay", "run", "run it", "go", "go ahead", "start", "do it",
            "sure", "lgtm", "confirm", "👍"}
_REFUSE = {"no", "n", "cancel", "stop", "abort", "refuse", "reject", "don't", "dont", "not now", "nope", "👎"}
_NUMBER_PAIR = re.compile(r"\b(accuracy|size|complexity|latency|budget|seed)\s*(?:=|:|\bto\b|\bof\b)?\s*(-?\d+(?:\.\d+)?|-?\.\d+)",
                          re.IGNORECASE)
_STRATEGY = re.compile(r"\b(?:strategy\s*(?:=|:|\bto\b)?|use)\s+([a-z][\w\-]*)", re.IGNORECASE)


def staging_answer(text: str) -> dict[str, Any] | None:
    """A staging decision from a typed reply, or None when the text is not an answer.

    "approve"/"yes"/"run" approve; "cancel"/"no" refuse; "accuracy=0.7 size 0.2 budget 500 use ucb" approves with
    those changes (weights not named keep their proposed value: the caller merges them in). Out-of-range numbers
    give ``{"approved": None, "error": ...}``.
    """
    words = " ".join(text.lower().split()).strip(" .!?")
    if not words:
        return None
    if words in _APPROVE:
        return {"approved": True}
    first = re.split(r"[\s,.;:!]+", words)[0]
    if words in _REFUSE or first in {"no", "nope", "cancel", "abort", "refuse", "reject", "stop"}:
        return {"approved": False, "reason": "cancelled by the user" if words in _REFUSE else text.strip()}
    decision: dict[str, Any] = {"approved": True}
    weights: dict[str, float] = {}
    problems: list[str] = []
    for key, value in _NUMBER_PAIR.findall(text):
        key, number = key.lower(), float(value)
        if key in METRICS:
            problem = weight_problem(key, number)
            if problem is None:
                weights[key] = number
            else:
                problems.append(problem)
        elif number.is_integer() and number >= (1 if key == "budget" else 0):
            decision[key] = int(number)
        else:
            problems.append(f"{key}={value} ({'a positive' if key == 'budget' else 'a'} whole number)")
    for name in _STRATEGY.findall(text):
        try:
            decision["strategy"] = canonical_strategy(name)
        except ValueError:
            if text.lower().lstrip().startswith("strategy"):
                problems.append(f"strategy {name!r} (one of {', '.join(STRATEGIES)})")
    if problems:
        return {"approved": None, "error": "not valid: " + "; ".join(problems)}
    if weights:
        decision["weights"] = weights
    return decision if len(decision) > 1 else None


def staging_weight_change(text: str, weights: dict[str, float]) -> tuple[dict[str, float], str] | None:
    """A weight change asked in words while a run waits for approval ("make size matter more", "ignore complexity",
    "set size to 0.4"): the staged ``weights`` with it applied and a sentence saying what changed; None when the text
    asks no such change of a weight the panel has. Nothing runs from words like these: the caller shows the change and
    lets the user run it (Adjust, or the values typed)."""
    from agent.intents import parse_intent
    from agent.proposal import adjust_weight
    intent = parse_intent(text)
    if intent is None:
        return None
    current = {m: float(weights.get(m, 0.0)) for m in METRICS}
    metric = intent.metric or ""
    read = "" if metric in text.lower() else f" (I read “{text.strip()}” as a change of {metric})"
    if intent.kind in ("more", "less") and metric in METRICS:
        new, sentence = adjust_weight(current, metric, 1 if intent.kind == "more" else -1)
        return new, sentence.replace("I raised", "Raising").replace("I lowered", "Lowering")[:-1] + read + "."
    if intent.kind == "ignore" and metric in METRICS:
        return {**current, metric: 0.0}, f"Ignoring {metric}: its weight goes from {current[metric]:g} to 0{read}."
    if intent.kind == "set" and intent.metrics and set(intent.metrics) <= set(METRICS) and \
            all(weight_problem(m, v) is None for m, v in intent.metrics.items()):
        changes = ", ".join(f"{m} from {current[m]:g} to {v:g}" for m, v in intent.metrics.items())
        return {**current, **intent.metrics}, f"Setting {changes}."
    return None
