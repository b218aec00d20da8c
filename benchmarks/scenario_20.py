"""A benchmark scenario: pain points, delighters and initiatives in the numbers asked for, 2 segments."""

from __future__ import annotations

import cxopt


def bench_scenario(n_customers: int = 10_000_000, initiatives: int = 20, pains: int = 10, delighters: int = 2):
    pain_points = [
        {"id": f"pain{j}", "volume": 0.05 + 0.03 * (j % 5),
         "severity": {"dist": "pert", "low": 0.01, "mode": 0.02 + 0.01 * (j % 4), "high": 0.12}}
        for j in range(pains)
    ]
    delight = [{"id": f"delight{d}", "reach": 0.2, "lift": {"dist": "uniform", "low": 0.02, "high": 0.1}}
               for d in range(delighters)]
    drivers = [p["id"] for p in pain_points] + [d["id"] for d in delight]
    inits = []
    for k in range(initiatives):
        fixes = {drivers[k % len(drivers)]: {"dist": "beta", "mean": 0.5, "sd": 0.15}}
        if k % 3 == 0:
            fixes[drivers[(k + 5) % pains]] = {"dist": "uniform", "low": 0.1, "high": 0.4}
        inits.append({"id": f"init{k}", "owner": f"owner{k % 15}", "cost": 100_000 + 25_000 * (k % 7),
                      "success_probability": 0.8 + 0.01 * (k % 10), "months_to_impact": k % 6,
                      "fixes": fixes, **({"segments": ["business"]} if k % 7 == 3 else {})})
    return cxopt.parse_scenario({
        "scenario": {"name": "benchmark", "horizon_months": 12, "trials": 10_000, "seed": 1},
        "customers": {"count": n_customers,
                      "revenue": {"dist": "lognormal", "median": 900.0, "sigma": 0.9},
                      "baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.03},
                      "exposure_correlation": 0.2,
                      "segments": [{"id": "consumer", "share": 0.85},
                                   {"id": "business", "share": 0.15, "revenue_multiplier": 4.0}]},
        "market": {"churn_multiplier": {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.15}},
        "pain_points": pain_points, "delighters": delight, "initiatives": inits,
        "budget": {"total": 1_500_000},
    }, source="benchmark")
