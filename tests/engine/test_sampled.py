"""The per-customer sampled evaluation (DESIGN.md section 1, "Per-customer, sampled").

Customer i is retained in trial t under portfolio S iff u_it < retention_it(S), with
retention_it(S) = (1/H) sum_tau rho_it(S, tau) and u_it a counter-based uniform keyed on
(seed, customer id, trial), the same for every portfolio. Checked here against:

* an independent per-customer, month-by-month brute force of DESIGN.md's formulas
  (customer by customer, with the same uniforms: identical results);
* the grouped path, whose value is the exact expectation over customers' draws
  (stated confidence bounds);
* reproducibility: thread count, chunk size, blocking and in-memory vs re-streamed bases
  change nothing; the seed changes the draws.
"""

from __future__ import annotations

import dataclasses

import numba
import numpy as np
import pytest

import cxopt
from cxopt.engine import sampled
from cxopt.kernels import sampled as kernels_sampled
from cxopt.data.customers import CustomerBase
from cxopt.engine.draws import draw_trials
from cxopt.engine.grouped import evaluate_grouped as _evaluate
from cxopt.engine.simulation import simulate
from tests import builders

H = 12


# --------------------------------------------------------------------------------------
# scenarios
# --------------------------------------------------------------------------------------
def fixed_scenario(count: int = 4000):
    """Every input a fixed number: each trial is the same world, the grouped value is exact."""
    return cxopt.parse_scenario(builders.scenario(
        scenario={"horizon_months": H, "trials": 100, "seed": 11},
        customers={
            "count": count,
            "revenue": builders.lognormal(500.0, 1.0),
            "baseline_churn": builders.beta(0.10, 0.04),
            "exposure_correlation": 0.3,
            "segments": [{"id": "consumer", "share": 0.8},
                         {"id": "business", "share": 0.2, "revenue_multiplier": 5.0}],
        },
        market={"churn_multiplier": 1.1},
        pain_points=[
            builders.pain_point("billing_error", 0.3, 0.08),
            builders.pain_point("outage", {"consumer": 0.1, "business": 0.25}, 0.2),
        ],
        delighters=[builders.delighter("onboarding_call", 0.4, 0.3)],
        initiatives=[
            builders.initiative("bill_check", {"billing_error": 0.6}, owner="CFO", cost=1),
            builders.initiative("network", {"outage": 0.5, "billing_error": 0.2}, owner="CTO", cost=1,
                                months_to_impact=5),
            builders.initiative("welcome", {"onboarding_call": 0.9}, owner="CMO", cost=1, months_to_impact=2,
                                segments=["business"]),
        ],
    ))


def uncertain_data(count: int = 3000) -> dict:
    """Everything uncertain: market, severities, lift, effects, delivery and go-live month."""
    return builders.scenario(
        scenario={"horizon_months": H, "trials": 100, "seed": 23},
        customers={
            "count": count,
            "revenue": builders.lognormal(800.0, 0.9),
            "baseline_churn": builders.beta(0.08, 0.03),
            "exposure_correlation": 0.2,
            "segments": [{"id": "consumer", "share": 0.85},
                         {"id": "business", "share": 0.15, "revenue_multiplier": 4.0}],
        },
        market={"churn_multiplier": builders.triangular(0.9, 1.0, 1.15)},
        pain_points=[
            builders.pain_point("missed_delivery", 0.2, builders.pert(0.01, 0.03, 0.06)),
            builders.pain_point("unreturned_call", {"consumer": 0.05, "business": 0.15}, builders.uniform(0.1, 0.4)),
        ],
        delighters=[builders.delighter("education", 0.25, builders.uniform(0.05, 0.15))],
        initiatives=[
            builders.initiative("callback_sla", {"unreturned_call": builders.beta(0.6, 0.15)}, owner="Sales", cost=1,
                                success_probability=0.8, months_to_impact=builders.uniform(1, 8),
                                segments=["business"]),
            builders.initiative("crm", {"missed_delivery": builders.uniform(0.3, 0.7), "unreturned_call": 0.2},
                                owner="CIO", cost=1, success_probability=0.7, months_to_impact=3),
            builders.initiative("loyalty", {"education": builders.uniform(0.5, 0.9)}, owner="CMO", cost=1,
                                months_to_impact=builders.uniform(0, 14)),
        ],
    )


def uncertain_scenario(count: int = 3000):
    return cxopt.parse_scenario(uncertain_data(count))


def all_portfolios(sc) -> list[list[int]]:
    K = len(sc.initiatives)
    singles = [[k] for k in range(K)]
    pairs = [[k, l] for k in range(K) for l in range(k + 1, K)]
    return [[]] + singles + pairs + [list(range(K))]


def run(sc, base, draws, portfolios, chunk_size=None):
    groups = base.group()
    return sampled.evaluate_sampled(sc, base, groups, draws, portfolios, chunk_size=chunk_size)


def customers_of(base):
    chunks = list(base.iter_chunks())
    return {name: np.concatenate([getattr(c, name) for c in chunks])
            for name in ("customer_id", "revenue", "baseline_churn", "segment", "mask")}


# --------------------------------------------------------------------------------------
# independent brute force: DESIGN.md section 1, month by month, per customer
# --------------------------------------------------------------------------------------
def brute_retention(sc, base, draws, portfolio, t, cu=None) -> np.ndarray:
    """retention_it(S) = (1/H) sum_tau rho_it(S, tau), for every customer (no epochs)."""
    cu = cu or customers_of(base)
    segment_names = np.array(base.segments)[cu["segment"]]
    n_pains = len(sc.pain_points)
    drivers = sc.driver_ids
    p = cu["baseline_churn"]
    out = np.zeros(p.shape[0])
    for tau in range(sc.horizon_months):
        live = [k for k in portfolio if draws.success[t, k] and tau >= draws.golive[t, k]]
        pain = np.ones_like(p)
        delight = np.ones_like(p)
        for j, driver in enumerate(drivers):
            exposed = (cu["mask"] >> np.uint64(j)) & np.uint64(1) == 1
            not_f = np.ones_like(p)
            for k in live:
                init = sc.initiatives[k]
                if driver not in init.fixes:
                    continue
                e = draws.fix_ptr[k] + list(init.fixes).index(driver)
                targeted = init.segments is None or np.isin(segment_names, init.segments)
                not_f = np.where(targeted, not_f * (1.0 - draws.effect[t, e]), not_f)
            F = 1.0 - not_f
            strength = draws.strength[t, j]
            if j < n_pains:
                pain *= np.where(exposed, 1.0 - strength * (1.0 - F), 1.0)
            else:
                delight *= np.where(exposed, 1.0 - strength * F, 1.0)
        out += (1.0 - draws.market[t] * p * delight) * pain
    return out / sc.horizon_months


# --------------------------------------------------------------------------------------
# agreement with the model
# --------------------------------------------------------------------------------------
def test_each_customer_is_retained_iff_its_uniform_falls_below_its_retention():
    sc = uncertain_scenario(count=400)
    base = CustomerBase.synthetic(sc, seed=3)
    draws = draw_trials(sc, 12, seed=5)
    portfolios = all_portfolios(sc)
    rev, cust = run(sc, base, draws, portfolios)

    cu = customers_of(base)
    key = sampled.sampling_key(draws.seed)
    for t in range(draws.trials):
        u = kernels_sampled.customer_uniforms(key, cu["customer_id"], t)
        for q, members in enumerate(portfolios):
            kept = u < brute_retention(sc, base, draws, members, t, cu)
            assert cust[q, t] == kept.sum()
            assert rev[q, t] == pytest.approx(cu["revenue"][kept].sum(), rel=1e-12)


def test_fixed_inputs_sampled_mean_within_four_standard_errors_of_the_exact_expectation():
    # every trial is the same world, so the per-trial values are sums of independent
    # Bernoullis: mean = sum r_i q_i, variance = sum r_i^2 q_i (1 - q_i)
    sc = fixed_scenario()
    base = CustomerBase.synthetic(sc, seed=1)
    T = 400
    draws = draw_trials(sc, T, seed=2)
    portfolios = all_portfolios(sc)
    rev, cust = run(sc, base, draws, portfolios)
    grouped_rev, grouped_cust = _evaluate(sc, base.group(), draws, portfolios)
    cu = customers_of(base)
    r = cu["revenue"]
    for q, members in enumerate(portfolios):
        retention = brute_retention(sc, base, draws, members, 0, cu)
        expected_rev = float(r @ retention)
        # the grouped value is that exact expectation, the same in every trial
        assert grouped_rev[q] == pytest.approx(np.full(T, expected_rev), rel=1e-10)
        assert grouped_cust[q] == pytest.approx(np.full(T, retention.sum()), rel=1e-10)
        se_rev = np.sqrt(np.sum(r**2 * retention * (1 - retention)) / T)
        se_cust = np.sqrt(np.sum(retention * (1 - retention)) / T)
        assert abs(rev[q].mean() - expected_rev) < 4 * se_rev
        assert abs(cust[q].mean() - retention.sum()) < 4 * se_cust
        # and the spread across trials is the Bernoulli spread (chi-square, 4 sigma: sd ~ 1/sqrt(2T))
        assert rev[q].std(ddof=1) / (se_rev * np.sqrt(T)) == pytest.approx(1.0, abs=4 * np.sqrt(2.0 / T))


def test_uncertain_inputs_sampled_mean_converges_to_the_grouped_value():
    # given a trial's draws the grouped value is the expectation of the sampled one, so the
    # per-trial differences are independent with mean zero: a 4-sigma t-bound
    sc = uncertain_scenario()
    base = CustomerBase.synthetic(sc, seed=4)
    T = 600
    draws = draw_trials(sc, T, seed=6)
    portfolios = all_portfolios(sc)
    rev, cust = run(sc, base, draws, portfolios)
    grouped_rev, grouped_cust = _evaluate(sc, base.group(), draws, portfolios)
    for sampled_v, grouped_v in ((rev, grouped_rev), (cust, grouped_cust)):
        diff = sampled_v - grouped_v
        se = diff.std(axis=1, ddof=1) / np.sqrt(T)
        assert np.all(np.abs(diff.mean(axis=1)) < 4 * se)


def test_simulate_in_sampled_mode_returns_the_sampled_tables():
    sc = uncertain_scenario(count=2000)
    base = CustomerBase.synthetic(sc, seed=4)
    sim = simulate(sc, base, trials=50, seed=9, mode="sampled")
    assert sim.mode == "sampled"
    draws = draw_trials(sc, 50, seed=9)
    K = len(sc.initiatives)
    portfolios = [[]] + [[k] for k in range(K)] + [list(map(int, p)) for p in sim.pairs]
    rev, cust = run(sc, base, draws, portfolios)
    np.testing.assert_array_equal(sim.baseline_revenue, rev[0])
    np.testing.assert_array_equal(sim.single_customers, cust[1:K + 1])
    np.testing.assert_array_equal(sim.pair_revenue, rev[K + 1:])


def test_common_random_numbers_a_pain_fix_never_loses_a_customer_in_any_trial():
    # the same uniform for every portfolio: a portfolio that raises every customer's
    # retention keeps a superset of the baseline's customers, trial by trial
    sc = fixed_scenario(count=3000)
    base = CustomerBase.synthetic(sc, seed=1)
    draws = draw_trials(sc, 100, seed=2)
    rev, cust = run(sc, base, draws, [[], [0], [0, 1]])
    assert np.all(cust[1] >= cust[0]) and np.all(rev[1] >= rev[0])
    assert np.all(cust[2] >= cust[1]) and np.all(rev[2] >= rev[1])
    assert np.any(cust[1] > cust[0])


# --------------------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------------------
def test_identical_results_whatever_the_thread_count():
    assert numba.config.NUMBA_NUM_THREADS >= 2  # tests/conftest.py sees to it
    sc = uncertain_scenario(count=20_000)
    base = CustomerBase.synthetic(sc, seed=4)
    draws = draw_trials(sc, 40, seed=6)
    portfolios = all_portfolios(sc)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run(sc, base, draws, portfolios)
        numba.set_num_threads(2)
        two = run(sc, base, draws, portfolios)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


def test_identical_results_whatever_the_chunk_size(tmp_path):
    sc = uncertain_scenario(count=5000)
    synthetic = CustomerBase.synthetic(sc, seed=4)
    path = synthetic.write_parquet(tmp_path / "base.parquet")
    draws = draw_trials(sc, 30, seed=6)
    portfolios = all_portfolios(sc)
    results = [run(sc, CustomerBase.from_file(sc, path), draws, portfolios, chunk_size=c) for c in (777, 4096, 1 << 20)]
    results.append(run(sc, synthetic, draws, portfolios))
    for rev, cust in results[1:]:
        np.testing.assert_array_equal(rev, results[0][0])
        np.testing.assert_array_equal(cust, results[0][1])


def test_identical_results_whatever_the_blocking_and_whether_the_base_is_kept_in_memory(monkeypatch):
    sc = uncertain_scenario(count=3000)
    base = CustomerBase.synthetic(sc, seed=4)
    T = 6
    draws = draw_trials(sc, T, seed=6)
    portfolios = all_portfolios(sc)
    P = len(portfolios)
    whole = run(sc, base, draws, portfolios)
    G = base.group().n_groups
    assert sampled.block_sizes(P, T, G, 4) == (P, T)  # one block
    # coefficient tables of 2 trials x all portfolios, then of 3 portfolios x 1 trial
    for cells, blocks in ((2 * P, (P, 2)), (3, (3, 1))):
        monkeypatch.setattr(sampled, "COEF_BUDGET_BYTES", 17 * G * cells)
        assert sampled.block_sizes(P, T, G, 4) == blocks
        for in_memory in (sampled.IN_MEMORY_ROWS, 0):  # base kept in memory, or re-streamed per block
            monkeypatch.setattr(sampled, "IN_MEMORY_ROWS", in_memory)
            rev, cust = run(sc, base, draws, portfolios, chunk_size=1000)
            np.testing.assert_array_equal(rev, whole[0])
            np.testing.assert_array_equal(cust, whole[1])


def test_the_seed_keys_the_customers_draws():
    sc = uncertain_scenario(count=3000)
    base = CustomerBase.synthetic(sc, seed=4)
    draws = draw_trials(sc, 20, seed=6)
    portfolios = [[], [1]]
    first = run(sc, base, draws, portfolios)
    again = run(sc, base, draws, portfolios)
    np.testing.assert_array_equal(first[0], again[0])
    # same possible worlds, another seed: other customers leave
    other = run(sc, base, dataclasses.replace(draws, seed=7), portfolios)
    assert np.mean(other[1] != first[1]) > 0.9
    assert sampled.sampling_key(6) != sampled.sampling_key(7)
    assert int(sampled.sampling_key(6)) != 6  # mixed with a stream constant, not the raw seed


# --------------------------------------------------------------------------------------
# why the sampled mode exists
# --------------------------------------------------------------------------------------
def test_sampled_spread_exceeds_grouped_spread_when_a_few_accounts_carry_the_revenue(tmp_path):
    # 2,000 small customers and 4 accounts holding 80% of the revenue: who of the four
    # leaves dominates the spread, which the grouped path (an expectation) cannot show
    n_small, n_large = 2000, 4
    n = n_small + n_large
    revenue = np.r_[np.full(n_small, 100.0), np.full(n_large, 200_000.0)]
    rng = np.random.default_rng(0)
    lines = ["customer_id,revenue,baseline_churn,segment,exposed_missed_delivery,exposed_unreturned_call,"
             "exposed_education"]
    for i in range(n):
        e = rng.random(3) < (0.2, 0.1, 0.25)
        lines.append(f"{i},{revenue[i]},0.08,all,{str(e[0]).lower()},{str(e[1]).lower()},{str(e[2]).lower()}")
    path = tmp_path / "whales.csv"
    path.write_text("\n".join(lines) + "\n")
    data = uncertain_data()
    data["customers"] = {"path": str(path)}
    data["pain_points"][1]["volume"] = 0.1
    del data["initiatives"][0]["segments"]
    sc = cxopt.parse_scenario(data)
    base = CustomerBase.from_file(sc, path)
    draws = draw_trials(sc, 400, seed=3)
    rev, _ = run(sc, base, draws, [[]])
    grouped, _ = _evaluate(sc, base.group(), draws, [[]])
    assert rev[0].std() > 5 * grouped[0].std()
    # ... while the means still agree (4 standard errors)
    diff = rev[0] - grouped[0]
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(diff.size)
