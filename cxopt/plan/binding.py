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
(``Constraints.extra_slot``). Every re-solve shares the plan's value tables
(``PortfolioProblem.with_constraints``): only the rules change; the simulation keeps the portfolios
already valued.

The limits are not re-solved one by one (:func:`binding_per_limit`, kept as the reference) but
tested in groups first (:class:`cxopt.plan.relax.GroupStudy`): relaxing many limits at once can
only gain more than relaxing any one of them, so one re-solve with, say, every owner's capacity
raised that gains nothing clears them all; a limit that does gain is then re-solved on its own,
exactly as the per-limit study does, so every gain reported is that study's. Where the program is
exact (no simulation behind its tables, or the exhaustive backend) a group test that clears its
limits is a proof; on a simulation's pairwise surrogate it is the no-good walk's stopping rule
(started from the plan's own estimate-vs-exact gaps) on the larger region, the same heuristic a
limit's own re-solve applies.
"""

from __future__ import annotations

import numpy as np

from cxopt.errors import InfeasibleError
from cxopt.plan.relax import BUDGET_STEP, GroupStudy, limit_steps, relax
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.risk import risk_value
from cxopt.portfolio.backends import backend_for
from cxopt.portfolio.model import PortfolioProblem
from cxopt.portfolio.search import solve_problem

__all__ = ["binding", "binding_per_limit", "relaxations", "BUDGET_STEP"]


def relaxations(cons: Constraints, selected) -> list[tuple[str, float, list[Constraints]]]:
    """``(limit, slack, [relaxed rules])`` for every limit; the relaxed rules' best is the relaxed optimum."""
    return [(name, slack, [] if step is None else [relax(cons, [step])])
            for name, slack, step in limit_steps(cons, selected)]


def _study_inputs(result, solver: str, build=None):
    """``(objective name, the problem, the backend, the plan's value)``; ``build`` makes the problem
    (default :meth:`PortfolioProblem.from_simulation`)."""
    sim = result.simulation
    name_of = "value" if result.objective_name == "value" else "revenue"
    risk = None if result.objective == "mean" else result.objective
    # one set of value tables for every re-solve: only the rules change
    problem = (build or PortfolioProblem.from_simulation)(sim, result.constraints, risk or "mean", name_of)
    return name_of, problem, backend_for(solver), risk_value(result.worth, result.objective)


def _limits(result, name_of: str, here: float, found) -> dict:
    """The study's answer from ``(limit, slack, value, selection ids)`` per limit."""
    limits = []
    for name, slack, best, best_sel in found:
        gain = max(best - here, 0.0)
        limits.append({"limit": name, "slack": slack, "binds": bool(gain > 1e-9 * max(abs(here), 1.0)),
                       "gain_if_relaxed": gain, "relaxed_selection": best_sel, "objective": name_of})
    return {"objective": name_of, "limits": limits, "unspent": unspent(result)}


def binding(result, *, solver: str = "auto", top: int = 3, time_limit: float | None = 10.0,
            stats: dict | None = None) -> dict:
    """Every limit with its slack and the gain from relaxing it one step; unspent budget with the reason.

    ``top`` (the no-good walk's M, see :func:`~cxopt.portfolio.search.optimize`) is smaller than
    optimize's default: a re-solve per group test and per limit that binds on a plan's build, and
    the walk still goes on while a next portfolio may beat the best. The limits are tested in groups
    (the module's note): the answer is :func:`binding_per_limit`'s where the program is exact.
    ``stats``, when given, receives ``{"searches": group tests and re-solves done, "solves": solver
    calls, "limits": limits with a step}``.

    Returns ``{"objective": "revenue" | "value", "limits": [{limit, slack, binds, gain_if_relaxed,
    relaxed_selection, objective}], "unspent": [...]}``: every gain in that objective's units. A plan
    chosen for the least cost meeting a target is studied in expected retained revenue.
    """
    sim, cons = result.simulation, result.constraints
    name_of, problem, backend, here = _study_inputs(result, solver)

    def value_of(sel: tuple[int, ...]) -> float:
        # as the per-limit study values a re-solve: the result's own figures (simulation.evaluate)
        rev = sim.evaluate([list(sel)])[0]
        worth = rev[0] if problem.worth is None or problem.worth.is_revenue else \
            problem.worth.per_trial([sel], rev)[0]
        return risk_value(worth, result.objective)

    rows = limit_steps(cons, result.selected)
    steps = [step for _, _, step in rows if step is not None]
    # the plan's own walk measured the program's estimate against exact values: a group test starts
    # its stopping rule from those gaps (same units only: a plan chosen for cost is studied in revenue)
    seen = result.candidates if result.objective_name == name_of else ()
    study = GroupStudy(problem, backend, here, value_of, top=top, time_limit=time_limit, seen=seen,
                       plan=result.selected)
    answers = iter(study.run(cons, steps))
    found = []
    for name, slack, step in rows:
        best, sel = (here, None) if step is None else next(answers)
        ids = list(result.selected_ids) if sel is None else [cons.ids[k] for k in sel]
        found.append((name, slack, best, ids))
    if stats is not None:
        stats.update(searches=study.searches, solves=study.solves, limits=len(steps))
    return _limits(result, name_of, here, found)


def binding_per_limit(result, *, solver: str = "auto", top: int = 3, time_limit: float | None = 10.0) -> dict:
    """:func:`binding` by one re-solve per limit (per owner for a capacity): the reference it is
    checked and measured against (same arguments, same answer where the program is exact)."""
    objective = result.objective
    name_of, problem, backend, here = _study_inputs(result, solver)
    found = []
    for name, slack, relaxed in relaxations(result.constraints, result.selected):
        best, best_sel = here, list(result.selected_ids)
        for rules in relaxed:
            try:
                r = solve_problem(result.simulation, problem.with_constraints(rules), backend, top=top,
                                  time_limit=time_limit)
            except InfeasibleError:  # cannot happen (the plan stays feasible); kept for safety
                continue
            value = risk_value(r.worth, objective)
            if value > best:
                best, best_sel = value, r.selected_ids
        found.append((name, slack, best, best_sel))
    return _limits(result, name_of, here, found)


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


NAMED = 5  # initiatives named per reason in the text (every one is in ``blocked_by``)


def _why_not_added(blocked: dict[str, list[str]]) -> str:
    """The initiatives left out, grouped by the limits each would break (a long list named in part)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for kid, limits in blocked.items():
        groups.setdefault(tuple(limits), []).append(kid)
    if not groups:
        return "every initiative is chosen"
    parts = []
    for limits, kids in sorted(groups.items(), key=lambda kv: (not kv[0], -len(kv[1]))):
        names = ", ".join(kids[:NAMED]) + (f" and {len(kids) - NAMED} more" if len(kids) > NAMED else "")
        parts.append(f"{names} would break {', '.join(limits)}" if limits
                     else f"{names} {'fits' if len(kids) == 1 else 'fit'} but {'adds' if len(kids) == 1 else 'add'} "
                          "nothing the search could find")
    return "; ".join(parts)


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
        reason = _why_not_added(blocked)
        out.append({"period": p, "amount": left, "reason": reason,
                    "blocked_by": {kid: b for kid, b in blocked.items()}})
    return out
