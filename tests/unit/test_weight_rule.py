"""One rule for a weight a person gives, at both front doors: the CLI's --weights and the chat (follow-ups, typed
answers to a staged run) refuse a weight outside [0, 1] with the same words, before anything runs."""
import re

import pytest

from agent.followups import parse_followup
from tools.weight_rule import weight_problem
from ui.cli import main
from ui.settings import staging_answer


@pytest.mark.parametrize("argv", [
    ["select", "--weights", "acc=2"],
    ["select", "--weights", "acc=0.5,size=1.5", "--models", "demo_lenet"],
    ["shortlist", "--weights", "acc=2"],
    ["replay", "no-such-matrix.npz", "--weights", "acc=2"],
])
def test_cli_refuses_a_weight_above_one_before_anything_runs(capsys, tmp_path, argv):
    out = tmp_path / "reports"
    code = main([*argv, *(["--out", str(out)] if argv[0] == "select" else [])])
    err = capsys.readouterr().err
    assert code == 2
    bad = "size=1.5" if "size=1.5" in argv[2] else "accuracy=2"
    assert f"{bad} (weights are numbers in [0, 1])" in err and "--weights acc=" in err
    assert not out.exists()                       # refused before the reports folder (or any model) was touched


@pytest.mark.parametrize("value", [2.0, -0.5, float("nan")])
def test_chat_and_cli_say_the_same_rule(capsys, value):
    rule = weight_problem("accuracy", value)
    assert rule is not None and "[0, 1]" in rule
    assert main(["select", "--weights", f"acc={value}"]) == 2
    cli_err = capsys.readouterr().err
    followup = parse_followup(f"set accuracy to {value}")
    assert followup is not None and followup.kind == "invalid" and rule in followup.reason
    if value >= 0:      # typed staging answers read unsigned digits; the core refuses nan and negatives in its words
        assert rule in staging_answer(f"accuracy={value:g}")["error"]
        assert rule in cli_err


def test_weights_at_the_bounds_are_accepted():
    assert weight_problem("accuracy", 0.0) is None and weight_problem("accuracy", 1.0) is None
    assert staging_answer("accuracy=1 size 0")["weights"] == {"accuracy": 1.0, "size": 0.0}


def test_the_agents_tools_take_weights_by_the_same_rule():
    # the LLM could stage run_bandit with accuracy=2 ("usually in [0, 1]") where the person typing it was refused
    from tools import schemas
    for args in (schemas.RunBanditArgs, schemas.RerankArgs):
        with pytest.raises(ValueError, match=re.escape(weight_problem("accuracy", 2.0))):
            args(weights={"accuracy": 2})
        assert args(weights={"accuracy": 1, "size": 0}).weights == {"accuracy": 1.0, "size": 0.0}
    assert "each in [0, 1]" in schemas.RunBanditArgs.model_fields["weights"].description
