"""Tracking: actuals against the plan's forecast, an honest re-forecast, the goal's chances now.

The method's fourth step (DESIGN.md section 3): each month-end the team records customers
and revenue lost, each initiative's process metric (weekly readings welcome) and delivery
facts. :func:`track`

* applies the **facts exactly** (``tracking.facts``) to every possible world;
* with no evidence (facts only, or no rows) re-evaluates the plan's own trials: the plan's
  forecast exactly, or exactly the facts' consequence;
* with evidence, carries the posterior over the uncertain inputs by **sequential Monte
  Carlo with resample-move** (``tracking.smc``), seeded from the plan's seed, starting from
  the plan's own first ``particles`` trials;
* **re-forecasts** the horizon: the observed months as they were, each particle's forecast
  for the rest; bands are weighted quantiles of the particles;
* states each initiative on, at risk or off track against the same planned metric path
  plan.md shows (``plan.schedule``), its updated contribution, and the wins to announce.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from cxopt.engine.draws import Draws, TrialState, draws_from_state, prior_state
from cxopt.engine.paths import monthly_path
from cxopt.engine.summary import summarise
from cxopt.errors import ArgumentError, PlanFileError, Problem
from cxopt.plan.shapley import shapley_values
from cxopt.plan.schedule import golive_label, planned_share
from cxopt.plan.store import StoredPlan
from cxopt.tracking.actuals import Actuals, plan_and_actuals, read_actuals  # read_actuals re-exported
from cxopt.engine.levels import metric_levels_in_month
from cxopt.tracking.evidence import (DEFAULT_DISPERSION, DEFAULT_LEVEL_SD, estimate_dispersion, level_loglik,
                                     loss_loglik, metric_loglik, revenue_loglik)
from cxopt.tracking.levels import level_report
from cxopt.tracking.facts import apply_facts
from cxopt.tracking.smc import SmcSettings, Step, run_smc

__all__ = ["track", "Tracking", "DEFAULT_PARTICLES", "read_actuals", "Actuals"]

DEFAULT_PARTICLES = 1_000
DEFAULT_METRIC_SD = 0.5  # a process metric on target is loose evidence on the churn effect (tracking.evidence)


@dataclass(frozen=True)
class Tracking:
    """Actuals against the forecast and the re-forecast (``to_dict()`` is the ``--json`` output)."""

    reforecast: dict
    goal_probability: dict
    effective_sample_size: float
    particles: int
    particles_unique: int
    months: list[dict]
    initiatives: dict[str, dict]
    wins: list[dict]
    trials: int
    dispersion: dict
    sampler: dict
    scenario: str = ""
    currency: str = ""
    start: str | None = None
    weights: np.ndarray = field(repr=False, default=None)
    draws: Draws | None = field(repr=False, default=None, compare=False)
    samples: dict = field(repr=False, default_factory=dict, compare=False)  # per particle: churn_rate, retained_revenue
    state: TrialState | None = field(repr=False, default=None, compare=False)  # the particles' standard inputs
    # wall seconds of the sampler's parts (SmcResult.seconds) and its move count: benchmarks read them;
    # not in the JSON (the same plan and actuals give the same JSON)
    seconds: dict = field(repr=False, default_factory=dict, compare=False)
    # per CX metric declared in [metrics]: measured vs forecast each month, the level re-forecast
    # (tracking.levels); in the JSON only when the scenario declares one
    levels: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {f.name: copy.deepcopy(getattr(self, f.name)) for f in fields(self)
                if f.name not in ("weights", "draws", "samples", "state", "seconds")
                and not (f.name == "levels" and not self.levels)}

    def to_html(self, *, title: str | None = None) -> str:
        """The tracking page: one self-contained HTML page."""
        from cxopt.report.tracking import tracking_html

        return tracking_html(self.to_dict(), title=title)


def _state(status: str | None, progress: float | None, planned: float | None, golive_p50: float, H: int) -> str:
    if status == "cancelled":
        return "off_track"
    if status == "delayed":
        return "off_track" if golive_p50 > H else "at_risk"
    if progress is not None and planned is not None and planned > 0:
        ratio = progress / planned
        if ratio >= 0.8 - 1e-9:
            return "on_track"
        return "at_risk" if ratio >= 0.5 else "off_track"
    return "on_track"


def _steps(actuals: Actuals) -> list[Step]:
    """The evidence in time order, one step a month."""
    losses = {int(m) for m, c, r in zip(actuals.months, actuals.customers_lost, actuals.revenue_lost)
              if not (np.isnan(c) and np.isnan(r))}
    measured = {int(m): tuple((name, float(v[i])) for name, v in actuals.levels.items() if not np.isnan(v[i]))
                for i, m in enumerate(actuals.months)}
    measured = {m: v for m, v in measured.items() if v}
    months = sorted(losses | set(measured) | {max(1, math.ceil(r.time - 1e-9)) for r in actuals.readings})
    steps, prev = [], 0
    for m in months:
        readings = tuple(r for r in actuals.readings if prev < r.time <= m + 1e-9)
        steps.append(Step(month=m, losses=m in losses, readings=readings, levels=measured.get(m, ())))
        prev = m
    return steps


def _level_sds(sc, level_sd: float | dict | None) -> dict[str, float]:
    """The survey noise (sd, in the metric's points) of each declared metric's measured level."""
    given = level_sd if isinstance(level_sd, dict) else {}
    if not isinstance(level_sd, dict) and level_sd is not None:
        _check("level_sd", level_sd)
    unknown = sorted(set(given) - set(sc.metrics))
    if unknown:
        raise ArgumentError("level_sd", f"names {', '.join(map(repr, unknown))}, not a metric the scenario declares "
                                        f"in [metrics] ({', '.join(sc.metrics) or 'none'})")
    out = {}
    for name in sc.metrics:
        sd = given.get(name, DEFAULT_LEVEL_SD) if isinstance(level_sd, dict) or level_sd is None else level_sd
        if sd is None or isinstance(sd, bool) or not isinstance(sd, (int, float)) or not math.isfinite(sd) or sd <= 0:
            raise ArgumentError("level_sd", f"{name}: must be a finite number > 0 (points of survey noise), got {sd!r}")
        out[name] = float(sd)
    return out


def _check(name: str, value: float | None, *, allow_none: bool = False, minimum: float = 0.0) -> None:
    if value is None and allow_none:
        return
    if value is None or isinstance(value, bool) or not math.isfinite(float(value)) or not float(value) > minimum:
        raise ArgumentError(name, f"must be a finite number > {minimum:g}, got {value!r}")


def track(plan: StoredPlan | str | Path, actuals: Actuals | str | Path, *, dispersion: float | None = None,
          metric_sd: float = DEFAULT_METRIC_SD, level_sd: float | dict[str, float] | None = None,
          particles: int | None = None, moves: int = 4, seed: int | None = None, **retired) -> Tracking:
    """Hold actuals against a stored plan's forecast and re-forecast the horizon.

    Parameters
    ----------
    plan : StoredPlan or path of a plan directory
    actuals : Actuals or path of a CSV/Parquet actuals file
    dispersion : float, optional
        Negative binomial dispersion ``k`` of monthly losses (variance ``mu + mu^2/k``). Default:
        ``DEFAULT_DISPERSION``, estimated from the observed months once there are enough.
    metric_sd : float
        Width of the process-metric likelihood (share of baseline-to-target).
    level_sd : float or {metric: float}, optional
        Survey noise of a measured CX level (the actuals' ``<metric>`` column), in the metric's
        points: the sd of the normal likelihood around each particle's forecast level that month.
        Default ``DEFAULT_LEVEL_SD`` for every declared metric (docs/decisions.md).
    particles : int, optional
        Particles carrying the posterior (default ``min(DEFAULT_PARTICLES, trials)``).
    moves : int
        Metropolis–Hastings sweeps after each resampling.
    seed : int, optional
        Default: the plan's seed (the same plan and actuals give the same numbers).

    Returns
    -------
    Tracking
    """
    for name in ("ess_threshold", "resimulate", "resimulate_trials"):
        if name in retired:
            warnings.warn(f"track({name}=...) has no purpose any more: the posterior is rejuvenated by "
                          "resample-move and never collapses onto a few trials; ignored")
            retired.pop(name)
    if retired:
        raise TypeError(f"track() got unexpected keyword arguments {sorted(retired)}")
    _check("dispersion", dispersion, allow_none=True)
    _check("metric_sd", metric_sd)
    if particles is not None and (isinstance(particles, bool) or int(particles) != particles or particles < 2):
        raise ArgumentError("particles", f"must be a whole number >= 2, got {particles!r}")
    if int(moves) != moves or moves < 0:
        raise ArgumentError("moves", f"must be a whole number >= 0, got {moves!r}")
    plan, actuals = plan_and_actuals(plan, actuals)
    sc = plan.scenario
    H = sc.horizon_months
    level_sds = _level_sds(sc, level_sd)
    sim = plan.simulation()
    sel = list(plan.selected)
    ids = sc.initiative_ids
    N = float(plan.groups.n_customers)
    goal = plan.data["goal"]
    # tracking follows churn: a goal stated in another metric is tracked at its confidence in churn
    target = float(goal["target"]) if goal.get("metric", "churn") in ("churn", "churn rate") else \
        float(np.quantile(1.0 - plan.customers / N, goal.get("confidence", 0.5), method="inverted_cdf"))
    draws_seed = int(plan.draws.seed)
    seed = draws_seed if seed is None else int(seed)  # the sampler's stream; the particles are the plan's trials
    churn_before = 1.0 - plan.customers / N
    prob_before = float(np.mean(churn_before <= target + 1e-15))
    prior_means = plan.draws.effect.mean(axis=0)

    def with_path(d: Draws) -> tuple[Draws, np.ndarray, np.ndarray]:
        path = monthly_path(sim, sel, draws=d)
        return d, path.customers_lost, path.revenue_lost

    draws, latest = apply_facts(plan.draws, ids, H, actuals)
    if not actuals.has_evidence:
        if draws is plan.draws:  # nothing happened yet: the plan's forecast, the same bits
            cust_lost, rev_lost, cust_h, rev_h = plan.customers_lost, plan.revenue_lost, plan.customers, plan.revenue
        else:
            _, cust_lost, rev_lost = with_path(draws)
            r, c = sim.evaluate([sel], draws=draws)
            rev_h, cust_h = r[0], c[0]
        w = np.full(draws.trials, 1.0 / draws.trials)
        k, k_how, sampler = (DEFAULT_DISPERSION if dispersion is None else float(dispersion)), "unused", {
            "method": "none: no evidence, the plan's trials with the facts applied"}
        step_ess, unique = float(draws.trials), draws.trials
        seconds = {}
        final_state = prior_state(sc, draws.trials, draws_seed)
    else:
        n = int(min(particles or DEFAULT_PARTICLES, plan.draws.trials))
        state = prior_state(sc, plan.draws.trials, draws_seed).take(np.arange(n))
        # a re-planned plan stores posterior draws: its particles start again from the prior of
        # the original seed, its late starters' go-lives shifted as re-planned
        replanned = plan.data.get("replanned")
        shift = {ids.index(x): int(v) for x, v in (replanned or {}).get("golive_shift", {}).items()}

        def evaluate(st) -> tuple[Draws, np.ndarray, np.ndarray]:
            d = draws_from_state(sc, st, draws_seed, sel, interpolated=True)
            if shift:
                golive = d.golive.copy()
                for k, months in shift.items():
                    golive[:, k] = np.minimum(golive[:, k] + months, H)
                d = d.with_facts(golive=golive)
            d, _ = apply_facts(d, ids, H, actuals)
            return with_path(d)

        first = draws_from_state(sc, state, draws_seed, sel)
        cols = [e for k in sel for e in range(int(first.fix_ptr[k]), int(first.fix_ptr[k + 1]))]
        if replanned is None and not (np.array_equal(first.market, plan.draws.market[:n])
                                      and np.array_equal(first.strength, plan.draws.strength[:n])
                                      and np.array_equal(first.effect[:, cols], plan.draws.effect[:n, cols])):
            raise PlanFileError(Problem(str(plan.path / "trials.parquet"), "",
                                        f"the stored draws are not those of the plan's seed {draws_seed} (edited?)"))
        _, prior_cust, _ = evaluate(state)
        if dispersion is not None:
            k, k_how = float(dispersion), "given"
        else:
            est = estimate_dispersion(actuals, prior_cust)
            k, k_how = (DEFAULT_DISPERSION, "default") if est is None else (est, "estimated")

        def step_loglik(step: Step, d: Draws, cust: np.ndarray, rev: np.ndarray) -> np.ndarray:
            ll = np.zeros(d.trials)
            if step.losses:
                i = int(np.flatnonzero(actuals.months == step.month)[0])
                y, x = actuals.customers_lost[i], actuals.revenue_lost[i]
                if not np.isnan(y):
                    ll += loss_loglik(float(y), cust[:, step.month - 1], k)
                else:
                    ll += revenue_loglik(float(x), rev[:, step.month - 1], cust[:, step.month - 1], k)
            for r in step.readings:
                kk = ids.index(r.initiative)
                init = sc.initiatives[kk]
                ll += metric_loglik(r, init.metric, init.start_month, kk, d, prior_means, metric_sd)
            for name, y in step.levels:
                forecast = metric_levels_in_month(sim, [sel], name, step.month - 1, draws=d)[0]
                ll += level_loglik(y, forecast, level_sds[name])
            return ll

        res = run_smc(state, _steps(actuals), evaluate, step_loglik, SmcSettings(moves=int(moves), seed=seed))
        draws, cust_lost, rev_lost, w = res.draws, res.customers_lost, res.revenue_lost, res.weights
        # the horizon's retained customers and revenue: the monthly path's average (DESIGN.md section 1)
        cust_h, rev_h = N - cust_lost.sum(axis=1), plan.groups.total_revenue - rev_lost.sum(axis=1)
        seconds = {**res.seconds, "moves_count": res.moves}
        step_ess = res.step_ess[-1] if res.step_ess else float(n)
        final_state = res.state
        unique = int(np.unique(np.column_stack([res.state.market, res.state.strength]), axis=0).shape[0])
        sampler = {"method": "sequential Monte Carlo, resample-move (pCN Metropolis-Hastings)",
                   "steps": len(res.step_ess), "step_ess": res.step_ess, "fractions": res.fractions,
                   "resampled": res.resampled,
                   "moves": res.moves,
                   "acceptance": float(np.mean(res.acceptance)) if res.acceptance else None}

    # re-forecast: the observed months as they were, each particle's forecast for the rest
    obs_c = ~np.isnan(actuals.customers_lost)
    obs_r = ~np.isnan(actuals.revenue_lost)
    m_c = actuals.months[obs_c] - 1
    m_r = actuals.months[obs_r] - 1
    excess_c = (actuals.customers_lost[obs_c][None, :] - cust_lost[:, m_c]).sum(axis=1)
    excess_r = (actuals.revenue_lost[obs_r][None, :] - rev_lost[:, m_r]).sum(axis=1)
    churn_now = 1.0 - (cust_h - excess_c) / N  # the plan's own form: no evidence, the same bits
    revenue_now = rev_h - excess_r
    prob_now = float(np.sum(w * (churn_now <= target + 1e-15)))

    actual_c = dict(zip((actuals.months[obs_c]).tolist(), actuals.customers_lost[obs_c].tolist()))
    actual_r = dict(zip((actuals.months[obs_r]).tolist(), actuals.revenue_lost[obs_r].tolist()))
    months = [{"month": m + 1, "forecast_customers_lost": summarise(cust_lost[:, m], w),
               "forecast_revenue_lost": summarise(rev_lost[:, m], w),
               "planned_customers_lost": summarise(plan.customers_lost[:, m]),
               "actual_customers_lost": actual_c.get(m + 1), "actual_revenue_lost": actual_r.get(m + 1)}
              for m in range(H)]

    initiatives, wins = _initiatives(plan, actuals, draws, w, latest, sim, sel)
    levels = level_report(sim, sel, plan.draws, draws, w, actuals, level_sds)
    return Tracking(
        reforecast={"retained_revenue": summarise(revenue_now, w), "churn_rate": summarise(churn_now, w),
                    "planned_retained_revenue": summarise(plan.revenue), "planned_churn_rate": summarise(churn_before)},
        goal_probability={"before": prob_before, "now": prob_now, "target_churn_rate": target},
        effective_sample_size=float(step_ess), particles=int(draws.trials), particles_unique=int(unique),
        months=months, initiatives=initiatives, wins=wins, trials=int(plan.draws.trials),
        dispersion={"value": float(k), "how": k_how}, sampler=sampler,
        scenario=sc.name, currency=sc.scenario.currency, start=plan.data.get("start"), weights=w, draws=draws,
        samples={"churn_rate": churn_now, "retained_revenue": revenue_now}, state=final_state, seconds=seconds,
        levels=levels,
    )


def _initiatives(plan: StoredPlan, actuals: Actuals, draws: Draws, w: np.ndarray, latest: dict[str, str],
                 sim, sel: list[int]) -> tuple[dict, list]:
    """Per initiative: status, metric against its planned path, updated contribution, state; the wins."""
    sc = plan.scenario
    H = sc.horizon_months
    def weighted_revenue(subsets):
        rev, _ = sim.evaluate([sorted(s) for s in subsets], draws=draws)
        return {"revenue": [np.asarray(float(np.sum(w * rev[i]))) for i in range(len(subsets))]}

    contrib = shapley_values(weighted_revenue, sel).values["revenue"]  # bounded: estimated above 10 chosen
    planned_contrib = plan.data.get("contributions", {})
    actions = {a["id"]: a for a in plan.data.get("actions", [])}
    initiatives, wins = {}, []
    for k in sel:
        init = sc.initiatives[k]
        status = latest.get(init.id, "planned")
        gl = golive_label(draws.golive[:, k]).astype(np.float64)
        gl50 = summarise(gl, w)["p50"]
        planned_gl = float(actions.get(init.id, {}).get("golive_month", {}).get("p50", gl50))
        progress = planned = None
        metric_row = None
        readings = [r for r in actuals.readings if r.initiative == init.id]
        if readings and init.metric is not None:
            last = readings[-1]
            span = init.metric.target - init.metric.baseline
            progress = (last.value - init.metric.baseline) / span if span else 1.0
            planned = float(planned_share(init.start_month, planned_gl, last.time))
            dated = abs(last.time - round(last.time)) >= 1e-9
            metric_row = {"month": max(1, math.ceil(last.time - 1e-9)), "date": last.label if dated else None,
                          "time": last.time, "observed": last.value,
                          "planned": init.metric.baseline + planned * span, "progress": progress,
                          "planned_progress": planned}
        path = []  # the process metric month by month: planned (baseline -> target) and observed
        if init.metric is not None:
            span = init.metric.target - init.metric.baseline
            observed = {int(round(r.time)): r.value for r in readings if abs(r.time - round(r.time)) < 1e-9}
            for month in range(1, H + 1):
                share = float(planned_share(init.start_month, planned_gl, month))
                path.append({"month": month, "planned": init.metric.baseline + share * span,
                             "observed": observed.get(month)})
        state = _state(status, progress, planned, gl50, H)
        initiatives[init.id] = {
            "owner": init.owner, "status": status, "state": state, "metric": metric_row, "metric_path": path,
            "metric_name": None if init.metric is None else init.metric.name,
            "weekly_readings": [{"date": r.label, "value": r.value} for r in readings
                                if abs(r.time - round(r.time)) >= 1e-9],
            "golive_month": summarise(gl, w),
            "contribution": float(contrib[k]), "planned_contribution": planned_contrib.get(init.id),
        }
        ahead = progress is not None and planned is not None and progress > planned + 0.1
        lagging = progress is not None and planned is not None and progress < planned
        early = status == "live" and gl50 < planned_gl and not lagging
        if state == "on_track" and (ahead or early):
            wins.append({"initiative": init.id, "owner": init.owner,
                         "why": "metric ahead of plan" if ahead else "live earlier than planned"})
    return initiatives, wins
