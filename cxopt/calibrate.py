"""Calibration: severities and baseline churn fitted from a customer history (DESIGN.md section 3).

A history is the customer file of DESIGN.md section 6 plus ``churned`` (bool: left within
the observation window) and optionally ``observed_months`` (the months a customer could
have been seen leaving, for customers who joined during the window; ``baseline_churn`` is
not needed). One streaming pass reduces it to exact integer counts per (segment, exposure
mask, observed months): customers ``n_g`` and churned ``y_g``. The model of DESIGN.md
section 1 with no initiatives is fitted to those counts by maximum likelihood::

    P(churn_i) = 1 - (1 - p_s(i)) * prod_{j in e_i} (1 - sigma_j)

Parametrisation and likelihood. With ``alpha_s = -log(1 - p_s)`` and
``theta_j = -log(1 - sigma_j)`` (both >= 0), ``-log(1 - P) = eta = alpha_s + sum_j theta_j e_j``
is linear, and a customer observed ``t`` months of a ``H``-month horizon keeps the same
monthly hazard: survival ``(1 - P)^(t/H) = exp(-w eta)``, ``w = t/H``. A group contributes
``y log(1 - exp(-w eta)) - (n - y) w eta``, concave in eta and so in the parameters: bounded
L-BFGS-B (scipy) with the analytic gradient, then Newton steps with the analytic Hessian
to machine precision. ``observed_months`` is rounded to whole months (at least 1). The
log-likelihood is the per-customer Bernoulli one (no binomial constants), so the grouped
fit and a per-row fit are the same function.

Uncertainty: the observed information matrix (delta method to the probability scale), or
a nonparametric bootstrap (``bootstrap=B``: the N customers resampled as one multinomial
draw over the (group, churned) cells, each replicate refitted). Each estimate becomes
``beta(mean, sd)``: mean and sd are those of the normal approximation truncated to [0, 1]
(equal to estimate and standard error away from the bounds; always a valid beta). For a
segment's ``baseline_churn`` the scenario reads a beta as the spread of ``p_i`` across
customers; the engine's results depend on its mean only, and a history cannot tell that
spread apart from the mean, so the sd written is the estimation uncertainty.

Fit quality: log-likelihood and AIC, a calibration table by decile of predicted churn
(customers ranked by prediction; a group straddling a decile boundary is split in
proportion), and the same for a plain logistic regression on the same columns (segment
dummies, exposure bits, and log(t/H) when observation varies) as a yardstick. A history
is not an experiment: the report lists the pairwise exposure correlations (phi) that most
threaten the estimates.

Parameters the history cannot inform stay as given, with the reason: a pain nobody met,
a segment absent from the history, pains that always occur together, delighter lifts.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from pydantic import BaseModel
from scipy import optimize, special

from .atomic import atomic_path
from .customers import (DEFAULT_CHUNK, EXPOSED_PREFIX, CustomerBase, _chunk_from_batch, _is_csv, _iter_batches,
                        _resolve_paths, _schema_names, driver_volume)
from .distributions import Distribution, parse_distribution
from .scenario import Problem, Scenario, ScenarioError, parse_scenario

__all__ = ["Calibration", "HistoryGroups", "NoisyOr", "calibrate", "read_history", "synthetic_history"]

CHURNED, OBSERVED = "churned", "observed_months"
DENSE_KEYS = 1 << 22  # per chunk, keys up to this are counted by direct indexing (bincount)
THETA_MAX = 30.0  # -log(1 - sigma) <= 30: sigma < 1 - 1e-13
ALPHA_MIN = 1e-12  # keeps log P finite for a group with churners and no pain
DIGITS = 5  # significant digits of the numbers written to the scenario
PHI_SHOWN, PHI_THREAT = 5, 0.1


# --------------------------------------------------------------------------------------
# the history, grouped
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HistoryGroups:
    """Exact counts of a history per (segment, exposure mask, observed months) group.

    ``drivers`` names the mask bits: every pain point (in scenario order), then the
    delighters whose ``exposed_`` column the history has.
    """

    segment: np.ndarray  # int32 code into segments
    mask: np.ndarray  # uint64
    months: np.ndarray  # int64, observed months (1..window)
    customers: np.ndarray  # int64 n_g
    churned: np.ndarray  # int64 y_g
    revenue: np.ndarray  # float64
    revenue_churned: np.ndarray  # float64
    segments: tuple[str, ...]
    drivers: tuple[str, ...]
    n_pains: int
    window_months: int
    source: str = "<history>"

    @property
    def n_customers(self) -> int:
        return int(self.customers.sum())

    @property
    def n_churned(self) -> int:
        return int(self.churned.sum())

    def exposed(self, j: int) -> np.ndarray:
        return ((self.mask >> np.uint64(j)) & np.uint64(1)).astype(bool)


def read_history(scenario: Scenario, path: str | os.PathLike, *, window_months: int | None = None,
                 chunk_size: int = DEFAULT_CHUNK, progress: Callable | None = None,
                 dense_keys: int = DENSE_KEYS) -> HistoryGroups:
    """Stream a history file (Parquet, CSV, directory or glob) into :class:`HistoryGroups`.

    Every value is validated; a problem raises :class:`ScenarioError` naming the file, the
    column and ``row N (customer_id X)``.
    """
    window = _window(scenario, window_months)
    paths = _resolve_paths(str(path))
    pains = [p.id for p in scenario.pain_points]
    delighters = _check_history_columns(scenario, paths)
    drivers = pains + delighters
    declared = bool(scenario.customers.segments)
    seg_codes: dict[str, int] = {s.id: i for i, s in enumerate(scenario.customers.segments)}
    total = sum(pq.ParquetFile(p).metadata.num_rows for p in paths if not _is_csv(p))
    tables, done = [], 0
    for p in paths:
        names = _schema_names(p)
        columns = ["customer_id", "revenue", "segment", CHURNED, *(EXPOSED_PREFIX + d for d in drivers)]
        has_months = OBSERVED in names
        if has_months:
            columns.append(OBSERVED)
        row0 = 0
        for batch in _history_batches(p, columns, names, chunk_size):
            n = batch.num_rows
            chunk = _chunk_from_batch(batch.append_column("baseline_churn", pa.array(np.zeros(n))),
                                      drivers, seg_codes, declared, str(p), row0)
            churned = _flag(batch, CHURNED, str(p), row0)
            months = _months(batch, window, str(p), row0) if has_months else np.full(n, window, dtype=np.int64)
            code = chunk.segment.astype(np.int64) * window + (months - 1)
            tables.append(_group_chunk(code, chunk.mask, churned, chunk.revenue, len(drivers), dense_keys))
            row0 += n
            done += n
            if progress is not None:
                progress("read history", done, total)
    code, mask, (n_g, y_g, rev, rev_y) = _reduce(
        np.concatenate([t[0] for t in tables]) if tables else np.zeros(0, np.int64),
        np.concatenate([t[1] for t in tables]) if tables else np.zeros(0, np.uint64),
        [np.concatenate([t[2][k] for t in tables]) if tables else np.zeros(0) for k in range(4)])
    if int(n_g.sum()) == 0:
        raise ScenarioError(Problem(str(path), "", "the history has no rows"))
    segment, months = code // window, code % window + 1
    names = list(seg_codes)
    if not declared:  # codes in order of appearance; canonical order is by name
        order = sorted(range(len(names)), key=lambda s: names[s])
        remap = np.empty(len(names), dtype=np.int64)
        remap[np.array(order, dtype=np.int64)] = np.arange(len(order))
        segment = remap[segment]
        names = [names[s] for s in order]
    idx = np.lexsort((months, mask, segment))
    return HistoryGroups(
        segment=segment[idx].astype(np.int32), mask=mask[idx], months=months[idx].astype(np.int64),
        customers=n_g[idx].astype(np.int64), churned=y_g[idx].astype(np.int64), revenue=rev[idx],
        revenue_churned=rev_y[idx], segments=tuple(names), drivers=tuple(drivers), n_pains=len(pains),
        window_months=window, source=", ".join(str(p) for p in paths))


def _window(sc: Scenario, window_months: int | None) -> int:
    if window_months is None:
        return sc.horizon_months
    if isinstance(window_months, bool) or not isinstance(window_months, (int, np.integer)) or window_months < 1:
        raise ScenarioError(Problem("", "window_months",
                                    f"expected a whole number of months >= 1, got {window_months!r}"))
    return int(window_months)


def _check_history_columns(sc: Scenario, paths: list[Path]) -> list[str]:
    """Required columns present, no unknown driver; the delighters whose columns every file has."""
    pains, delighters = {p.id for p in sc.pain_points}, [d.id for d in sc.delighters]
    found: list[str] | None = None
    for path in paths:
        names, where = _schema_names(path), str(path)
        required = ("customer_id", "revenue", "segment", CHURNED, *(EXPOSED_PREFIX + p.id for p in sc.pain_points))
        for col in required:
            if col not in names:
                raise ScenarioError(Problem(where, col, "missing column" + (
                    " (bool: did the customer leave within the observation window?)" if col == CHURNED else "")))
        for col in names:
            d = col[len(EXPOSED_PREFIX):]
            if col.startswith(EXPOSED_PREFIX) and d not in pains and d not in delighters:
                raise ScenarioError(Problem(where, col, f"no pain point or delighter {d!r} in the scenario"))
        here = [d for d in delighters if EXPOSED_PREFIX + d in names]
        if found is not None and here != found:
            odd = sorted(set(here) ^ set(found))[0]
            raise ScenarioError(Problem(where, EXPOSED_PREFIX + odd,
                                        f"column present in some history files only ({paths[0]})"))
        found = here
    return found or []


def _history_batches(path: Path, columns: list[str], names: list[str],
                     chunk_size: int) -> Iterator[pa.RecordBatch]:
    if not _is_csv(path):
        yield from _iter_batches(path, columns, chunk_size)
        return
    types = {"customer_id": pa.int64(), "revenue": pa.float64(), "segment": pa.string(), CHURNED: pa.bool_(),
             OBSERVED: pa.float64(), **{c: pa.bool_() for c in columns if c.startswith(EXPOSED_PREFIX)}}
    convert = pacsv.ConvertOptions(include_columns=columns, strings_can_be_null=True, column_types=types)
    read = pacsv.ReadOptions(block_size=max(1 << 20, chunk_size * 64))
    try:
        with pacsv.open_csv(path, read_options=read, convert_options=convert) as reader:
            yield from reader
    except pa.ArrowInvalid as exc:
        m = re.search(r"CSV column #(\d+)", str(exc))
        if m and int(m.group(1)) < len(names):
            _locate_csv_error(path, names[int(m.group(1))], types.get(names[int(m.group(1))]))
        raise ScenarioError(Problem(str(path), "", f"cannot read: {exc}")) from None


def _locate_csv_error(path: Path, column: str, kind) -> None:
    """Re-read one column as text to name the first value that does not convert (error path only)."""
    def ok(v: str) -> bool:
        if kind == pa.bool_():
            return v in ("", "0", "1", "true", "false", "True", "False", "TRUE", "FALSE")
        try:
            (int if kind == pa.int64() else float)(v)
            return True
        except ValueError:
            return v == ""
    convert = pacsv.ConvertOptions(include_columns=["customer_id", column],
                                   column_types={"customer_id": pa.string(), column: pa.string()})
    row = 0
    with pacsv.open_csv(path, convert_options=convert) as reader:
        for batch in reader:
            values, ids = batch.column(column).to_pylist(), batch.column("customer_id").to_pylist()
            for i, v in enumerate(values):
                if not ok(v):
                    expected = {pa.bool_(): "true/false (or 0/1)", pa.int64(): "a whole number"}.get(kind,
                                                                                                  "a number")
                    reason = f"row {row + i + 1} (customer_id {ids[i]}): expected {expected}, got {v!r}"
                    raise ScenarioError(Problem(str(path), column, reason))
            row += len(values)


def _fail(batch: pa.RecordBatch, col: str, where: str, row0: int, i: int, reason: str):
    cid = batch.column("customer_id")[i].as_py()
    raise ScenarioError(Problem(where, col, f"row {row0 + i + 1} (customer_id {cid}): {reason}"))


def _flag(batch: pa.RecordBatch, name: str, where: str, row0: int) -> np.ndarray:
    arr = batch.column(name)
    if arr.null_count:
        _fail(batch, name, where, row0, int(np.flatnonzero(np.asarray(arr.is_null()))[0]), "missing value")
    if pa.types.is_boolean(arr.type):
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_integer(arr.type):
        v = arr.to_numpy(zero_copy_only=False)
        bad = np.flatnonzero((v != 0) & (v != 1))
        if bad.size:
            _fail(batch, name, where, row0, int(bad[0]), f"expected true/false (or 0/1), got {v[bad[0]]}")
        return v.astype(bool)
    raise ScenarioError(Problem(where, name, f"expected a boolean column (true/false or 0/1), got {arr.type}"))


def _months(batch: pa.RecordBatch, window: int, where: str, row0: int) -> np.ndarray:
    arr = batch.column(OBSERVED)
    if arr.null_count:
        _fail(batch, OBSERVED, where, row0, int(np.flatnonzero(np.asarray(arr.is_null()))[0]), "missing value")
    if not (pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type)):
        raise ScenarioError(Problem(where, OBSERVED, f"expected numbers of months, got {arr.type}"))
    v = arr.to_numpy(zero_copy_only=False).astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(v) | (v <= 0) | (v > window + 1e-9))
    if bad.size:
        i = int(bad[0])
        reason = (f"{v[i]:g} exceeds the {window}-month observation window (set window_months / --window-months)"
                  if np.isfinite(v[i]) and v[i] > 0 else f"{v[i]:g}: expected months in (0, {window}]")
        _fail(batch, OBSERVED, where, row0, i, reason)
    return np.clip(np.rint(v), 1, window).astype(np.int64)


def _group_chunk(code, mask, churned, revenue, n_bits, dense_keys):
    """One chunk reduced to (code, mask) -> [n, y, revenue, revenue of churned] (exact counts)."""
    n_codes = int(code.max()) + 1 if code.size else 1
    if n_bits <= 40 and n_codes << n_bits <= dense_keys:
        key = (code << n_bits) | mask.astype(np.int64)
        n = np.bincount(key)
        y = np.bincount(key[churned], minlength=n.size)
        rev = np.bincount(key, weights=revenue, minlength=n.size)
        rev_y = np.bincount(key[churned], weights=revenue[churned], minlength=n.size)
        nz = np.flatnonzero(n)
        return (nz >> n_bits, (nz & ((1 << n_bits) - 1)).astype(np.uint64),
                [n[nz], y[nz], rev[nz], rev_y[nz]])
    ch = churned.astype(np.int64)
    return _reduce(code, mask, [np.ones_like(code), ch, revenue, revenue * ch])


def _reduce(code, mask, cols):
    """Sum ``cols`` over equal (code, mask) keys, sorted (stable: a fixed order of summation)."""
    if code.size == 0:
        return code, mask, cols
    order = np.lexsort((mask, code))
    c, m = code[order], mask[order]
    start = np.flatnonzero(np.r_[True, (c[1:] != c[:-1]) | (m[1:] != m[:-1])])
    return c[start], m[start], [np.add.reduceat(x[order], start) for x in cols]


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
# uncertainty, fit quality, confounding
# --------------------------------------------------------------------------------------
def _beta_from(estimate: float, sd: float) -> Distribution | None:
    """beta(mean, sd) matched to N(estimate, sd^2) truncated to [0, 1] (None if sd is unusable)."""
    if not (math.isfinite(sd) and sd > 0):
        return None
    sd = max(sd, 1e-9)
    a, b = (0.0 - estimate) / sd, (1.0 - estimate) / sd
    mass = float(special.ndtr(b) - special.ndtr(a))
    pa_, pb = math.exp(-a * a / 2) / math.sqrt(2 * math.pi), math.exp(-b * b / 2) / math.sqrt(2 * math.pi)
    shift = (pa_ - pb) / mass
    mean = estimate + sd * shift
    var = sd * sd * (1.0 + (a * pa_ - b * pb) / mass - shift * shift)
    mean = min(max(_sig(mean), 1e-9), 1 - 1e-9)
    s = min(_sig(math.sqrt(max(var, 0.0))), 0.999 * math.sqrt(mean * (1 - mean)))
    return parse_distribution({"dist": "beta", "mean": mean, "sd": max(_sig(s), 1e-12)}, lower=0.0, upper=1.0)


def _sig(x: float) -> float:
    return float(f"{x:.{DIGITS}g}")


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


def _quality(model: str, ll: float, k: int, P, n, y, **extra) -> dict:
    table = calibration_table(P, n, y)
    N = sum(r["customers"] for r in table) or 1.0
    err = sum(r["customers"] * abs(r["predicted"] - r["observed"]) for r in table) / N
    return {"model": model, "log_likelihood": ll, "parameters": k, "aic": 2 * k - 2 * ll,
            "calibration": table, "calibration_error": err, **extra}


def _logistic(m: NoisyOr, names: list[str]) -> dict:
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
    return _quality("logistic regression (yardstick)", ll, D.shape[1], 1 / (1 + np.exp(-z)), m.n, m.y,
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


CONFOUNDING = (
    "A history is not an experiment. Customers who met a pain differ from those who did not in other "
    "ways too (the same old network area, the same contract type), so a fitted severity is the churn "
    "associated with the pain under the model, not proof that fixing it removes that churn. Pains that "
    "travel together are the hardest to tell apart; their estimates trade off against each other.")


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """One fitted probability (a severity or a segment's baseline churn)."""

    id: str
    kind: str  # "severity" or "baseline_churn"
    status: str  # "fitted", or the reason it is kept as given
    given: Distribution
    estimate: float | None = None  # maximum likelihood
    sd: float | None = None  # standard error (information or bootstrap)
    fitted: Distribution | None = None  # beta(mean, sd) written to the scenario
    interval: tuple[float, float] | None = None  # 90%: the fitted beta's 5% and 95% quantiles
    bootstrap_interval: tuple[float, float] | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "given": _dist_dict(self.given),
                "given_mean": self.given.mean(), "estimate": self.estimate,
                "sd": self.sd, "fitted": None if self.fitted is None else _dist_dict(self.fitted),
                "interval90": self.interval, "bootstrap_interval90": self.bootstrap_interval}


@dataclass(frozen=True)
class Calibration:
    """What a history says about the scenario's severities and baseline churn (build with :func:`calibrate`)."""

    scenario: Scenario
    groups: HistoryGroups
    method: str  # "information" or "bootstrap"
    bootstrap: int
    severities: tuple[Estimate, ...]
    baselines: tuple[Estimate, ...]
    pains: tuple[dict, ...]  # per pain: volume, churn among exposed/unexposed, revenue at risk
    segments: tuple[dict, ...]  # per segment: customers, churned, share
    reach: Mapping[str, dict]  # delighters with an exposed_ column: measured reach, overall and per segment
    noisy_or: dict
    logistic: dict
    correlations: tuple[dict, ...]
    parameters: tuple[str, ...]
    covariance: np.ndarray = field(repr=False)  # of the fitted parameters, probability scale
    notes: tuple[str, ...] = ()

    @property
    def customers(self) -> int:
        return self.groups.n_customers

    @property
    def churned(self) -> int:
        return self.groups.n_churned

    def severity(self, pain_id: str) -> Estimate:
        return next(e for e in self.severities if e.id == pain_id)

    def baseline(self, segment_id: str) -> Estimate:
        return next(e for e in self.baselines if e.id == segment_id)

    def to_dict(self) -> dict:
        sev = {e.id: e for e in self.severities}
        top = [c for c in self.correlations if abs(c["phi"]) >= PHI_THREAT][:PHI_SHOWN]
        return {
            "scenario": self.scenario.name, "history": self.groups.source, "customers": self.customers,
            "churned": self.churned, "churn_rate": self.churned / max(self.customers, 1),
            "window_months": self.groups.window_months, "horizon_months": self.scenario.horizon_months,
            "currency": self.scenario.scenario.currency, "groups": int(self.groups.customers.size),
            "uncertainty": {"method": self.method, "bootstrap": self.bootstrap},
            "pain_points": [{**p, **sev[p["id"]].to_dict()} for p in self.pains],
            "segments": [{**s, **b.to_dict()} for s, b in zip(self.segments, self.baselines)],
            "delighters": [{"id": d, **v} for d, v in self.reach.items()],
            "fit": {"noisy_or": self.noisy_or, "logistic": self.logistic},
            "confounding": {"warning": CONFOUNDING, "correlations": list(self.correlations[:PHI_SHOWN]),
                            "threats": top},
            "parameters": list(self.parameters), "notes": list(self.notes),
            "covariance": [[float(v) if math.isfinite(v) else None for v in row] for row in self.covariance],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False)

    def to_scenario(self) -> Scenario:
        """The calibrated scenario, validated."""
        return parse_scenario(self._data(), source=f"{self.scenario.source} (calibrated)")

    def to_toml(self, relative_to: str | os.PathLike | None = None) -> str:
        """The calibrated scenario as TOML text, with comments saying where each number came from.

        ``relative_to``: the directory the file will be written to (a customer file path is
        written relative to it).
        """
        data = self._data()
        path = data.get("customers", {}).get("path")
        if path is not None and relative_to is not None:
            data["customers"]["path"] = os.path.relpath(path, os.path.abspath(relative_to))
        self.to_scenario()  # never write a file that would not load
        return _dump_toml(data, self._comments(), self._header())

    # -- the new scenario ---------------------------------------------------------------
    def _data(self) -> dict:
        sc, g = self.scenario, self.groups
        data = _plain(sc, keep={"scenario", "name", "currency", "horizon_months", "trials", "seed"})
        data["scenario"]["name"] = f"{sc.name} (calibrated)"
        cust = data["customers"]
        shares = {s["id"]: s["share"] for s in self.segments} if self._shares_measured() else {}
        if sc.customers.segments or len(self.baselines) > 1:
            if not sc.customers.segments:  # segments found in the history
                cust["segments"] = [{"id": b.id} for b in self.baselines]
            for row, b in zip(cust["segments"], self.baselines):
                if b.id in shares:
                    row["share"] = shares[b.id]
                if b.fitted is not None:
                    row["baseline_churn"] = b.fitted
            if shares:
                _fix_shares(cust["segments"])
        elif self.baselines[0].fitted is not None:
            cust["baseline_churn"] = self.baselines[0].fitted
        seg_ids = [s["id"] for s in cust.get("segments", [])]
        for j, p in enumerate(sc.pain_points):
            row, info = data["pain_points"][j], self.pains[j]
            row.pop("complaints", None)
            row["volume"] = self._volume(p, info, seg_ids)
            est = self.severities[j]
            if est.fitted is not None:
                row["severity"] = est.fitted
            _reorder(row, ["id", "name", "volume", "severity"])
        for d, row in zip(sc.delighters, data.get("delighters", [])):
            if d.id in self.reach:
                row["reach"] = self._volume(d, self.reach[d.id], seg_ids)
        return data

    def _shares_measured(self) -> bool:
        """Segment shares are written for a synthetic base, when every segment is in the history."""
        return self.scenario.customers.count is not None and all(s["customers"] > 0 for s in self.segments)

    def _volume(self, driver, info: dict, seg_ids: list[str]) -> float | dict[str, float]:
        given = driver.volume if hasattr(driver, "severity") else driver.reach
        per_segment = bool(seg_ids) and (isinstance(given, dict) or info["material"])
        if not per_segment:
            return _sig(info["volume"])
        out = {}
        for s in seg_ids:
            v = info["volume_by_segment"].get(s)
            if v is None:  # a declared segment absent from the history keeps its planned volume
                v = driver_volume(self.scenario, driver, s) if self.scenario.customers.count else info["volume"]
            out[s] = _sig(v)
        return out

    def _header(self) -> list[str]:
        g, sc = self.groups, self.scenario
        how = (f"bootstrap of {self.bootstrap} resamples" if self.method == "bootstrap"
               else "the observed information matrix (delta method)")
        lines = [
            f"{sc.name} — calibrated from a customer history by `cxopt calibrate` "
            f"on {_dt.date.today().isoformat()}.",
            f"History: {g.source} — {g.n_customers:,} customers, {g.n_churned:,} left within the "
            f"{g.window_months}-month window ({g.n_churned / max(g.n_customers, 1):.2%}).",
            f"Based on {sc.source}; everything not marked 'measured' or 'fitted' is copied unchanged.",
            "Fitted by maximum likelihood: P(churn) = 1 - (1 - p_segment) * prod over pains met (1 - severity);",
            f"uncertainty from {how}, written as beta(mean, sd).",
            f"Fit: log-likelihood {self.noisy_or['log_likelihood']:,.1f} (logistic regression yardstick "
            f"{self.logistic['log_likelihood']:,.1f}); mean calibration error by decile "
            f"{self.noisy_or['calibration_error']:.2%}.",
            "The fitted baseline churn holds last year's market: [market] churn_multiplier applies on top.",
            "", *_wrap(CONFOUNDING, 92),
        ]
        threats = [c for c in self.correlations if abs(c["phi"]) >= PHI_THREAT][:PHI_SHOWN]
        if threats:
            lines += _wrap("Exposures that travel together (phi): " + ", ".join(
                f"{c['a']} & {c['b']} {c['phi']:+.2f}" for c in threats) + ".", 92)
        lines += self.notes
        return lines

    def _comments(self) -> dict[tuple, list[str]]:
        sc, g, out = self.scenario, self.groups, {}
        seg_rows = {s["id"]: s for s in self.segments}
        if (sc.customers.segments or len(self.baselines) > 1) and all(b.fitted for b in self.baselines):
            out[("customers", "baseline_churn")] = ["as given; every segment below has its own, fitted"]
        for i, b in enumerate(self.baselines):
            if sc.customers.segments:
                path = ("customers", "segments", [s.id for s in sc.customers.segments].index(b.id))
            elif len(self.baselines) > 1:
                path = ("customers", "segments", i)
            else:
                path = ("customers",)
            s = seg_rows.get(b.id)
            if self._shares_measured() and path != ("customers",):
                out[path + ("share",)] = [
                    f"measured: {s['customers']:,} of the history's {g.n_customers:,} customers"]
            out[path + ("baseline_churn",)] = [_estimate_comment(b, s)]
        for j, p in enumerate(sc.pain_points):
            info, est = self.pains[j], self.severities[j]
            was = (f"complaints = {p.complaints:g} / complaint_rate {p.complaint_rate:g}" if p.complaints is not None
                   else _toml_value(p.volume))
            by = ", ".join(f"{k} {v:.1%}" for k, v in info["volume_by_segment"].items())
            out[("pain_points", j, "volume")] = [
                f"measured: {info['customers_exposed']:,} of {g.n_customers:,} customers met it ({info['volume']:.2%}"
                + (f"; {by}" if len(info["volume_by_segment"]) > 1 else "") + f"); was {was}"]
            out[("pain_points", j, "severity")] = [
                _estimate_comment(est, None),
                f"churn {info['churn_exposed']:.2%} among those who met it vs {info['churn_unexposed']:.2%} among "
                f"those who did not"]
        for k, d in enumerate(sc.delighters):
            if d.id in self.reach:
                out[("delighters", k, "reach")] = [
                    f"measured: {self.reach[d.id]['volume']:.2%} of the history's customers eligible; "
                    f"was {_toml_value(d.reach)}"]
            else:
                out[("delighters", k, "reach")] = [f"kept as given: the history has no {EXPOSED_PREFIX}{d.id} column"]
            out[("delighters", k, "lift")] = ["kept as given: a lift cannot be measured from a history without "
                                              "an intervention"]
        return out


def _estimate_comment(e: Estimate, seg: dict | None) -> str:
    if e.fitted is None:
        return f"kept as given: {e.status}"
    lo, hi = e.interval
    what = (f" from {seg['customers']:,} customers ({seg['churned']:,} left)" if seg else "")
    boot = (f" (bootstrap {e.bootstrap_interval[0]:.2%}–{e.bootstrap_interval[1]:.2%})"
            if e.bootstrap_interval else "")
    return (f"fitted: {e.estimate:.2%} (90% interval {lo:.2%}–{hi:.2%}{boot}){what}; "
            f"was {e.given.describe()}")


def _fix_shares(rows: list[dict]) -> None:
    """Rounded shares that still sum to 1 (the largest takes the rounding)."""
    big = max(range(len(rows)), key=lambda i: rows[i]["share"])
    for i, r in enumerate(rows):
        if i != big:
            r["share"] = round(r["share"], 6)
    rows[big]["share"] = round(1.0 - sum(r["share"] for i, r in enumerate(rows) if i != big), 12)


def _reorder(row: dict, first: list[str]) -> None:
    items = [(k, row[k]) for k in first if k in row] + [(k, v) for k, v in row.items() if k not in first]
    row.clear()
    row.update(items)


# --------------------------------------------------------------------------------------
# calibrate
# --------------------------------------------------------------------------------------
def calibrate(scenario: Scenario, history: str | os.PathLike | HistoryGroups, *, bootstrap: int = 0,
              window_months: int | None = None, seed: int | None = None, chunk_size: int = DEFAULT_CHUNK,
              progress: Callable | None = None) -> Calibration:
    """Fit the scenario's severities and baseline churn per segment to a customer history.

    Parameters
    ----------
    scenario : Scenario
        Supplies the pain points, delighters, segments and horizon; its severities and
        baseline churn are what gets replaced.
    history : path or HistoryGroups
        A history file (Parquet, CSV, directory or glob), or its groups from :func:`read_history`.
    bootstrap : int
        0: uncertainty from the observed information matrix; B > 0: a bootstrap of B resamples.
    window_months : int, optional
        Length of the observation window (default: the scenario's horizon).
    seed : int, optional
        Seed of the bootstrap (default: the scenario's).

    Returns
    -------
    Calibration
        With ``to_scenario()``, ``to_toml()``, ``to_dict()``.
    """
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise ScenarioError(Problem("", "bootstrap", f"expected a number of resamples >= 0, got {bootstrap!r}"))
    g = history if isinstance(history, HistoryGroups) else read_history(
        scenario, history, window_months=window_months, chunk_size=chunk_size, progress=progress)
    H, J = scenario.horizon_months, g.n_pains
    notes: list[str] = []
    N_seg = np.bincount(g.segment, weights=g.customers, minlength=len(g.segments))
    seg_fit = [s for s in range(len(g.segments)) if N_seg[s] > 0]
    exposed = np.column_stack([g.exposed(j) for j in range(J)]) if J else np.zeros((g.customers.size, 0), bool)
    pain_fit = [j for j in range(J) if g.customers[exposed[:, j]].sum() > 0]
    # the fit needs only (segment, pain bits, months): collapse delighter bits
    code = (np.searchsorted(seg_fit, g.segment).astype(np.int64) * (g.window_months + 1) + g.months)
    pmask = g.mask & np.uint64((1 << J) - 1) if J < 64 else g.mask
    code, pmask, (n, y) = _reduce(code, pmask, [g.customers, g.churned])
    seg_c, months = code // (g.window_months + 1), code % (g.window_months + 1)
    X = np.column_stack([((pmask >> np.uint64(j)) & np.uint64(1)).astype(np.float64) for j in pain_fit]) \
        if pain_fit else np.zeros((n.size, 0))
    model = NoisyOr(seg_c, X, months / H, n, y, len(seg_fit))
    x = model.fit()
    names = [g.segments[s] for s in seg_fit] + [g.drivers[j] for j in pain_fit]
    prob = -np.expm1(-x)
    jac = np.exp(-x)  # d prob / d x

    info = -model.hessian(x)
    identified = _identified(info)
    reasons = {k: ("the history holds no churn to measure it by" if info[k, k] <= 0 else
                   "not separately identifiable in this history (a pain every customer met, "
                   "or pains always met together)")
               for k in np.flatnonzero(~identified)}
    for k, why in reasons.items():
        notes.append(f"{names[k]}: kept as given: {why}")
        warnings.warn(f"calibration: {names[k]} is kept as given: {why}", stacklevel=2)
    cov = np.full((model.K, model.K), np.nan)
    ok = np.flatnonzero(identified)
    if ok.size:
        cov[np.ix_(ok, ok)] = np.linalg.inv(info[np.ix_(ok, ok)]) * np.outer(jac[ok], jac[ok])
    sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
    boot_iv = [None] * model.K
    method = "information"
    if bootstrap:
        method = "bootstrap"
        draws = _bootstrap(model, x, bootstrap, scenario.scenario.seed if seed is None else seed)
        sd = np.where(identified, draws.std(axis=0, ddof=1), np.nan)
        q = np.quantile(draws, [0.05, 0.95], axis=0)
        boot_iv = [(float(q[0, k]), float(q[1, k])) for k in range(model.K)]
        cov = np.where(np.outer(identified, identified),
                       np.cov(draws, rowvar=False).reshape(model.K, model.K), np.nan)

    def estimate(k: int, id_: str, kind: str, given: Distribution) -> Estimate:
        if not identified[k]:
            return Estimate(id_, kind, reasons[k], given)
        beta = _beta_from(float(prob[k]), float(sd[k]))
        if beta is None:
            return Estimate(id_, kind, "no usable uncertainty estimate", given, float(prob[k]))
        lo, hi = (float(v) for v in beta.quantile(np.array([0.05, 0.95])))
        return Estimate(id_, kind, "fitted", given, float(prob[k]), float(sd[k]), beta, (lo, hi), boot_iv[k])

    sev = []
    for j, p in enumerate(scenario.pain_points):
        if j in pain_fit:
            sev.append(estimate(len(seg_fit) + pain_fit.index(j), p.id, "severity", p.severity))
        else:
            sev.append(Estimate(p.id, "severity", "no customer in the history met this pain point", p.severity))
    given_churn = {s.id: s.baseline_churn or scenario.customers.baseline_churn
                   for s in scenario.customers.segments}
    base = []
    for s, sid in enumerate(g.segments):
        given = given_churn.get(sid, scenario.customers.baseline_churn)
        base.append(estimate(seg_fit.index(s), sid, "baseline_churn", given) if s in seg_fit
                    else Estimate(sid, "baseline_churn", "the history has no customer in this segment", given))
    pains = _pain_rows(g, sev, exposed)
    segments = [{"id": sid, "customers": int(N_seg[s]),
                 "churned": int(g.churned[g.segment == s].sum()), "share": float(N_seg[s] / g.n_customers),
                 "revenue": float(g.revenue[g.segment == s].sum())}
                for s, sid in enumerate(g.segments)]
    reach = {d: _volume_info(g, g.drivers.index(d)) for d in g.drivers[J:]}
    P = model.churn_probability(x)
    quality = _quality("noisy-OR (the cxopt model)", model.log_likelihood(x), model.K, P, n, y)
    return Calibration(
        scenario=scenario, groups=g, method=method, bootstrap=int(bootstrap), severities=tuple(sev),
        baselines=tuple(base), pains=tuple(pains), segments=tuple(segments),
        reach=reach,
        noisy_or=quality, logistic=_logistic(model, names), correlations=tuple(exposure_correlations(g)),
        parameters=tuple(names), covariance=cov, notes=tuple(notes))


def _identified(info: np.ndarray) -> np.ndarray:
    """Parameters not involved in a (numerically) flat direction of the likelihood."""
    d = np.sqrt(np.clip(np.diag(info), 0.0, None))
    out = d > 0
    if out.sum() == 0:
        return out
    k = np.flatnonzero(out)
    corr = info[np.ix_(k, k)] / np.outer(d[k], d[k])
    vals, vecs = np.linalg.eigh(corr)
    for v, vec in zip(vals, vecs.T):
        if v < 1e-9:
            out[k[np.abs(vec) > 0.1]] = False
    return out


def _bootstrap(model: NoisyOr, x: np.ndarray, B: int, seed: int) -> np.ndarray:
    """B nonparametric resamples of the customers (one multinomial over (group, churned) cells)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), 0xB0075])))
    cells = np.concatenate([model.y, model.n - model.y])
    N = int(round(cells.sum()))
    p = cells / cells.sum()
    G = model.n.size
    out = np.empty((B, model.K))
    for b in range(B):
        c = rng.multinomial(N, p).astype(np.float64)
        m = NoisyOr(model.segment, model.X, model.w, c[:G] + c[G:], c[:G], model.S)
        out[b] = -np.expm1(-m.fit(x0=x, newton_only=True))
    return out


def _volume_info(g: HistoryGroups, j: int) -> dict:
    """A driver's measured volume, overall and per segment, and whether the segments differ materially."""
    e = g.exposed(j)
    n_seg = np.bincount(g.segment, weights=g.customers, minlength=len(g.segments))
    e_seg = np.bincount(g.segment[e], weights=g.customers[e], minlength=len(g.segments))
    v = float(e_seg.sum() / g.n_customers)
    by = {name: float(e_seg[s] / n_seg[s]) for s, name in enumerate(g.segments) if n_seg[s] > 0}
    # material: at least half a point and 10% apart from the overall share, and not noise (3 standard errors)
    material = any(abs(by[name] - v) >= max(0.005, 0.1 * v)
                   and abs(by[name] - v) > 3 * math.sqrt(max(v * (1 - v), 1e-12) / n_seg[s])
                   for s, name in enumerate(g.segments) if n_seg[s] > 0)
    return {"volume": v, "volume_by_segment": by, "material": bool(material), "customers_exposed": int(e_seg.sum())}


def _pain_rows(g: HistoryGroups, sev: list[Estimate], exposed: np.ndarray) -> list[dict]:
    rows = []
    for j, est in enumerate(sev):
        e = exposed[:, j]
        n1, n0 = g.customers[e].sum(), g.customers[~e].sum()
        rev = float(g.revenue[e].sum())
        s = est.estimate if est.fitted is not None else est.given.mean()
        lo, hi = est.interval if est.interval else est.given.quantile(np.array([0.05, 0.95]))
        rows.append({
            "id": est.id, **_volume_info(g, j),
            "churn_exposed": float(g.churned[e].sum() / n1) if n1 else 0.0,
            "churn_unexposed": float(g.churned[~e].sum() / n0) if n0 else 0.0,
            "revenue_exposed": rev,
            "revenue_at_risk": {"mean": rev * s, "p05": rev * float(lo), "p95": rev * float(hi)},
        })
    return rows


# --------------------------------------------------------------------------------------
# synthetic history (the worked example; tests)
# --------------------------------------------------------------------------------------
def synthetic_history(scenario: Scenario, n: int, out: str | os.PathLike, *, seed: int | None = None,
                      truth: str = "draw", observed_share: float = 0.0, force: bool = False,
                      chunk_size: int = DEFAULT_CHUNK, progress: Callable | None = None) -> dict:
    """Write a history of ``n`` customers generated by the model from the scenario's values.

    Customers come from :meth:`CustomerBase.synthetic` (segments, revenue, correlated
    exposures, per-customer baseline churn ``p_i``). The true severities are one draw from
    each pain point's severity distribution (``truth="draw"``, seeded: the world the
    planner's ranges were guessing at) or their means (``truth="mean"``); no market
    multiplier. A share ``observed_share`` of customers joined during the window and is
    observed for 1..H-1 months (column ``observed_months``). Parquet, or CSV when ``out``
    ends in ``.csv``; written atomically.

    Returns
    -------
    dict
        The truth: ``severity`` per pain point, ``baseline_churn`` (mean of p_i) per segment,
        ``customers``, ``churned``, ``path``.
    """
    if truth not in ("draw", "mean"):
        raise ScenarioError(Problem("", "truth", f"expected 'draw' or 'mean', got {truth!r}"))
    for i, seg in enumerate(scenario.customers.segments):
        if seg.share is None:
            raise ScenarioError(Problem(scenario.source, f"customers.segments[{i}].share",
                                        "a synthetic history needs every segment's share"))
    for i, p in enumerate(scenario.pain_points):
        if p.volume is None and scenario.customers.count is None:
            raise ScenarioError(Problem(scenario.source, f"pain_points[{i}].complaints",
                                        "a synthetic history needs a volume (complaints need customers.count)"))
    seed = scenario.scenario.seed if seed is None else int(seed)
    base = CustomerBase.synthetic(scenario, n=n, seed=seed)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x7347])))
    sev = np.array([float(p.severity.sample(rng, 1)[0]) if truth == "draw" else p.severity.mean()
                    for p in scenario.pain_points])
    H, drivers, segments = scenario.horizon_months, scenario.driver_ids, list(base.segments)
    csv = str(out).lower().endswith(".csv")
    seg_type = pa.string() if csv else pa.dictionary(pa.int32(), pa.string())
    fields = [("customer_id", pa.int64()), ("revenue", pa.float64()), ("segment", seg_type), (CHURNED, pa.bool_())]
    fields += [(OBSERVED, pa.int64())] if observed_share > 0 else []
    fields += [(EXPOSED_PREFIX + d, pa.bool_()) for d in drivers]
    schema = pa.schema(fields)
    seg_names, seg_dict = np.array(segments, dtype=object), pa.array(segments, type=pa.string())
    churned_total, done = 0, 0
    with atomic_path(out, force=force) as tmp:
        writer = pacsv.CSVWriter(tmp, schema) if csv else pq.ParquetWriter(tmp, schema, compression="zstd")
        try:
            for k, c in enumerate(base.iter_chunks(chunk_size)):
                r = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, 0x4859, k])))
                keep = np.ones(len(c))
                for j in range(len(sev)):
                    keep *= np.where((c.mask >> np.uint64(j)) & np.uint64(1), 1.0 - sev[j], 1.0)
                survive = (1.0 - c.baseline_churn) * keep
                seg = (pa.array(seg_names[c.segment], type=pa.string()) if csv else
                       pa.DictionaryArray.from_arrays(pa.array(c.segment, type=pa.int32()), seg_dict))
                cols = [pa.array(c.customer_id), pa.array(c.revenue), seg]
                months = None
                if observed_share > 0:
                    months = np.where(r.random(len(c)) < observed_share, r.integers(1, max(H, 2), len(c)), H)
                    survive = survive ** (months / H)
                churned = r.random(len(c)) >= survive
                churned_total += int(churned.sum())
                cols.append(pa.array(churned))
                if months is not None:
                    cols.append(pa.array(months.astype(np.int64)))
                cols += [pa.array(((c.mask >> np.uint64(j)) & np.uint64(1)).astype(bool))
                         for j in range(len(drivers))]
                writer.write_table(pa.Table.from_arrays(cols, schema=schema))
                done += len(c)
                if progress is not None:
                    progress("write history", done, n)
        finally:
            writer.close()
    churn = {s.id: (s.baseline_churn or scenario.customers.baseline_churn).mean()
             for s in scenario.customers.segments}
    return {"severity": {p.id: float(v) for p, v in zip(scenario.pain_points, sev)},
            "baseline_churn": churn or {"all": scenario.customers.baseline_churn.mean()},
            "customers": int(n), "churned": churned_total, "path": str(out)}


# --------------------------------------------------------------------------------------
# writing TOML (the standard library reads it but has no writer)
# --------------------------------------------------------------------------------------
def _plain(model: BaseModel, keep: set[str] = frozenset()) -> dict:
    """A validated model back to plain data (defaults left out; distributions kept as objects)."""
    out = {}
    for name, info in type(model).model_fields.items():
        if info.exclude:
            continue
        value = getattr(model, name)
        if value is None or (name not in keep and not info.is_required()
                             and value == info.get_default(call_default_factory=True)):
            continue
        out[name] = _plain_value(value, keep)
    return out


def _plain_value(value: Any, keep: set[str]) -> Any:
    if isinstance(value, BaseModel):
        return _plain(value, keep)
    if isinstance(value, (list, tuple)):
        return [_plain_value(v, keep) for v in value]
    if isinstance(value, dict):
        return {k: _plain_value(v, keep) for k, v in value.items()}
    return value


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k, ensure_ascii=False)


def _toml_value(v: Any) -> str:
    if isinstance(v, Distribution):
        if v.is_fixed:
            return _toml_value(float(v.params["value"]))
        params = (f"{k} = {_toml_value(float(x))}" for k, x in v.params.items())
        return "{ " + ", ".join([f'dist = "{v.kind}"', *params]) + " }"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        if not math.isfinite(v):
            raise ValueError(f"cannot write {v!r} to a scenario")
        return repr(float(v))
    if isinstance(v, str):
        # a JSON string is a valid TOML basic string, once DEL (not escaped by JSON) is
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write a {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _dump_toml(data: Mapping[str, Any], comments: Mapping[tuple, list[str]] = {}, header: list[str] = ()) -> str:
    """Scenario data as TOML: top-level tables, arrays of tables, inline values; ``comments`` by field path."""
    lines = [("# " + h).rstrip() for h in header]

    def table(name: str, body: Mapping[str, Any], path: tuple, head: str) -> None:
        lines.append("")
        lines.extend("# " + c for c in comments.get(path, []))
        lines.append(head)
        for k, v in body.items():
            if _is_table_array(v):
                continue
            lines.extend("# " + c for c in comments.get(path + (k,), []))
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for k, v in body.items():
            if _is_table_array(v):
                for i, item in enumerate(v):
                    table(f"{name}.{_toml_key(k)}", item, path + (k, i), f"[[{name}.{_toml_key(k)}]]")

    for k, v in data.items():
        if _is_table_array(v):
            for i, item in enumerate(v):
                table(_toml_key(k), item, (k, i), f"[[{_toml_key(k)}]]")
        elif isinstance(v, Mapping):
            table(_toml_key(k), v, (k,), f"[{_toml_key(k)}]")
        else:
            raise TypeError(f"a scenario's top level holds tables only, got {k!r}")
    return "\n".join(lines).lstrip("\n") + "\n"


def _wrap(text: str, width: int) -> list[str]:
    out, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return out + ([line] if line else [])


def _dist_dict(d: Distribution) -> dict:
    return {"dist": d.kind, **{k: float(v) for k, v in d.params.items()}}
