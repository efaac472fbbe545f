"""Rendering for the web app and Slack: the top 3 with uncertainty and selection counts, the savings panel, live
progress, re-ranked charts, Slack mrkdwn and Slack-sized messages."""
from __future__ import annotations

import dataclasses
import re

import pytest

from greenrunner_core.experiment import run_experiment
from greenrunner_core.replay import ReplayEnvironment
from greenrunner_core.result import Rerank
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import make_strategy
from greenrunner_core.strategies.progress import ProgressEvent
from tests.conftest import synthetic_matrix
from ui.present.charts import reranked, reward_vs_macs_figure
from ui.present.markdown import progress_markdown, savings_markdown, top3_markdown
from ui.present.slack import slack_mrkdwn, split_message


@pytest.fixture(scope="module")
def result():
    env = ReplayEnvironment(synthetic_matrix())
    return run_experiment(env, Weights({"accuracy": 0.6, "size": 0.25, "complexity": 0.15}),
                          make_strategy("paired_race", seed=0, batch_size=8), budget=600, dataset="synthetic")


def test_top3_markdown_has_every_column_of_the_issue(result):
    text = top3_markdown(result)
    assert "target accuracy (± 95 % CI)" in text and "selection count" in text and "MACs" in text
    rows = [line for line in text.splitlines() if re.match(r"\| [123] \|", line)]
    assert len(rows) == 3
    for row, model in zip(rows, result.top3):
        assert model.name in row and f"{model.pulls:,}" in row and f"{model.est_reward:.3f}" in row
        assert ("±" in row) != model.exact


def test_savings_panel_against_brute_force(result):
    text = savings_markdown(result)
    sp, bf = result.spent, result.brute_force
    assert f"| evaluation calls | {sp.calls:,} | {bf.calls:,} | {bf.calls - sp.calls:,}" in text
    assert f"{bf.macs / 1e6:,.1f}" in text and "compute seconds" in text and "extrapolated" in text
    assert f"({100 * (bf.calls - sp.calls) / bf.calls:.1f} %)" in text


def test_progress_shows_spent_of_budget_leader_and_counts():
    event = ProgressEvent(spent=120, budget=480, leader="m03", model="m05", batch_calls=8,
                          counts={"m01": 0, "m03": 64, "m05": 56})
    text = progress_markdown(event)
    assert "**120 / 480 evaluation calls** (25 %)" in text and "current leader: **m03**" in text
    assert text.index("| m03 | 64 |") < text.index("| m05 | 56 |") and "1 model(s) not evaluated yet" in text


def test_reranked_result_feeds_the_charts(result):
    after = Rerank(weights={"accuracy": 0.2, "size": 0.8}, settled=True, calls_to_settle=0, contenders=[], ranking=[
        dataclasses.replace(r, rank=i + 1) for i, r in enumerate(reversed(result.ranking))])
    again = reranked(result, after)
    assert again.weights == {"accuracy": 0.2, "size": 0.8}
    assert [r.name for r in again.ranking] == [r.name for r in reversed(result.ranking)]
    fig = reward_vs_macs_figure(again)
    top = next(t for t in fig.data if t.name == "top 3")
    assert set(top.text) == {r.name for r in again.top3}


def test_slack_mrkdwn_turns_tables_into_code_blocks():
    md = "**Top 3** here\n\n| # | model | reward |\n|---|---|---|\n| 1 | **a_model** | 0.5 |\n| 2 | b | 0.25 |\n\n" \
         "- see [docs](https://example.org/x)\n```\n| keep | this |\n```"
    out = slack_mrkdwn(md)
    assert out.startswith("*Top 3* here")
    assert "```\n#  model    reward\n-  -------  ------\n1  a_model  0.5\n2  b        0.25\n```" in out
    assert "• see <https://example.org/x|docs>" in out
    assert out.endswith("```\n| keep | this |\n```")


def test_split_message_respects_the_limit_and_keeps_code_blocks():
    block = "```\n" + "\n".join(f"row {i}" for i in range(30)) + "\n```"
    text = "\n\n".join([("intro " * 40).strip(), block, ("outro " * 40).strip()])
    pieces = split_message(text, limit=300)
    assert all(len(p) <= 300 for p in pieces)
    assert "".join(pieces).replace("\n", "") == text.replace("\n", "")
    assert any(p.startswith("```") and p.endswith("```") for p in pieces)
    assert split_message("short") == ["short"]


def test_a_run_that_spent_more_than_brute_force_says_so_instead_of_saving_zero(result):
    from greenrunner_core.energy_kind import ESTIMATED
    spent = dataclasses.replace(result.spent, compute_seconds=result.brute_force.compute_seconds * 2 + 1.0,
                                joules=10.0, energy_kind=ESTIMATED)
    brute = dataclasses.replace(result.brute_force, joules=8.0, energy_kind=ESTIMATED)
    text = savings_markdown(dataclasses.replace(result, spent=spent, brute_force=brute, energy_kind=ESTIMATED))
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "none: 2 J more (25.0 % more)" in rows["energy"], rows["energy"]
    assert "none:" in rows["compute seconds"] and "% more)" in rows["compute seconds"]
    assert "none:" in rows["CO2"] and "-" not in rows["CO2"].split("|")[4], rows["CO2"]
    assert "(-" not in text and "| 0 J" not in text
    close = dataclasses.replace(result.spent, compute_seconds=result.brute_force.compute_seconds + 0.023)
    assert "none: 0.023 more" in savings_markdown(dataclasses.replace(result, spent=close))   # not "none: 0.0 more"


def test_finished_progress_does_not_say_models_are_not_evaluated_yet():
    event = ProgressEvent(spent=40, budget=40, leader="m03", model="m03", batch_calls=8,
                          counts={"m01": 0, "m02": 0, "m03": 40})
    done = progress_markdown(event, finished=True)
    assert "yet" not in done and "2 model(s) never evaluated" in done
    assert "2 model(s) not evaluated yet" in progress_markdown(event)


def test_model_names_near_the_plot_border_are_not_cut(result):
    fig = reward_vs_macs_figure(result)
    assert fig.data and all(trace.cliponaxis is False for trace in fig.data)


def test_a_top3_not_in_reward_order_says_by_what_it_is_ranked(result):
    assert "Ranked by" not in top3_markdown(result)             # in reward order: nothing to explain
    top = result.ranking[:3]
    pulls = [300, 200, 100]
    rewards = [0.40, 0.33, 0.34]                                # #3 above #2, as Thompson's most-selected rule can give
    ranking = [dataclasses.replace(r, pulls=n, est_reward=w, excluded=None) for r, n, w in zip(top, pulls, rewards)]
    ranking += [dataclasses.replace(r, pulls=min(r.pulls, 50)) for r in result.ranking[3:]]
    text = top3_markdown(dataclasses.replace(result, ranking=ranking, strategy="thompson"))
    assert "Ranked by selection count (images evaluated): thompson recommends the most-evaluated model" in text
    assert f"#3 {top[2].name} has a higher estimated reward (0.340) than #2 {top[1].name} (0.330)" in text
