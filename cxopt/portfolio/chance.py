"""The chance-constrained choice (DESIGN.md section 3): a top-down target tested bottom-up.

Targets (``csat>=75``, ``churn<=0.18``, ``csat>=baseline+3``: relative ones compare each
trial's portfolio value with the same trial's baseline) must all hold in the same trial;
percentile requirements (``churn.p90<=0.2``) hold on the portfolio's distribution over the
trials. Among the feasible portfolios whose P(all targets met) >= ``confidence`` and that
meet every requirement, :func:`choose_with_targets` returns the one with the most expected
retained revenue (``objective="value"``: the most expected value, margin x retained revenue +
savings - cost, as :mod:`cxopt.portfolio.objective` counts it; ``objective="cost"``: the
cheapest, then the most revenue; ties: the smaller portfolio). Everything is checked on the
trials themselves.

Up to :data:`EXACT_CANDIDATES` candidates (initiatives not forbidden) every feasible portfolio is
considered. When valuing them all exactly is cheap (portfolios x trials x groups at most
:data:`EXACT_WORK`), every one is evaluated on the trials and the choice is proven. Beyond, the
screen of :mod:`cxopt.portfolio.chance_screen`: a surrogate of every portfolio (the value tables'
singles and pairs; CX levels exact) and exact evaluation, best first, of those that can matter;
the choice is verified on the trials and called ``feasible_not_proven`` unless every portfolio
was valued exactly or nothing rested on the surrogate. Beyond :data:`EXACT_CANDIDATES`, the
stated method: keep the ``EXACT_CANDIDATES`` most
promising candidates — every must-include, then round robin over the rankings by standalone
expected increment in each target's and requirement's metric (in its better direction) and in
retained revenue (ascending cost with ``objective="cost"``, and by standalone expected value with
``objective="value"``) — and enumerate exactly among them.
Its miss rate against brute force is measured in tests/portfolio/test_chance.py and stated in
docs/decisions.md.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace

import numpy as np

from cxopt.engine.levels import metric_levels
from cxopt.engine.simulation import Simulation
from cxopt.errors import ArgumentError, InfeasibleError
from cxopt.portfolio.chance_screen import feasible_list, portfolio_costs, screened_choice, surrogate_tables
from cxopt.engine.summary import summarise
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.objective import ObjectiveValue, describe_objective, objective_value
from cxopt.portfolio.result import STATUS_FEASIBLE, STATUS_OPTIMAL, Candidate, OptimizationResult

__all__ = ["Target", "Requirement", "parse_target", "parse_requirement", "choose_with_targets",
           "TargetUnreachableError", "EXACT_CANDIDATES", "EXACT_WORK", "OBJECTIVES", "portfolio_values",
           "target_report"]

EXACT_CANDIDATES = 20
# portfolios x trials x groups up to which every portfolio is valued exactly (the grouped kernels
# value some 4e8 portfolio-trial-groups per CPU-second: a few seconds)
EXACT_WORK = 2e9
OBJECTIVES = ("revenue", "value", "cost")
BATCH = 1024
_TARGET = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=)\s*(baseline\s*(?:[+-]\s*[^\s].*)?|[^\s].*?)\s*$")
_REQUIRE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\.p(\d{1,2}(?:\.\d+)?)\s*(>=|<=)\s*(.+?)\s*$")


@dataclass(frozen=True)
class Target:
    """``metric op value`` per trial; ``relative``: value is an increment over the same trial's baseline."""

    metric: str
    op: str
    value: float
    relative: bool
    as_given: str

    def met(self, values: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        v = values - baseline if self.relative else values
        return v >= self.value if self.op == ">=" else v <= self.value


@dataclass(frozen=True)
class Requirement:
    """``metric.pQ op value``: the Q-th percentile of the portfolio's metric over the trials."""

    metric: str
    percentile: float
    op: str
    value: float
    as_given: str

    def quantile(self, values: np.ndarray) -> float:
        return float(np.quantile(values, self.percentile / 100.0))

    def met(self, values: np.ndarray) -> bool:
        q = self.quantile(values)
        return q >= self.value if self.op == ">=" else q <= self.value


def _known(sc) -> list[str]:
    return ["churn", "retained_revenue", *sc.metric_names()]


def parse_target(text: str, sc, parameter: str = "targets") -> Target:
    """``"csat>=75"``, ``"churn<=0.18"``, ``"csat>=baseline+3"`` as a :class:`Target`."""
    m = _TARGET.match(str(text))
    if not m:
        raise ArgumentError(parameter, f"expected METRIC>=VALUE or METRIC<=VALUE (VALUE a number or baseline+N), "
                                       f"got {text!r}")
    metric, op, rhs = m.groups()
    if metric not in _known(sc):
        raise ArgumentError(parameter, f"{text!r}: unknown metric {metric!r}; expected one of {', '.join(_known(sc))}")
    rhs = rhs.replace(" ", "")
    relative = rhs.startswith("baseline")
    num = rhs[len("baseline"):] if relative else rhs
    try:
        value = float(num) if num else 0.0
    except ValueError:
        raise ArgumentError(parameter, f"{text!r}: {num!r} is not a number") from None
    if not np.isfinite(value):
        raise ArgumentError(parameter, f"{text!r}: the value must be finite")
    return Target(metric, op, value, relative, str(text).strip())


def parse_requirement(text: str, sc, parameter: str = "requirements") -> Requirement:
    """``"churn.p90<=0.2"`` as a :class:`Requirement`."""
    m = _REQUIRE.match(str(text))
    if not m:
        raise ArgumentError(parameter, f"expected METRIC.pQ>=VALUE or METRIC.pQ<=VALUE (e.g. churn.p90<=0.2), "
                                       f"got {text!r}")
    metric, q, op, num = m.groups()
    if metric not in _known(sc):
        raise ArgumentError(parameter, f"{text!r}: unknown metric {metric!r}; expected one of {', '.join(_known(sc))}")
    q = float(q)
    if not 0.0 < q < 100.0:
        raise ArgumentError(parameter, f"{text!r}: the percentile must lie strictly between 0 and 100")
    try:
        value = float(num)
    except ValueError:
        raise ArgumentError(parameter, f"{text!r}: {num!r} is not a number") from None
    return Requirement(metric, q, op, value, str(text).strip())


class TargetUnreachableError(InfeasibleError):
    """No feasible portfolio meets the targets with the stated confidence (and the requirements)."""

    def __init__(self, message: str, best_probability: float | None = None, best_portfolio: tuple = (),
                 details: dict | None = None):
        self.best_probability = best_probability
        self.best_portfolio = list(best_portfolio)
        self.details = dict(details or {})
        super().__init__(message)

    def __reduce__(self):
        return (type(self), (str(self), self.best_probability, tuple(self.best_portfolio), self.details))


def portfolio_values(sim: Simulation, portfolios: list, metrics: set[str]) -> dict[str, np.ndarray]:
    """(P, T) per metric: retained revenue always, churn and CX levels as asked.

    The empty portfolio is the simulation's baseline (grouped mode: the same bits as evaluating it,
    without a pass over the groups)."""
    empty = [i for i, p in enumerate(portfolios) if len(p) == 0] if sim.mode == "grouped" else []
    rest = [i for i in range(len(portfolios)) if i not in set(empty)]
    rev = np.empty((len(portfolios), sim.trials))
    cust = np.empty((len(portfolios), sim.trials))
    rev[empty], cust[empty] = sim.baseline_revenue, sim.baseline_customers
    if rest:
        rev[rest], cust[rest] = sim.evaluate([list(portfolios[i]) for i in rest])
    out = {"retained_revenue": rev, "churn": 1.0 - cust / sim.n_customers, "_customers": cust}
    for m in metrics - {"churn", "retained_revenue"}:
        out[m] = metric_levels(sim, portfolios, m)
    return out


def _shortlist(sim: Simulation, cons: Constraints, metrics: list[str], objective: str, limit: int,
               worth: ObjectiveValue | None = None) -> list[int]:
    """The ``limit`` most promising candidates (the stated method beyond :data:`EXACT_CANDIDATES`)."""
    sc = sim.scenario
    free = [k for k in range(len(cons.ids)) if k not in cons.forbid]
    if len(free) <= limit:
        return free
    singles = [[]] + [[k] for k in free]
    # the standalone values are the simulation's own tables: no evaluation needed
    vals = {"retained_revenue": np.vstack([sim.baseline_revenue, sim.single_revenue[free]]),
            "churn": 1.0 - np.vstack([sim.baseline_customers, sim.single_customers[free]]) / sim.n_customers}
    for m in set(metrics) - set(vals):
        vals[m] = metric_levels(sim, singles, m)
    rankings = []
    for m in dict.fromkeys([*metrics, "retained_revenue"]):
        inc = vals[m][1:].mean(axis=1) - vals[m][0].mean()
        lower = m == "churn" or (m in sc.metrics and not sc.metrics[m].higher_is_better)
        rankings.append([free[i] for i in np.argsort(inc if lower else -inc, kind="stable")])
    if objective == "cost":
        rankings.append(sorted(free, key=lambda k: (float(cons.costs[k].sum()), k)))
    if worth is not None and not worth.is_revenue:
        v = worth.per_trial(singles, vals["retained_revenue"]).mean(axis=1)
        rankings.append([free[i] for i in np.argsort(-(v[1:] - v[0]), kind="stable")])
    chosen = list(dict.fromkeys(sorted(cons.must)))
    # prerequisites of what is chosen come along, so a chosen initiative stays choosable
    pos = 0
    while len(chosen) < limit and pos < len(free):
        for r in rankings:
            if len(chosen) >= limit:
                break
            k = r[pos]
            for need in [k] + [b for a, b in cons.requires if a == k]:
                if need not in chosen and len(chosen) < limit:
                    chosen.append(need)
        pos += 1
    return sorted(chosen)


def choose_with_targets(sim: Simulation, constraints: Constraints, *, targets: list[Target] = (),
                        requirements: list[Requirement] = (), confidence: float = 0.5,
                        objective: str = "revenue", exact_candidates: int = EXACT_CANDIDATES,
                        screen: bool | None = None) -> OptimizationResult:
    """The chance-constrained choice; raises :class:`TargetUnreachableError` when no portfolio qualifies.

    ``screen``: None (default) values every portfolio exactly when portfolios x trials x groups is at
    most :data:`EXACT_WORK` and screens otherwise (:mod:`cxopt.portfolio.chance_screen`); True or
    False forces one or the other.
    """
    if objective not in OBJECTIVES:
        raise ArgumentError("objective", f"expected one of {', '.join(OBJECTIVES)} with a target, got {objective!r}")
    if not targets and not requirements:
        raise ArgumentError("targets", "give at least one target or requirement")
    if isinstance(confidence, bool) or not 0.0 < float(confidence) < 1.0:
        raise ArgumentError("confidence", f"must lie strictly between 0 and 1, got {confidence!r}")
    t0 = time.perf_counter()
    cons = constraints
    worth = objective_value(sim, "value" if objective == "value" else "revenue")
    metrics = list(dict.fromkeys([t.metric for t in targets] + [r.metric for r in requirements]))
    free = [k for k in range(len(cons.ids)) if k not in cons.forbid]
    exact = len(free) <= exact_candidates
    keep = set(free if exact else _shortlist(sim, cons, metrics, objective, exact_candidates, worth))
    # enumerate among the kept candidates only (the rest are forbidden for the enumeration)
    sub = replace(cons, forbid=frozenset(set(range(len(cons.ids))) - keep))
    portfolios = feasible_list(sub)  # feasible_portfolios' list, checked at once
    if not portfolios:
        raise InfeasibleError("no portfolio satisfies the constraints")
    base = portfolio_values(sim, [()], set(metrics))
    T, P = sim.trials, len(portfolios)
    cost = portfolio_costs(cons, portfolios)
    size = np.array([len(p) for p in portfolios])

    def exact_batch(part: list) -> dict:
        vals = portfolio_values(sim, part, set(metrics))
        met = np.ones((len(part), T), dtype=bool)
        for t in targets:
            met &= t.met(vals[t.metric], base[t.metric][0][None, :])
        return {"probability": met.mean(axis=1),
                "requirements_met": np.array([all(r.met(vals[r.metric][i]) for r in requirements)
                                              for i in range(len(part))], dtype=bool),
                "mean_revenue": vals["retained_revenue"].mean(axis=1),
                "mean_value": worth.per_trial(part, vals["retained_revenue"]).mean(axis=1),
                "values": vals}

    work = float(P) * T * max(sim.groups.n_groups, 1)
    screened = (work > EXACT_WORK) if screen is None else bool(screen)
    prob = np.full(P, np.nan)
    ok_req = np.zeros(P, dtype=bool)
    mean_rev = np.full(P, np.nan)
    mean_value = np.full(P, np.nan)  # the objective's value (retained revenue unless "value")
    if screened:
        tables = surrogate_tables(sim, [m for m in ("retained_revenue", "churn") if m in metrics])
        walk = screened_choice(sim, tables, portfolios, cost, size, targets=targets,
                               requirements=requirements, confidence=confidence, objective=objective, worth=worth,
                               base=base, exact_batch=exact_batch)
        for i, (p_i, ok_i, rev_i, val_i) in walk.exact.items():
            prob[i], ok_req[i], mean_rev[i], mean_value[i] = p_i, ok_i, rev_i, val_i
        evaluated = np.array(sorted(walk.exact), dtype=np.int64)
        proven = exact and walk.proven
    else:
        for start in range(0, P, BATCH):
            out = exact_batch(portfolios[start: start + BATCH])
            sl = slice(start, start + len(out["probability"]))
            prob[sl], ok_req[sl] = out["probability"], out["requirements_met"]
            mean_rev[sl], mean_value[sl] = out["mean_revenue"], out["mean_value"]
        evaluated = np.arange(P)
        proven = exact
    qualifies = np.zeros(P, dtype=bool)
    qualifies[evaluated] = ok_req[evaluated] & (prob[evaluated] >= confidence - 1e-12) if targets else ok_req[evaluated]
    if not qualifies.any():
        # the best reachable: the highest probability (among portfolios meeting the requirements if any do)
        pool = evaluated[ok_req[evaluated]] if ok_req[evaluated].any() else evaluated
        i = int(pool[np.lexsort((size[pool], -mean_rev[pool], -prob[pool]))[0]])
        best_ids = [cons.ids[k] for k in portfolios[i]]
        what = " and ".join(t.as_given for t in targets) or "the requirements"
        where = [] if exact else [f"searched the {len(keep)} most promising candidates"]
        if screened and not proven:
            where.append(f"valued {len(evaluated):,} of {P:,} portfolios exactly, screened the rest")
        msg = (f"no portfolio meets {what} with probability >= {confidence:.0%}"
               + (f" and {', '.join(r.as_given for r in requirements)}" if requirements and targets else "")
               + f": the highest probability reachable is {prob[i]:.1%}, by "
               + (", ".join(best_ids) if best_ids else "no initiative")
               + (f" ({'; '.join(where)})" if where else ""))
        raise TargetUnreachableError(msg, float(prob[i]) if targets else None, tuple(best_ids),
                                     {"requirements_met": bool(ok_req[i])})
    idx = np.flatnonzero(qualifies)
    order = (np.lexsort((size[idx], -mean_rev[idx], cost[idx])) if objective == "cost"
             else np.lexsort((size[idx], -mean_value[idx])))
    i = int(idx[order[0]])
    sel = tuple(portfolios[i])
    rev, cust = sim.evaluate([list(sel)])
    value = None if worth.is_revenue else worth.per_trial([sel], rev)[0]
    ranked = float(mean_value[i])
    if not screened:
        method = ("every feasible portfolio evaluated on the trials" if exact else
                  f"the {len(keep)} most promising of {len(free)} candidates, every feasible portfolio among them "
                  "evaluated on the trials")
    else:
        method = (("" if exact else f"the {len(keep)} most promising of {len(free)} candidates; ")
                  + f"{P:,} feasible portfolios screened (pairwise surrogate, CX levels exact), "
                  f"{len(evaluated):,} evaluated on the trials best first")
    info = {"name": "chance-constrained enumeration", "status": STATUS_OPTIMAL if proven else STATUS_FEASIBLE,
            "proven_optimal": proven, "stopped_by": "exhausted" if not screened else "screen",
            "seconds": time.perf_counter() - t0, "first_solve_seconds": 0.0, "solve_seconds": 0.0,
            "candidates_evaluated": len(evaluated), "portfolios": P, "screened": screened,
            "estimate": ranked, "exact": ranked, "gap": 0.0, "objective": objective, "objective_name": objective,
            "objective_text": describe_objective(objective), "method": method, "probability": float(prob[i])}
    if screened:
        info["screen"] = {"max_trial_gap": dict(walk.max_trial_gap), "max_mean_gap": walk.max_mean_gap,
                          "slack": walk.slack}
    if value is not None:
        info["expected_value"] = summarise(value)
        info["baseline_value"] = summarise(worth.per_trial([()], sim.baseline_revenue[None, :])[0])
        info["margin"] = worth.margin
    return OptimizationResult(sim, cons, sel, rev[0], cust[0], "mean", info, (Candidate(sel, ranked, ranked),),
                              objective_name=objective, value=value)


def target_report(sim: Simulation, result: OptimizationResult, targets: list[Target],
                  requirements: list[Requirement], confidence: float) -> dict:
    """JSON ``target`` and ``requirements`` lists for the chosen portfolio."""
    metrics = {t.metric for t in targets} | {r.metric for r in requirements}
    vals = portfolio_values(sim, [(), tuple(result.selected)], metrics)
    out_t = []
    all_met = np.ones(sim.trials, dtype=bool)
    for t in targets:
        base = vals[t.metric][0]
        met = t.met(vals[t.metric][1], base)
        all_met &= met
        absolute = t.value + float(np.median(base)) if t.relative else t.value
        p = float(met.mean())
        out_t.append({"metric": t.metric, "op": t.op, "value": absolute, "as_given": t.as_given, "probability": p,
                      "confidence": confidence, "met": p >= confidence - 1e-12})
    out_r = [{"metric": r.metric, "percentile": r.percentile, "op": r.op, "value": r.value, "as_given": r.as_given,
              "actual": r.quantile(vals[r.metric][1]), "met": r.met(vals[r.metric][1])} for r in requirements]
    out = {}
    if targets:
        out["target"] = out_t
        out["target_probability_all"] = float(all_met.mean())
    if requirements:
        out["requirements"] = out_r
    return out

