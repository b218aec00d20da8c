"""The epoch walker: go-live months, the epochs between them and the live set in each."""

from __future__ import annotations

import numpy as np

from cxopt.kernels.epochs import baseline_factors, epoch, golive_months, live_at
from tests.kernels.builders import padded, random_world


def epochs_by_hand(portfolio, success, golive, horizon):
    """[(start, stop, live members)] from the months in which the live set changes."""
    starts = sorted({int(golive[k]) for k in portfolio if success[k] and golive[k] < horizon})
    out = []
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else horizon
        out.append((start, stop, sorted(k for k in portfolio if success[k] and golive[k] <= start)))
    return out


def test_the_walker_finds_every_epoch_and_its_live_set():
    rng = np.random.default_rng(0)
    K, T, H = 7, 300, 12
    portfolios = [[]] + [sorted(rng.choice(K, size=int(rng.integers(1, K + 1)), replace=False).tolist())
                         for _ in range(40)]
    port = padded(portfolios)
    success = rng.random((T, K)) < 0.8
    golive = rng.integers(0, H + 2, (T, K)).astype(np.int32)  # repeats and months past the horizon
    golive[:, 0] = 3
    golive[:, 1] = 3
    months = np.empty(port.shape[1] + 2, dtype=np.int64)
    live = np.empty(port.shape[1], dtype=np.int64)
    for t in range(T):
        for p, portfolio in enumerate(portfolios):
            n_m = golive_months(port, p, t, success, golive, H, months)
            got = []
            for x in range(n_m):
                start, stop = epoch(months, n_m, x, H)
                if stop > start:
                    n_live = live_at(port, p, t, success, golive, start, live)
                    got.append((start, stop, sorted(live[:n_live].tolist())))
            assert got == epochs_by_hand(portfolio, success[t], golive[t], H)


def test_baseline_factors_multiply_one_minus_severity_over_the_pains_met():
    w = random_world(1, n_pains=5, n_delighters=2, n_groups=60)
    P0 = np.empty(w["g_seg"].size)
    sev = w["strength"][0]
    baseline_factors(w["g_mask"], 5, sev, P0)
    for g, m in enumerate(w["g_mask"]):
        want = np.prod([1.0 - sev[j] for j in range(5) if int(m) >> j & 1])
        assert np.isclose(P0[g], want, rtol=1e-14)
