"""Market at risk today: where revenue leaks before any initiative (the baseline).

Everything here is computed from the base's :class:`~cxopt.customers.GroupStats` and the
scenario's distributions, in closed form: severities of different pains are independent
and enter each customer's retention once, so expectations over the uncertainty are the
formulas of DESIGN.md section 1 at the mean inputs; P10–P90 bands of a pain's own numbers
come from its severity's quantiles (they scale linearly with it).

Definitions (per pain point j, over the customers exposed to it):

* customers affected: sum of N_g over groups exposed to j;
* expected customers lost because of j: sigma_j x customers affected;
* revenue at risk: sigma_j x revenue of the customers exposed;
* market at risk (share of customers): mean over customers of 1 - prod_j (1 - sigma_j e_ij);
  the revenue share weights customers by revenue.

Prevalence trap: a pain ranked higher by volume than by revenue at risk, while a rarer pain
ranked lower by volume does more damage. Silent killer: severity in the top third of the
pains and a complaint rate under 10% (or the scenario's lowest quartile): few complain,
many leave.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cxopt.data.customers import GroupStats, driver_volume
from cxopt.model.scenario import Scenario

__all__ = ["PainRisk", "RiskReport", "market_at_risk"]

SILENT_COMPLAINT_RATE = 0.10


@dataclass(frozen=True)
class PainRisk:
    id: str
    name: str
    volume_given: float | None
    volume_measured: float
    severity: dict[str, float]  # mean, p10, p90
    complaint_rate: float | None
    customers_affected: float
    customers_lost: dict[str, float]  # mean, p10, p90
    revenue_at_risk: dict[str, float]
    rank_volume: int
    rank_revenue: int
    prevalence_trap: bool
    silent_killer: bool


@dataclass(frozen=True)
class RiskReport:
    scenario: str
    currency: str
    customers: int
    revenue: float
    pain_points: list[PainRisk]
    market_at_risk: dict[str, float]  # customers, revenue shares
    baseline_churn_rate: float
    baseline_retained_revenue: float
    segments: dict[str, float] = field(default_factory=dict)
    # what a delighter could do once an initiative delivers it: reach (measured), lift (mean, p10, p90)
    delighters: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _given_volume(sc: Scenario, pain, groups: GroupStats) -> float | None:
    if sc.customers.path is not None and pain.complaints is not None:
        return float(pain.complaints / pain.complaint_rate / max(groups.n_customers, 1))
    shares = groups.segment_shares()
    try:
        return float(sum(shares[s] * driver_volume(sc, pain, s) for s in groups.segments))
    except KeyError:
        return None


def market_at_risk(sc: Scenario, groups: GroupStats) -> RiskReport:
    """The baseline risk report for a scenario on a grouped base."""
    n_p = len(sc.pain_points)
    N = groups.customers.astype(np.float64)
    A = groups.revenue
    total_n, total_a = N.sum(), A.sum()
    sev_mean = np.array([p.severity.mean() for p in sc.pain_points])

    # per group: prod over exposed pains of (1 - E sigma_j)
    survive = np.ones(groups.n_groups)
    for j in range(n_p):
        survive = np.where(groups.exposed(j), survive * (1.0 - sev_mean[j]), survive)
    mar_customers = float((N * (1.0 - survive)).sum() / total_n)
    mar_revenue = float((A * (1.0 - survive)).sum() / total_a) if total_a > 0 else 0.0

    m = sc.market.churn_multiplier.mean()
    retained_cust = float((survive * (N - m * groups.churn)).sum())
    retained_rev = float((survive * (A - m * groups.revenue_churn)).sum())

    measured = groups.measured_volume()
    rows = []
    for j, p in enumerate(sc.pain_points):
        e = groups.exposed(j)
        n_exp, a_exp = float(N[e].sum()), float(A[e].sum())
        q10, q90 = (float(x) for x in p.severity.quantile(np.array([0.1, 0.9])))
        sev = {"mean": float(sev_mean[j]), "p10": q10, "p90": q90}
        rows.append(dict(
            id=p.id, name=p.label, volume_given=_given_volume(sc, p, groups),
            volume_measured=measured[p.id]["all"], severity=sev, complaint_rate=p.complaint_rate,
            customers_affected=n_exp,
            customers_lost={k: n_exp * v for k, v in sev.items()},
            revenue_at_risk={k: a_exp * v for k, v in sev.items()},
        ))
    by_volume = sorted(range(n_p), key=lambda i: -rows[i]["volume_measured"])
    by_revenue = sorted(range(n_p), key=lambda i: -rows[i]["revenue_at_risk"]["mean"])
    rank_v = {i: r + 1 for r, i in enumerate(by_volume)}
    rank_r = {i: r + 1 for r, i in enumerate(by_revenue)}
    sev_cut = np.quantile(sev_mean, 2 / 3) if n_p else 0.0
    pains = []
    for i, row in enumerate(rows):
        # trap: some rarer pain does more damage than this more common one
        trap = any(
            rows[o]["volume_measured"] < row["volume_measured"]
            and rows[o]["revenue_at_risk"]["mean"] > row["revenue_at_risk"]["mean"]
            for o in range(n_p)
        ) and rank_v[i] < rank_r[i]
        cr = row["complaint_rate"]
        silent = cr is not None and cr < SILENT_COMPLAINT_RATE and sev_mean[i] >= sev_cut
        pains.append(PainRisk(**row, rank_volume=rank_v[i], rank_revenue=rank_r[i],
                              prevalence_trap=bool(trap), silent_killer=bool(silent)))
    return RiskReport(
        scenario=sc.name,
        currency=sc.scenario.currency,
        customers=int(total_n),
        revenue=float(total_a),
        pain_points=pains,
        market_at_risk={"customers": mar_customers, "revenue": mar_revenue},
        baseline_churn_rate=1.0 - retained_cust / total_n,
        baseline_retained_revenue=retained_rev,
        segments=groups.segment_shares(),
        delighters=_delighters(sc, groups),
    )


def _delighters(sc: Scenario, groups: GroupStats) -> list[dict]:
    """Each delighter's eligible customers (measured reach) and lift; nothing is delivered before an initiative."""
    n_p = len(sc.pain_points)
    N = groups.customers.astype(np.float64)
    out = []
    for d, x in enumerate(sc.delighters):
        eligible = float(N[groups.exposed(n_p + d)].sum())
        q10, q90 = (float(v) for v in x.lift.quantile(np.array([0.1, 0.9])))
        out.append({"id": x.id, "name": x.label, "reach": eligible / N.sum() if N.sum() > 0 else 0.0,
                    "eligible_customers": eligible, "lift": {"mean": float(x.lift.mean()), "p10": q10, "p90": q90},
                    "delivered_by": [k.id for k in sc.initiatives if x.id in k.fixes]})
    return out
