"""The offline reasoner's replies to weight intents (``agent.intents``): more or less of a metric, ignore it, set
values. Each states the change in words and re-ranks the last run from the cache, or stages a first run. A mixin of
``agent.offline.Turn``."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage

from agent.intents import Intent, _metric_words
from agent.proposal import METRICS, adjust_weight
from agent.replies import ai_reply

_METRIC_MEANING = {"accuracy": "accuracy on your images", "size": "model size in MB",
                   "complexity": "MACs per image, the stand-in for speed, latency and energy"}


class WeightReplies:
    """``on_more``, ``on_less``, ``on_ignore`` and ``on_set``."""

    facts: Any

    # provided by Turn
    def _reweigh(self, weights: dict[str, float], why: str) -> AIMessage: ...
    @staticmethod
    def not_understood(text: str, cues: Sequence[str] = ()) -> str: ...

    def _word_note(self, intent: Intent) -> str:
        said = next((w for w, m in _metric_words() if m == intent.metric and w in intent.text.lower()), intent.metric)
        if said and said != intent.metric:
            return f" I read “{said}” as {intent.metric} ({_METRIC_MEANING[intent.metric or '']})."
        return ""

    def on_more(self, intent: Intent) -> AIMessage:
        return self._move(intent, +1)

    def on_less(self, intent: Intent) -> AIMessage:
        return self._move(intent, -1)

    def _move(self, intent: Intent, direction: int) -> AIMessage:
        if intent.metric not in METRICS:
            return ai_reply(self.not_understood(intent.text))
        new, sentence = adjust_weight(self.facts.current_weights(), intent.metric, direction)
        return self._reweigh({intent.metric: new[intent.metric]},
                             f"{sentence} The other weights stay as they are.{self._word_note(intent)}")

    def on_ignore(self, intent: Intent) -> AIMessage:
        if intent.metric not in METRICS:
            return ai_reply(self.not_understood(intent.text))
        old = self.facts.current_weights().get(intent.metric, 0.0)
        return self._reweigh({intent.metric: 0.0}, f"I set the {intent.metric} weight from {old:g} to 0, so "
                                                   f"{intent.metric} no longer counts.{self._word_note(intent)}")

    def on_set(self, intent: Intent) -> AIMessage:
        current = self.facts.current_weights()
        changes = ", ".join(f"{m} from {current.get(m, 0):g} to {v:g}" for m, v in intent.metrics.items())
        return self._reweigh(dict(intent.metrics), f"I set {changes}.")
