"""Slow, obvious reference code the kernels are held to: the model of DESIGN.md section 1
month by month in NumPy, a group-by in NumPy, and splitmix64 in Python integers.
Shares no code with cxopt.kernels."""

from __future__ import annotations

import numpy as np

MASK64 = (1 << 64) - 1


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


def counter_uniform(key: int, customer: int, trial: int) -> float:
    """Uniform in (0, 1): the top 53 bits of the hash of (key, customer, trial), centred."""
    h = splitmix64(key ^ splitmix64((customer + splitmix64(trial)) & MASK64))
    return ((h >> 11) + 0.5) / 2.0**53


def month_factors(w: dict, t: int, portfolio, month: int) -> tuple[np.ndarray, np.ndarray]:
    """Per group, the pain product P and delighter product D in ``month`` of trial ``t``."""
    G, n_pains = w["g_seg"].size, w["n_pains"]
    D = w["strength"].shape[1]
    live = [k for k in portfolio if w["success"][t, k] and w["golive"][t, k] <= month]
    # not_f[s, j] = prod over live k targeting segment s and fixing j of (1 - f_kjt)
    not_f = np.ones((w["n_seg"], D))
    for k in live:
        for e in range(w["fix_ptr"][k], w["fix_ptr"][k + 1]):
            j = w["fix_driver"][e]
            for s in range(w["n_seg"]):
                if w["seg_target"][k, s]:
                    not_f[s, j] *= 1.0 - w["effect"][t, e]
    P, Dd = np.ones(G), np.ones(G)
    for j in range(D):
        met = ((w["g_mask"] >> np.uint64(j)) & np.uint64(1)).astype(bool)
        F = 1.0 - not_f[w["g_seg"], j]
        sig = w["strength"][t, j]
        if j < n_pains:
            P = np.where(met, P * (1.0 - sig * (1.0 - F)), P)
        else:
            Dd = np.where(met, Dd * (1.0 - sig * F), Dd)
    return P, Dd


def grouped(w: dict) -> tuple[np.ndarray, np.ndarray]:
    """Horizon-average retained revenue and customers (P, T), month by month over all groups."""
    T, H = w["market"].size, w["horizon"]
    rev = np.zeros((len(w["portfolios"]), T))
    cust = np.zeros_like(rev)
    for t in range(T):
        m = w["market"][t]
        for p, portfolio in enumerate(w["portfolios"]):
            for month in range(H):
                P, Dd = month_factors(w, t, portfolio, month)
                rev[p, t] += np.sum(P * (w["g_a"] - m * Dd * w["g_b"])) / H
                cust[p, t] += np.sum(P * (w["g_n"] - m * Dd * w["g_c"])) / H
    return rev, cust


def retention_coefficients(w: dict, t: int, portfolio) -> tuple[np.ndarray, np.ndarray]:
    """Per group: a customer with baseline churn p is retained over the horizon w.p. a - b p."""
    H, m = w["horizon"], w["market"][t]
    a = np.zeros(w["g_seg"].size)
    b = np.zeros_like(a)
    for month in range(H):
        P, Dd = month_factors(w, t, portfolio, month)
        a += P / H
        b += m * Dd * P / H
    return a, b


def group_by(segment, mask, revenue, churn):
    """{(segment, mask): (n, sum r, sum r p, sum p, max p)} with NumPy, in float."""
    keys = np.stack([segment.astype(np.int64), mask.astype(np.int64)], axis=1)
    uniq, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.ravel()
    n = np.bincount(inv, minlength=len(uniq))
    sums = [np.bincount(inv, weights=x, minlength=len(uniq)) for x in (revenue, revenue * churn, churn)]
    maxp = np.full(len(uniq), -np.inf)
    np.maximum.at(maxp, inv, churn)
    return {(int(s), int(k)): (int(n[i]), sums[0][i], sums[1][i], sums[2][i], maxp[i])
            for i, (s, k) in enumerate(uniq)}
