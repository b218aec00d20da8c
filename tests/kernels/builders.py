"""Random kernel inputs ("worlds") in the layouts the engine passes, built with plain NumPy.

A world is a dict: the groups (segment, mask, N, sum r, sum r p, sum p), one set of trial
draws (severities and lifts, market multiplier, each initiative's fixes and effectiveness,
success, go-live month), segment targeting, and a list of portfolios.
"""

from __future__ import annotations

import numpy as np


def random_world(seed: int, *, n_pains: int = 3, n_delighters: int = 1, n_seg: int = 2, n_groups: int = 40,
                 n_init: int = 6, trials: int = 24, horizon: int = 12, portfolios=None, max_fixes: int = 2,
                 severity_one: float = 0.0) -> dict:
    """A small random world; ``severity_one`` is the share of (trial, pain) severities set to exactly 1."""
    rng = np.random.default_rng(seed)
    D = n_pains + n_delighters
    # distinct (segment, mask) keys
    n_groups = min(n_groups, n_seg << D)
    keys = set()
    while len(keys) < n_groups:
        keys.add((int(rng.integers(n_seg)), int(rng.integers(1 << D))))
    keys = sorted(keys)
    g_seg = np.array([k[0] for k in keys], dtype=np.int32)
    g_mask = np.array([k[1] for k in keys], dtype=np.uint64)
    g_n = rng.integers(1, 50, n_groups).astype(np.float64)
    g_a = g_n * rng.uniform(10, 200, n_groups)  # sum r
    g_c = g_n * rng.uniform(0.01, 0.3, n_groups)  # sum p
    g_b = g_a * (g_c / g_n)  # sum r p (roughly)
    strength = rng.uniform(0.01, 0.4, (trials, D))
    if severity_one:
        hit = rng.random((trials, n_pains)) < severity_one
        strength[:, :n_pains][hit] = 1.0
    market = rng.uniform(0.8, 1.2, trials)
    fix_lists = [sorted(rng.choice(D, size=int(rng.integers(1, max_fixes + 1)), replace=False).tolist())
                 for _ in range(n_init)]
    fix_ptr = np.zeros(n_init + 1, dtype=np.int64)
    for k, fl in enumerate(fix_lists):
        fix_ptr[k + 1] = fix_ptr[k] + len(fl)
    fix_driver = np.array([j for fl in fix_lists for j in fl], dtype=np.int64)
    effect = rng.uniform(0.0, 1.0, (trials, fix_driver.size))
    seg_target = rng.random((n_init, n_seg)) < 0.8
    success = rng.random((trials, n_init)) < 0.85
    golive = rng.integers(0, horizon + 3, (trials, n_init)).astype(np.int32)
    if portfolios is None:
        portfolios = [[]] + [[k] for k in range(n_init)]
        for _ in range(12):
            size = int(rng.integers(2, min(n_init, 4) + 1))
            portfolios.append(sorted(rng.choice(n_init, size=size, replace=False).tolist()))
    return dict(g_seg=g_seg, g_mask=g_mask, g_n=g_n, g_a=g_a, g_b=g_b, g_c=g_c, n_pains=n_pains, n_seg=n_seg,
                strength=strength, market=market, fix_ptr=fix_ptr, fix_driver=fix_driver, effect=effect,
                seg_target=seg_target, success=success, golive=golive, horizon=horizon,
                portfolios=[list(p) for p in portfolios], fix_lists=fix_lists)


def padded(portfolios) -> np.ndarray:
    kmax = max([len(p) for p in portfolios] + [1])
    port = np.full((len(portfolios), kmax), -1, dtype=np.int32)
    for i, p in enumerate(portfolios):
        port[i, : len(p)] = p
    return port


def touched_drivers(w: dict, portfolio) -> tuple:
    return tuple(sorted({j for k in portfolio for j in w["fix_lists"][k]}))


def affected(w: dict, portfolio) -> np.ndarray:
    """Groups a portfolio can change: exposed to a driver of a member that targets the segment."""
    hit = np.zeros(w["g_seg"].size, dtype=bool)
    for k in portfolio:
        dm = 0
        for j in w["fix_lists"][k]:
            dm |= 1 << j
        hit |= ((w["g_mask"] & np.uint64(dm)) != 0) & w["seg_target"][k][w["g_seg"]]
    return np.flatnonzero(hit).astype(np.int64)


def common_args(w: dict) -> tuple:
    return (w["g_seg"], w["g_mask"], w["g_n"], w["g_a"], w["g_b"], w["g_c"], w["n_pains"], w["n_seg"],
            w["strength"], w["market"], w["fix_ptr"], w["fix_driver"], w["effect"], w["seg_target"],
            w["success"], w["golive"], w["horizon"])


def grouped_args(w: dict) -> tuple:
    """Arguments of ``evaluate_grouped`` for all of the world's portfolios."""
    lists = [affected(w, p) for p in w["portfolios"]]
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([a.size for a in lists])
    idx = np.concatenate(lists + [np.empty(0, np.int64)]).astype(np.int64)
    return (padded(w["portfolios"]), ptr, idx) + common_args(w)


def class_args(w: dict) -> tuple[tuple, np.ndarray]:
    """Arguments of ``evaluate_grouped_classes`` and the order of the portfolios in them."""
    portfolios = w["portfolios"]
    touched = [touched_drivers(w, p) for p in portfolios]
    sets = sorted(set(touched))
    set_index = {ts: q for q, ts in enumerate(sets)}
    order = sorted(range(len(portfolios)), key=lambda i: set_index[touched[i]])
    port_set = np.array([set_index[touched[i]] for i in order], dtype=np.int64)
    set_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
    set_drivers = np.array([j for ts in sets for j in ts], dtype=np.int64)
    aff_ptr = np.zeros(len(sets) + 1, dtype=np.int64)
    idx_parts, cls_parts = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for q, ts in enumerate(sets):
        set_ptr[q + 1] = set_ptr[q] + len(ts)
        bits = np.zeros(w["g_seg"].size, dtype=np.int64)
        for x, j in enumerate(ts):
            bits |= ((w["g_mask"] >> np.uint64(j)) & np.uint64(1)).astype(np.int64) << x
        hit = np.flatnonzero(bits)
        idx_parts.append(hit)
        cls_parts.append((w["g_seg"][hit].astype(np.int64) << len(ts)) | bits[hit])
        aff_ptr[q + 1] = aff_ptr[q] + hit.size
    args = (padded([portfolios[i] for i in order]), port_set, set_ptr, set_drivers, aff_ptr,
            np.concatenate(idx_parts).astype(np.int64), np.concatenate(cls_parts).astype(np.int64))
    return args + common_args(w), np.array(order)


def sampled_args(w: dict, t0: int, t1: int, p0: int, p1: int) -> tuple:
    """Arguments of ``retention_coefficients``."""
    port, ptr, idx = grouped_args(w)[:3]
    return (t0, t1, p0, p1, port, ptr, idx, w["g_seg"], w["g_mask"], w["n_pains"], w["strength"], w["market"],
            w["fix_ptr"], w["fix_driver"], w["effect"], w["seg_target"], w["success"], w["golive"], w["horizon"])
