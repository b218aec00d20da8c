"""True worlds for calibrating tracking, made by another path than the one tracking uses.

A tracking test whose "true world" is one of the plan's own trials cannot see a collapsing
posterior (it can put all its weight on that trial). Here a true world is

* drawn from the prior with **another seed** (a fresh simulation: never one of the plan's trials);
* evaluated **customer by customer** with plain NumPy from the customers' rows — the model of
  DESIGN.md section 1 written out again, not the grouped statistics, not the numba kernels:
  ``rho_i(tau) = (1 - m p_i prod_d (1 - lambda_d F_d)) prod_j (1 - sigma_j (1 - F_j))``;
* and its monthly losses drawn customer by customer: customer i leaves in month tau with
  probability ``(1 - rho_i(tau)) / H`` times that month's shock (gamma, mean 1, shape
  ``dispersion``: what a model leaves out — seasonality, a campaign), or no shock.

The truth a re-forecast is held against is the horizon churn tracking estimates: the losses
of the observed months as they happened, the true world's expected losses for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cxopt.data.customers import CustomerBase
from cxopt.engine.draws import draw_trials
from cxopt.model.scenario import Scenario

__all__ = ["TrueWorld", "true_world", "actuals_csv"]


@dataclass(frozen=True)
class TrueWorld:
    expected_lost: np.ndarray  # (H,) expected customers lost per month
    lost: np.ndarray  # (H,) customers lost per month, drawn customer by customer
    customers: int

    def horizon_churn(self, observed_months: int) -> float:
        """Observed months as they happened, expected losses for the rest, over the customers."""
        m = observed_months
        return float((self.lost[:m].sum() + self.expected_lost[m:].sum()) / self.customers)


def _retention(sc: Scenario, seg: np.ndarray, mask: np.ndarray, churn: np.ndarray, draws, portfolio: list[int],
               month: int) -> np.ndarray:
    """rho_i in month ``month`` (0-based) of trial 0 of ``draws``, customer by customer."""
    n_p = len(sc.pain_points)
    D = len(sc.drivers)
    segments = sc.segment_ids or ["all"]
    # share of each driver removed, per segment: F = 1 - prod over live initiatives (1 - f)
    keep = np.ones((len(segments), D))
    for k in portfolio:
        init = sc.initiatives[k]
        if not (draws.success[0, k] and draws.golive[0, k] <= month):
            continue
        for e in range(int(draws.fix_ptr[k]), int(draws.fix_ptr[k + 1])):
            j = int(draws.fix_driver[e])
            for s, name in enumerate(segments):
                if init.segments is None or name in init.segments:
                    keep[s, j] *= 1.0 - draws.effect[0, e]
    F = 1.0 - keep[seg]  # (n, D)
    exposed = ((mask[:, None] >> np.arange(D, dtype=np.uint64)[None, :]) & np.uint64(1)).astype(bool)
    strength = draws.strength[0]
    pains = np.where(exposed[:, :n_p], 1.0 - strength[:n_p] * (1.0 - F[:, :n_p]), 1.0).prod(axis=1)
    delight = np.where(exposed[:, n_p:], 1.0 - strength[n_p:] * F[:, n_p:], 1.0).prod(axis=1)
    return (1.0 - draws.market[0] * churn * delight) * pains


def true_world(sc: Scenario, base: CustomerBase, portfolio: list[int], seed: int,
               dispersion: float | None = None) -> TrueWorld:
    """One true world for ``portfolio``: drawn with ``seed``, evaluated and sampled per customer."""
    draws = draw_trials(sc, 1, seed)
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x7E57,)))
    H = sc.horizon_months
    shock = np.ones(H) if dispersion is None else rng.gamma(dispersion, 1.0 / dispersion, H)
    expected, lost = np.zeros(H), np.zeros(H)
    n = 0
    for chunk in base.iter_chunks():
        n += len(chunk)
        for tau in range(H):
            p = (1.0 - _retention(sc, chunk.segment, chunk.mask, chunk.baseline_churn, draws, portfolio, tau)) / H
            expected[tau] += p.sum()
            lost[tau] += np.count_nonzero(rng.random(p.shape[0]) < np.minimum(p * shock[tau], 1.0))
    return TrueWorld(expected_lost=expected, lost=lost, customers=n)


def actuals_csv(world: TrueWorld, months: int) -> str:
    """The true world's first ``months`` months of losses as an actuals file."""
    return "month,customers_lost\n" + "".join(f"{m + 1},{int(world.lost[m])}\n" for m in range(months))
