"""Choosing the portfolio: an integer program over the simulation's value tables (DESIGN.md section 2).

Binary ``x_k`` per initiative; at most ``max_initiatives``; budget rows (total or per
period); each owner leads at most ``owner_capacity``; exclusions, prerequisites,
must-include and forbid lists. Objective: expected retained revenue from the simulation —
standalone gains ``v_k`` plus pairwise interactions ``w_kl`` (linearised compactly, after
Glover: one variable per initiative, see :func:`_interaction_terms`) —
or the risk-averse ``(1-beta) E + beta CVaR_alpha`` (Rockafellar–Uryasev over trials).

Interactions among three or more initiatives are not in the program, so the best M
distinct solutions (no-good cuts) are re-evaluated exactly on the simulation's draws and
the best is returned, with the gap between the program's estimate and the exact value.
The search goes past M (up to 5M) while the next solution's estimate, widened by twice the
largest estimate-vs-exact gap seen, is not clearly below the best exact value — a
heuristic stopping rule, not a proof: the result is called ``optimal`` only when every
solve was proven and the walk ended by that rule or ran out of portfolios. The exhaustive solver enumerates every
feasible portfolio and is the reference in tests.

Solver statuses are cxopt's own words (``optimal``, ``feasible_not_proven``,
``infeasible``, ``error``); PuLP's integer codes never leave :func:`_solve_pulp`.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from cxopt.engine.simulation import Simulation
from cxopt.engine.summary import summarise
from cxopt.errors import Problem, ScenarioError

__all__ = ["Constraints", "Candidate", "OptimizationResult", "InfeasibleError", "SolverError", "optimize",
           "frontier", "risk_value", "STATUS_OPTIMAL", "STATUS_FEASIBLE", "STATUS_INFEASIBLE", "STATUS_ERROR"]

from cxopt.errors import InfeasibleError, SolverError  # noqa: E402

STATUS_OPTIMAL = "optimal"
STATUS_FEASIBLE = "feasible_not_proven"
STATUS_INFEASIBLE = "infeasible"
STATUS_ERROR = "error"
EXHAUSTIVE_LIMIT = 250_000
CVAR_PAIR_TERMS = 200_000  # trials x pairs above which CVaR rows carry the interactions' mean


# --------------------------------------------------------------------------------------
# constraints
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraints:
    """Every rule a portfolio must obey, on initiative indices."""

    ids: tuple[str, ...]
    costs: np.ndarray  # (K, n_periods)
    periods: tuple[str, ...]
    budget: np.ndarray | None  # (n_periods,) or None: no budget limit
    max_initiatives: int
    owners: tuple[str, ...]
    owner_capacity: int
    exclusive: tuple[tuple[int, ...], ...]
    requires: tuple[tuple[int, int], ...]  # (a, b): a requires b
    must: frozenset[int]
    forbid: frozenset[int]

    @classmethod
    def from_scenario(cls, sc, *, budget: float | None = None, max_initiatives: int | None = None,
                      owner_capacity: int | None = None) -> "Constraints":
        ids = tuple(sc.initiative_ids)
        index = {x: i for i, x in enumerate(ids)}
        total = sc.budget.total if budget is None else float(budget)
        if budget is not None and budget < 0:
            raise ScenarioError(Problem("", "--budget", f"must be >= 0, got {budget:g}"))
        if isinstance(total, dict):
            periods = tuple(total)
            costs = np.zeros((len(ids), len(periods)))
            for k, init in enumerate(sc.initiatives):
                if not isinstance(init.cost, dict):
                    raise ScenarioError(Problem(sc.source, f"initiatives[{k}].cost",
                                                "the budget is per period: give this cost per period too, "
                                                f"e.g. {{ {periods[0]} = {init.cost:g} }}"))
                for p, amount in init.cost.items():
                    costs[k, periods.index(p)] = amount
            limit = np.array([total[p] for p in periods])
        else:
            periods = ("total",)
            costs = np.array([[init.total_cost()] for init in sc.initiatives]).reshape(len(ids), 1)
            limit = None if total is None else np.array([float(total)])
        cons = sc.constraints
        requires = []
        for a, bs in cons.requires.items():
            for b in [bs] if isinstance(bs, str) else bs:
                requires.append((index[a], index[b]))
        return cls(
            ids=ids, costs=costs, periods=periods, budget=limit,
            max_initiatives=int(max_initiatives or sc.budget.max_initiatives),
            owners=tuple(k.owner for k in sc.initiatives),
            owner_capacity=int(owner_capacity or sc.budget.owner_capacity),
            exclusive=tuple(tuple(index[x] for x in g) for g in cons.exclusive),
            requires=tuple(requires),
            must=frozenset(index[x] for x in cons.must),
            forbid=frozenset(index[x] for x in cons.forbid),
        )

    def with_budget(self, budget: float) -> "Constraints":
        from dataclasses import replace

        if len(self.periods) > 1:
            scale = budget / float(self.budget.sum()) if self.budget is not None and self.budget.sum() > 0 else None
            limit = self.budget * scale if scale is not None else np.full(len(self.periods), budget)
            return replace(self, budget=limit)
        return replace(self, budget=np.array([float(budget)]))

    def violations(self, selected: Sequence[int]) -> list[str]:
        """Every rule the selection breaks (empty: feasible)."""
        s = set(int(k) for k in selected)
        out = []
        if len(s) > self.max_initiatives:
            out.append(f"{len(s)} initiatives exceed the maximum of {self.max_initiatives}")
        if self.budget is not None:
            spend = self.costs[sorted(s)].sum(axis=0) if s else np.zeros(len(self.periods))
            for p, name in enumerate(self.periods):
                if spend[p] > self.budget[p] * (1 + 1e-9) + 1e-6:
                    out.append(f"budget {name}: {spend[p]:,.0f} exceeds {self.budget[p]:,.0f}")
        counts: dict[str, int] = {}
        for k in s:
            counts[self.owners[k]] = counts.get(self.owners[k], 0) + 1
        for owner, n in counts.items():
            if n > self.owner_capacity:
                out.append(f"owner {owner!r} would lead {n} initiatives (capacity {self.owner_capacity})")
        for g in self.exclusive:
            if len(s & set(g)) > 1:
                out.append("exclusive: " + ", ".join(self.ids[k] for k in sorted(s & set(g))))
        for a, b in self.requires:
            if a in s and b not in s:
                out.append(f"{self.ids[a]} requires {self.ids[b]}")
        for k in self.must - s:
            out.append(f"must include {self.ids[k]}")
        for k in self.forbid & s:
            out.append(f"{self.ids[k]} is forbidden")
        return out

    def is_feasible(self, selected: Sequence[int]) -> bool:
        return not self.violations(selected)

    def total_cost(self, selected: Sequence[int]) -> float:
        return float(self.costs[list(selected)].sum()) if len(selected) else 0.0


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Candidate:
    """One portfolio the search considered, with the program's estimate and the exact value."""

    selected: tuple[int, ...]
    estimate: float
    exact: float


@dataclass(frozen=True)
class OptimizationResult:
    """The chosen portfolio and how it was found."""

    simulation: Simulation
    constraints: Constraints
    selected: tuple[int, ...]
    revenue: np.ndarray  # (T,) retained revenue of the portfolio per trial
    customers: np.ndarray  # (T,)
    objective: str  # "mean" or "cvar:ALPHA:BETA"
    solver: dict
    candidates: tuple[Candidate, ...] = field(default=())

    @property
    def selected_ids(self) -> list[str]:
        return [self.constraints.ids[k] for k in self.selected]

    @property
    def total_cost(self) -> float:
        return self.constraints.total_cost(self.selected)

    def cost_by_period(self) -> dict[str, float]:
        spend = self.constraints.costs[list(self.selected)].sum(axis=0) if self.selected else \
            np.zeros(len(self.constraints.periods))
        return {p: float(spend[i]) for i, p in enumerate(self.constraints.periods)}

    def summary(self) -> dict:
        sim = self.simulation
        return {
            "selected": self.selected_ids,
            "total_cost": self.total_cost,
            "baseline": {"retained_revenue": summarise(sim.baseline_revenue),
                         "churn_rate": summarise(sim.churn_rate(sim.baseline_customers))},
            "portfolio": {"retained_revenue": summarise(self.revenue),
                          "churn_rate": summarise(sim.churn_rate(self.customers))},
            "gain": summarise(self.revenue - sim.baseline_revenue),
            "solver": self.solver,
        }


def risk_value(values: np.ndarray, objective: str) -> float:
    """The objective's exact value over per-trial values: the mean, or (1-b) mean + b CVaR_a."""
    values = np.asarray(values, dtype=np.float64)
    if objective == "mean":
        return float(values.mean())
    alpha, beta = _parse_risk(objective)
    return (1 - beta) * float(values.mean()) + beta * cvar(values, alpha)


def cvar(values: np.ndarray, alpha: float) -> float:
    """Mean of the worst ``alpha`` share of trials (fractional trial at the boundary)."""
    v = np.sort(np.asarray(values, dtype=np.float64))
    k = alpha * v.size
    whole = int(math.floor(k + 1e-12))
    total = v[:whole].sum()
    if whole < v.size and k - whole > 1e-12:
        total += (k - whole) * v[whole]
    return float(total / k)


def _parse_risk(objective: str) -> tuple[float, float]:
    try:
        name, a, b = objective.split(":")
        alpha, beta = float(a), float(b)
    except ValueError:
        raise ScenarioError(Problem("", "--risk", f"expected cvar:ALPHA:BETA (e.g. cvar:0.1:0.5), got {objective!r}")) from None
    if name != "cvar" or not 0 < alpha <= 1 or not 0 <= beta <= 1:
        raise ScenarioError(Problem("", "--risk", f"expected cvar:ALPHA:BETA with 0 < ALPHA <= 1 and 0 <= BETA <= 1, "
                                               f"got {objective!r}"))
    return alpha, beta


# --------------------------------------------------------------------------------------
# the integer program
# --------------------------------------------------------------------------------------
def _tables(sim: Simulation):
    """Per-trial standalone gains g (K, T) and interactions w (n_pairs, T)."""
    g = sim.single_revenue - sim.baseline_revenue[None, :]
    w = (sim.pair_revenue - sim.single_revenue[sim.pairs[:, 0]] - sim.single_revenue[sim.pairs[:, 1]]
         + sim.baseline_revenue[None, :]) if sim.pairs.size else np.zeros((0, sim.trials))
    return g, w


def _estimate(selected: Sequence[int], g_mean: np.ndarray, w_mean: np.ndarray, pair_index: dict, base: float) -> float:
    s = sorted(selected)
    value = base + float(g_mean[s].sum())
    for a, b in itertools.combinations(s, 2):
        q = pair_index.get((a, b))
        if q is not None:
            value += float(w_mean[q])
    return value


def _estimate_risk(selected, g, w, pair_index, base_rev, objective) -> float:
    s = sorted(selected)
    v = base_rev + g[s].sum(axis=0)
    for a, b in itertools.combinations(s, 2):
        q = pair_index.get((a, b))
        if q is not None:
            v = v + w[q]
    return risk_value(v, objective)


def _var(prob, name: str, low=None, up=None, cat="Continuous"):
    """A variable attached to ``prob`` (PuLP >= 3.3 spelling, older PuLP's otherwise)."""
    import pulp

    if hasattr(prob, "add_variable"):
        return prob.add_variable(name, lowBound=low, upBound=up, cat=cat)
    return pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat)


def _interaction_terms(prob, x, pairs: list[tuple[int, int]], w_mean: np.ndarray, max_size: int):
    """The expression sum_{k<l} w_kl x_k x_l, linearised the compact way (Glover, 1975).

    z_k stands for x_k * s_k with s_k = sum_l w_kl x_l. At most ``max_size`` initiatives are
    chosen, so s_k <= U_k when k is chosen (U_k: the max_size - 1 largest positive w_kl) and
    s_k >= L_k always (L_k: the max_size most negative). Maximising, only upper envelopes are needed:
    z_k <= U_k x_k and z_k <= s_k - L_k (1 - x_k). Exact for binary x; K variables and 2K
    rows instead of a variable and three rows per pair, and a far tighter LP relaxation.
    """
    import pulp

    K = len(x)
    partners: list[list[tuple[int, float]]] = [[] for _ in range(K)]
    for q, (a, b) in enumerate(pairs):
        if w_mean[q] != 0.0:
            partners[a].append((b, float(w_mean[q])))
            partners[b].append((a, float(w_mean[q])))
    terms = []
    for k in range(K):
        if not partners[k]:
            continue
        weights = sorted(v for _, v in partners[k])
        # with k chosen, at most max_size - 1 partners are: U_k; with k left out, up to max_size: L_k
        low = sum(v for v in weights[:max_size] if v < 0)
        high = sum(v for v in weights[::-1][: max(max_size - 1, 0)] if v > 0)
        z = _var(prob, f"z{k}")
        s_k = pulp.lpSum(v * x[l] for l, v in partners[k])
        prob += z <= high * x[k], f"glover{k}_on"
        prob += z <= s_k - low * (1 - x[k]), f"glover{k}_sum"
        terms.append(z)
    return 0.5 * pulp.lpSum(terms)  # each pair is counted from both ends


def _build_model(sim: Simulation, cons: Constraints, objective: str, g, w):
    import pulp

    K = len(cons.ids)
    prob = pulp.LpProblem("cxopt_portfolio", pulp.LpMaximize)
    x = [_var(prob, f"x{k}", cat=pulp.LpBinary) for k in range(K)]
    pairs = [tuple(map(int, p)) for p in sim.pairs]
    g_mean, w_mean = g.mean(axis=1), w.mean(axis=1)
    base = float(sim.baseline_revenue.mean())
    interactions = _interaction_terms(prob, x, pairs, w_mean, cons.max_initiatives)
    mean_expr = pulp.lpSum(float(g_mean[k]) * x[k] for k in range(K)) + interactions
    if objective == "mean":
        prob += mean_expr + base
    else:
        alpha, beta = _parse_risk(objective)
        T = sim.trials
        eta = _var(prob, "eta")
        u = [_var(prob, f"u{t}", 0) for t in range(T)]
        # per-trial interactions in every CVaR row while the model stays small (a variable y_kl = x_k x_l
        # per pair); beyond that their mean (the exact re-evaluation of the candidates corrects it)
        per_trial_pairs = T * len(pairs) <= CVAR_PAIR_TERMS
        if per_trial_pairs:
            y = [_var(prob, f"y{q}", 0, 1) for q in range(len(pairs))]
            for q, (a, b) in enumerate(pairs):
                prob += y[q] <= x[a], f"pair{q}_a"
                prob += y[q] <= x[b], f"pair{q}_b"
                prob += y[q] >= x[a] + x[b] - 1, f"pair{q}_ab"
        for t in range(T):
            v_t = float(sim.baseline_revenue[t]) + pulp.lpSum(float(g[k, t]) * x[k] for k in range(K) if g[k, t] != 0)
            if per_trial_pairs:
                v_t += pulp.lpSum(float(w[q, t]) * y[q] for q in range(len(pairs)) if w[q, t] != 0)
            else:
                v_t += interactions
            prob += u[t] >= eta - v_t, f"cvar{t}"
        prob += (1 - beta) * (mean_expr + base) + beta * (eta - (1.0 / (alpha * T)) * pulp.lpSum(u))
    _add_rules(prob, x, cons)
    return prob, x


def _add_rules(prob, x, cons: Constraints, skip: frozenset[str] = frozenset()) -> None:
    import pulp

    K = len(x)
    if "max_initiatives" not in skip:
        prob += pulp.lpSum(x) <= cons.max_initiatives, "max_initiatives"
    if cons.budget is not None and "budget" not in skip:
        for p, name in enumerate(cons.periods):
            prob += pulp.lpSum(float(cons.costs[k, p]) * x[k] for k in range(K)) <= float(cons.budget[p]), f"budget_{p}"
    if "owner_capacity" not in skip:
        for i, owner in enumerate(sorted(set(cons.owners))):
            members = [k for k in range(K) if cons.owners[k] == owner]
            if len(members) > cons.owner_capacity:
                prob += pulp.lpSum(x[k] for k in members) <= cons.owner_capacity, f"owner_{i}"
    if "exclusive" not in skip:
        for i, grp in enumerate(cons.exclusive):
            prob += pulp.lpSum(x[k] for k in grp) <= 1, f"exclusive_{i}"
    if "requires" not in skip:
        for i, (a, b) in enumerate(cons.requires):
            prob += x[a] <= x[b], f"requires_{i}"
    if "must" not in skip:
        for k in sorted(cons.must):
            prob += x[k] == 1, f"must_{k}"
    if "forbid" not in skip:
        for k in sorted(cons.forbid):
            prob += x[k] == 0, f"forbid_{k}"


def _solver(name: str, time_limit: float | None):
    import pulp

    if name == "auto":
        name = "highs" if pulp.HiGHS(msg=False).available() else "cbc"
    if name == "highs":
        s = pulp.HiGHS(msg=False, timeLimit=time_limit)
        if not s.available():
            raise SolverError("HiGHS is not available (pip install highspy); use --solver cbc")
        return "highs", s
    if name == "cbc":
        s = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
        if not s.available():
            raise SolverError("PuLP's bundled CBC is not available on this platform; use --solver highs")
        return "cbc", s
    raise ScenarioError(Problem("", "--solver", f"expected highs, cbc, exhaustive or auto, got {name!r}"))


def _solve_pulp(prob, solver) -> str:
    """Solve and map PuLP's (status, sol_status) pair to cxopt's status word."""
    import pulp

    try:
        prob.solve(solver)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"the solver failed: {exc}; try another --solver") from None
    status, sol = prob.status, prob.sol_status
    if sol == pulp.LpSolutionOptimal:
        return STATUS_OPTIMAL
    if sol == pulp.LpSolutionIntegerFeasible:
        return STATUS_FEASIBLE
    if status == pulp.LpStatusInfeasible or sol == pulp.LpSolutionInfeasible:
        return STATUS_INFEASIBLE
    if status == pulp.LpStatusOptimal:  # some adapters leave sol_status unset
        return STATUS_OPTIMAL
    return STATUS_ERROR


def _diagnose(cons: Constraints, solver_name: str) -> list[str]:
    """Name the constraints that conflict: obvious clashes first, then by dropping families."""
    ids = cons.ids
    out = []
    must = sorted(cons.must)
    if len(must) > cons.max_initiatives:
        out.append(f"must-include lists {len(must)} initiatives ({', '.join(ids[k] for k in must)}) but at most "
                   f"{cons.max_initiatives} may be chosen")
    if cons.budget is not None and must:
        spend = cons.costs[must].sum(axis=0)
        for p, name in enumerate(cons.periods):
            if spend[p] > cons.budget[p] + 1e-6:
                out.append(f"must-include initiatives ({', '.join(ids[k] for k in must)}) cost {spend[p]:,.0f}, "
                           f"over the budget {name} of {cons.budget[p]:,.0f}")
    for g in cons.exclusive:
        both = [k for k in g if k in cons.must]
        if len(both) > 1:
            out.append(f"must-include names {', '.join(ids[k] for k in both)}, which are mutually exclusive")
    # prerequisites, followed transitively
    needs: dict[int, set[int]] = {}
    for a, b in cons.requires:
        needs.setdefault(a, set()).add(b)

    def closure(k: int) -> set[int]:
        seen, stack = set(), [k]
        while stack:
            for b in needs.get(stack.pop(), ()):
                if b not in seen:
                    seen.add(b)
                    stack.append(b)
        return seen

    for k in sorted(cons.must):
        for b in sorted(closure(k) & cons.forbid):
            out.append(f"{ids[k]} must be included but requires {ids[b]}, which is forbidden")
    counts: dict[str, list[int]] = {}
    for k in must:
        counts.setdefault(cons.owners[k], []).append(k)
    for owner, ks in counts.items():
        if len(ks) > cons.owner_capacity:
            out.append(f"owner {owner!r} would lead {len(ks)} must-include initiatives "
                       f"({', '.join(ids[k] for k in ks)}; capacity {cons.owner_capacity})")
    if out:
        return out
    # fall back: which family, dropped alone, makes the program feasible?
    import pulp

    for family in ("budget", "max_initiatives", "owner_capacity", "exclusive", "requires", "must", "forbid"):
        prob = pulp.LpProblem("diagnose", pulp.LpMaximize)
        x = [_var(prob, f"x{k}", cat=pulp.LpBinary) for k in range(len(ids))]
        prob += pulp.lpSum(x)
        _add_rules(prob, x, cons, skip=frozenset({family}))
        if _solve_pulp(prob, _solver(solver_name, 30)[1]) in (STATUS_OPTIMAL, STATUS_FEASIBLE):
            out.append(f"the {family.replace('_', ' ')} constraints conflict with the others "
                       "(dropping them makes a portfolio possible)")
    return out or ["the constraints together admit no portfolio"]


def _selection(x) -> tuple[int, ...]:
    return tuple(k for k, v in enumerate(x) if v.value() is not None and v.value() > 0.5)


def _exact(sim: Simulation, portfolios: list[tuple[int, ...]], objective: str):
    rev, cust = sim.evaluate([list(p) for p in portfolios])
    return rev, cust, [risk_value(rev[i], objective) for i in range(len(portfolios))]


def optimize(
    sim: Simulation,
    *,
    budget: float | None = None,
    max_initiatives: int | None = None,
    owner_capacity: int | None = None,
    risk: str | None = None,
    solver: str = "auto",
    top: int = 10,
    time_limit: float | None = 60.0,
    constraints: Constraints | None = None,
) -> OptimizationResult:
    """Pick the portfolio that maximises expected (or risk-adjusted) retained revenue.

    Parameters
    ----------
    sim : Simulation
        Value tables from :func:`cxopt.simulate` (with ``pairs=True``).
    budget : float, optional
        Overrides the scenario's ``[budget] total``.
    max_initiatives, owner_capacity : int, optional
        Override the scenario's focus limit and owner capacity.
    risk : str, optional
        ``"cvar:ALPHA:BETA"``: maximise ``(1-BETA) mean + BETA CVaR_ALPHA``.
    solver : {"auto", "highs", "cbc", "exhaustive"}
    top : int
        How many distinct solutions (no-good cuts) to re-evaluate exactly (M).
    time_limit : float, optional
        Seconds per solve; a solve stopped early returns its best, marked not proven.

    Raises
    ------
    InfeasibleError
        No portfolio satisfies the constraints (``conflicts`` names them).
    """
    sc = sim.scenario
    cons = constraints or Constraints.from_scenario(sc, budget=budget, max_initiatives=max_initiatives,
                                                    owner_capacity=owner_capacity)
    objective = risk or "mean"
    if objective != "mean":
        _parse_risk(objective)
    if top < 1:
        raise ScenarioError(Problem("", "--top", f"must be >= 1, got {top}"))
    t0 = time.perf_counter()
    if solver == "exhaustive":
        return _exhaustive(sim, cons, objective, t0)

    import pulp

    name, backend = _solver(solver, time_limit)
    g, w = _tables(sim)
    pair_index = {(int(a), int(b)): q for q, (a, b) in enumerate(sim.pairs)}
    prob, x = _build_model(sim, cons, objective, g, w)
    found: list[tuple[tuple[int, ...], float]] = []  # (selection, the program's estimate), in solve order
    exact_of: dict[tuple[int, ...], float] = {}
    statuses: list[str] = []
    cap = 5 * top
    stopped_by = "cap"  # how the walk ended: rule, exhausted, cap or error

    def settle() -> tuple[float, float]:
        """Exact values of the candidates not yet evaluated, in one batch (shared per-trial work)."""
        pending = [sel for sel, _ in found if sel not in exact_of]
        if pending:
            _, _, values = _exact(sim, pending, objective)
            exact_of.update(zip(pending, values))
        return (max(abs(est - exact_of[sel]) for sel, est in found), max(exact_of.values()))

    solve_seconds: list[float] = []
    while len(found) < cap:
        t_solve = time.perf_counter()
        status = _solve_pulp(prob, backend)
        solve_seconds.append(time.perf_counter() - t_solve)
        if status == STATUS_INFEASIBLE:
            if not found:
                raise InfeasibleError("no portfolio satisfies the constraints", _diagnose(cons, name))
            stopped_by = "exhausted"  # every feasible portfolio has been seen
            break
        if status == STATUS_ERROR:
            if not found:
                raise SolverError(f"{name} returned no solution (status {pulp.LpStatus[prob.status]}); "
                                  "try another --solver or a longer --time-limit")
            stopped_by = "error"
            break
        statuses.append(status)
        sel = _selection(x)
        problems = cons.violations(sel)
        if problems:  # never trust a solver's answer unchecked
            raise SolverError(f"{name} returned a portfolio that breaks the rules ({'; '.join(problems)}); "
                              "try another --solver")
        if objective == "mean":
            est = _estimate(sel, g.mean(axis=1), w.mean(axis=1), pair_index, float(sim.baseline_revenue.mean()))
        else:
            est = _estimate_risk(sel, g, w, pair_index, sim.baseline_revenue, objective)
        found.append((sel, est))
        # no-good cut: exclude exactly this selection
        inside = [x[k] for k in sel]
        outside = [x[k] for k in range(len(x)) if k not in sel]
        prob += pulp.lpSum(inside) - pulp.lpSum(outside) <= len(sel) - 1, f"nogood_{len(found)}"
        if len(found) >= top:
            max_gap, best_exact = settle()
            if est + 2 * max_gap + 1e-9 * abs(est) < best_exact:
                stopped_by = "rule"
                break
    settle()
    candidates = [Candidate(sel, est, exact_of[sel]) for sel, est in found]
    best = max(candidates, key=lambda c: (c.exact, -len(c.selected)))
    rev, cust = sim.evaluate([list(best.selected)])
    proven = all(st == STATUS_OPTIMAL for st in statuses) and stopped_by in ("rule", "exhausted")
    solver_info = {
        "name": name,
        # proven only when every solve of the no-good walk was proven (a later one may have hit the
        # time limit) and the walk ended by its stopping rule or ran out of portfolios
        "status": STATUS_OPTIMAL if proven else STATUS_FEASIBLE,
        "proven_optimal": proven,
        "stopped_by": stopped_by,
        "seconds": time.perf_counter() - t0,
        "first_solve_seconds": solve_seconds[0],
        "solve_seconds": sum(solve_seconds),
        "candidates_evaluated": len(candidates),
        "estimate": best.estimate,
        "exact": best.exact,
        "gap": best.estimate - best.exact,
        "objective": objective,
    }
    return OptimizationResult(sim, cons, tuple(best.selected), rev[0], cust[0], objective, solver_info,
                              tuple(candidates))


def feasible_portfolios(cons: Constraints) -> list[tuple[int, ...]]:
    """Every feasible portfolio (for small instances), the empty one included when allowed."""
    K = len(cons.ids)
    out = []
    free = [k for k in range(K) if k not in cons.forbid]
    for size in range(0, min(cons.max_initiatives, len(free)) + 1):
        for combo in itertools.combinations(free, size):
            if cons.is_feasible(combo):
                out.append(combo)
        if len(out) > EXHAUSTIVE_LIMIT:
            raise ScenarioError(Problem("", "--solver", f"more than {EXHAUSTIVE_LIMIT:,} feasible portfolios: too "
                                                      "many to enumerate; use --solver highs or cbc"))
    return out


def _exhaustive(sim: Simulation, cons: Constraints, objective: str, t0: float) -> OptimizationResult:
    portfolios = feasible_portfolios(cons)
    if not portfolios:
        raise InfeasibleError("no portfolio satisfies the constraints", _diagnose(cons, "auto"))
    best_i, best_v = -1, -math.inf
    batch = 2048
    for start in range(0, len(portfolios), batch):
        part = portfolios[start: start + batch]
        rev, _, values = _exact(sim, part, objective)
        for i, v in enumerate(values):
            # ties: the smaller (cheaper to run) portfolio
            if v > best_v or (v == best_v and len(part[i]) < len(portfolios[best_i])):
                best_i, best_v = start + i, v
    best = portfolios[best_i]
    rev, cust = sim.evaluate([list(best)])
    info = {"name": "exhaustive", "status": STATUS_OPTIMAL, "proven_optimal": True,
            "seconds": time.perf_counter() - t0, "candidates_evaluated": len(portfolios),
            "estimate": best_v, "exact": best_v, "gap": 0.0, "objective": objective}
    return OptimizationResult(sim, cons, tuple(best), rev[0], cust[0], objective, info,
                              (Candidate(tuple(best), best_v, best_v),))


def frontier(sim: Simulation, budgets: Sequence[float], **kwargs) -> list[OptimizationResult | None]:
    """The optimal portfolio at each budget (``None`` where no portfolio is feasible)."""
    out = []
    base = Constraints.from_scenario(sim.scenario, max_initiatives=kwargs.pop("max_initiatives", None),
                                     owner_capacity=kwargs.pop("owner_capacity", None))
    for b in budgets:
        try:
            out.append(optimize(sim, constraints=base.with_budget(float(b)), **kwargs))
        except InfeasibleError:
            out.append(None)
    return out
