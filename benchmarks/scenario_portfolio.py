"""A large, heterogeneous candidate list for the optimiser benchmark: 200 initiatives on 40 pains.

Costs, effects, owners and delivery vary from initiative to initiative (seeded), as in a real
long list; each initiative acts on one or two pain points, so initiatives overlap on shared
pains and interact through customers who meet several.
"""

from __future__ import annotations

import numpy as np

import cxopt


def portfolio_scenario(n_customers: int = 100_000, initiatives: int = 200, pains: int = 40, seed: int = 5):
    rng = np.random.default_rng(seed)
    pain_points = [{"id": f"pain{j}", "volume": float(np.round(rng.uniform(0.01, 0.08), 4)),
                    "severity": {"dist": "pert", "low": 0.01, "mode": float(np.round(rng.uniform(0.03, 0.3), 3)),
                                 "high": 0.45}}
                   for j in range(pains)]
    inits = []
    for k in range(initiatives):
        targets = rng.choice(pains, size=1 + int(rng.random() < 0.3), replace=False)
        fixes = {f"pain{j}": {"dist": "beta", "mean": float(np.round(rng.uniform(0.2, 0.8), 3)), "sd": 0.1}
                 for j in targets}
        inits.append({"id": f"init{k}", "owner": f"owner{int(rng.integers(0, 60))}",
                      "cost": float(np.round(rng.uniform(50_000, 500_000), -3)),
                      "success_probability": float(np.round(rng.uniform(0.6, 1.0), 2)),
                      "months_to_impact": int(rng.integers(0, 7)), "fixes": fixes})
    return cxopt.parse_scenario({
        "scenario": {"name": "portfolio benchmark", "horizon_months": 12, "seed": 1},
        "customers": {"count": n_customers,
                      "revenue": {"dist": "lognormal", "median": 900.0, "sigma": 0.9},
                      "baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.03},
                      "exposure_correlation": 0.2},
        "pain_points": pain_points, "initiatives": inits,
        "budget": {"total": 1_500_000},
    }, source="portfolio benchmark")


def portfolio_simulation(n_customers: int = 100_000, initiatives: int = 200, trials: int = 1000):
    """The case simulated (every single and interacting pair, seed 1), its build time printed (not counted)."""
    import time

    from cxopt.data.customers import CustomerBase
    from cxopt.engine.simulation import simulate

    sc = portfolio_scenario(n_customers, initiatives=initiatives)
    t0 = time.perf_counter()
    sim = simulate(sc, CustomerBase.synthetic(sc, seed=1), trials=trials, seed=1)
    print(f"\nsimulation: {initiatives} initiatives, {sim.pairs.shape[0]:,} interacting pairs, {trials} trials: "
          f"{time.perf_counter() - t0:.1f} s (not counted)")
    return sim
