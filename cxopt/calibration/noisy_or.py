"""The calibration model of DESIGN.md section 1 without initiatives (noisy-OR with a baseline
per segment) on grouped counts, and the measures of its fit: calibration by decile, a
logistic-regression yardstick, and the exposure correlations that threaten the estimates.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from cxopt.data.history import HistoryGroups

__all__ = ["NoisyOr", "calibration_table", "exposure_correlations", "fit_quality", "logistic_yardstick"]

THETA_MAX = 30.0  # -log(1 - sigma) <= 30: sigma < 1 - 1e-13
ALPHA_MIN = 1e-12  # keeps log P finite for a group with churners and no pain


# --------------------------------------------------------------------------------------
# the model: noisy-OR with a baseline per segment
# --------------------------------------------------------------------------------------
class NoisyOr:
    """Log-likelihood, gradient and Hessian of the calibration model on grouped counts.

    Parameters ``x = [alpha_0..alpha_{S-1}, theta_0..theta_{J-1}]`` (``-log(1 - p_s)``,
    ``-log(1 - sigma_j)``). ``exposure`` is ``w = t / H`` per group. A per-row data set is
    the special case ``customers = 1``.
    """

    def __init__(self, segment, exposed, exposure, customers, churned, n_segments: int):
        self.segment = np.ascontiguousarray(segment, dtype=np.int64)
        self.X = np.ascontiguousarray(exposed, dtype=np.float64).reshape(len(self.segment), -1)
        self.w = np.ascontiguousarray(exposure, dtype=np.float64)
        self.n = np.ascontiguousarray(customers, dtype=np.float64)
        self.y = np.ascontiguousarray(churned, dtype=np.float64)
        self.S, self.J = int(n_segments), self.X.shape[1]
        self.K = self.S + self.J

    def eta(self, x: np.ndarray) -> np.ndarray:
        return x[: self.S][self.segment] + self.X @ x[self.S:]

    def churn_probability(self, x: np.ndarray) -> np.ndarray:
        """P(churn within the observed months) per group."""
        return -np.expm1(-self.w * self.eta(x))

    def log_likelihood(self, x: np.ndarray) -> float:
        we = self.w * self.eta(x)
        with np.errstate(divide="ignore"):
            churn = np.where(self.y > 0, self.y * np.log(-np.expm1(-we)), 0.0)
        return float(churn.sum() - ((self.n - self.y) * we).sum())

    def _d_eta(self, x):
        we = self.w * self.eta(x)
        P = -np.expm1(-we)
        safe = np.where(self.y > 0, P, 1.0)
        return P, safe, we

    def gradient(self, x: np.ndarray) -> np.ndarray:
        _, safe, _ = self._d_eta(x)
        g = self.w * (np.where(self.y > 0, self.y / safe, 0.0) - self.n)
        return np.concatenate([np.bincount(self.segment, weights=g, minlength=self.S), self.X.T @ g])

    def hessian(self, x: np.ndarray) -> np.ndarray:
        """Second derivatives of the log-likelihood (negative semi-definite)."""
        _, safe, we = self._d_eta(x)
        h = np.where(self.y > 0, -self.w**2 * self.y * np.exp(-we) / safe**2, 0.0)
        H = np.zeros((self.K, self.K))
        H[: self.S, : self.S] = np.diag(np.bincount(self.segment, weights=h, minlength=self.S))
        hx = self.X * h[:, None]
        cross = np.zeros((self.S, self.J))
        np.add.at(cross, self.segment, hx)
        H[: self.S, self.S:], H[self.S:, : self.S] = cross, cross.T
        H[self.S:, self.S:] = self.X.T @ hx
        return H

    def start(self) -> np.ndarray:
        """A crude interior start: rates among the unexposed, and exposed vs unexposed."""
        none = self.X.sum(axis=1) == 0
        x = np.empty(self.K)
        for s in range(self.S):
            sel = (self.segment == s) & none if ((self.segment == s) & none).any() else self.segment == s
            rate = self.y[sel].sum() / max(self.n[sel].sum(), 1.0)
            x[s] = -math.log1p(-min(max(rate, 1e-4), 0.9))
        for j in range(self.J):
            e = self.X[:, j] > 0
            r1 = self.y[e].sum() / max(self.n[e].sum(), 1.0)
            r0 = self.y[~e].sum() / max(self.n[~e].sum(), 1.0)
            x[self.S + j] = min(max(math.log((1 - min(r0, 0.99)) / (1 - min(r1, 0.99))), 1e-3), 5.0)
        return x

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.r_[np.full(self.S, ALPHA_MIN), np.zeros(self.J)], np.full(self.K, THETA_MAX)

    def fit(self, x0: np.ndarray | None = None, *, newton_only: bool = False) -> np.ndarray:
        """Maximum likelihood: bounded L-BFGS-B, then Newton steps on the free parameters.

        ``newton_only``: skip L-BFGS-B (a start already near the optimum, e.g. a bootstrap
        replicate started at the estimate; the log-likelihood is concave).
        """
        lower, upper = self.bounds()
        x = np.clip(self.start() if x0 is None else np.asarray(x0, dtype=np.float64), lower, upper)
        if newton_only:
            return self._newton(x, lower, upper)
        # Well behaved for L-BFGS-B: a per-customer objective, and each parameter in units of
        # its standard error at the start (a rare pain's curvature is a hundredth of a common
        # one's). Newton steps then take the optimum to machine precision.
        N = max(float(self.n.sum()), 1.0)
        d = np.sqrt(np.clip(-np.diag(self.hessian(x)), 0.0, None) / N)
        d = np.where(d > 0, d, 1.0)
        res = optimize.minimize(lambda u: -self.log_likelihood(u / d) / N, x * d,
                                jac=lambda u: -self.gradient(u / d) / (N * d),
                                method="L-BFGS-B", bounds=list(zip(lower * d, upper * d)),
                                options=dict(maxiter=1000, ftol=1e-12, gtol=1e-9))
        return self._newton(np.clip(res.x / d, lower, upper), lower, upper)

    def _newton(self, x, lower, upper, iterations: int = 100):
        f = self.log_likelihood(x)
        for _ in range(iterations):
            g, H = self.gradient(x), self.hessian(x)
            free = ~(((x <= lower) & (g <= 0)) | ((x >= upper) & (g >= 0)))
            if not free.any():
                break
            A = -H[np.ix_(free, free)]
            A += np.eye(A.shape[0]) * (1e-12 * max(float(np.trace(A)), 1e-300))
            try:
                step = np.linalg.solve(A, g[free])
            except np.linalg.LinAlgError:
                break
            t, moved = 1.0, False
            while t > 1e-12:
                xn = x.copy()
                xn[free] = np.clip(x[free] + t * step, lower[free], upper[free])
                fn = self.log_likelihood(xn)
                if fn >= f:
                    moved = True
                    break
                t *= 0.5
            if not moved:
                break
            change = float(np.max(np.abs(xn - x)))
            x, f = xn, fn
            if change <= 1e-15 * (1.0 + float(np.max(np.abs(x)))):
                break
        return x

# --------------------------------------------------------------------------------------
# fit quality, confounding
# --------------------------------------------------------------------------------------
def calibration_table(P: np.ndarray, n: np.ndarray, y: np.ndarray, bins: int = 10) -> list[dict]:
    """Predicted vs observed churn by decile of predicted churn (customers ranked; groups split pro rata)."""
    order = np.argsort(P, kind="stable")
    P, n, y = P[order], n[order].astype(np.float64), y[order].astype(np.float64)
    hi = np.cumsum(n)
    lo, N = hi - n, hi[-1] if hi.size else 0.0
    rows = []
    for k in range(bins):
        a, b = N * k / bins, N * (k + 1) / bins
        share = np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / np.where(n > 0, n, 1.0)
        c = float((share * n).sum())
        rows.append({"decile": k + 1, "customers": c,
                     "predicted": float((share * n * P).sum() / c) if c else 0.0,
                     "observed": float((share * y).sum() / c) if c else 0.0})
    return rows


def fit_quality(model: str, ll: float, k: int, P, n, y, **extra) -> dict:
    """Log-likelihood, AIC and calibration table (with its mean error) of a fitted model."""
    table = calibration_table(P, n, y)
    N = sum(r["customers"] for r in table) or 1.0
    err = sum(r["customers"] * abs(r["predicted"] - r["observed"]) for r in table) / N
    return {"model": model, "log_likelihood": ll, "parameters": k, "aic": 2 * k - 2 * ll,
            "calibration": table, "calibration_error": err, **extra}


def logistic_yardstick(m: NoisyOr, names: list[str]) -> dict:
    """Plain logistic regression on the grouped counts: intercept, segment dummies, exposure bits[, log w]."""
    cols, labels = [np.ones(len(m.n))], ["intercept"]
    for s in range(1, m.S):
        cols.append((m.segment == s).astype(np.float64))
        labels.append(f"segment={names[s]}")
    for j in range(m.J):
        cols.append(m.X[:, j])
        labels.append(names[m.S + j])
    if np.unique(m.w).size > 1:
        cols.append(np.log(m.w))
        labels.append("log(observed/horizon)")
    D = np.column_stack(cols)
    N, ridge = max(float(m.n.sum()), 1.0), 1e-9  # the ridge only keeps separated data finite

    def nll(b):
        z = D @ b
        return float((m.n * np.logaddexp(0.0, z) - m.y * z).sum() / N + ridge * (b[1:] @ b[1:]))

    def grad(b):
        p = 1 / (1 + np.exp(-(D @ b)))
        return D.T @ (m.n * p - m.y) / N + 2 * ridge * np.r_[0.0, b[1:]]

    def hess(b):
        p = 1 / (1 + np.exp(-(D @ b)))
        penalty = 2 * ridge * np.diag(np.r_[0.0, np.ones(len(b) - 1)])
        return (D * (m.n * p * (1 - p))[:, None]).T @ D / N + penalty

    rate = min(max(m.y.sum() / N, 1e-6), 1 - 1e-6)
    b0 = np.zeros(D.shape[1])
    b0[0] = math.log(rate / (1 - rate))
    res = optimize.minimize(nll, b0, jac=grad, hess=hess, method="trust-exact", options={"gtol": 1e-10})
    z = D @ res.x
    ll = float((m.y * z - m.n * np.logaddexp(0.0, z)).sum())
    return fit_quality("logistic regression (yardstick)", ll, D.shape[1], 1 / (1 + np.exp(-z)), m.n, m.y,
                       coefficients=dict(zip(labels, (float(v) for v in res.x))))


def exposure_correlations(groups: HistoryGroups, drivers: list[int] | None = None) -> list[dict]:
    """phi coefficient of every pair of exposure bits (customers pooled), largest magnitude first."""
    idx = list(range(groups.n_pains)) if drivers is None else drivers
    E = np.column_stack([groups.exposed(j) for j in idx]).astype(np.float64) if idx else np.zeros((0, 0))
    n = groups.customers.astype(np.float64)
    N = n.sum()
    both = E.T @ (E * n[:, None]) if idx else np.zeros((0, 0))
    one = np.diag(both)
    out = []
    for a in range(len(idx)):
        for b in range(a + 1, len(idx)):
            den = math.sqrt(one[a] * (N - one[a]) * one[b] * (N - one[b]))
            phi = (both[a, b] * N - one[a] * one[b]) / den if den > 0 else 0.0
            out.append({"a": groups.drivers[idx[a]], "b": groups.drivers[idx[b]], "phi": float(phi),
                        "both": float(both[a, b])})
    return sorted(out, key=lambda r: (-abs(r["phi"]), r["a"], r["b"]))
