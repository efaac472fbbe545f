import json
import math
from dataclasses import asdict

import pytest

from agent.graph import checkpoint_serde
from greenrunner_core.constraints import ConstraintError, Constraints, Removal, short_number, split_cards
from greenrunner_core.registry.card import ModelCard, Preprocess
from tools.constraints import removal_text

PRE = Preprocess(crop=(8, 8), mean=(0.5,), std=(0.5,), channels=1)


def card(name, size_mb, macs, params, latency=None):
    c = ModelCard(name=name, source="t", family="cnn", params=params, size_mb=size_mb, macs=macs, preprocess=PRE,
                  class_labels=("0", "1"), weights_id=name)
    return c.with_metrics(latency=latency) if latency is not None else c


CARDS = [card("small", 2.0, 1e6, 5e5, 3.0), card("mid", 40.0, 5e8, 1e7, 15.0), card("big", 97.8, 4e9, 2.5e7, 60.0)]


def test_size_limit_removes_with_a_note_per_model_and_keeps_order():
    split = split_cards(CARDS, Constraints(max_size_mb=50))
    assert split.kept_names == ("small", "mid")
    assert [r.name for r in split.removed] == ["big"]
    assert "size 97.8 MB > limit 50 MB" in removal_text(split.removed[0])


def test_every_broken_limit_is_listed():
    split = split_cards(CARDS, Constraints(max_size_mb=10, max_macs=1e8, max_params=1e6, max_latency_ms=20))
    assert split.kept_names == ("small",)
    big = {r.name: r for r in split.removed}["big"]
    assert {v.field for v in big.violations} == {"max_size_mb", "max_macs", "max_params", "max_latency_ms"}


def test_unmeasured_latency_is_kept_and_flagged_not_guessed():
    cards = [card("a", 1.0, 1e6, 1e5), card("b", 1.0, 1e6, 1e5, 100.0)]
    split = split_cards(cards, Constraints(max_latency_ms=20, latency_hardware="this laptop"))
    assert split.kept_names == ("a",) and split.unmeasured == ("a",)


@pytest.mark.parametrize("kwargs, match", [
    ({"max_size_mb": -1}, "> 0"), ({"max_size_mb": 0}, "> 0"), ({"max_macs": math.nan}, "finite"),
    ({"max_latency_ms": math.inf}, "finite"), ({"max_params": "lots"}, "not a number"), ({"max_size_mb": True}, "not a number"),
])
def test_invalid_limits_are_refused_with_the_rule(kwargs, match):
    with pytest.raises(ConstraintError, match=match):
        Constraints(**kwargs)


def test_from_mapping_aliases_merge_and_without():
    c = Constraints.from_mapping({"size": "50", "latency": 20, "params": None})
    assert c.max_size_mb == 50.0 and c.max_latency_ms == 20.0 and c.max_params is None
    assert bool(c) and not bool(Constraints())
    assert c.merged(Constraints(max_size_mb=10)).max_size_mb == 10 and c.merged(Constraints()).max_latency_ms == 20
    assert c.without("latency").to_dict() == {"max_size_mb": 50.0}
    with pytest.raises(ConstraintError, match="unknown constraint 'weight'"):
        Constraints.from_mapping({"weight": 1})


def test_constraints_removing_everything_say_what_to_relax():
    c = Constraints(max_size_mb=1)
    with pytest.raises(ConstraintError, match="smallest candidate has 2 MB"):
        split_cards(CARDS, c).require_some(c)


def test_removals_are_data_worded_by_the_tools_and_read_back_from_json():
    split = split_cards(CARDS, Constraints(max_size_mb=10, max_macs=1e8))
    mid = {r.name: r for r in split.removed}["mid"]
    assert removal_text(mid) == "mid: size 40 MB > limit 10 MB; complexity 500M MACs > limit 100M MACs"
    assert Removal.revive("mid", json.loads(json.dumps(asdict(mid)))) == mid
    assert removal_text(Removal("x", unmeasured="no torch")) == "x: latency could not be measured (no torch)"
    assert removal_text(Removal.revive("old", "size 97.8 MB > limit 50 MB")) == "old: size 97.8 MB > limit 50 MB"
    serde = checkpoint_serde()                     # the graph state keeps a run's removals typed across a restart
    assert serde.loads_typed(serde.dumps_typed({"mid": mid})) == {"mid": mid}


@pytest.mark.parametrize("value, text", [(0.5, "0.5"), (20, "20"), (1500, "1.5k"), (41_600, "41.6k"),
                                         (1.87e6, "1.87M"), (5e8, "500M"), (3.2e9, "3.2G")])
def test_short_numbers_never_show_an_exponent(value, text):
    # 1.87 M MACs read "1.87e+03k" and 1,500 MB "1.5e+03": a value under ten of the next unit fell to the one below
    assert short_number(value) == text


def test_limits_that_leave_one_model_are_named_as_limits_not_a_dict(tmp_path):
    # the error read "the constraints {'max_size_mb': 0.02} leave 1 candidate model(s)"
    from greenrunner_core.errors import GreenRunnerError
    from greenrunner_core.workspace import Workspace
    c = Constraints(max_size_mb=30, max_macs=2e9)
    with pytest.raises(GreenRunnerError, match=r"the limits max_size_mb=30, max_macs=2G leave 1 candidate model\(s\) "
                                               r"\(small\) of 3") as err:
        Workspace(cache_dir=tmp_path, include_torchvision=False).constrained(CARDS, c)
    assert "{" not in str(err.value)
