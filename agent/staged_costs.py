"""What a staged call will spend, in evaluation calls and estimated seconds, for the staging message: the run's
budget, latency measurements, enabled user metrics, and the baselines' new evaluations. Estimates come from the last
run's measured seconds per call; without a run the reply says the seconds are not known yet."""
from __future__ import annotations

from typing import Any

from tools.formatting import fmt_seconds
from tools.result import RunRecord
from tools.text import DEFAULT_BUDGET_TEXT

SECONDS_PER_UNTIMED_MODEL = 6.0     # latency at batch 1 and at the evaluation batch: ~3 s each at most


def seconds_per_call(last_run: RunRecord | None) -> float | None:
    if last_run is None:
        return None
    spent = last_run.result.spent
    if spent.calls and spent.compute_seconds:
        return spent.compute_seconds / spent.calls
    bf = last_run.result.brute_force
    return bf.compute_seconds / bf.calls if bf.calls and bf.compute_seconds else None


def _estimate(calls: int, last_run: RunRecord | None) -> str:
    per = seconds_per_call(last_run)
    if per is None:
        return "seconds not known before a first run"
    return f"about {fmt_seconds(calls * per)} at {per * 1000:.3g} ms per call measured in the last run, less for cached calls"


def run_cost_lines(args: dict[str, Any], last_run: RunRecord | None, settings: Any = None,
                   seconds: bool = True) -> list[str]:
    """The run's spend: budget in calls (+ seconds, unless ``seconds`` is False because the candidate plan's
    estimated cost gives them), latency timing when weights or limits need it, user metrics."""
    lines = []
    budget = args.get("budget")
    if not seconds:
        most = f"{int(budget):,} evaluation calls" if budget else f"{DEFAULT_BUDGET_TEXT} in evaluation calls"
        lines.append(f"- Spends at most {most} (calls and time as estimated above); cached outcomes are free.")
    elif budget:
        lines.append(f"- Spends at most {int(budget):,} evaluation calls ({_estimate(int(budget), last_run)}).")
    elif last_run is not None:
        calls = last_run.result.budget
        lines.append(f"- Spends at most about {calls:,} evaluation calls, {DEFAULT_BUDGET_TEXT} "
                     f"({_estimate(calls, last_run)}).")
    else:
        lines.append(f"- Spends at most {DEFAULT_BUDGET_TEXT} in evaluation calls; cached outcomes are free.")
    weights = {str(k).lower(): float(v) for k, v in (args.get("weights") or {}).items()}
    timing = any(weights.get(m, 0) > 0 for m in ("latency", "energy")) or \
        (args.get("constraints") or {}).get("max_latency_ms") is not None
    if timing:
        n = len(args.get("models") or []) or (len(last_run.result.observations) if last_run else 0)
        who = f"{n} candidate models" if n else "every candidate model"
        lines.append(f"- Measures latency of {who} first, once per model on this machine (cached; up to "
                     f"~{SECONDS_PER_UNTIMED_MODEL:g} s per model not timed yet"
                     + (f", ≤ {fmt_seconds(n * SECONDS_PER_UNTIMED_MODEL)} in all" if n else "") + ").")
    metrics = enabled_user_metrics(settings)
    if metrics:
        timeout = getattr(settings, "user_metric_timeout", 30.0)
        lines.append(f"- Runs your enabled user metric(s) {', '.join(metrics)} on the top 3 (your code; at most "
                     f"{timeout:g} s per model each).")
    return lines


def enabled_user_metrics(settings: Any) -> list[str]:
    try:
        from greenrunner_core import metrics_protocol
        from tools.settings import metrics_folder
        folder = metrics_folder(settings)
        return list(metrics_protocol.enabled_metrics(folder)) if folder.is_dir() else []
    except Exception:  # noqa: BLE001 - an unreadable folder only loses this line of the estimate
        return []


def baselines_cost_lines(args: dict[str, Any], last_run: RunRecord | None, settings: Any = None) -> list[str]:
    limit = args.get("max_new_calls")
    cap = getattr(settings, "max_brute_force_calls", 5000) if limit is None else int(limit)
    which = ", ".join(args.get("baselines") or ["brute_force", "benchmark_card"])
    lines = [f"- Baselines: {which}."]
    if last_run is not None:
        bf = last_run.result.brute_force
        spend = min(cap, bf.calls)
        lines.append(f"- Brute force is {bf.calls:,} evaluation calls; this may spend up to {spend:,} new ones "
                     f"({_estimate(spend, last_run)}); cached outcomes are reused.")
    else:
        lines.append(f"- May spend up to {cap:,} new evaluation calls; cached outcomes are reused.")
    return lines
