"""Anytime-valid tests on the mean of a finite population sampled without replacement, by betting.

Why: a strategy looks at its evidence after every batch, so a fixed-sample interval would be wrong
after many looks. A nonnegative martingale ("wealth" of a bettor against the null) keeps its error
rate under any number of looks (Ville's inequality: P(sup_t wealth_t >= 1/alpha) <= alpha), and
sampling without replacement enters exactly through the conditional mean of the values not yet
drawn (Waudby-Smith & Ramdas, "Confidence sequences for sampling without replacement", NeurIPS 2020).

Values are in [0, 1]; the population has ``N`` values whose mean ``mu`` is unknown. To test
``H0: mu <= m`` the bettor holds, after i-1 draws with sum S, the mean the remaining values would
have if ``mu = m``: ``r_i(m) = (N m - S) / (N - i + 1)``, and multiplies its wealth by
``1 + lam_i (x_i - r_i(m))`` with a predictable bet ``lam_i >= 0``. With the same bets for every
``m' <= m`` the wealth is smallest at ``m``, so rejecting at ``m`` rejects the whole composite null.
Deterministic facts are used too: once the observed sum exceeds ``N m`` the null is impossible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

DEFAULT_CAP = 0.75   # max fraction of wealth at risk per draw (bets are capped at cap / r_i)


def log_threshold(alpha: float) -> float:
    """Reject when log-wealth reaches log(1/alpha)."""
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
    return math.log(1.0 / alpha)


@dataclass
class PairedEProcesses:
    """One betting e-process per ordered pair (x, y) of models, on X = (1 + o_x - o_y) / 2 per image.

    ``o`` is per-image correctness, so X is 1 where only x is right, 0 where only y is right and 1/2
    where they agree; its population mean is (1 + acc_x - acc_y) / 2. Each ordered pair tests two
    nulls with the same bets (so one error budget covers both): ``mu <= m0[x, y]`` and
    ``mu <= m1[x, y]`` (m1 <= m0). Bets follow the aGRAPA rule (a growth-rate-optimal plug-in
    against m0, Waudby-Smith & Ramdas 2023), capped so wealth never drops below (1 - cap) per draw.
    """

    population: int
    m0: np.ndarray              # (K, K) null boundary 0 (elimination), in X units
    m1: np.ndarray              # (K, K) null boundary 1 (epsilon test), m1 <= m0
    log_thr: float
    cap: float = DEFAULT_CAP

    # columns of the per-pair table
    _T, _S, _Q, _W0, _W1, _M0, _M1, _R0, _R1 = range(9)

    def __post_init__(self) -> None:
        k = self.m0.shape[0]
        self.k = k
        table = np.zeros((k * k, 9))
        table[:, self._M0] = self.m0.ravel()
        table[:, self._M1] = self.m1.ravel()
        # nulls that are impossible before any draw (m < 0: the known metrics alone decide)
        table[:, self._R0] = self.m0.ravel() < 0.0
        table[:, self._R1] = self.m1.ravel() < 0.0
        self.table = table
        self._n = float(self.population)

    @property
    def rejected0(self) -> np.ndarray:
        """(K, K) bool: r_x > r_y established (x beats y)."""
        return self.table[:, self._R0].reshape(self.k, self.k) > 0

    @property
    def rejected1(self) -> np.ndarray:
        """(K, K) bool: r_x > r_y - epsilon established (y is not more than epsilon better than x)."""
        return self.table[:, self._R1].reshape(self.k, self.k) > 0

    def extend(self, xs: np.ndarray, ys: np.ndarray, values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Feed the next draws of ordered pairs (xs[r], ys[r]): ``values[r, :lengths[r]]``.

        Returns the rows' elimination flags (r_x > r_y established) after the update.
        """
        if xs.size == 0:
            return np.zeros(0, dtype=bool)
        flat = xs * self.k + ys
        row = self.table[flat]
        n = self._n
        k = values.shape[1]
        valid = np.arange(k)[None, :] < lengths[:, None]
        x = np.where(valid, values, 0.0)
        i = row[:, self._T, None] + np.arange(1.0, k + 1.0)[None, :]      # 1-based draw index
        s_incl = row[:, self._S, None] + np.cumsum(x, axis=1)
        s_prev = s_incl - x
        dev = np.where(valid, (x - (0.5 + s_incl) / (i + 1.0)) ** 2, 0.0)
        q_incl = row[:, self._Q, None] + np.cumsum(dev, axis=1)
        mu_prev = (0.5 + s_prev) / i                                   # smoothed running mean before draw i
        var_prev = (0.25 + q_incl - dev) / i
        remaining = np.maximum(n - i + 1.0, 1.0)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            null0 = (n * row[:, self._M0, None] - s_prev) / remaining
            null1 = (n * row[:, self._M1, None] - s_prev) / remaining
            open0 = valid & (null0 > 0.0) & (null0 < 1.0)
            open1 = valid & (null1 > 0.0) & (null1 < 1.0)
            # bet against null 0 while it is open; once it is settled, against null 1
            ref = np.where(open0, null0, np.where(open1, null1, 0.5))
            edge = mu_prev - ref
            lam = np.clip(edge / (var_prev + edge * edge), 0.0, self.cap / np.maximum(ref, 1e-12))
            inc0 = np.where(open0, np.log1p(lam * (x - np.where(open0, null0, 0.0))), 0.0)
            inc1 = np.where(open1, np.log1p(lam * (x - np.where(open1, null1, 0.0))), 0.0)
        w0 = row[:, self._W0, None] + np.cumsum(inc0, axis=1)
        w1 = row[:, self._W1, None] + np.cumsum(inc1, axis=1)
        s_end = s_incl[:, -1]
        tol = 1e-9
        row[:, self._T] += lengths
        row[:, self._S] = s_end
        row[:, self._Q] = q_incl[:, -1]
        row[:, self._W0] = w0[:, -1]
        row[:, self._W1] = w1[:, -1]
        # reject once log-wealth has ever reached the threshold (running max: anytime), or deterministically
        row[:, self._R0] = (row[:, self._R0] > 0) | (w0.max(axis=1) >= self.log_thr) \
            | (s_end > n * row[:, self._M0] + tol)
        row[:, self._R1] = (row[:, self._R1] > 0) | (w1.max(axis=1) >= self.log_thr) \
            | (s_end > n * row[:, self._M1] + tol)
        self.table[flat] = row
        return row[:, self._R0] > 0

    def stats(self, x: int, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(draws, mean of X, smoothed sd of X, epsilon-null rejected) for ordered pairs (x, ys)."""
        row = self.table[x * self.k + ys]
        t = row[:, self._T]
        mean = np.where(t > 0, row[:, self._S] / np.maximum(t, 1.0), 0.5)
        sd = np.sqrt((0.25 + row[:, self._Q]) / (t + 1.0))
        return t, mean, sd, row[:, self._R1] > 0


@dataclass
class SingleCS:
    """Lower confidence bounds on each model's accuracy: one betting confidence sequence per model.

    The bets do not depend on the tested value (a predictable plug-in of the empirical Bernstein
    kind, capped), so one e-process per model answers ``acc > a`` for every threshold ``a`` at once.
    """

    n_models: int
    population: int
    log_thr: float
    cap: float = DEFAULT_CAP

    def __post_init__(self) -> None:
        self.lam = np.zeros((self.n_models, self.population))
        self._sum = np.zeros(self.n_models)
        self._q = np.zeros(self.n_models)
        self._t = np.zeros(self.n_models, dtype=np.int64)

    def extend(self, arm: int, outcomes: np.ndarray) -> None:
        """Record the next draws of ``arm`` (0/1) and fix the bets for them from the past only."""
        x = np.asarray(outcomes, dtype=float)
        if x.size == 0:
            return
        t0 = int(self._t[arm])
        i = t0 + 1 + np.arange(x.size, dtype=float)
        s_incl = self._sum[arm] + np.cumsum(x)
        mu_incl = (0.5 + s_incl) / (i + 1.0)
        dev = (x - mu_incl) ** 2
        q_incl = self._q[arm] + np.cumsum(dev)
        var_prev = (0.25 + q_incl - dev) / i
        self.lam[arm, t0:t0 + x.size] = np.minimum(
            self.cap, np.sqrt(2.0 * self.log_thr / (var_prev * i * np.log1p(i))))
        self._sum[arm] = s_incl[-1]
        self._q[arm] = q_incl[-1]
        self._t[arm] += x.size

    def exceeds(self, arm: int, outcomes: np.ndarray, threshold: float) -> bool:
        """True when ``acc(arm) > threshold`` is established (anytime-valid at this arm's level).

        ``outcomes`` are the arm's draws so far, in order (0/1).
        """
        n = float(self.population)
        x = np.asarray(outcomes, dtype=float)
        t = x.size
        if threshold < 0.0:
            return True
        if t == 0 or threshold >= 1.0:
            return False
        s_prev = np.concatenate(([0.0], np.cumsum(x)[:-1]))
        if s_prev[-1] + x[-1] > n * threshold + 1e-9:      # more correct than the threshold allows
            return True
        i = np.arange(1, t + 1, dtype=float)
        null = (n * threshold - s_prev) / np.maximum(n - i + 1.0, 1.0)
        live = (null > 0.0) & (null < 1.0)
        lam = np.where(live, self.lam[arm, :t], 0.0)          # same bets for every threshold
        with np.errstate(invalid="ignore"):
            inc = np.where(live, np.log1p(lam * (x - null)), 0.0)
        return bool(np.max(np.cumsum(inc)) >= self.log_thr)
