"""Argument types of the `greenrunner` command (the parser is ``cli_args``): numbers are checked when parsed, so `--sample 0`, `--budget -5` or
`--max-size nan` stop with the rule and the fix instead of meaning "everything" or nothing."""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from tools.text import DEFAULT_BUDGET_TEXT


def whole(minimum: int, what: str) -> Callable[[str], int]:
    """A whole number >= ``minimum``; the error names the value, the rule and what to do instead."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number; {what}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}; {what}")
        return value
    parse.__name__ = "whole number"
    return parse


def number(minimum: float, maximum: float = math.inf, what: str = "") -> Callable[[str], float]:
    """A finite number in [minimum, maximum] (nan and inf are refused)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number; {what}") from None
        if not math.isfinite(value) or not minimum <= value <= maximum:
            shown = f"[{minimum:g}, {maximum:g}]" if math.isfinite(maximum) else f">= {minimum:g}"
            raise argparse.ArgumentTypeError(f"{text} is not a finite number {shown}; {what}")
        return value
    parse.__name__ = "number"
    return parse


def count(what: str) -> Callable[[str], float]:
    """A positive count written as 1e9, 600M or 1.5G (MACs, parameters); the error names the value and the fix."""
    def parse(text: str) -> float:
        from greenrunner_core.errors import GreenRunnerError
        from greenrunner_core.registry.query import parse_count
        try:
            value = parse_count(text)
        except GreenRunnerError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a count; {what}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"{text} is not a finite count > 0; {what}")
        return value
    parse.__name__ = "count"
    return parse


SAMPLE = whole(1, "give the number of target images to sample (>= 1), or leave --sample out to use them all")
BUDGET = whole(1, "give the evaluation calls to spend (>= 1), or leave --budget out for " + DEFAULT_BUDGET_TEXT)
SHORTLIST_K = whole(1, "give how many candidates to propose (>= 1), e.g. -k 30")
BATCH = whole(1, "give the images per pull (>= 1, e.g. 16)")
SEED = whole(0, "give a seed >= 0 (e.g. 0)")
WORKERS = whole(0, "give 0 (in process) or a number of Ray workers")
LIMIT = whole(0, "give the number of rows to show, or 0 for all (e.g. --limit 20)")
SIZE_MB = number(0, what="give a size in MB, e.g. --max-size 20")
ACCURACY = number(0, 1, what="give an accuracy in [0, 1], e.g. --min-acc 0.7")
LATENCY_MS = number(0, what="give a median latency in ms per image, e.g. --max-latency 20")
MACS = count("write MACs per image as e.g. 1e9, 600M or 1.5G")
PARAMS = count("write a number of parameters as e.g. 5e6 or 5M")
GPUS = number(0, what="give the GPUs per worker (>= 0, e.g. 0.5)")
