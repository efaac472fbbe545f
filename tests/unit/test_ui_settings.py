"""The app's settings: panel widget ids equal the settings model's fields, defaults pass validation, bad panel values
and typed staging answers give clear results, and the optional password table is parsed strictly."""
from __future__ import annotations

import pytest

from greenrunner_core.strategies import DEFAULT_STRATEGY, STRATEGIES
from ui.settings import AppSettings, ChatSettingsModel, parse_settings, settings_widgets, staging_answer


def test_widget_ids_equal_the_model_fields_and_show_the_values():
    values = ChatSettingsModel(w_accuracy=0.5, w_size=0.3, w_complexity=0.1, strategy="ucb", budget=700, seed=3)
    widgets = settings_widgets(values)
    assert [w.id for w in widgets] == list(ChatSettingsModel.model_fields)
    initial = {w.id: w.initial for w in widgets}
    assert initial == {"w_accuracy": 0.5, "w_size": 0.3, "w_complexity": 0.1, "w_latency": 0.0, "strategy": "ucb1",
                       "budget": 700, "seed": 3}
    strategy = next(w for w in widgets if w.id == "strategy")
    assert [item["value"] for item in strategy.to_dict()["items"]] == list(STRATEGIES)
    assert f"{DEFAULT_STRATEGY} is the default" in strategy.description      # the panel names the real default


def test_defaults_are_valid_and_round_trip_through_the_panel():
    defaults = ChatSettingsModel()
    assert defaults.strategy == DEFAULT_STRATEGY and defaults.budget == 0
    panel = {w.id: w.initial for w in settings_widgets(defaults)}
    parsed, problem = parse_settings(panel)
    assert problem == "" and parsed == defaults
    assert defaults.decision() == {"approved": True, "weights": defaults.weights(), "strategy": DEFAULT_STRATEGY,
                                   "budget": None, "seed": 0}


@pytest.mark.parametrize("change, words", [
    ({"w_size": 1.5}, "w_size"),
    ({"strategy": "random_walk"}, "unknown strategy 'random_walk'"),
    ({"budget": -5}, "budget"),
    ({"w_accuracy": 0, "w_size": 0, "w_complexity": 0}, "at least one weight"),
])
def test_bad_panel_values_are_refused_with_the_reason(change, words):
    parsed, problem = parse_settings(ChatSettingsModel().model_dump() | change)
    assert parsed is None and problem.startswith("These settings were not applied") and words in problem


def test_panel_numbers_arrive_as_floats_or_empty():
    parsed, _ = parse_settings(ChatSettingsModel().model_dump() | {"budget": 800.0, "seed": ""})
    assert parsed is not None and parsed.budget == 800 and parsed.seed == 0


def test_panel_shows_a_staged_run():
    payload = {"weights": {"accuracy": 0.65, "size": 0.27, "complexity": 0.23, "latency": 0.2},
               "run": {"strategy": "ucb1", "budget": 900, "seed": 4}}
    panel = ChatSettingsModel.from_staging(payload)
    assert panel.weights() == {"accuracy": 0.65, "size": 0.27, "complexity": 0.23, "latency": 0.2}
    assert (panel.strategy, panel.budget, panel.seed) == ("ucb1", 900, 4)
    auto = ChatSettingsModel.from_staging({"weights": {"accuracy": 1.0}, "run": {"budget": "25 % of brute force"}})
    assert auto.budget == 0 and auto.w_size == 0.0


@pytest.mark.parametrize("text, expected", [
    ("approve", {"approved": True}),
    ("Yes!", {"approved": True}),
    ("run it", {"approved": True}),
    ("cancel", {"approved": False, "reason": "cancelled by the user"}),
    ("no, too expensive", {"approved": False, "reason": "no, too expensive"}),
    ("accuracy=0.7 size 0.2", {"approved": True, "weights": {"accuracy": 0.7, "size": 0.2}}),
    ("set size to 0.3 and budget 500", {"approved": True, "weights": {"size": 0.3}, "budget": 500}),
    ("use ucb", {"approved": True, "strategy": "ucb1"}),
    ("seed 7", {"approved": True, "seed": 7}),
])
def test_typed_staging_answers(text, expected):
    assert staging_answer(text) == expected


@pytest.mark.parametrize("text", ["what if size matters more?", "hello", "", "use the force", "why this model?"])
def test_other_text_is_not_a_staging_answer(text):
    assert staging_answer(text) is None


@pytest.mark.parametrize("text, words", [("accuracy=3", "accuracy=3"), ("budget 0", "budget=0"),
                                         ("strategy foo", "strategy 'foo'")])
def test_out_of_range_staging_answers_say_what_is_wrong(text, words):
    answer = staging_answer(text)
    assert answer["approved"] is None and words in answer["error"]


def test_password_table():
    settings = AppSettings(auth_users="alice:s3cret, bob:pa:ss")
    assert settings.users() == {"alice": "s3cret", "bob": "pa:ss"}
    assert settings.check_password("alice", "s3cret") and settings.check_password("bob", "pa:ss")
    assert not settings.check_password("alice", "wrong") and not settings.check_password("carol", "s3cret")
    assert AppSettings(auth_users=None).users() == {}
    with pytest.raises(ValueError, match="alice:password"):
        AppSettings(auth_users="alice").users()


def test_paths_default_under_the_cache(tmp_path):
    settings = AppSettings(cache_dir=tmp_path)
    assert settings.conversations_path() == tmp_path / "conversations.sqlite"
    assert settings.uploads_root() == tmp_path / "uploads"
    assert AppSettings(cache_dir=tmp_path, uploads_dir=tmp_path / "up").uploads_root() == tmp_path / "up"


def test_the_environment_reaches_the_core_through_the_front_doors_settings(tmp_path, monkeypatch, capsys):
    """GREENRUNNER_CACHE_DIR, GREENRUNNER_METRICS_DIR and GREENRUNNER_CPU_WATTS_PER_CORE are read once, by the settings
    object, and passed down (the core reads no environment variable)."""
    from pydantic import ValidationError

    from agent.context import Context
    from greenrunner_core.energy import ESTIMATED
    from tools.energy import meter_for
    from tools.settings import metrics_folder, workspace_for
    from ui.cli import main as cli_main

    monkeypatch.setenv("GREENRUNNER_CACHE_DIR", str(tmp_path / "here"))
    monkeypatch.setenv("GREENRUNNER_METRICS_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("GREENRUNNER_CPU_WATTS_PER_CORE", "12")
    settings = AppSettings()
    assert settings.cache_root() == tmp_path / "here" and settings.metrics_root() == tmp_path / "mine"
    for context in (Context.from_settings(settings), Context()):        # a front door's, and LangGraph Server's
        ws = workspace_for(context)
        assert ws.cache_dir == tmp_path / "here" and ws.demo.cache_dir == tmp_path / "here"
        assert not ws.demo.root.exists()                  # constructing is free; building waits for first use
        assert metrics_folder(context) == tmp_path / "mine" and ws.cpu_watts_per_core == 12.0
    meter, line = meter_for("estimate", watts_per_core=settings.cpu_watts_per_core)
    assert meter.kind == ESTIMATED and meter.watts_per_core == 12.0 and "12 W per busy core" in line

    monkeypatch.setenv("GREENRUNNER_CPU_WATTS_PER_CORE", "lots")
    with pytest.raises(ValidationError, match="GREENRUNNER_CPU_WATTS_PER_CORE='lots' is not a power in watts > 0"):
        AppSettings()
    assert cli_main(["models"]) == 2
    assert "GREENRUNNER_CPU_WATTS_PER_CORE='lots'" in capsys.readouterr().err


STAGED = {"accuracy": 0.65, "size": 0.27, "complexity": 0.23, "latency": 0.15}


@pytest.mark.parametrize("text, metric, value", [("make size matter more", "size", 0.42),
                                                 ("what if size matters more?", "size", 0.42),
                                                 ("accuracy matters less", "accuracy", 0.5),
                                                 ("ignore complexity", "complexity", 0.0),
                                                 ("make latency matter more", "complexity", 0.38)])
def test_a_weight_change_in_words_while_a_run_waits_is_shown_not_run(text, metric, value):
    from ui.present.turn import weight_change_text
    from ui.settings import staging_weight_change
    assert staging_answer(text) is None                     # words like these never approve the run by themselves
    weights, sentence = staging_weight_change(text, STAGED)
    assert weights[metric] == pytest.approx(value) and f"{STAGED[metric]:g}" in sentence
    assert (metric in text) != (f"as a change of {metric}" in sentence)     # a word read as another metric is said
    assert all(weights[m] == STAGED[m] for m in ("accuracy", "size", "complexity") if m != metric)
    web = weight_change_text(sentence, STAGED, weights, buttons=True)
    assert f"`{metric}={value:g}`" in web and "**Adjust**" in web and "Nothing has run yet" in web
    slack = weight_change_text(sentence, STAGED, weights, buttons=False)
    assert f"reply `{metric}={value:g}`" in slack and "Adjust" not in slack
    typed = staging_answer(f"{metric}={value:g}")            # what the reply tells the user to type runs that change
    assert typed["approved"] is True and typed["weights"] == {metric: pytest.approx(value)}


@pytest.mark.parametrize("text", ["hello", "why this model?", "use the force", "make calibration matter more"])
def test_other_words_are_no_weight_change(text):
    from ui.settings import staging_weight_change
    assert staging_weight_change(text, STAGED) is None


def test_a_staged_latency_weight_shows_in_the_panel_and_adjust_can_remove_it():
    from ui.present.turn import merge_decision
    payload = {"type": "staging", "weights": {"accuracy": 0.6, "size": 0.25, "latency": 0.15}, "run": {}}
    panel = ChatSettingsModel.from_staging(payload)
    slider = next(w for w in settings_widgets(panel) if w.id == "w_latency")
    assert slider.initial == 0.15 and "latency" in slider.label
    moved, problem = parse_settings({w.id: w.initial for w in settings_widgets(panel)} | {"w_latency": 0})
    assert problem == "" and moved is not None
    decision = merge_decision(payload, moved.decision())          # Adjust: the panel's weights over the staged ones
    assert decision["weights"]["latency"] == 0 and decision["weights"]["accuracy"] == 0.6
    assert "latency=0" in moved.describe()
    assert staging_answer("latency=0.3") == {"approved": True, "weights": {"latency": 0.3}}
