"""The integer program as arrays: columns, rows in compressed row form, built from the value tables.

One description of DESIGN.md section 2's program that every solver reads: HiGHS takes
it as it is (:meth:`MatrixModel.highs_lp`), CBC through PuLP
(:meth:`MatrixModel.to_pulp`). The CVaR rows (one per trial, every initiative's
per-trial gain in it) are blocks of a NumPy matrix rather than PuLP expressions built
term by term, which is what made the risk-averse model slow to build (200 x 1,000 terms).
No-good cuts and the budget's right-hand side change the model in place, so a solver may
keep its own copy alive and apply the same change (``rows_since``, ``budget_rows``).

Columns, in order: ``x`` (K binaries), ``z`` (one per initiative with partners: the
compact Glover linearisation, see :func:`cxopt.portfolio.model.interaction_terms`), then
for CVaR ``eta`` (free), ``u`` (T, >= 0) and, while the model stays small, ``y`` (one per
pair, the product ``x_a x_b``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.risk import parse_risk

__all__ = ["MatrixModel", "build_matrix_model", "rows_csr", "CVAR_PAIR_TERMS", "glover_bounds",
           "cvar_per_trial_pairs", "highs_inf"]

INF = math.inf
CVAR_PAIR_TERMS = 200_000  # trials x pairs above which CVaR rows carry the interactions' mean


@dataclass
class Row:
    index: np.ndarray
    value: np.ndarray
    lower: float
    upper: float
    name: str


@dataclass
class MatrixModel:
    """Maximise ``cost @ col + offset`` subject to ``lower <= A col <= upper`` and the column bounds."""

    n_x: int
    col_names: list[str]
    col_lower: np.ndarray
    col_upper: np.ndarray
    col_cost: np.ndarray
    integer: np.ndarray  # bool per column
    offset: float
    rows: list[Row] = field(default_factory=list)
    budget_rows: dict[int, int] = field(default_factory=dict)  # budget period -> row number
    cuts: int = 0
    n_base_rows: int = 0  # rows before the first no-good cut

    def drop_cuts(self) -> None:
        del self.rows[self.n_base_rows:]
        self.cuts = 0

    @property
    def n_cols(self) -> int:
        return len(self.col_names)

    def add_row(self, index, value, lower: float, upper: float, name: str) -> int:
        index, value = np.asarray(index, dtype=np.int32), np.asarray(value, dtype=np.float64)
        keep = value != 0.0  # no explicit zeros in the matrix (PuLP's writers drop them too)
        self.rows.append(Row(index[keep], value[keep], float(lower), float(upper), name))
        return len(self.rows) - 1

    def add_cut(self, selected: tuple[int, ...]) -> int:
        """No-good cut: sum_{k in S} x_k - sum_{k not in S} x_k <= |S| - 1."""
        coef = -np.ones(self.n_x)
        coef[list(selected)] = 1.0
        self.cuts += 1
        return self.add_row(np.arange(self.n_x), coef, -INF, len(selected) - 1, f"nogood_{self.cuts}")

    def set_budget(self, budget: np.ndarray) -> None:
        for p, r in self.budget_rows.items():
            self.rows[r].upper = float(budget[p])

    def csr(self, start: int = 0):
        """Rows ``start..`` in compressed row form (:func:`rows_csr`)."""
        return rows_csr(self.rows[start:])

    def highs_lp(self):
        """The model as a ``highspy.HighsLp`` (row-wise matrix, maximise)."""
        import highspy

        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = self.n_cols, len(self.rows)
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = self.col_cost, highs_inf(self.col_lower), highs_inf(self.col_upper)
        starts, index, value, lower, upper = self.csr()
        lp.row_lower_, lp.row_upper_ = highs_inf(lower), highs_inf(upper)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = self.n_cols, len(self.rows)
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = starts, index, value
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.offset_ = self.offset
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in self.integer]
        return lp

    def to_pulp(self):
        """The same model as a PuLP problem and its columns (for CBC)."""
        import pulp

        prob = pulp.LpProblem("cxopt_portfolio", pulp.LpMaximize)
        cols = []
        for j, name in enumerate(self.col_names):
            low = None if self.col_lower[j] == -INF else float(self.col_lower[j])
            up = None if self.col_upper[j] == INF else float(self.col_upper[j])
            cat = pulp.LpBinary if self.integer[j] and low == 0 and up == 1 else (
                pulp.LpInteger if self.integer[j] else pulp.LpContinuous)
            cols.append(pulp.LpVariable(name, lowBound=low, upBound=up, cat=cat))
        nz = np.nonzero(self.col_cost)[0]
        prob += pulp.LpAffineExpression([(cols[j], float(self.col_cost[j])) for j in nz], constant=self.offset)
        for r in self.rows:
            append_pulp_row(prob, cols, r)
        return prob, cols


def rows_csr(rows: list[Row]):
    """Rows as compressed row arrays: starts, index, value, lower, upper."""
    counts = np.array([r.index.size for r in rows], dtype=np.int64)
    starts = np.zeros(len(rows) + 1, dtype=np.int32)
    np.cumsum(counts, out=starts[1:])
    index = np.concatenate([r.index for r in rows]) if rows else np.zeros(0, np.int32)
    value = np.concatenate([r.value for r in rows]) if rows else np.zeros(0)
    lower = np.array([r.lower for r in rows])
    upper = np.array([r.upper for r in rows])
    return starts, index.astype(np.int32), value.astype(np.float64), lower, upper


def append_pulp_row(prob, cols, r: Row) -> None:
    import pulp

    expr = pulp.LpAffineExpression([(cols[j], float(v)) for j, v in zip(r.index, r.value) if v != 0.0])
    if r.lower == r.upper:
        prob += pulp.LpConstraint(expr, pulp.LpConstraintEQ, name=r.name, rhs=r.upper)
    elif r.lower == -INF:
        prob += pulp.LpConstraint(expr, pulp.LpConstraintLE, name=r.name, rhs=r.upper)
    else:
        prob += pulp.LpConstraint(expr, pulp.LpConstraintGE, name=r.name, rhs=r.lower)


def highs_inf(a: np.ndarray) -> np.ndarray:
    """A copy with +-inf as HiGHS's own infinity (``kHighsInf``), for bounds handed to highspy."""
    import highspy

    a = np.asarray(a, dtype=np.float64).copy()
    a[a == INF] = highspy.kHighsInf
    a[a == -INF] = -highspy.kHighsInf
    return a


def glover_bounds(weights: list[float], max_size: int) -> tuple[float, float]:
    """(L_k, U_k): with k left out up to ``max_size`` partners, with k chosen ``max_size - 1``."""
    weights = sorted(weights)
    low = sum(v for v in weights[:max_size] if v < 0)
    high = sum(v for v in weights[::-1][: max(max_size - 1, 0)] if v > 0)
    return low, high


def build_matrix_model(tables, cons: Constraints, objective: str, per_trial_pairs: bool | None = None) -> MatrixModel:
    """DESIGN.md section 2's program from the value tables (same rows as the PuLP model had).

    ``per_trial_pairs`` (CVaR only): the trials' rows carry each pair's per-trial interaction (``y``
    columns) rather than its mean; by default while trials x pairs <= :data:`CVAR_PAIR_TERMS`.
    """
    g, w = tables.gains, tables.interactions
    K, T = g.shape[0], tables.trials
    pairs = np.asarray(tables.pairs, dtype=np.int64).reshape(-1, 2)
    g_mean, w_mean = g.mean(axis=1), w.mean(axis=1)
    base = float(tables.baseline.mean())

    names = [f"x{k}" for k in range(K)]
    lower, upper, integer = [0.0] * K, [1.0] * K, [True] * K
    # Glover's z_k = x_k * sum_l w_kl x_l: partners of each initiative with a non-zero mean interaction
    partners: list[list[tuple[int, float]]] = [[] for _ in range(K)]
    for q, (a, b) in enumerate(pairs):
        if w_mean[q] != 0.0:
            partners[a].append((int(b), float(w_mean[q])))
            partners[b].append((int(a), float(w_mean[q])))
    z_of = {}
    for k in range(K):
        if partners[k]:
            z_of[k] = len(names)
            names.append(f"z{k}")
            lower.append(-INF), upper.append(INF), integer.append(False)
    mean_cost = np.zeros(len(names))
    mean_cost[:K] = g_mean
    for k, j in z_of.items():
        mean_cost[j] = 0.5  # each pair is counted from both ends
    rows: list[tuple] = []
    for k, j in z_of.items():
        low, high = glover_bounds([v for _, v in partners[k]], cons.max_initiatives)
        rows.append(([j, k], [1.0, -high], -INF, 0.0, f"glover{k}_on"))
        # z <= s_k - L (1 - x_k)  <=>  z - s_k - L x_k <= -L
        idx = [j] + [l for l, _ in partners[k]] + [k]
        val = [1.0] + [-v for _, v in partners[k]] + [-low]
        rows.append((idx, val, -INF, -low, f"glover{k}_sum"))

    if objective == "mean":
        cost, offset = mean_cost, base
    else:
        alpha, beta = parse_risk(objective)
        eta = len(names)
        names.append("eta"), lower.append(-INF), upper.append(INF), integer.append(False)
        u0 = len(names)
        names += [f"u{t}" for t in range(T)]
        lower += [0.0] * T
        upper += [INF] * T
        integer += [False] * T
        if per_trial_pairs is None:
            per_trial_pairs = cvar_per_trial_pairs(T, len(pairs))
        y0 = len(names)
        if per_trial_pairs:
            P = len(pairs)
            names += [f"y{q}" for q in range(P)]
            lower += [0.0] * P
            upper += [1.0] * P
            integer += [False] * P
            for q, (a, b) in enumerate(pairs):
                rows.append(([y0 + q, a], [1.0, -1.0], -INF, 0.0, f"pair{q}_a"))
                rows.append(([y0 + q, b], [1.0, -1.0], -INF, 0.0, f"pair{q}_b"))
                rows.append(([y0 + q, a, b], [1.0, -1.0, -1.0], -1.0, INF, f"pair{q}_ab"))
        # u_t >= eta - v_t  <=>  u_t - eta + (v_t - baseline_t) >= -baseline_t, one row per trial from arrays
        z_cols = np.array(sorted(z_of.values()), dtype=np.int32)
        for t in range(T):
            gk = np.nonzero(g[:, t])[0]
            idx = [np.array([u0 + t, eta]), gk]
            val = [np.array([1.0, -1.0]), g[gk, t]]
            if per_trial_pairs:
                wq = np.nonzero(w[:, t])[0]
                idx.append(y0 + wq)
                val.append(w[wq, t])
            elif z_cols.size:
                idx.append(z_cols)
                val.append(np.full(z_cols.size, 0.5))
            rows.append((np.concatenate(idx), np.concatenate(val), -float(tables.baseline[t]), INF, f"cvar{t}"))
        cost = np.zeros(len(names))
        cost[: mean_cost.size] = (1 - beta) * mean_cost
        cost[eta] = beta
        cost[u0: u0 + T] = -beta / (alpha * T)
        offset = (1 - beta) * base

    model = MatrixModel(K, names, np.array(lower), np.array(upper), cost, np.array(integer, dtype=bool), offset)
    for r in rows:
        model.add_row(*r)
    add_rule_rows(model, cons)
    model.n_base_rows = len(model.rows)
    return model


def cvar_per_trial_pairs(trials: int, pairs: int) -> bool:
    """Do the CVaR rows carry per-trial interactions (else their mean)? While the model stays small."""
    return trials * pairs <= CVAR_PAIR_TERMS


def add_rule_rows(model: MatrixModel, cons: Constraints) -> None:
    """Section 2's rules as rows."""
    K = model.n_x
    allx = np.arange(K)
    model.add_row(allx, np.ones(K), -INF, cons.max_initiatives, "max_initiatives")
    if cons.budget is not None:
        for p in range(len(cons.periods)):
            model.budget_rows[p] = model.add_row(allx, cons.costs[:, p].astype(float), -INF, float(cons.budget[p]),
                                                 f"budget_{p}")
    for i, owner in enumerate(sorted(set(cons.owners))):
        members = [k for k in range(K) if cons.owners[k] == owner]
        if len(members) > cons.capacity_of(owner):
            model.add_row(members, np.ones(len(members)), -INF, cons.capacity_of(owner), f"owner_{i}")
    for i, grp in enumerate(cons.exclusive):
        model.add_row(list(grp), np.ones(len(grp)), -INF, 1.0, f"exclusive_{i}")
    for i, (a, b) in enumerate(cons.requires):
        model.add_row([a, b], [1.0, -1.0], -INF, 0.0, f"requires_{i}")
    for k in sorted(cons.must):
        model.add_row([k], [1.0], 1.0, 1.0, f"must_{k}")
    for k in sorted(cons.forbid):
        model.add_row([k], [1.0], 0.0, 0.0, f"forbid_{k}")
