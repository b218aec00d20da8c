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

Writing the scenario (:meth:`Calibration.to_toml`, :meth:`Calibration.to_scenario`): the
input scenario with, from the history, every pain point's volume and every delighter's
reach (when the history has its column) measured — per segment when the scenario gave
them per segment or when a segment differs materially (by at least half a point and 10%
from the overall share, and by more than three standard errors), one number otherwise —
segment shares measured (synthetic bases, every segment present), severities and each
segment's baseline churn fitted; numbers rounded to five significant digits; a comment
above each says where it came from. A history is a past market: the scenario's market
multiplier still applies on top of the fitted baseline.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from scipy import special

from cxopt.data.customers import DEFAULT_CHUNK, EXPOSED_PREFIX, driver_volume
from cxopt.model.distributions import Distribution, parse_distribution
from cxopt.data.history import HistoryGroups, read_history, sum_by_key
from cxopt.calibration.noisy_or import NoisyOr, exposure_correlations, fit_quality, logistic_yardstick
from cxopt.model.scenario import Scenario, parse_scenario
from cxopt.errors import Problem, ScenarioError
from cxopt.model.toml_writer import dist_dict, dump_toml, plain, toml_value, wrap

__all__ = ["Calibration", "Estimate", "calibrate"]

DIGITS = 5  # significant digits of the numbers written to the scenario
PHI_SHOWN, PHI_THREAT = 5, 0.1


# --------------------------------------------------------------------------------------
# uncertainty, confounding
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
    mean = min(max(_sig(mean), 1e-9), 1 - 1e-9)
    s = min(_sig(math.sqrt(max(var, 0.0))), 0.999 * math.sqrt(mean * (1 - mean)))
    return parse_distribution({"dist": "beta", "mean": mean, "sd": max(_sig(s), 1e-12)}, lower=0.0, upper=1.0)


def _sig(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


CONFOUNDING = (
    "A history is not an experiment. Customers who met a pain differ from those who did not in other "
    "ways too (the same old network area, the same contract type), so a fitted severity is the churn "
    "associated with the pain under the model, not proof that fixing it removes that churn. Pains that "
    "travel together are the hardest to tell apart; their estimates trade off against each other.")


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """One fitted probability (a severity or a segment's baseline churn)."""

    id: str
    kind: str  # "severity" or "baseline_churn"
    status: str  # "fitted", or the reason it is kept as given
    given: Distribution
    estimate: float | None = None  # maximum likelihood
    sd: float | None = None  # standard error (information or bootstrap)
    fitted: Distribution | None = None  # beta(mean, sd) written to the scenario
    interval: tuple[float, float] | None = None  # 90%: the fitted beta's 5% and 95% quantiles
    bootstrap_interval: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "given": dist_dict(self.given),
                "given_mean": self.given.mean(), "estimate": self.estimate,
                "sd": self.sd, "fitted": None if self.fitted is None else dist_dict(self.fitted),
                "interval90": self.interval, "bootstrap_interval90": self.bootstrap_interval}


@dataclass(frozen=True)
class Calibration:
    """What a history says about the scenario's severities and baseline churn (build with :func:`calibrate`)."""

    scenario: Scenario
    groups: HistoryGroups
    method: str  # "information" or "bootstrap"
    bootstrap: int
    severities: tuple[Estimate, ...]
    baselines: tuple[Estimate, ...]
    pains: tuple[dict, ...]  # per pain: volume, churn among exposed/unexposed, revenue at risk
    segments: tuple[dict, ...]  # per segment: customers, churned, share
    reach: Mapping[str, dict]  # delighters with an exposed_ column: measured reach, overall and per segment
    noisy_or: dict
    logistic: dict
    correlations: tuple[dict, ...]
    parameters: tuple[str, ...]
    covariance: np.ndarray = field(repr=False)  # of the fitted parameters, probability scale
    notes: tuple[str, ...] = ()

    @property
    def customers(self) -> int:
        return self.groups.n_customers

    @property
    def churned(self) -> int:
        return self.groups.n_churned

    def severity(self, pain_id: str) -> Estimate:
        return next(e for e in self.severities if e.id == pain_id)

    def baseline(self, segment_id: str) -> Estimate:
        return next(e for e in self.baselines if e.id == segment_id)

    def to_dict(self) -> dict:
        sev = {e.id: e for e in self.severities}
        top = [c for c in self.correlations if abs(c["phi"]) >= PHI_THREAT][:PHI_SHOWN]
        return {
            "scenario": self.scenario.name, "history": self.groups.source, "customers": self.customers,
            "churned": self.churned, "churn_rate": self.churned / max(self.customers, 1),
            "window_months": self.groups.window_months, "horizon_months": self.scenario.horizon_months,
            "currency": self.scenario.scenario.currency, "groups": int(self.groups.customers.size),
            "uncertainty": {"method": self.method, "bootstrap": self.bootstrap},
            "pain_points": [{**p, **sev[p["id"]].to_dict()} for p in self.pains],
            "segments": [{**s, **b.to_dict()} for s, b in zip(self.segments, self.baselines)],
            "delighters": [{"id": d, **v} for d, v in self.reach.items()],
            "fit": {"noisy_or": self.noisy_or, "logistic": self.logistic},
            "confounding": {"warning": CONFOUNDING, "correlations": list(self.correlations[:PHI_SHOWN]),
                            "threats": top},
            "parameters": list(self.parameters), "notes": list(self.notes),
            "covariance": [[float(v) if math.isfinite(v) else None for v in row] for row in self.covariance],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_scenario(self) -> Scenario:
        """The calibrated scenario, validated."""
        return parse_scenario(self._data(), source=f"{self.scenario.source} (calibrated)")

    def to_toml(self, relative_to: str | os.PathLike | None = None) -> str:
        """The calibrated scenario as TOML text, with comments saying where each number came from.

        ``relative_to``: the directory the file will be written to (a customer file path is
        written relative to it).
        """
        data = self._data()
        path = data.get("customers", {}).get("path")
        if path is not None and relative_to is not None:
            data["customers"]["path"] = os.path.relpath(path, os.path.abspath(relative_to))
        self.to_scenario()  # never write a file that would not load
        return dump_toml(data, self._comments(), self._header())

    # -- the new scenario ---------------------------------------------------------------
    def _data(self) -> dict:
        sc = self.scenario
        data = plain(sc, keep={"scenario", "name", "currency", "horizon_months", "trials", "seed"})
        data["scenario"]["name"] = f"{sc.name} (calibrated)"
        cust = data["customers"]
        shares = {s["id"]: s["share"] for s in self.segments} if self._shares_measured() else {}
        if sc.customers.segments or len(self.baselines) > 1:
            if not sc.customers.segments:  # segments found in the history
                cust["segments"] = [{"id": b.id} for b in self.baselines]
            for row, b in zip(cust["segments"], self.baselines):
                if b.id in shares:
                    row["share"] = shares[b.id]
                if b.fitted is not None:
                    row["baseline_churn"] = b.fitted
            if shares:
                _fix_shares(cust["segments"])
        elif self.baselines[0].fitted is not None:
            cust["baseline_churn"] = self.baselines[0].fitted
        seg_ids = [s["id"] for s in cust.get("segments", [])]
        for j, p in enumerate(sc.pain_points):
            row, info = data["pain_points"][j], self.pains[j]
            row.pop("complaints", None)
            row["volume"] = self._volume(p, info, seg_ids)
            est = self.severities[j]
            if est.fitted is not None:
                row["severity"] = est.fitted
            _reorder(row, ["id", "name", "volume", "severity"])
        for d, row in zip(sc.delighters, data.get("delighters", [])):
            if d.id in self.reach:
                row["reach"] = self._volume(d, self.reach[d.id], seg_ids)
        return data

    def _shares_measured(self) -> bool:
        """Segment shares are written for a synthetic base, when every segment is in the history."""
        return self.scenario.customers.count is not None and all(s["customers"] > 0 for s in self.segments)

    def _volume(self, driver, info: dict, seg_ids: list[str]) -> float | dict[str, float]:
        given = driver.volume if hasattr(driver, "severity") else driver.reach
        per_segment = bool(seg_ids) and (isinstance(given, dict) or info["material"])
        if not per_segment:
            return _sig(info["volume"])
        out = {}
        for s in seg_ids:
            v = info["volume_by_segment"].get(s)
            if v is None:  # a declared segment absent from the history keeps its planned volume
                v = driver_volume(self.scenario, driver, s) if self.scenario.customers.count else info["volume"]
            out[s] = _sig(v)
        return out

    def _header(self) -> list[str]:
        g, sc = self.groups, self.scenario
        how = (f"bootstrap of {self.bootstrap} resamples" if self.method == "bootstrap"
               else "the observed information matrix (delta method)")
        lines = [
            f"{sc.name} — calibrated from a customer history by `cxopt calibrate` "
            f"on {_dt.date.today().isoformat()}.",
            f"History: {g.source} — {g.n_customers:,} customers, {g.n_churned:,} left within the "
            f"{g.window_months}-month window ({g.n_churned / max(g.n_customers, 1):.2%}).",
            f"Based on {sc.source}; everything not marked 'measured' or 'fitted' is copied unchanged.",
            "Fitted by maximum likelihood: P(churn) = 1 - (1 - p_segment) * prod over pains met (1 - severity);",
            f"uncertainty from {how}, written as beta(mean, sd).",
            f"Fit: log-likelihood {self.noisy_or['log_likelihood']:,.1f} (logistic regression yardstick "
            f"{self.logistic['log_likelihood']:,.1f}); mean calibration error by decile "
            f"{self.noisy_or['calibration_error']:.2%}.",
            "The fitted baseline churn holds last year's market: [market] churn_multiplier applies on top.",
            "", *wrap(CONFOUNDING, 92),
        ]
        threats = [c for c in self.correlations if abs(c["phi"]) >= PHI_THREAT][:PHI_SHOWN]
        if threats:
            lines += wrap("Exposures that travel together (phi): " + ", ".join(
                f"{c['a']} & {c['b']} {c['phi']:+.2f}" for c in threats) + ".", 92)
        lines += self.notes
        return lines

    def _comments(self) -> dict[tuple, list[str]]:
        sc, g, out = self.scenario, self.groups, {}
        seg_rows = {s["id"]: s for s in self.segments}
        if (sc.customers.segments or len(self.baselines) > 1) and all(b.fitted for b in self.baselines):
            out[("customers", "baseline_churn")] = ["as given; every segment below has its own, fitted"]
        for i, b in enumerate(self.baselines):
            if sc.customers.segments:
                path = ("customers", "segments", [s.id for s in sc.customers.segments].index(b.id))
            elif len(self.baselines) > 1:
                path = ("customers", "segments", i)
            else:
                path = ("customers",)
            s = seg_rows.get(b.id)
            if self._shares_measured() and path != ("customers",):
                out[path + ("share",)] = [
                    f"measured: {s['customers']:,} of the history's {g.n_customers:,} customers"]
            out[path + ("baseline_churn",)] = [_estimate_comment(b, s)]
        for j, p in enumerate(sc.pain_points):
            info, est = self.pains[j], self.severities[j]
            was = (f"complaints = {p.complaints:g} / complaint_rate {p.complaint_rate:g}" if p.complaints is not None
                   else toml_value(p.volume))
            by = ", ".join(f"{k} {v:.1%}" for k, v in info["volume_by_segment"].items())
            out[("pain_points", j, "volume")] = [
                f"measured: {info['customers_exposed']:,} of {g.n_customers:,} customers met it ({info['volume']:.2%}"
                + (f"; {by}" if len(info["volume_by_segment"]) > 1 else "") + f"); was {was}"]
            out[("pain_points", j, "severity")] = [
                _estimate_comment(est, None),
                f"churn {info['churn_exposed']:.2%} among those who met it vs {info['churn_unexposed']:.2%} among "
                f"those who did not"]
        for k, d in enumerate(sc.delighters):
            if d.id in self.reach:
                out[("delighters", k, "reach")] = [
                    f"measured: {self.reach[d.id]['volume']:.2%} of the history's customers eligible; "
                    f"was {toml_value(d.reach)}"]
            else:
                out[("delighters", k, "reach")] = [f"kept as given: the history has no {EXPOSED_PREFIX}{d.id} column"]
            out[("delighters", k, "lift")] = ["kept as given: a lift cannot be measured from a history without "
                                              "an intervention"]
        return out


def _estimate_comment(e: Estimate, seg: dict | None) -> str:
    if e.fitted is None:
        return f"kept as given: {e.status}"
    lo, hi = e.interval
    what = (f" from {seg['customers']:,} customers ({seg['churned']:,} left)" if seg else "")
    boot = (f" (bootstrap {e.bootstrap_interval[0]:.2%}–{e.bootstrap_interval[1]:.2%})"
            if e.bootstrap_interval else "")
    return (f"fitted: {e.estimate:.2%} (90% interval {lo:.2%}–{hi:.2%}{boot}){what}; "
            f"was {e.given.describe()}")


def _fix_shares(rows: list[dict]) -> None:
    """Rounded shares that still sum to 1 (the largest takes the rounding)."""
    big = max(range(len(rows)), key=lambda i: rows[i]["share"])
    for i, r in enumerate(rows):
        if i != big:
            r["share"] = round(r["share"], 6)
    rows[big]["share"] = round(1.0 - sum(r["share"] for i, r in enumerate(rows) if i != big), 12)


def _reorder(row: dict, first: list[str]) -> None:
    items = [(k, row[k]) for k in first if k in row] + [(k, v) for k, v in row.items() if k not in first]
    row.clear()
    row.update(items)


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
        raise ScenarioError(Problem("", "bootstrap", f"expected a number of resamples >= 0, got {bootstrap!r}"))
    g = history if isinstance(history, HistoryGroups) else read_history(
        scenario, history, window_months=window_months, chunk_size=chunk_size, progress=progress)
    if list(g.drivers[: g.n_pains]) != [p.id for p in scenario.pain_points]:
        raise ScenarioError(Problem(g.source, "", f"the history's pain points {list(g.drivers[: g.n_pains])} are "
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
