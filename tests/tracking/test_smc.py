"""The sequential Monte Carlo sampler (tracking.smc) held to closed forms.

* A Gaussian toy: one input with a standard normal prior observed with Gaussian noise month
  after month has a normal posterior with known mean and variance; the particles must carry
  it (within Monte Carlo bounds) and stay diverse (no collapse onto a few particles).
* The move leaves the prior invariant: with flat evidence, the moved inputs stay uniform.
* Systematic resampling keeps each particle's count within one of n w_i.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from cxopt.engine.draws import TrialState
from cxopt.tracking.smc import SmcSettings, Step, ess, run_smc, systematic_resample


def toy_state(n: int, seed: int) -> TrialState:
    rng = np.random.default_rng(seed)
    return TrialState(market=rng.random(n), strength=rng.random((n, 1)), effect_normal=rng.standard_normal((n, 1)),
                      success=rng.random((n, 1)), golive=rng.random((n, 1)))


class Toy:
    """x = Phi^-1(market uniform) ~ N(0, 1); month m observes y_m ~ N(x, s^2)."""

    def __init__(self, ys, s):
        self.ys, self.s = np.asarray(ys, dtype=float), s

    def evaluate(self, state):
        x = ndtri(state.market)
        return state, x[:, None], x[:, None]  # the "draws" slot carries the state itself

    def loglik(self, step, draws, cust, rev):
        return -0.5 * ((self.ys[step.month - 1] - cust[:, 0]) / self.s) ** 2

    def posterior(self, m):
        prec = 1.0 + m / self.s ** 2
        return self.ys[:m].sum() / self.s ** 2 / prec, 1.0 / np.sqrt(prec)


@pytest.mark.parametrize("months", [1, 4, 12])
def test_particles_carry_the_gaussian_posterior(months):
    rng = np.random.default_rng(3)
    truth, s = 0.7, 0.25  # strong evidence: importance weights alone would collapse
    toy = Toy(truth + s * rng.standard_normal(12), s)
    n = 2000
    res = run_smc(toy_state(n, 1), [Step(m, True) for m in range(1, months + 1)], toy.evaluate, toy.loglik,
                  SmcSettings(moves=6, seed=5))
    x = ndtri(res.state.market)
    w = res.weights
    mean, sd = toy.posterior(months)
    got_mean = float(np.sum(w * x))
    got_sd = float(np.sqrt(np.sum(w * (x - got_mean) ** 2)))
    # 4 standard errors of a weighted mean with a conservatively halved sample size
    assert abs(got_mean - mean) < 4 * sd / np.sqrt(n / 4), (got_mean, mean)
    assert got_sd == pytest.approx(sd, rel=0.15)
    assert np.unique(x).size > n / 4  # alive: many distinct particles
    assert res.step_ess[-1] > 0.3 * n or res.resampled > 0


def test_importance_weights_alone_would_collapse_on_the_same_evidence():
    """The same toy with no moves: the weights pile onto a few particles (what moves prevent)."""
    rng = np.random.default_rng(3)
    toy = Toy(0.7 + 0.01 * rng.standard_normal(12), 0.01)
    res = run_smc(toy_state(2000, 1), [Step(m, True) for m in range(1, 13)], toy.evaluate, toy.loglik,
                  SmcSettings(moves=0, seed=5))
    assert np.unique(res.state.market[res.weights > 1e-6]).size < 20
    alive = run_smc(toy_state(2000, 1), [Step(m, True) for m in range(1, 13)], toy.evaluate, toy.loglik,
                    SmcSettings(moves=6, seed=5))
    assert np.unique(alive.state.market).size > 500


def test_the_move_leaves_the_prior_invariant():
    """Flat evidence that still forces resampling (ESS threshold above 1): the inputs stay uniform."""
    n = 3000

    def flat(step, draws, cust, rev):
        return np.zeros(draws.trials)

    res = run_smc(toy_state(n, 9), [Step(m, True) for m in range(1, 4)], lambda st: (st, np.zeros((n, 1)),
                                                                                       np.zeros((n, 1))),
                  flat, SmcSettings(moves=5, seed=2, resample_below=1.1))
    assert res.resampled >= 3 and res.moves == 5 * res.resampled
    for column in (res.state.market, res.state.strength[:, 0], res.state.success[:, 0]):
        assert stats.kstest(column, "uniform").pvalue > 0.001
    assert stats.kstest(res.state.effect_normal[:, 0], "norm").pvalue > 0.001


def test_systematic_resampling_keeps_counts_within_one_of_their_expectation():
    rng = np.random.default_rng(0)
    w = rng.random(500) ** 4
    w /= w.sum()
    counts = np.bincount(systematic_resample(w, np.random.default_rng(1)), minlength=500)
    assert np.all(np.abs(counts - 500 * w) < 1.0 + 1e-9)
    assert counts.sum() == 500


def test_effective_sample_size_of_equal_and_of_one_hot_weights():
    assert ess(np.zeros(100)) == pytest.approx(100)
    lw = np.full(100, -np.inf)
    lw[3] = 0.0
    assert ess(lw) == pytest.approx(1.0)


def test_the_sampler_is_reproducible():
    toy = Toy(np.linspace(0.1, 0.5, 6), 0.1)
    runs = [run_smc(toy_state(400, 1), [Step(m, True) for m in range(1, 7)], toy.evaluate, toy.loglik,
                    SmcSettings(seed=11)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0].state.market, runs[1].state.market)
    np.testing.assert_array_equal(runs[0].log_weights, runs[1].log_weights)
