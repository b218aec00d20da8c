"""Tracking: actuals against the forecast, and a re-forecast without re-simulating the base.

The method's fourth step (DESIGN.md section 3). At each month-end the team records actual
customers and revenue lost and each initiative's process metric and delivery facts. Here:

* **Facts are applied exactly.** A cancelled initiative has ``b_k = 0`` in every trial; an
  actual or revised go-live month replaces the drawn one; an initiative not live by a
  reported month cannot have gone live before it. The stored draws are re-evaluated on the
  stored grouped statistics: no pass over the customer base.
* **Evidence re-weights the trials.** Observed monthly customers lost are scored against
  each trial's monthly forecast (Poisson, or negative binomial with dispersion ``k``:
  variance ``mu + mu^2 / k``); revenue lost is used, as counts of average customers, only
  where customers lost is not given. A process metric's progress from baseline toward
  target is evidence on the initiative's effectiveness: in trial t the expected progress
  at month m is the planned ramp (start to go-live) times the trial's effectiveness
  relative to its mean (0 when not delivered), scored with a normal likelihood of stated
  width. The effective sample size ``(sum w)^2 / sum w^2`` is reported; below a threshold
  a re-simulation is advised (``resimulate=True`` draws new trials, applies the facts
  exactly and weights them by the same evidence).
* **The re-forecast** of the horizon's churn and retained revenue takes the observed months
  as they were and the forecast for the rest.
"""

from __future__ import annotations

import datetime as _dt
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.special import gammaln

from cxopt.engine.draws import Draws, draw_trials
from cxopt.engine.summary import summarise
from cxopt.engine.paths import monthly_path
from cxopt.plan.build import shapley
from cxopt.plan.store import StoredPlan, load_plan
from cxopt.errors import ArgumentError, DataError, Problem

__all__ = ["Actuals", "read_actuals", "track", "Tracking", "STATUSES"]

STATUSES = ("planned", "live", "delayed", "cancelled")
BASE_COLUMNS = ("month", "customers_lost", "revenue_lost", "customers_active")


# --------------------------------------------------------------------------------------
# actuals
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Actuals:
    """Validated monthly actuals. Months are 1..H; missing values are NaN / None."""

    months: np.ndarray  # (M,) int, strictly increasing
    customers_lost: np.ndarray  # (M,) float, NaN where not given
    revenue_lost: np.ndarray
    customers_active: np.ndarray
    metric: dict[str, np.ndarray]  # initiative id -> (M,) float
    status: dict[str, list]  # initiative id -> (M,) str or None
    live_month: dict[str, np.ndarray]  # initiative id -> (M,) float (NaN: not given)
    source: str = ""


def _month_number(value, start: _dt.date | None, horizon: int, where: str, row: int) -> int:
    if isinstance(value, _dt.date):
        value = value.isoformat()
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        m = int(value)
    elif isinstance(value, float) and value.is_integer():
        m = int(value)
    elif isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            m = int(text)
        else:
            text = text[:7]  # 2027-02 or 2027-02-01: the month counts
            if start is None:
                raise DataError(Problem(where, "month", f"row {row}: {value!r} is a calendar month, but the "
                                                            "scenario has no [scenario] start; give months as "
                                                            f"1..{horizon}"))
            try:
                d = _dt.datetime.strptime(text, "%Y-%m").date()
            except ValueError:
                raise DataError(Problem(where, "month", f"row {row}: expected 1..{horizon} or YYYY-MM, "
                                                            f"got {value!r}")) from None
            m = (d.year - start.year) * 12 + (d.month - start.month) + 1
    else:
        raise DataError(Problem(where, "month", f"row {row}: expected 1..{horizon} or YYYY-MM, got {value!r}"))
    if not 1 <= m <= horizon:
        raise DataError(Problem(where, "month", f"row {row}: month {value!r} is outside the plan's "
                                                    f"{horizon}-month horizon"))
    return m


def read_actuals(path: str | Path, plan: StoredPlan) -> Actuals:
    """Read and validate an actuals file (CSV or Parquet) against a stored plan."""
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise DataError(Problem(where, "", "no such file"))
    try:
        if path.suffix.lower() == ".parquet":
            table = pq.read_table(path)
        elif path.suffix.lower() == ".xlsx":  # a filled actuals-template.xlsx: the same table, cells named
            from cxopt.data.workbook import read_actuals_workbook

            table = read_actuals_workbook(path)
        else:
            table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(Problem(where, "", f"cannot read: {exc}")) from None
    sc = plan.scenario
    ids = set(sc.initiative_ids)
    chosen = {sc.initiative_ids[k] for k in plan.selected}
    names = table.column_names
    if "month" not in names:
        raise DataError(Problem(where, "month", "missing column"))
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(Problem(where, name, "the column is given twice"))
        seen.add(name)
    for name in names:
        if name in BASE_COLUMNS:
            continue
        kid, _, what = name.rpartition(".")
        if not kid or what not in ("metric", "status", "live_month"):
            problems.append(Problem(where, name, "unknown column (expected month, customers_lost, revenue_lost, "
                                                 "customers_active or <initiative>.metric/.status/.live_month)"))
        elif kid not in ids:
            problems.append(Problem(where, name, f"unknown initiative {kid!r}"))
        elif what == "metric" and sc.initiative(kid).metric is None:
            problems.append(Problem(where, name, f"initiative {kid!r} has no process metric in the scenario"))
        elif kid not in chosen:
            warnings.warn(f"{where}: {name}: {kid!r} is not in the plan's portfolio; ignored")
    if problems:
        raise DataError(problems)
    rows = table.to_pylist()
    if not rows:
        raise DataError(Problem(where, "", "no rows"))
    start = sc.scenario.start
    H = sc.horizon_months
    months = []
    for i, r in enumerate(rows, start=1):
        if r["month"] is None:
            raise DataError(Problem(where, "month", f"row {i}: missing value"))
        m = _month_number(r["month"], start, H, where, i)
        if months and m <= months[-1]:
            raise DataError(Problem(where, "month", f"row {i}: month {m} is not after month {months[-1]} "
                                                        "(months must be in order, each once)"))
        months.append(m)

    def numbers(name: str, *, integer_like: bool = False) -> np.ndarray:
        out = np.full(len(rows), np.nan)
        if name not in names:
            return out
        for i, r in enumerate(rows):
            v = r[name]
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            try:
                x = float(v)
            except (TypeError, ValueError):
                raise DataError(Problem(where, name, f"row {i + 1}: expected a number, got {v!r}")) from None
            if not math.isfinite(x):
                raise DataError(Problem(where, name, f"row {i + 1}: not a finite number"))
            if x < 0 and name != "month" and not name.endswith(".metric"):
                raise DataError(Problem(where, name, f"row {i + 1}: negative value {x:g}"))
            out[i] = x
        return out

    metric, status, live = {}, {}, {}
    for kid in [x for x in sc.initiative_ids if x in chosen]:
        if f"{kid}.metric" in names:
            metric[kid] = numbers(f"{kid}.metric")
        if f"{kid}.live_month" in names:
            values = numbers(f"{kid}.live_month")
            bad = ~np.isnan(values) & ((values != np.round(values)) | (values > H))
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise DataError(Problem(where, f"{kid}.live_month", f"row {i + 1}: expected a whole month "
                                                                       f"0..{H}, got {values[i]:g}"))
            live[kid] = values
        if f"{kid}.status" in names:
            col = []
            for i, r in enumerate(rows):
                v = r[f"{kid}.status"]
                if v is None or (isinstance(v, str) and not v.strip()):
                    col.append(None)
                    continue
                v = str(v).strip().lower()
                if v not in STATUSES:
                    raise DataError(Problem(where, f"{kid}.status", f"row {i + 1}: expected one of "
                                                                       f"{', '.join(STATUSES)}, got {v!r}"))
                col.append(v)
            status[kid] = col
    return Actuals(months=np.array(months, dtype=np.int64), customers_lost=numbers("customers_lost"),
                   revenue_lost=numbers("revenue_lost"), customers_active=numbers("customers_active"),
                   metric=metric, status=status, live_month=live, source=where)


# --------------------------------------------------------------------------------------
# facts and evidence
# --------------------------------------------------------------------------------------
def apply_facts(draws: Draws, plan: StoredPlan, actuals: Actuals) -> tuple[Draws, dict[str, str]]:
    """The draws with delivery facts imposed exactly, and each initiative's latest status."""
    success = draws.success.copy()
    golive = draws.golive.copy()
    H = plan.scenario.horizon_months
    ids = plan.scenario.initiative_ids
    latest: dict[str, str] = {}
    for kid in ids:
        k = ids.index(kid)
        st = actuals.status.get(kid, [None] * len(actuals.months))
        lm = actuals.live_month.get(kid, np.full(len(actuals.months), np.nan))
        for i, month in enumerate(actuals.months):
            s = st[i]
            if s is not None:
                latest[kid] = s
            if s == "cancelled":
                success[:, k] = False
            if not np.isnan(lm[i]):
                golive[:, k] = int(lm[i])
                if s in ("live", None) and int(lm[i]) < month:
                    success[:, k] = True  # it went live: delivered
            elif s == "live":
                # live in this month (0-based month - 1) at the latest
                success[:, k] = True
                golive[:, k] = np.minimum(golive[:, k], month - 1)
            elif s in ("planned", "delayed"):
                # not live by the end of this month: cannot have gone live before the next
                golive[:, k] = np.maximum(golive[:, k], min(month, H))
    return draws.with_facts(success=success, golive=golive), latest


def _loss_loglik(y: np.ndarray, mu: np.ndarray, dispersion: float | None) -> np.ndarray:
    mu = np.maximum(mu, 1e-12)
    if dispersion is None:
        return y * np.log(mu) - mu - gammaln(y + 1.0)
    k = dispersion
    return (gammaln(y + k) - gammaln(k) - gammaln(y + 1.0) + k * np.log(k / (k + mu)) + y * np.log(mu / (k + mu)))


def _effectiveness_ratio(plan: StoredPlan, draws: Draws, k: int) -> np.ndarray:
    """Per trial, the initiative's effectiveness relative to its mean (mean over its fixes)."""
    cols = range(draws.fix_ptr[k], draws.fix_ptr[k + 1])
    ratios = [draws.effect[:, e] / max(draws.effect[:, e].mean(), 1e-12) for e in cols]
    return np.mean(ratios, axis=0) if ratios else np.ones(draws.trials)


def _planned_progress(init, golive: np.ndarray, month: int) -> np.ndarray:
    """Planned share of the way from metric baseline to target by the end of ``month`` (1-based)."""
    elapsed = month - init.start_month
    span = np.maximum(golive - init.start_month, 1)
    return np.clip(elapsed / span, 0.0, 1.0)


def evidence_loglik(plan: StoredPlan, draws: Draws, customers_lost: np.ndarray, revenue_lost: np.ndarray,
                    actuals: Actuals, *, dispersion: float | None, metric_sd: float) -> np.ndarray:
    """Per trial log-likelihood of the observed months and process metrics."""
    ll = np.zeros(draws.trials)
    for i, month in enumerate(actuals.months):
        m = month - 1
        y = actuals.customers_lost[i]
        if not np.isnan(y):
            ll += _loss_loglik(np.full(draws.trials, y), customers_lost[:, m], dispersion)
        elif not np.isnan(actuals.revenue_lost[i]):
            # revenue as counts of the trial's average lost customer
            per = revenue_lost[:, m] / np.maximum(customers_lost[:, m], 1e-12)
            ll += _loss_loglik(actuals.revenue_lost[i] / per, customers_lost[:, m], dispersion)
    sc = plan.scenario
    for kid, values in actuals.metric.items():
        k = sc.initiative_ids.index(kid)
        init = sc.initiatives[k]
        if init.metric is None or init.metric.target == init.metric.baseline:
            continue
        ratio = _effectiveness_ratio(plan, draws, k)
        for i, month in enumerate(actuals.months):
            x = values[i]
            if np.isnan(x):
                continue
            observed = (x - init.metric.baseline) / (init.metric.target - init.metric.baseline)
            expected = _planned_progress(init, draws.golive[:, k], month) * ratio * draws.success[:, k]
            ll += -0.5 * ((observed - expected) / metric_sd) ** 2
    return ll


def _weights(ll: np.ndarray) -> np.ndarray:
    w = np.exp(ll - ll.max())
    return w / w.sum()


# --------------------------------------------------------------------------------------
# the tracking result
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tracking:
    """Actuals against the forecast and the re-forecast."""

    reforecast: dict
    goal_probability: dict
    effective_sample_size: float
    ess_threshold: float
    resimulate_advised: bool
    months: list[dict]
    initiatives: dict[str, dict]
    wins: list[dict]
    trials: int
    resimulated: bool
    scenario: str = ""
    currency: str = ""
    start: str | None = None
    weights: np.ndarray = field(repr=False, default=None)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("weights")
        return d

    def to_html(self, *, title: str | None = None) -> str:
        """The tracking page: one self-contained HTML page (needs the ``report`` extra, matplotlib).

        The forecast fan with the actual months drawn over it, the re-forecast and the goal's
        probability before and now, the effective sample size, each initiative's process
        metric against its planned path, its status, state and contribution, and the wins.
        """
        from cxopt.report.tracking import tracking_html

        return tracking_html(self.to_dict(), title=title)


def _state(status: str | None, progress: float | None, planned: float | None, golive_p50: float, H: int) -> str:
    if status == "cancelled":
        return "off_track"
    if status == "delayed":
        return "off_track" if golive_p50 >= H else "at_risk"
    if progress is not None and planned is not None and planned > 0:
        ratio = progress / planned
        if ratio >= 0.8:
            return "on_track"
        return "at_risk" if ratio >= 0.5 else "off_track"
    return "on_track"


def track(plan: StoredPlan | str | Path, actuals: Actuals | str | Path, *, dispersion: float | None = None,
          metric_sd: float = 0.15, ess_threshold: float = 200.0, resimulate: bool = False,
          resimulate_trials: int | None = None, seed: int | None = None) -> Tracking:
    """Hold actuals against a stored plan's forecast and re-forecast the horizon.

    Parameters
    ----------
    plan : StoredPlan or path of a plan directory
    actuals : Actuals or path of a CSV/Parquet actuals file
    dispersion : float, optional
        Negative binomial dispersion ``k`` for monthly losses (None: Poisson).
    metric_sd : float
        Width of the normal likelihood of process-metric progress (share of baseline-to-target).
    ess_threshold : float
        Below this effective sample size a re-simulation is advised.
    resimulate : bool
        Draw new trials (``resimulate_trials``, default 4x the plan's) with the facts applied.
    """
    if not isinstance(plan, StoredPlan):
        plan = load_plan(plan)
    if not isinstance(actuals, Actuals):
        actuals = read_actuals(actuals, plan)
    if dispersion is not None and not dispersion > 0:
        raise ArgumentError("dispersion", f"must be > 0, got {dispersion}")
    if not metric_sd > 0:
        raise ArgumentError("metric_sd", f"must be > 0, got {metric_sd}")
    sc = plan.scenario
    H = sc.horizon_months
    sim = plan.simulation()
    sel = list(plan.selected)
    N = float(plan.groups.n_customers)
    goal = plan.data["goal"]
    target = float(goal["target"])

    # before: the plan's own forecast, equal weights
    churn_before = 1.0 - plan.customers / N
    prob_before = float(np.mean(churn_before <= target + 1e-15))

    base_draws = plan.draws
    if resimulate:
        T_new = int(resimulate_trials or 4 * base_draws.trials)
        base_draws = draw_trials(sc, T_new, (plan.draws.seed if seed is None else seed) + 1_000_003)
    draws, latest = apply_facts(base_draws, plan, actuals)
    unchanged = draws is base_draws or (np.array_equal(draws.success, base_draws.success)
                                        and np.array_equal(draws.golive, base_draws.golive))
    if unchanged and not resimulate:
        cust_lost, rev_lost = plan.customers_lost, plan.revenue_lost
        cust_h, rev_h = plan.customers, plan.revenue
    else:
        path = monthly_path(sim, sel, draws=draws)
        cust_lost, rev_lost = path.customers_lost, path.revenue_lost
        r, c = sim.evaluate([sel], draws=draws)
        rev_h, cust_h = r[0], c[0]
    ll = evidence_loglik(plan, draws, cust_lost, rev_lost, actuals, dispersion=dispersion, metric_sd=metric_sd)
    w = _weights(ll)
    ess = float(1.0 / np.sum(w ** 2))

    # re-forecast: observed months as they were, the forecast for the rest
    obs_c = np.zeros(H, dtype=bool)
    obs_r = np.zeros(H, dtype=bool)
    c_val = np.zeros(H)
    r_val = np.zeros(H)
    for i, month in enumerate(actuals.months):
        if not np.isnan(actuals.customers_lost[i]):
            obs_c[month - 1], c_val[month - 1] = True, actuals.customers_lost[i]
        if not np.isnan(actuals.revenue_lost[i]):
            obs_r[month - 1], r_val[month - 1] = True, actuals.revenue_lost[i]
    # horizon value under the facts, corrected month by month where actuals are known
    excess_c = ((c_val[None, :] - cust_lost) * obs_c[None, :]).sum(axis=1)  # more lost than forecast
    excess_r = ((r_val[None, :] - rev_lost) * obs_r[None, :]).sum(axis=1)
    churn_now = 1.0 - (cust_h - excess_c) / N  # the plan's own form: no evidence, the same bits
    revenue_now = rev_h - excess_r
    prob_now = float(np.sum(w * (churn_now <= target + 1e-15)))

    months = []
    for m in range(H):
        row = {"month": m + 1, "forecast_customers_lost": summarise(cust_lost[:, m], w),
               "forecast_revenue_lost": summarise(rev_lost[:, m], w),
               "planned_customers_lost": summarise(plan.customers_lost[:, m]),
               "actual_customers_lost": float(c_val[m]) if obs_c[m] else None,
               "actual_revenue_lost": float(r_val[m]) if obs_r[m] else None}
        months.append(row)

    # per initiative: status, metric vs plan, updated contribution (Shapley on the facts), state
    import itertools

    subsets = [frozenset(c) for r in range(len(sel) + 1) for c in itertools.combinations(sel, r)]
    rev, _ = sim.evaluate([sorted(s) for s in subsets], draws=draws)
    values = {s: float(np.sum(w * rev[i])) for i, s in enumerate(subsets)}
    contrib = shapley({s: np.asarray(v) for s, v in values.items()}, sel)
    planned_contrib = plan.data.get("contributions", {})
    initiatives, wins = {}, []
    actions = {a["id"]: a for a in plan.data.get("actions", [])}
    for k in sel:
        init = sc.initiatives[k]
        status = latest.get(init.id, "planned")
        gl = draws.golive[:, k]
        gl50 = float(np.quantile(gl, 0.5))
        progress = planned = None
        metric_row = None
        series = actuals.metric.get(init.id)
        if series is not None and init.metric is not None and not np.all(np.isnan(series)):
            i = int(np.flatnonzero(~np.isnan(series))[-1])
            month = int(actuals.months[i])
            x = float(series[i])
            span = init.metric.target - init.metric.baseline
            progress = (x - init.metric.baseline) / span if span else 1.0
            planned_gl = actions.get(init.id, {}).get("golive_month", {}).get("p50", gl50)
            planned = float(_planned_progress(init, np.array([planned_gl]), month)[0])
            metric_row = {"month": month, "observed": x, "planned": init.metric.baseline + planned * span,
                          "progress": progress, "planned_progress": planned}
        path = []  # the process metric month by month: planned (baseline -> target) and observed
        if init.metric is not None:
            planned_gl = actions.get(init.id, {}).get("golive_month", {}).get("p50", gl50)
            span = init.metric.target - init.metric.baseline
            observed = {int(m): float(v) for m, v in zip(actuals.months, series if series is not None else [])
                        if not np.isnan(v)}
            for month in range(1, H + 1):
                share = float(_planned_progress(init, np.array([planned_gl]), month)[0])
                path.append({"month": month, "planned": init.metric.baseline + share * span,
                             "observed": observed.get(month)})
        state = _state(status, progress, planned, gl50, H)
        initiatives[init.id] = {
            "owner": init.owner, "status": status, "state": state, "metric": metric_row, "metric_path": path,
            "metric_name": None if init.metric is None else init.metric.name,
            "golive_month": summarise(gl.astype(np.float64), w),
            "contribution": float(contrib[k]), "planned_contribution": planned_contrib.get(init.id),
        }
        ahead = progress is not None and planned is not None and progress > planned + 0.1
        planned_gl = actions.get(init.id, {}).get("golive_month", {}).get("p50")
        lagging = progress is not None and planned is not None and progress < planned
        early = status == "live" and planned_gl is not None and gl50 < planned_gl and not lagging
        if state == "on_track" and (ahead or early):
            wins.append({"initiative": init.id, "owner": init.owner,
                         "why": "metric ahead of plan" if ahead else "live earlier than planned"})
    return Tracking(
        reforecast={"retained_revenue": summarise(revenue_now, w), "churn_rate": summarise(churn_now, w),
                    "planned_retained_revenue": summarise(plan.revenue), "planned_churn_rate": summarise(churn_before)},
        goal_probability={"before": prob_before, "now": prob_now, "target_churn_rate": target},
        effective_sample_size=ess, ess_threshold=ess_threshold, resimulate_advised=ess < ess_threshold,
        months=months, initiatives=initiatives, wins=wins, trials=draws.trials, resimulated=resimulate,
        scenario=sc.name, currency=sc.scenario.currency, start=plan.data.get("start"), weights=w,
    )
