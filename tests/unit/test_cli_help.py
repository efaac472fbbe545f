"""`greenrunner <command> --help` states the defaults the code uses (strategy, budget cap, replay weights)."""
from __future__ import annotations

import argparse

import pytest

from greenrunner_core.selection_run import default_budget
from greenrunner_core.strategies import DEFAULT_STRATEGY, GUARANTEE_STRATEGY
from tools.text import DEFAULT_BUDGET_TEXT
from ui.cli_args import build_parser

COMMANDS = ("models", "shortlist", "select", "record", "replay")


def _help(command: str) -> str:
    parser = build_parser({name: lambda args: 0 for name in COMMANDS})
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(sub.choices[command].format_help().split())      # unwrapped


@pytest.mark.parametrize("command", ["select", "replay"])
def test_help_names_the_default_strategy_and_budget_cap(command):
    text = _help(command)
    assert f"(default: {DEFAULT_STRATEGY})" in text
    assert DEFAULT_BUDGET_TEXT in text


def test_select_help_says_guarantee_is_capped_only_by_brute_force():
    assert "with --guarantee, brute force" in _help("select")
    assert default_budget(7, 100, GUARANTEE_STRATEGY) == 7 * 100


def test_models_help_says_data_without_models_plans_checkpoints_or_hub_models():
    for command in ("select", "record"):
        assert "with --data, your --checkpoints" in _help(command)
