"""Selection strategies: one base class, one module per strategy."""
from __future__ import annotations

from typing import Any

from greenrunner_core.errors import GreenRunnerError, suggest
from greenrunner_core.strategies.base import Executor, Strategy, StrategyRun, serial_executor
from greenrunner_core.strategies.energy_halving import EnergyAwareHalving
from greenrunner_core.strategies.epsilon_greedy import EpsilonGreedy
from greenrunner_core.strategies.paired_elimination import PairedElimination
from greenrunner_core.strategies.paired_race import PairedRace
from greenrunner_core.strategies.progress import ProgressEvent
from greenrunner_core.strategies.sequential import SequentialStrategy
from greenrunner_core.strategies.state import BanditState, Pull, PullResult
from greenrunner_core.strategies.successive_halving import SuccessiveHalving
from greenrunner_core.strategies.thompson import ThompsonSampling
from greenrunner_core.strategies.ucb import UCB1

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (PairedElimination, PairedRace, EpsilonGreedy, UCB1, ThompsonSampling, SuccessiveHalving,
                             EnergyAwareHalving)
}
ALIASES = {"eps": "epsilon_greedy", "egreedy": "epsilon_greedy", "epsilon": "epsilon_greedy", "ucb": "ucb1",
           "ts": "thompson", "thompson_sampling": "thompson", "sh": "successive_halving", "halving": "successive_halving",
           "race": "paired_race", "paired": "paired_race", "lucb": "paired_race", "guarantee": "paired_race",
           "elimination": "paired_elimination", "pe": "paired_elimination",
           "sm2": "energy_halving", "energy_sh": "energy_halving", "energy_aware_halving": "energy_halving"}
DEFAULT_STRATEGY = "paired_elimination"
GUARANTEE_STRATEGY = "paired_race"   # anytime-valid tests (`--guarantee`): costs more calls


def make_strategy(name: str, **kwargs: Any) -> Strategy:
    """Build a strategy by name or alias; unknown names get close suggestions."""
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in STRATEGIES:
        close = suggest(key, STRATEGIES)         # full names only: a short alias ('sh') looks close to anything
        hint = (f"did you mean {', '.join(close)}? The strategies: " if close else "choose one of ") + ", ".join(STRATEGIES)
        raise GreenRunnerError(f"unknown strategy {name!r} — {hint}")
    return STRATEGIES[key](**kwargs)


__all__ = [
    "DEFAULT_STRATEGY",
    "GUARANTEE_STRATEGY",
    "STRATEGIES",
    "UCB1",
    "BanditState",
    "EnergyAwareHalving",
    "EpsilonGreedy",
    "Executor",
    "PairedElimination",
    "PairedRace",
    "ProgressEvent",
    "Pull",
    "PullResult",
    "SequentialStrategy",
    "Strategy",
    "StrategyRun",
    "SuccessiveHalving",
    "ThompsonSampling",
    "make_strategy",
    "serial_executor",
]
