"""The default budget is a cap the self-stopping default stays under; --guarantee is capped only by brute force."""
from greenrunner_core.selection_run import DEFAULT_BUDGET_FRACTION, default_budget
from greenrunner_core.strategies import DEFAULT_STRATEGY, GUARANTEE_STRATEGY
from tools.text import DEFAULT_BUDGET_TEXT


def test_default_cap_is_half_of_brute_force_and_one_batch_per_model_at_least():
    assert DEFAULT_BUDGET_FRACTION == 0.5 and DEFAULT_BUDGET_TEXT == "50 % of brute force"
    assert default_budget(64, 200) == 6_400 and default_budget(64, 200, DEFAULT_STRATEGY) == 6_400
    assert default_budget(10, 4) == 80                      # tiny targets: one 8-image batch per model


def test_the_guarantee_is_not_cut_short_by_the_default_cap():
    assert default_budget(64, 200, GUARANTEE_STRATEGY) == 64 * 200
