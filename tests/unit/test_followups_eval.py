"""Follow-up phrasings read by intent (tests/eval/followups.py): pass rate >= 95 %, and the ones quoted in issue 11."""
from __future__ import annotations

import pytest

from agent.followups import parse_followup
from agent.intents import parse_intent
from tests.eval.followups import FOLLOWUPS

PASS_RATE = 0.95


def read(text: str):
    followup = parse_followup(text)
    return followup if followup is not None else parse_intent(text)


def problem(text: str, kind: str, detail: dict) -> str | None:
    got = read(text)
    if got is None:
        return "not understood"
    if got.kind != kind:
        return f"read as {got.kind}"
    for key, value in detail.items():
        have = getattr(got, key)
        if key == "reason":
            if value not in have:
                return f"reason {have!r} lacks {value!r}"
        elif key == "constraints":
            if any(abs(have.get(k, -1) - v) > 1e-6 * max(1, v) for k, v in value.items()):
                return f"constraints {have}"
        elif have != value:
            return f"{key}={have!r}"
    return None


def test_the_followup_set_is_big_enough():
    assert len(FOLLOWUPS) >= 30


def test_followup_pass_rate_is_at_least_95_percent(capsys):
    failures = {text: why for text, kind, detail in FOLLOWUPS if (why := problem(text, kind, detail))}
    rate = 1 - len(failures) / len(FOLLOWUPS)
    with capsys.disabled():
        print(f"\nfollow-up evaluation set: {len(FOLLOWUPS) - len(failures)}/{len(FOLLOWUPS)} passed "
              f"({100 * rate:.1f} %)")
        for text, why in failures.items():
            print(f"  FAIL {text!r}: {why}")
    assert rate >= PASS_RATE, failures


@pytest.mark.parametrize("text, kind", [
    ("could you make model size count for more?", "adjust"), ("I care about latency now", "adjust"),
    ("show me the top 5", "top_n"), ("set accuracy to -1", "invalid"), ("set size to nan", "invalid"),
    ("set accuracy to 7", "invalid"), ("what if the limit is 50 MB?", "constraint"),
    ("what did the benchmark-card approach pick?", "baselines"),
])
def test_followups_quoted_in_the_issue(text, kind):
    assert problem(text, kind, {}) is None


def test_a_new_use_case_with_numbers_is_not_a_followup():
    assert parse_followup("Detect defects on a production line within 20 ms on the edge device") is None
    assert parse_intent("Detect defects on a production line within 20 ms on the edge device").kind == "use_case"
