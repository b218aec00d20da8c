"""What binds (DESIGN.md section 3, "A plan explains itself"): each limit of the choice, its slack at
the optimum, and the gain with it relaxed one step, by re-solving on the same simulation.

One step: +10% of that budget period's limit, one more initiative, one more slot for that owner,
the exclusion or prerequisite dropped, the must or forbid lifted. The gain is the re-solved
portfolio's exact objective value minus the plan's, in the units of the objective the plan was
chosen by (``objective``: expected retained revenue, or expected value — margin x retained revenue
+ savings - cost — with ``objective="value"``; risk-adjusted where the plan was); the plan stays feasible when a limit is relaxed, so the gain
is never below 0 (a heuristic re-solve that finds less is reported as 0). A limit *binds* when
relaxing it gains something.

One more slot for a single owner: that owner may lead ``owner_capacity + 1`` initiatives
(``Constraints.extra_slot``), one re-solve per owner. Every re-solve shares the plan's value tables
(``PortfolioProblem.with_constraints``): only the rules change; the simulation keeps the portfolios
already valued.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from cxopt.errors import InfeasibleError
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.risk import risk_value
from cxopt.portfolio.backends import backend_for
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.search import solve_problem

__all__ = ["binding", "relaxations", "BUDGET_STEP"]

BUDGET_STEP = 0.10  # the next budget step: +10% of that period's limit


def relaxations(cons: Constraints, selected) -> list[tuple[str, float, list[Constraints]]]:
    """``(limit, slack, [relaxed rules])`` for every limit; the relaxed rules' best is the relaxed optimum."""
    s = set(int(k) for k in selected)
    K = len(cons.ids)
    out: list[tuple[str, float, list[Constraints]]] = []
    if cons.budget is not None:
        spend = cons.spend(s)
        for i, p in enumerate(cons.periods):
            limit = cons.budget.copy()
            limit[i] *= 1.0 + BUDGET_STEP
            out.append((f"budget:{p}", float(cons.budget[i] - spend[i]), [replace(cons, budget=limit)]))
    out.append(("max_initiatives", float(cons.max_initiatives - len(s)),
                [replace(cons, max_initiatives=cons.max_initiatives + 1)] if cons.max_initiatives < K else []))
    for owner in dict.fromkeys(cons.owners):
        theirs = [k for k in range(K) if cons.owners[k] == owner]
        led = sum(1 for k in s if cons.owners[k] == owner)
        relaxed = ([replace(cons, extra_slot=cons.extra_slot | {owner})]
                   if len(theirs) > cons.capacity_of(owner) else [])
        out.append((f"owner:{owner}", float(cons.capacity_of(owner) - led), relaxed))
    for i, group in enumerate(cons.exclusive):
        chosen = len(s & set(group))
        out.append(("exclusive:" + ",".join(cons.ids[k] for k in group), float(1 - chosen),
                    [replace(cons, exclusive=cons.exclusive[:i] + cons.exclusive[i + 1:])]))
    for i, (a, b) in enumerate(cons.requires):
        out.append((f"requires:{cons.ids[a]}->{cons.ids[b]}", float((b in s) - (a in s)),
                    [replace(cons, requires=cons.requires[:i] + cons.requires[i + 1:])]))
    for k in sorted(cons.must):
        out.append((f"must:{cons.ids[k]}", 0.0, [replace(cons, must=cons.must - {k})]))
    for k in sorted(cons.forbid):
        out.append((f"forbid:{cons.ids[k]}", 0.0, [replace(cons, forbid=cons.forbid - {k})]))
    return out


def binding(result, *, solver: str = "auto", top: int = 3, time_limit: float | None = 10.0) -> dict:
    """Every limit with its slack and the gain from relaxing it one step; unspent budget with the reason.

    ``top`` (the no-good walk's M, see :func:`~cxopt.portfolio.search.optimize`) is smaller than
    optimize's default: one re-solve per limit (per owner initiative for a capacity) on a plan's
    build, and the walk still goes on while a next portfolio may beat the best.

    Returns ``{"objective": "revenue" | "value", "limits": [{limit, slack, binds, gain_if_relaxed,
    relaxed_selection, objective}], "unspent": [...]}``: every gain in that objective's units. A plan
    chosen for the least cost meeting a target is studied in expected retained revenue.
    """
    sim = result.simulation
    cons = result.constraints
    objective = result.objective
    name_of = "value" if result.objective_name == "value" else "revenue"
    risk = None if objective == "mean" else objective
    here = risk_value(result.worth, objective)
    limits = []
    # one set of value tables for every re-solve: only the rules change
    problem = PortfolioProblem.from_simulation(sim, cons, risk or "mean", name_of)
    backend = backend_for(solver)
    for name, slack, relaxed in relaxations(cons, result.selected):
        best, best_sel = here, list(result.selected_ids)
        for rules in relaxed:
            try:
                r = solve_problem(sim, problem.with_constraints(rules), backend, top=top, time_limit=time_limit)
            except InfeasibleError:  # cannot happen (the plan stays feasible); kept for safety
                continue
            value = risk_value(r.worth, objective)
            if value > best:
                best, best_sel = value, r.selected_ids
        gain = max(best - here, 0.0)
        limits.append({"limit": name, "slack": slack, "binds": bool(gain > 1e-9 * max(abs(here), 1.0)),
                       "gain_if_relaxed": gain, "relaxed_selection": best_sel, "objective": name_of})
    return {"objective": name_of, "limits": limits, "unspent": unspent(result)}


def broken_limits(cons: Constraints, selected) -> list[str]:
    """The limits (named as in :func:`relaxations`) a selection breaks."""
    s = set(int(k) for k in selected)
    out = [f"budget:{cons.periods[i]}" for i in np.flatnonzero(cons.over_budget(s))]
    if len(s) > cons.max_initiatives:
        out.append("max_initiatives")
    for owner in dict.fromkeys(cons.owners[k] for k in sorted(s)):
        if sum(1 for k in s if cons.owners[k] == owner) > cons.capacity_of(owner):
            out.append(f"owner:{owner}")
    out += ["exclusive:" + ",".join(cons.ids[k] for k in g) for g in cons.exclusive if len(s & set(g)) > 1]
    out += [f"requires:{cons.ids[a]}->{cons.ids[b]}" for a, b in cons.requires if a in s and b not in s]
    out += [f"forbid:{cons.ids[k]}" for k in sorted(cons.forbid & s)]
    return out


def unspent(result) -> list[dict]:
    """Budget left in each period and why no other initiative was added (the limits each would break)."""
    cons = result.constraints
    if cons.budget is None:
        return []
    s = list(result.selected)
    spend = cons.spend(s)
    out = []
    for i, p in enumerate(cons.periods):
        left = float(cons.budget[i] - spend[i])
        if left <= 1e-6 * max(float(cons.budget[i]), 1.0):
            continue
        blocked = {cons.ids[k]: broken_limits(cons, s + [k]) for k in range(len(cons.ids)) if k not in s}
        parts = [f"{kid} would break {', '.join(b)}" for kid, b in blocked.items() if b]
        parts += [f"{kid} fits but adds nothing the search could find" for kid, b in blocked.items() if not b]
        reason = "; ".join(parts) if parts else "every initiative is chosen"
        out.append({"period": p, "amount": left, "reason": reason,
                    "blocked_by": {kid: b for kid, b in blocked.items()}})
    return out
