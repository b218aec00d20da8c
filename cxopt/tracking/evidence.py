"""The likelihood of the actuals under one possible world (a particle), piece by piece.

* **Customers lost in month m**: negative binomial around the particle's monthly forecast
  ``mu``, variance ``mu + mu^2 / k``. The dispersion ``k`` stands for what the model leaves
  out (seasonality, campaigns, a competitor's offer): ``DEFAULT_DISPERSION`` (an extra
  month-to-month variation of about 7% of the count beyond Poisson noise) until
  ``ESTIMATE_AFTER`` months of losses are observed, then estimated from them: the mode over
  ``DISPERSION_GRID`` of the marginal likelihood times a weak prior on ``log k`` (normal
  around the default's log, sd ``DISPERSION_PRIOR_SD``) — six months cannot tell much about
  month-to-month variation, and losses that happen to sit on the forecast must not make the
  model claim none (``dispersion=K`` fixes it).
* **Revenue lost in month m** (used where customers lost is not given): normal around the
  forecast ``mu_r``, variance ``rbar * mu_r + mu_r^2 / k`` with ``rbar = mu_r / mu`` the
  particle's revenue per lost customer (a compound count of lost customers' revenue).
* **A process metric reading** at time t: its progress from baseline toward target,
  ``(x - baseline) / (target - baseline)``, normal around the particle's expected progress
  — the planned share at t (``plan.schedule``, to the particle's go-live) times its
  effectiveness relative to the prior mean — with sd ``metric_sd``. The metric is evidence
  on *effectiveness* and timing (DESIGN.md section 3), not on whether the initiative's effect
  on churn materialises at all (``success``): a process on target can still fail to keep
  customers, and delivery is known from the facts (live, cancelled) instead. So a plan
  followed exactly keeps the goal's probability near the plan's.
* **A measured CX level** (the actuals' ``<metric>`` column, a metric declared in ``[metrics]``)
  in month m: normal around the particle's level that month (``engine.levels``: today's level
  plus what the initiatives live in month m fix or deliver, over today's customers), sd the
  survey noise ``level_sd`` in the metric's points (``DEFAULT_LEVEL_SD``: a survey of about 400
  answers with a respondent sd of 20 points on a 0-100 score; docs/decisions.md). Evidence on
  the initiatives' effects, success and go-live, as the process metrics are.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, logsumexp

from cxopt.engine.draws import Draws
from cxopt.plan.schedule import golive_label, planned_share
from cxopt.tracking.actuals import Actuals, MetricReading

__all__ = ["DEFAULT_DISPERSION", "ESTIMATE_AFTER", "DISPERSION_GRID", "DEFAULT_LEVEL_SD", "loss_loglik",
           "revenue_loglik", "metric_loglik", "level_loglik", "estimate_dispersion", "effectiveness_ratio"]

DEFAULT_DISPERSION = 200.0
DISPERSION_PRIOR_SD = 1.5  # sd of log k around log DEFAULT_DISPERSION
ESTIMATE_AFTER = 6  # months of observed losses before the dispersion is estimated from them
DEFAULT_LEVEL_SD = 1.0  # points: the standard error of a survey's mean level (400 answers, sd 20)
DISPERSION_GRID = (10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1_000.0, 3_000.0, 10_000.0, 1e5, 1e7)


def loss_loglik(y: float, mu: np.ndarray, k: float) -> np.ndarray:
    """log NB(y; mean mu, dispersion k) per particle (k >= 1e7 is Poisson to machine precision)."""
    mu = np.maximum(mu, 1e-12)
    if k >= 1e7:
        return y * np.log(mu) - mu - gammaln(y + 1.0)
    return (gammaln(y + k) - gammaln(k) - gammaln(y + 1.0) + k * np.log(k / (k + mu))
            + y * np.log(mu / (k + mu)))


def revenue_loglik(x: float, mu_rev: np.ndarray, mu_cust: np.ndarray, k: float) -> np.ndarray:
    """log N(x; mu_rev, rbar mu_rev + mu_rev^2 / k) per particle."""
    mu_rev = np.maximum(mu_rev, 1e-12)
    rbar = mu_rev / np.maximum(mu_cust, 1e-12)
    var = rbar * mu_rev + mu_rev ** 2 / k
    return -0.5 * ((x - mu_rev) ** 2 / var + np.log(2.0 * math.pi * var))


def effectiveness_ratio(draws: Draws, k: int, prior_means: np.ndarray) -> np.ndarray:
    """Per particle, initiative k's effectiveness relative to its prior mean (averaged over its drivers)."""
    cols = range(int(draws.fix_ptr[k]), int(draws.fix_ptr[k + 1]))
    ratios = [draws.effect[:, e] / max(float(prior_means[e]), 1e-12) for e in cols]
    return np.mean(ratios, axis=0) if ratios else np.ones(draws.trials)


def metric_loglik(reading: MetricReading, metric, start_month: int, k: int, draws: Draws,
                  prior_means: np.ndarray, metric_sd: float) -> np.ndarray:
    """log N(progress observed; progress expected, metric_sd) per particle."""
    span = metric.target - metric.baseline
    if span == 0:
        return np.zeros(draws.trials)
    observed = (reading.value - metric.baseline) / span
    expected = (planned_share(start_month, golive_label(draws.golive[:, k]), reading.time)
                * effectiveness_ratio(draws, k, prior_means))
    return -0.5 * ((observed - expected) / metric_sd) ** 2


def level_loglik(y: float, level: np.ndarray, sd: float) -> np.ndarray:
    """log N(y; level, sd^2) per particle, up to a constant shared by all particles."""
    return -0.5 * ((y - level) / sd) ** 2


def estimate_dispersion(actuals: Actuals, customers_lost: np.ndarray) -> float | None:
    """The dispersion that best explains the observed monthly losses, or None with too few months.

    The mode over ``DISPERSION_GRID`` of ``log mean_i prod_m NB(y_m; mu_im, k)`` (the marginal
    likelihood over the prior's particles ``customers_lost`` (n, H), months with losses
    observed) plus the weak prior on ``log k``.
    """
    obs = [(int(m), float(y)) for m, y in zip(actuals.months, actuals.customers_lost) if not np.isnan(y)]
    if len(obs) < ESTIMATE_AFTER:
        return None
    best, best_ll = None, -math.inf
    for k in DISPERSION_GRID:
        ll = sum(loss_loglik(y, customers_lost[:, m - 1], k) for m, y in obs)
        prior = -0.5 * ((math.log(k) - math.log(DEFAULT_DISPERSION)) / DISPERSION_PRIOR_SD) ** 2
        value = float(logsumexp(ll) - math.log(len(ll))) + prior
        if value > best_ll:
            best, best_ll = k, value
    return best
