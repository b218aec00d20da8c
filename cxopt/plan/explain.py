"""A plan explains itself (DESIGN.md section 3): what each initiative fixes, the risk left, the return.

* **Drivers.** A pain's market at risk in trial t, over the horizon, is the expected number of
  customers it would cost: ``sigma_jt x sum_s W_sj (1/H) sum_tau (1 - F_jt(S, s, tau))`` with
  ``W_sj`` the customers of segment s exposed to j (DESIGN.md section 1's ``F``: the share of j's
  churn the live initiatives targeting s remove). What an initiative removes of it is its exact
  Shapley value over the chosen initiatives (the same subsets as the contributions), divided by
  the pain's baseline risk: per trial, so each share has a band, and the shares of one pain add
  up to what the portfolio removes. For a delighter the same is done with the share of its
  eligible customers it reaches (``share_delivered``).
* **Risk left.** ``market_at_risk_after``: the share of customers (and of revenue) lost because
  of pain points, ``1 - prod_j (1 - sigma_jt (1 - F_jt))`` averaged over customers, over the
  horizon's months and over trials; beside it the full-effect value (every chosen initiative
  delivered and live from month 1). Per-pain losses add up to more than the total: a customer
  exposed to two pains is lost once (the overlap, reported as a number).
* **Return.** Gain (margin on retained revenue where ``[scenario] margin`` is given, plus
  operating ``savings``) per unit of cost, per initiative (its Shapley gain) and for the
  portfolio; payback month: the first month label whose cumulative gain, from the monthly path,
  reaches the cumulative cost (spent in month 1, or in the month ``[budget.months]`` gives its
  period). An initiative's payback is that of the initiative on its own (its own path). A year's
  savings accrue monthly while the initiative is live; per-period savings count in the period's
  month when the initiative is delivered (:func:`cxopt.engine.operating.monthly_savings`, the count
  the optimiser's ``value`` objective uses too). H + 1 stands for "not within the horizon".
* **Quick wins** and **the voices** (pains ranked by complaints beside by damage).
"""

from __future__ import annotations


import numpy as np

from cxopt.engine.arrays import segment_targets
from cxopt.engine.operating import monthly_savings
from cxopt.engine.paths import MonthlyPath, live_matrix, monthly_path
from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.plan.shapley import shapley_values

TRIAL_BLOCK = 1024  # kept for callers that set it; the kernel needs no blocks

__all__ = ["fixed_share", "driver_shares", "risk_left", "returns", "quick_wins", "voices",
           "QUICK_WIN_MONTH", "QUICK_WIN_SUCCESS"]

QUICK_WIN_MONTH = 3  # go-live label within the first quarter
QUICK_WIN_SUCCESS = 0.8


def _exposed_weights(sim: Simulation, weight: np.ndarray) -> np.ndarray:
    """(S, D): ``weight`` (customers or revenue per group) summed over the groups of segment s exposed to j."""
    g = sim.groups
    S, D = len(g.segments), len(sim.scenario.drivers)
    out = np.zeros((max(S, 1), D))
    for j in range(D):
        e = g.exposed(j)
        out[:, j] = np.bincount(g.segment[e], weights=weight[e], minlength=max(S, 1))
    return out


def _not_fixed(sim: Simulation, portfolio: list[int], live: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(T, S, D): ``prod (1 - f_kjt)`` over the initiatives live (``live``: (T, P)) targeting segment s."""
    d = sim.draws
    S, D = target.shape[1], len(sim.scenario.drivers)
    out = np.ones((d.trials, S, D))
    for q, k in enumerate(portfolio):
        for e in range(d.fix_ptr[k], d.fix_ptr[k + 1]):
            j = int(d.fix_driver[e])
            factor = np.where(live[:, q], 1.0 - d.effect[:, e], 1.0)
            out[:, target[k], j] *= factor[:, None]
    return out


def _months(sim: Simulation, portfolio: list[int], full_effect: bool):
    """Each distinct live matrix of the horizon's months, with how many months it holds."""
    d = sim.draws
    H = sim.scenario.horizon_months
    p = list(portfolio)
    if full_effect:
        return [(np.ones((d.trials, len(p)), dtype=bool), H)]
    seen: dict[bytes, list] = {}
    for tau in range(H):
        live = live_matrix(d, p, tau)
        key = live.tobytes()
        if key in seen:
            seen[key][1] += 1
        else:
            seen[key] = [live, 1]
    return [(live, n) for live, n in seen.values()]


def fixed_share(sim: Simulation, portfolio, *, full_effect: bool = False) -> np.ndarray:
    """(T, S, D): ``F_jt`` per segment averaged over the horizon's months (or with every initiative live)."""
    p = sorted(int(k) for k in portfolio)
    target = segment_targets(sim.scenario, sim.groups)
    H = sim.scenario.horizon_months
    acc = np.zeros((sim.trials, target.shape[1], len(sim.scenario.drivers)))
    for live, n in _months(sim, p, full_effect):
        acc += n * (1.0 - _not_fixed(sim, p, live, target))
    return acc / H


def _pain_risk(sim: Simulation, F: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(T, n_pains): each pain's risk left (customers or revenue) given the averaged fixed shares F."""
    n_p = len(sim.scenario.pain_points)
    sigma = sim.draws.strength[:, :n_p]
    return sigma * np.einsum("sj,tsj->tj", W[:, :n_p], 1.0 - F[:, :, :n_p])


def driver_shares(sim: Simulation, portfolio) -> dict[str, list[dict]]:
    """Per chosen initiative id: ``[{driver, kind, share_removed | share_delivered}]`` (Shapley, with bands)."""
    sc = sim.scenario
    sel = sorted(int(k) for k in portfolio)
    n_p = len(sc.pain_points)
    W = _exposed_weights(sim, sim.groups.customers.astype(np.float64))
    eligible = W[:, n_p:].sum(axis=0)
    base = _pain_risk(sim, fixed_share(sim, []), W)

    def evaluate(subsets: list[frozenset]) -> dict[str, list[np.ndarray]]:
        out: dict[str, list[np.ndarray]] = {"removed": [], "delivered": []}
        for s in subsets:
            F = fixed_share(sim, sorted(s))
            out["removed"].append(base - _pain_risk(sim, F, W))
            out["delivered"].append(np.einsum("sj,tsj->tj", W[:, n_p:], F[:, :, n_p:]))
        return out

    # bounded like the revenue contributions: exact up to plan.shapley's limit, sampled above
    sh = shapley_values(evaluate, sel) if sel else None  # the same orders as the revenue contributions
    sh_removed = sh.values["removed"] if sh else {}
    sh_delivered = sh.values["delivered"] if sh else {}
    out: dict[str, list[dict]] = {}
    for k in sel:
        acts_on = sorted({int(sim.draws.fix_driver[e]) for e in range(sim.draws.fix_ptr[k], sim.draws.fix_ptr[k + 1])})
        rows = []
        for j in acts_on:
            drv = sc.drivers[j]
            if j < n_p:
                with np.errstate(invalid="ignore", divide="ignore"):
                    share = np.where(base[:, j] > 0, sh_removed[k][:, j] / base[:, j], 0.0)
                rows.append({"driver": drv.id, "name": drv.label, "kind": "pain_point",
                             "share_removed": summarise(share),
                             "customers_kept": summarise(sh_removed[k][:, j])})
            else:
                d = j - n_p
                share = sh_delivered[k][:, d] / eligible[d] if eligible[d] > 0 else np.zeros(sim.trials)
                rows.append({"driver": drv.id, "name": drv.label, "kind": "delighter", "share_removed": None,
                             "share_delivered": summarise(share)})
        out[sc.initiatives[k].id] = rows
    return out


def _loss_keys(sim: Simulation) -> tuple:
    """The groups summed over their delighters: (segment per key, pains per key, N per key, A per key,
    N total, A total). Groups that differ only in delighters survive the pains alike."""
    g = sim.groups
    n_p = len(sim.scenario.pain_points)
    N = g.customers.astype(np.float64)
    A = g.revenue
    pains = np.column_stack([g.exposed(j) for j in range(n_p)]) if n_p else np.zeros((g.n_groups, 0), bool)
    keys, inverse = np.unique(np.column_stack([g.segment.astype(np.int64), pains]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    N_u = np.bincount(inverse, weights=N, minlength=len(keys))
    A_u = np.bincount(inverse, weights=A, minlength=len(keys))
    return keys[:, 0], keys[:, 1:].astype(np.float64), N_u, A_u, N.sum(), A.sum()


def _lost(sim: Simulation, keys: tuple, F: np.ndarray, trials: np.ndarray | None = None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Per row r of ``F`` ((R, S, D): trial ``trials[r]``, default row r = trial r): the customers and
    revenue lost because of pain points (``lost @ N``, ``lost @ A``; not yet divided by the totals),
    by :func:`cxopt.kernels.risk.pain_losses`."""
    seg_u, E_u, N_u, A_u, _, _ = keys
    n_p = len(sim.scenario.pain_points)
    sigma = np.ascontiguousarray(sim.draws.strength[:, :n_p])
    rows = np.arange(F.shape[0], dtype=np.int64) if trials is None else np.asarray(trials, dtype=np.int64)
    F_p = np.ascontiguousarray(F[:, :, :n_p])

    def compute():
        from cxopt.kernels.risk import pain_losses

        E = E_u.astype(np.bool_)
        use_table = n_p <= 20 and (1 << n_p) <= 4 * max(len(seg_u), 1)
        mask = (E.astype(np.int64) << np.arange(n_p, dtype=np.int64)).sum(axis=1) if use_table else \
            np.zeros(len(seg_u), dtype=np.int64)
        return pain_losses(sigma, F_p, rows, seg_u.astype(np.int64), mask, E, N_u, A_u, use_table)

    # keys, sigma: from the groups and the trials' severities (the simulation's shared inputs)
    return sim.stored("pain_losses", (F_p, rows), compute)


def _market_at_risk(sim: Simulation, F_month: list[tuple[np.ndarray, int]], keys: tuple | None = None
                    ) -> dict[str, np.ndarray]:
    """Per trial: customers and revenue shares lost because of pain points, averaged over the months given.

    A group's customers survive the pains with probability ``prod_j (1 - sigma_j (1 - F_sj))`` over the
    pains it is exposed to; groups that differ only in delighters share it, so they are summed first
    (:func:`_loss_keys`), and the product is taken per trial by :func:`cxopt.kernels.risk.pain_losses`.
    """
    keys = keys or _loss_keys(sim)
    N_sum, A_sum = keys[4], keys[5]
    total = sum(n for _, n in F_month)
    T = sim.trials
    cust = np.zeros(T)
    rev = np.zeros(T)
    for F, n in F_month:
        c, r = _lost(sim, keys, F)
        cust += n * c / N_sum
        if A_sum > 0:
            rev += n * r / A_sum
    return {"customers": cust / total, "revenue": rev / total}


def _market_at_risk_by_epoch(sim: Simulation, portfolio: list[int], target: np.ndarray, keys: tuple,
                             nothing: tuple[np.ndarray, np.ndarray], full: tuple[np.ndarray, np.ndarray]
                             ) -> dict[str, np.ndarray] | None:
    """:func:`_market_at_risk` over the horizon's months, valued once per distinct live set of each
    trial (its epochs: a handful) instead of once per month; the months with nothing live (every
    chosen initiative live) take the rows of ``nothing`` (``full``), (customers, revenue) per trial
    from :func:`_lost` with F = 0 (every initiative live). Equal to it up to the order of the additions.
    None when the portfolio is too large for a bit pattern of its live set (the caller goes by month)."""
    d = sim.draws
    H = sim.scenario.horizon_months
    P = len(portfolio)
    if P > 30 or P == 0:
        return None
    T = d.trials
    code = np.zeros((T, H), dtype=np.int64)
    for tau in range(H):
        code[:, tau] = (live_matrix(d, portfolio, tau).astype(np.int64) << np.arange(P, dtype=np.int64)).sum(axis=1)
    rows, n = np.unique((np.arange(T, dtype=np.int64)[:, None] << P) | code, return_counts=True)
    t_r, c_r = rows >> P, rows & ((1 << P) - 1)
    cust = np.where(c_r == 0, nothing[0][t_r], full[0][t_r])
    rev = np.where(c_r == 0, nothing[1][t_r], full[1][t_r])
    mid = np.flatnonzero((c_r != 0) & (c_r != (1 << P) - 1))
    if mid.size:
        live = ((c_r[mid, None] >> np.arange(P, dtype=np.int64)) & 1).astype(bool)
        F = 1.0 - _not_fixed_rows(sim, portfolio, live, target, t_r[mid])
        cust[mid], rev[mid] = _lost(sim, keys, F, t_r[mid])
    N_sum, A_sum = keys[4], keys[5]
    out_c = np.bincount(t_r, weights=n * cust / N_sum, minlength=T)
    out_r = np.bincount(t_r, weights=n * rev / A_sum, minlength=T) if A_sum > 0 else np.zeros(T)
    return {"customers": out_c / H, "revenue": out_r / H}


def _not_fixed_rows(sim: Simulation, portfolio: list[int], live: np.ndarray, target: np.ndarray,
                    trials: np.ndarray) -> np.ndarray:
    """:func:`_not_fixed` for rows (trial ``trials[r]`` with ``live[r]`` live): (R, S, D)."""
    d = sim.draws
    S, D = target.shape[1], len(sim.scenario.drivers)
    out = np.ones((trials.shape[0], S, D))
    for q, k in enumerate(portfolio):
        for e in range(d.fix_ptr[k], d.fix_ptr[k + 1]):
            j = int(d.fix_driver[e])
            factor = np.where(live[:, q], 1.0 - d.effect[trials, e], 1.0)
            out[:, target[k], j] *= factor[:, None]
    return out


def _shares(lost: tuple[np.ndarray, np.ndarray], keys: tuple, n: int) -> dict[str, np.ndarray]:
    """:func:`_market_at_risk` of ``[(F, n)]`` from F's rows ``lost`` (:func:`_lost`), in its very steps."""
    N_sum, A_sum = keys[4], keys[5]
    return {"customers": n * lost[0] / N_sum / n,
            "revenue": n * lost[1] / A_sum / n if A_sum > 0 else np.zeros_like(lost[1])}


def risk_left(sim: Simulation, portfolio) -> dict:
    """Market at risk after the portfolio (horizon-averaged and at full effect), per pain and in total,
    the overlap, and what the portfolio delivers of each delighter."""
    sc = sim.scenario
    p = sorted(int(k) for k in portfolio)
    n_p = len(sc.pain_points)
    target = segment_targets(sc, sim.groups)
    months = [(1.0 - _not_fixed(sim, p, live, target), n) for live, n in _months(sim, p, False)]
    full = [(1.0 - _not_fixed(sim, p, live, target), n) for live, n in _months(sim, p, True)]
    keys = _loss_keys(sim)
    rows = {"baseline": _lost(sim, keys, np.zeros_like(months[0][0])), "full_effect": _lost(sim, keys, full[0][0])}
    totals = {"baseline": _shares(rows["baseline"], keys, 1), "full_effect": _shares(rows["full_effect"], keys, full[0][1])}
    totals["after"] = _market_at_risk_by_epoch(sim, p, target, keys, rows["baseline"], rows["full_effect"]) or \
        _market_at_risk(sim, months, keys)
    totals = {k: totals[k] for k in ("baseline", "after", "full_effect")}
    H = sc.horizon_months
    F_avg = sum(F * n for F, n in months) / H
    F_full = full[0][0]
    W = _exposed_weights(sim, sim.groups.customers.astype(np.float64))
    N = float(sim.n_customers)
    base, after, at_full = (_pain_risk(sim, F, W) / N for F in (np.zeros_like(F_avg), F_avg, F_full))
    pains = []
    for j, pain in enumerate(sc.pain_points):
        pains.append({"id": pain.id, "name": pain.label, "baseline": summarise(base[:, j]),
                      "removed": summarise(base[:, j] - after[:, j]), "left": summarise(after[:, j]),
                      "left_full_effect": summarise(at_full[:, j])})
    overlap = {name: summarise(per.sum(axis=1) - totals[key]["customers"])
               for name, per, key in (("baseline", base, "baseline"), ("after", after, "after"))}
    delighters = []
    for d, x in enumerate(sc.delighters):
        j = n_p + d
        eligible = float(W[:, j].sum())
        lift = x.lift
        q10, q90 = (float(v) for v in lift.quantile(np.array([0.1, 0.9])))
        share = (np.einsum("s,ts->t", W[:, j], F_avg[:, :, j]) / eligible) if eligible > 0 else np.zeros(sim.trials)
        delighters.append({"id": x.id, "name": x.label, "reach": eligible / N if N else 0.0,
                           "eligible_customers": eligible,
                           "lift": {"mean": float(lift.mean()), "p10": q10, "p90": q90},
                           "share_delivered": summarise(share),
                           "customers_delighted": summarise(share * eligible)})
    return {
        "market_at_risk_after": {k: float(v.mean()) for k, v in totals["after"].items()},
        "risk_left": {
            "market_at_risk": {key: {k: summarise(v) for k, v in val.items()} for key, val in totals.items()},
            "pain_points": pains,
            "overlap": overlap,
        },
        "delighters": delighters,
    }


# ---------------------------------------------------------------- return


def _spend(sim: Simulation, costs: np.ndarray, periods) -> np.ndarray:
    """(H,) cost spent in each month (index = label - 1) for per-period costs ``costs``."""
    H = sim.scenario.horizon_months
    out = np.zeros(H)
    for i, p in enumerate(periods):
        out[min(max(sim.scenario.period_month(p), 1), H) - 1] += costs[i]
    return out


def payback_month(monthly_gain: np.ndarray, monthly_cost: np.ndarray) -> np.ndarray:
    """(T,) first month label whose cumulative gain reaches the cumulative cost; H + 1: not within the horizon."""
    H = monthly_gain.shape[1]
    ahead = np.cumsum(monthly_gain, axis=1) >= np.cumsum(monthly_cost)[None, :] - 1e-9
    return np.where(ahead.any(axis=1), ahead.argmax(axis=1) + 1, H + 1)


def _return_figures(gain: np.ndarray, cost: float, monthly_gain: np.ndarray, monthly_cost: np.ndarray,
                    H: int) -> dict:
    pay = payback_month(monthly_gain, monthly_cost)
    q10, q50, q90 = (float(x) for x in np.quantile(pay, [0.1, 0.5, 0.9]))
    return {"gain": summarise(gain), "cost": cost,
            "return_on_cost": summarise(gain / cost) if cost > 0 else None,
            "net": summarise(gain - cost),
            "payback_month": {"p10": q10, "p50": q50, "p90": q90},
            "probability_payback_within_horizon": float(np.mean(pay <= H))}


def returns(sim: Simulation, result, shapley_revenue: dict[int, np.ndarray], path: MonthlyPath,
            paths: dict[tuple[int, ...], MonthlyPath] | None = None) -> dict:
    """Gain per unit of cost and payback month, per chosen initiative and for the portfolio.

    ``paths`` may hold the baseline's (key ``()``) and each chosen initiative's (``(k,)``) monthly
    paths already computed (:func:`cxopt.engine.paths.monthly_paths`); the others are computed here."""
    paths = paths or {}
    sc = sim.scenario
    H = sc.horizon_months
    margin = sc.scenario.margin if sc.scenario.margin is not None else 1.0
    cons = result.constraints
    sel = list(result.selected)
    base_path = paths[()] if () in paths else monthly_path(sim, [])
    per = {}
    total_savings = np.zeros((sim.trials, H))
    for k in sel:
        own = paths[(k,)] if (k,) in paths else monthly_path(sim, [k])
        sav = monthly_savings(sc, sim.draws, k)
        total_savings += sav
        cost = float(cons.costs[k].sum())
        gain = margin * shapley_revenue[k] + sav.sum(axis=1)
        monthly = margin * (base_path.revenue_lost - own.revenue_lost) + sav
        per[sc.initiatives[k].id] = {**_return_figures(gain, cost, monthly, _spend(sim, cons.costs[k], cons.periods), H),
                                     "savings": summarise(sav.sum(axis=1))}
    monthly = margin * (base_path.revenue_lost - path.revenue_lost) + total_savings
    cost = float(cons.costs[sel].sum()) if sel else 0.0
    spend = _spend(sim, cons.costs[sel].sum(axis=0), cons.periods) if sel else np.zeros(H)
    portfolio = {**_return_figures(monthly.sum(axis=1), cost, monthly, spend, H),
                 "savings": summarise(total_savings.sum(axis=1)),
                 "monthly_cost": spend.tolist()}
    return {"margin": sc.scenario.margin, "basis": "margin" if sc.scenario.margin is not None else "revenue",
            "initiatives": per, "portfolio": portfolio}


# ---------------------------------------------------------------- quick wins and voices


def quick_wins(sim: Simulation, selected, golive_p50: dict[str, float]) -> list[str]:
    """Chosen initiatives live within the first quarter, likely delivered and cheaper than the median candidate."""
    sc = sim.scenario
    median = float(np.median([k.total_cost() for k in sc.initiatives])) if sc.initiatives else 0.0
    out = []
    for k in selected:
        init = sc.initiatives[k]
        if (golive_p50[init.id] <= QUICK_WIN_MONTH and init.success_probability >= QUICK_WIN_SUCCESS
                and init.total_cost() < median):
            out.append(init.id)
    return out


def voices(pain_points: list[dict], customers: int) -> list[dict]:
    """Pains ranked by complaints (volume x complaint rate) beside by damage; the squeaky wheel flagged.

    Squeaky wheel: in the top third by complaints and the bottom half by revenue at risk — the
    loudest pain is not the costliest (the silent killer's mirror image).
    """
    heard = [p for p in pain_points if p.get("complaint_rate") is not None]
    complaints = {p["id"]: p["volume_measured"] * p["complaint_rate"] * customers for p in heard}
    order = sorted(heard, key=lambda p: -complaints[p["id"]])
    rank_c = {p["id"]: i + 1 for i, p in enumerate(order)}
    n = len(pain_points)
    out = []
    for p in sorted(pain_points, key=lambda p: p["rank_revenue"]):
        rc = rank_c.get(p["id"])
        squeaky = rc is not None and n >= 2 and rc <= max(1, n // 3) and p["rank_revenue"] > n / 2
        out.append({"id": p["id"], "name": p["name"], "complaints": complaints.get(p["id"]),
                    "rank_complaints": rc, "rank_revenue": p["rank_revenue"],
                    "revenue_at_risk": p["revenue_at_risk"]["mean"], "squeaky_wheel": bool(squeaky),
                    "silent_killer": p["silent_killer"]})
    return out
