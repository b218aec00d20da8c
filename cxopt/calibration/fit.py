"""Calibration: severities and baseline churn fitted from a customer history (DESIGN.md section 3).

A history is the customer file of DESIGN.md section 6 plus ``churned`` (bool: left within
the observation window) and optionally ``observed_months`` (the months a customer could
have been seen leaving, for customers who joined during the window; ``baseline_churn`` is
not needed). One streaming pass reduces it to exact integer counts per (segment, exposure
mask, observed months): customers ``n_g`` and churned ``y_g``. The model of DESIGN.md
section 1 with no initiatives is fitted to those counts by maximum likelihood::

    P(churn_i) = 1 - (1 - p_s(i)) * prod_{j in e_i} (1 - sigma_j)

Parametrisation and likelihood. With ``alpha_s = -log(1 - p_s)`` and
``theta_j = -log(1 - sigma_j)`` (both >= 0), ``-log(1 - P) = eta = alpha_s + sum_j theta_j e_j``
is linear, and a customer observed ``t`` months of a ``H``-month horizon keeps the same
monthly hazard: survival ``(1 - P)^(t/H) = exp(-w eta)``, ``w = t/H``. A group contributes
``y log(1 - exp(-w eta)) - (n - y) w eta``, concave in eta and so in the parameters: bounded
L-BFGS-B (scipy) with the analytic gradient, then Newton steps with the analytic Hessian
to machine precision. ``observed_months`` is rounded to whole months (at least 1). The
log-likelihood is the per-customer Bernoulli one (no binomial constants), so the grouped
fit and a per-row fit are the same function.

Uncertainty: the observed information matrix (delta method to the probability scale), or
a nonparametric bootstrap (``bootstrap=B``: the N customers resampled as one multinomial
draw over the (group, churned) cells, each replicate refitted). Each estimate becomes
``beta(mean, sd)``: mean and sd are those of the normal approximation truncated to [0, 1]
(equal to estimate and standard error away from the bounds; always a valid beta). For a
segment's ``baseline_churn`` the scenario reads a beta as the spread of ``p_i`` across
customers; the engine's results depend on its mean only, and a history cannot tell that
spread apart from the mean, so the sd written is the estimation uncertainty.

Fit quality: log-likelihood and AIC, a calibration table by decile of predicted churn
(customers ranked by prediction; a group straddling a decile boundary is split in
proportion), and the same for a plain logistic regression on the same columns (segment
dummies, exposure bits, and log(t/H) when observation varies) as a yardstick. A history
is not an experiment: the report lists the pairwise exposure correlations (phi) that most
threaten the estimates.

Parameters the history cannot inform stay as given, with the reason: a pain nobody met,
a segment absent from the history, pains that always occur together, delighter lifts.

The window: ``churned`` means "left within the window", ``window_months`` long (default:
the scenario's horizon); ``observed_months`` may not exceed it. A window longer than the
horizon is allowed (exposure ``t/H > 1``).

The results (:class:`~cxopt.calibration.result.Calibration`) and the rewritten scenario live in
:mod:`cxopt.calibration.result`; the model and its fit measures in :mod:`cxopt.calibration.noisy_or`.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special

from cxopt.calibration.noisy_or import NoisyOr, exposure_correlations, fit_quality, logistic_yardstick
from cxopt.calibration.result import Calibration, Estimate, significant
from cxopt.data.chunk import DEFAULT_CHUNK
from cxopt.data.history import HistoryGroups, read_history, sum_by_key
from cxopt.errors import ArgumentError, DataError, Problem
from cxopt.model.distributions import Distribution, parse_distribution
from cxopt.model.scenario import Scenario

__all__ = ["Calibration", "Estimate", "calibrate"]


# --------------------------------------------------------------------------------------
# uncertainty
# --------------------------------------------------------------------------------------
def _beta_from(estimate: float, sd: float) -> Distribution | None:
    """beta(mean, sd) matched to N(estimate, sd^2) truncated to [0, 1] (None if sd is unusable)."""
    if not (math.isfinite(sd) and sd > 0):
        return None
    sd = max(sd, 1e-9)
    a, b = (0.0 - estimate) / sd, (1.0 - estimate) / sd
    mass = float(special.ndtr(b) - special.ndtr(a))
    pa_, pb = math.exp(-a * a / 2) / math.sqrt(2 * math.pi), math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    shift = (pa_ - pb) / mass
    mean = estimate + sd * shift
    var = sd * sd * (1.0 + (a * pa_ - b * pb) / mass - shift * shift)
    mean = min(max(significant(mean), 1e-9), 1 - 1e-9)
    s = min(significant(math.sqrt(max(var, 0.0))), 0.999 * math.sqrt(mean * (1 - mean)))
    return parse_distribution({"dist": "beta", "mean": mean, "sd": max(significant(s), 1e-12)},
                              lower=0.0, upper=1.0)


# --------------------------------------------------------------------------------------
# calibrate
# --------------------------------------------------------------------------------------
def calibrate(scenario: Scenario, history: str | os.PathLike | HistoryGroups, *, bootstrap: int = 0,
              window_months: int | None = None, seed: int | None = None, chunk_size: int = DEFAULT_CHUNK,
              progress: Callable | None = None) -> Calibration:
    """Fit the scenario's severities and baseline churn per segment to a customer history.

    Parameters
    ----------
    scenario : Scenario
        Supplies the pain points, delighters, segments and horizon; its severities and
        baseline churn are what gets replaced.
    history : path or HistoryGroups
        A history file (Parquet, CSV, directory or glob), or its groups from :func:`read_history`.
    bootstrap : int
        0: uncertainty from the observed information matrix; B > 0: a bootstrap of B resamples.
    window_months : int, optional
        Length of the observation window (default: the scenario's horizon).
    seed : int, optional
        Seed of the bootstrap (default: the scenario's).

    Returns
    -------
    Calibration
        With ``to_scenario()``, ``to_toml()``, ``to_dict()``.
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ArgumentError("bootstrap", f"expected a number of resamples >= 0, got {bootstrap!r}")
    g = history if isinstance(history, HistoryGroups) else read_history(
        scenario, history, window_months=window_months, chunk_size=chunk_size, progress=progress)
    if list(g.drivers[: g.n_pains]) != [p.id for p in scenario.pain_points]:
        raise DataError(Problem(g.source, "", f"the history's pain points {list(g.drivers[: g.n_pains])} are "
                                                  f"not the scenario's {[p.id for p in scenario.pain_points]}"))
    J = g.n_pains
    notes: list[str] = []
    N_seg = np.bincount(g.segment, weights=g.customers, minlength=len(g.segments))
    seg_fit = [s for s in range(len(g.segments)) if N_seg[s] > 0]
    exposed = np.column_stack([g.exposed(j) for j in range(J)]) if J else np.zeros((g.customers.size, 0), bool)
    pain_fit = [j for j in range(J) if g.customers[exposed[:, j]].sum() > 0]
    model = _model_of(g, seg_fit, pain_fit, scenario.horizon_months)
    x = model.fit()
    names = [g.segments[s] for s in seg_fit] + [g.drivers[j] for j in pain_fit]
    prob = -np.expm1(-x)
    spread = _uncertainty(model, x, bootstrap, scenario.scenario.seed if seed is None else seed)
    for k, why in spread.reasons.items():
        notes.append(f"{names[k]}: kept as given: {why}")
        warnings.warn(f"calibration: {names[k]} is kept as given: {why}", stacklevel=2)

    def estimate(k: int, id_: str, kind: str, given: Distribution) -> Estimate:
        if k in spread.reasons:
            return Estimate(id_, kind, spread.reasons[k], given)
        sd = float(spread.sd[k])
        beta = _beta_from(float(prob[k]), sd)
        if beta is None:
            return Estimate(id_, kind, "no usable uncertainty estimate", given, float(prob[k]))
        lo, hi = (float(v) for v in beta.quantile(np.array([0.05, 0.95])))
        return Estimate(id_, kind, "fitted", given, float(prob[k]), sd, beta, (lo, hi), spread.intervals[k])

    sev = []
    for j, p in enumerate(scenario.pain_points):
        if j in pain_fit:
            sev.append(estimate(len(seg_fit) + pain_fit.index(j), p.id, "severity", p.severity))
        else:
            sev.append(Estimate(p.id, "severity", "no customer in the history met this pain point", p.severity))
    given_churn = {s.id: s.baseline_churn or scenario.customers.baseline_churn
                   for s in scenario.customers.segments}
    base = []
    for s, sid in enumerate(g.segments):
        given = given_churn.get(sid, scenario.customers.baseline_churn)
        base.append(estimate(seg_fit.index(s), sid, "baseline_churn", given) if s in seg_fit
                    else Estimate(sid, "baseline_churn", "the history has no customer in this segment", given))
    pains = _pain_rows(g, sev, exposed)
    segments = [{"id": sid, "customers": int(N_seg[s]),
                 "churned": int(g.churned[g.segment == s].sum()), "share": float(N_seg[s] / g.n_customers),
                 "revenue": float(g.revenue[g.segment == s].sum())}
                for s, sid in enumerate(g.segments)]
    reach = {d: _volume_info(g, g.drivers.index(d)) for d in g.drivers[J:]}
    quality = fit_quality("noisy-OR (the cxopt model)", model.log_likelihood(x), model.K,
                          model.churn_probability(x), model.n, model.y)
    return Calibration(
        scenario=scenario, groups=g, method="bootstrap" if bootstrap else "information", bootstrap=int(bootstrap),
        severities=tuple(sev), baselines=tuple(base), pains=tuple(pains), segments=tuple(segments), reach=reach,
        noisy_or=quality, logistic=logistic_yardstick(model, names),
        correlations=tuple(exposure_correlations(g)), parameters=tuple(names), covariance=spread.covariance,
        notes=tuple(notes))


def _model_of(g: HistoryGroups, seg_fit: list[int], pain_fit: list[int], horizon: int) -> NoisyOr:
    """The fit's data: groups collapsed to (segment, pain bits, months) (delighter bits play no part)."""
    width = g.window_months + 1
    code = np.searchsorted(seg_fit, g.segment).astype(np.int64) * width + g.months
    pmask = g.mask & np.uint64((1 << g.n_pains) - 1) if g.n_pains < 64 else g.mask
    code, pmask, (n, y) = sum_by_key(code, pmask, [g.customers, g.churned])
    X = (np.column_stack([((pmask >> np.uint64(j)) & np.uint64(1)).astype(np.float64) for j in pain_fit])
         if pain_fit else np.zeros((n.size, 0)))
    return NoisyOr(code // width, X, (code % width) / horizon, n, y, len(seg_fit))


@dataclass(frozen=True)
class _Spread:
    """Uncertainty of the fitted parameters on the probability scale."""

    sd: np.ndarray
    covariance: np.ndarray
    intervals: list  # bootstrap percentile intervals (None without a bootstrap)
    reasons: dict  # parameter index -> why it cannot be estimated


def _uncertainty(model: NoisyOr, x: np.ndarray, bootstrap: int, seed: int) -> _Spread:
    """Observed information (delta method: d prob / d x = exp(-x)), or a bootstrap."""
    info = -model.hessian(x)
    identified = _identified(info)
    reasons = {int(k): ("the history holds no churn to measure it by" if info[k, k] <= 0 else
                        "not separately identifiable in this history (a pain every customer met, "
                        "or pains always met together)")
               for k in np.flatnonzero(~identified)}
    jac = np.exp(-x)
    cov = np.full((model.K, model.K), np.nan)
    ok = np.flatnonzero(identified)
    if ok.size:
        cov[np.ix_(ok, ok)] = np.linalg.inv(info[np.ix_(ok, ok)]) * np.outer(jac[ok], jac[ok])
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    intervals = [None] * model.K
    if bootstrap:
        draws = _bootstrap(model, x, bootstrap, seed)
        sd = np.where(identified, draws.std(axis=0, ddof=1), np.nan)
        q = np.quantile(draws, [0.05, 0.95], axis=0)
        intervals = [(float(q[0, k]), float(q[1, k])) for k in range(model.K)]
        both = np.outer(identified, identified)
        cov = np.where(both, np.cov(draws, rowvar=False).reshape(model.K, model.K), np.nan)
    return _Spread(sd, cov, intervals, reasons)


def _identified(info: np.ndarray) -> np.ndarray:
    """Parameters not involved in a (numerically) flat direction of the likelihood."""
    d = np.sqrt(np.clip(np.diag(info), 0.0, None))
    out = d > 0
    if out.sum() == 0:
        return out
    k = np.flatnonzero(out)
    corr = info[np.ix_(k, k)] / np.outer(d[k], d[k])
    vals, vecs = np.linalg.eigh(corr)
    for v, vec in zip(vals, vecs.T):
        if v < 1e-9:
            out[k[np.abs(vec) > 0.1]] = False
    return out


def _bootstrap(model: NoisyOr, x: np.ndarray, B: int, seed: int) -> np.ndarray:
    """B nonparametric resamples of the customers (one multinomial over (group, churned) cells)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xB0075])))
    cells = np.concatenate([model.y, model.n - model.y])
    N = int(round(cells.sum()))
    p = cells / cells.sum()
    G = model.n.size
    out = np.empty((B, model.K))
    for b in range(B):
        c = rng.multinomial(N, p).astype(np.float64)
        m = NoisyOr(model.segment, model.X, model.w, c[:G] + c[G:], c[:G], model.S)
        out[b] = -np.expm1(-m.fit(x0=x, newton_only=True))
    return out


def _volume_info(g: HistoryGroups, j: int) -> dict:
    """A driver's measured volume, overall and per segment, and whether the segments differ materially."""
    e = g.exposed(j)
    n_seg = np.bincount(g.segment, weights=g.customers, minlength=len(g.segments))
    e_seg = np.bincount(g.segment[e], weights=g.customers[e], minlength=len(g.segments))
    v = float(e_seg.sum() / g.n_customers)
    by = {name: float(e_seg[s] / n_seg[s]) for s, name in enumerate(g.segments) if n_seg[s] > 0}
    # material: at least half a point and 10% apart from the overall share, and not noise (3 standard errors)
    material = any(abs(by[name] - v) >= max(0.005, 0.1 * v)
                   and abs(by[name] - v) > 3 * math.sqrt(max(v * (1 - v), 1e-12) / n_seg[s])
                   for s, name in enumerate(g.segments) if n_seg[s] > 0)
    return {"volume": v, "volume_by_segment": by, "material": bool(material), "customers_exposed": int(e_seg.sum())}


def _pain_rows(g: HistoryGroups, sev: list[Estimate], exposed: np.ndarray) -> list[dict]:
    rows = []
    for j, est in enumerate(sev):
        e = exposed[:, j]
        n1, n0 = g.customers[e].sum(), g.customers[~e].sum()
        rev = float(g.revenue[e].sum())
        s = est.estimate if est.fitted is not None else est.given.mean()
        lo, hi = est.interval if est.interval else est.given.quantile(np.array([0.05, 0.95]))
        rows.append({
            "id": est.id, **_volume_info(g, j),
            "churn_exposed": float(g.churned[e].sum() / n1) if n1 else 0.0,
            "churn_unexposed": float(g.churned[~e].sum() / n0) if n0 else 0.0,
            "revenue_exposed": rev,
            "revenue_at_risk": {"mean": rev * s, "p05": rev * float(lo), "p95": rev * float(hi)},
        })
    return rows
