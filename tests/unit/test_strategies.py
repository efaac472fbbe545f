"""Contract tests over every strategy, fixed-seed golden tests, and statistical tests over many seeds."""
import numpy as np
import pytest

from greenrunner_core.baselines import run_brute_force
from greenrunner_core.environment import ModelFailedError
from greenrunner_core.errors import BudgetError, GreenRunnerError
from greenrunner_core.experiment import reward_model_for, run_experiment
from greenrunner_core.notes import Interrupted, Stopped
from greenrunner_core.replay import OutcomeMatrix, ReplayEnvironment
from greenrunner_core.rerank import rerank
from greenrunner_core.reward import Weights
from greenrunner_core.strategies import STRATEGIES, make_strategy, serial_executor
from tests.conftest import synthetic_matrix
from tools.notes_text import word

ALL = sorted(STRATEGIES)
DRONE = Weights({"accuracy": 0.63, "size": 0.25, "complexity": 0.21})
ACC = Weights({"accuracy": 1.0})


@pytest.fixture(scope="module")
def matrix():
    return synthetic_matrix()


@pytest.mark.parametrize("name", ALL)
def test_contract_budget_respected_and_result_complete(name, matrix):
    env = ReplayEnvironment(matrix)
    result = run_experiment(env, DRONE, make_strategy(name, seed=3, batch_size=8), budget=600)
    assert result.spent.calls <= 600
    assert result.spent.calls == sum(n for n, _ in result.observations.values())
    assert len(result.ranking) == len(matrix.cards)
    assert [r.rank for r in result.ranking] == list(range(1, len(matrix.cards) + 1))
    assert len(result.top3) == 3
    for r in result.ranking:
        if r.pulls:
            assert r.acc_low <= r.est_accuracy <= r.acc_high
            assert r.reward_low <= r.est_reward <= r.reward_high
    assert result.brute_force.calls == len(matrix.cards) * len(matrix.image_ids)
    assert 0 < result.savings.calls_pct <= 100


@pytest.mark.parametrize("name", ALL)
def test_contract_same_seed_same_picks_other_seed_differs(name, matrix):
    def picks(seed):
        return run_experiment(ReplayEnvironment(matrix), DRONE, make_strategy(name, seed=seed, batch_size=4),
                              budget=400).observations
    assert picks(1) == picks(1)
    assert any(picks(1) != picks(s) for s in (2, 3, 4))


@pytest.mark.parametrize("name", ALL)
def test_contract_budget_below_models_is_refused(name, matrix):
    with pytest.raises(BudgetError, match="raise it to at least 12"):
        run_experiment(ReplayEnvironment(matrix), DRONE, make_strategy(name), budget=5)


@pytest.mark.parametrize("name", ALL)
def test_contract_failing_model_is_excluded_and_run_goes_on(name, matrix):
    class Flaky(ReplayEnvironment):
        def pull(self, model_index, image_indices):
            if model_index == 7:   # best drone reward: every strategy must evaluate it
                raise ModelFailedError(self.cards[7].name, "RuntimeError: boom in forward")
            return super().pull(model_index, image_indices)

    result = run_experiment(Flaky(matrix), DRONE, make_strategy(name, seed=0, batch_size=8), budget=500)
    assert result.excluded == {"m07": "RuntimeError: boom in forward"}
    assert result.ranking[-1].name == "m07" and result.ranking[-1].excluded
    assert "m07" not in [r.name for r in result.top3]


@pytest.mark.parametrize("name", ALL)
def test_contract_interrupt_keeps_results(name, matrix):
    class Interrupting(ReplayEnvironment):
        calls = 0

        def pull(self, model_index, image_indices):
            self.calls += 1
            if self.calls == 20:
                raise KeyboardInterrupt
            return super().pull(model_index, image_indices)

    result = run_experiment(Interrupting(matrix), DRONE, make_strategy(name, seed=0, batch_size=4), budget=500)
    assert result.interrupted and result.stop_reason == Interrupted() and "Ctrl-C" in word(result.stop_reason)
    assert result.spent.calls > 0 and len(result.top3) >= 1


def test_unknown_strategy_suggests():
    with pytest.raises(GreenRunnerError, match="did you mean"):
        make_strategy("thomson")


@pytest.mark.parametrize("name, seed, counts, top3", [
    ("successive_halving", 7, [16, 16, 16, 16, 56, 56, 16, 120, 56, 200, 16, 200], ["m11", "m09", "m07"]),
    ("thompson", 7, [8, 8, 16, 16, 40, 32, 32, 80, 64, 112, 192, 200], ["m11", "m10", "m09"]),
    ("ucb1", 7, [32, 48, 48, 48, 72, 64, 88, 40, 88, 80, 80, 112], ["m11", "m10", "m08"]),
    ("epsilon_greedy", 7, [16, 16, 24, 16, 8, 48, 16, 200, 40, 200, 16, 200], ["m11", "m08", "m09"]),
])
def test_golden_fixed_seed(name, seed, counts, top3, matrix):
    """Pins the exact schedule: a change in sampling, ordering or tie-breaking shows up here."""
    result = run_experiment(ReplayEnvironment(matrix), ACC, make_strategy(name, seed=seed, batch_size=8), budget=800)
    assert [result.observations[c.name][0] for c in matrix.cards] == counts
    assert [r.name for r in result.top3] == top3


def test_golden_energy_halving(matrix):
    """Drone weights: exploratory rung, dominated models pruned, early stop once the leader is settled."""
    result = run_experiment(ReplayEnvironment(matrix), DRONE, make_strategy("energy_halving", seed=7, batch_size=8),
                            budget=800)
    assert [result.observations[c.name][0] for c in matrix.cards] == [48, 8, 48, 8, 8, 8, 8, 168, 168, 48, 48, 8]
    assert [r.name for r in result.top3] == ["m07", "m08", "m09"]
    assert result.stop_reason == Stopped("leader_settled") and word(result.stop_reason).startswith("the leader is settled")


# ---- the ask/tell protocol -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ALL)
def test_contract_configuration_is_immutable_and_state_is_per_run(name, matrix):
    strategy = make_strategy(name, seed=5, batch_size=8)
    with pytest.raises(AttributeError, match="immutable"):
        strategy.seed = 6
    first = run_experiment(ReplayEnvironment(matrix), DRONE, strategy, budget=500)
    again = run_experiment(ReplayEnvironment(matrix), DRONE, strategy, budget=500)   # same object, fresh state
    assert first.observations == again.observations
    assert [r.name for r in first.ranking] == [r.name for r in again.ranking]


@pytest.mark.parametrize("name", ALL)
def test_contract_ask_proposes_next_images_within_budget(name, matrix):
    env = ReplayEnvironment(matrix)
    strategy = make_strategy(name, seed=2, batch_size=8)
    state = strategy.start(env, reward_model_for(matrix.cards, DRONE), 300)
    steps = 0
    while state.remaining > 0:
        pulls = strategy.ask(state)
        if not pulls:
            break
        assert sum(p.size for p in pulls) <= state.remaining
        assert len({p.arm for p in pulls}) == len(pulls), "one pull per model per step"
        for p in pulls:
            np.testing.assert_array_equal(p.images, state.next_images(p.arm, p.size))
        strategy.tell(state, pulls, serial_executor(env, pulls))
        steps += 1
    assert steps > 0 and state.spent <= 300


@pytest.mark.parametrize("name", ALL)
def test_contract_execution_order_of_a_step_does_not_matter(name, matrix):
    """An executor may run a step's pulls concurrently: run them backwards, return results in ask order."""
    def backwards(env, pulls):
        return list(reversed(serial_executor(env, list(reversed(pulls)))))

    def ranking(executor):
        env = ReplayEnvironment(matrix)
        run = make_strategy(name, seed=4, batch_size=8).run(env, reward_model_for(matrix.cards, DRONE), 700,
                                                            executor=executor)
        return run.ranking, run.state.pulls.tolist()
    assert ranking(serial_executor) == ranking(backwards)


def test_brute_force_is_exact(matrix):
    result = run_brute_force(ReplayEnvironment(matrix), DRONE)
    rm = reward_model_for(matrix.cards, DRONE)
    best = int(np.argmax(rm.reward(matrix.accuracy)))
    assert result.top3[0].name == matrix.cards[best].name
    assert all(r.exact and r.acc_low == r.acc_high for r in result.ranking)
    assert result.savings.calls_pct == 100


def test_rerank_uses_observations_only_and_reports_settling(matrix):
    env = ReplayEnvironment(matrix)
    result = run_brute_force(env, DRONE)
    calls_before = env.accounting.total().calls
    new = rerank(result, matrix.cards, Weights({"accuracy": 0.3, "size": 1.0}))
    assert env.accounting.total().calls == calls_before
    assert new.settled and new.calls_to_settle == 0       # brute force knows everything exactly
    rm = reward_model_for(matrix.cards, Weights({"accuracy": 0.3, "size": 1.0}))
    assert new.top3[0].name == matrix.cards[int(np.argmax(rm.reward(matrix.accuracy)))].name


def test_rerank_after_partial_run_asks_for_more_calls(matrix):
    result = run_experiment(ReplayEnvironment(matrix), ACC, make_strategy("ucb1", seed=0, batch_size=4), budget=120)
    new = rerank(result, matrix.cards, ACC)
    assert not new.settled and new.calls_to_settle > 0 and new.contenders


@pytest.mark.parametrize("name", ALL)
def test_statistical_finds_best_arm_often(name, matrix):
    """Accuracy only, clear winner: every strategy finds it in >= 80 % of 30 fixed seeds at 40 % of brute force."""
    rm = reward_model_for(matrix.cards, ACC)
    best = matrix.cards[int(np.argmax(rm.reward(matrix.accuracy)))].name
    budget = int(0.4 * matrix.correct.size)
    wins = sum(run_experiment(ReplayEnvironment(matrix), ACC, make_strategy(name, seed=s, batch_size=8),
                              budget=budget).top3[0].name == best for s in range(30))
    assert wins >= 24, f"{name} found the best model in {wins}/30 seeds"


def test_replay_matrix_roundtrip(tmp_path, matrix):
    path = matrix.save(tmp_path / "m.npz")
    back = OutcomeMatrix.load(path)
    assert back.cards == matrix.cards and back.image_ids == matrix.image_ids
    np.testing.assert_array_equal(back.correct, matrix.correct)
    with pytest.raises(GreenRunnerError, match="does not exist"):
        OutcomeMatrix.load(tmp_path / "nope.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(GreenRunnerError, match="not a GreenRunner outcome matrix"):
        OutcomeMatrix.load(tmp_path / "bad.npz")


def test_rerank_with_unevaluated_contender_does_not_crash(matrix):
    """A contender never evaluated has no estimate: settling it needs calls, never a NaN crash."""
    result = run_experiment(ReplayEnvironment(matrix), DRONE, make_strategy("paired_race", seed=0, batch_size=8),
                            budget=200)
    for weights in (Weights({"accuracy": 0.65, "size": 0.42, "complexity": 0.23}),
                    Weights({"accuracy": 0.65, "size": 0.42}), Weights({"accuracy": 1.0})):
        new = rerank(result, matrix.cards, weights)
        assert new.calls_to_settle >= 0 and new.top3


def test_an_unknown_strategy_far_from_every_name_lists_them_all():
    # 'nosuch' was answered "did you mean sh?" (a two-letter alias is close to anything)
    with pytest.raises(GreenRunnerError, match="unknown strategy 'nosuch' — choose one of paired_elimination, "
                                               "paired_race, ") as err:
        make_strategy("nosuch")
    assert "sh?" not in str(err.value)
