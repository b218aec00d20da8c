"""What the plan reuses instead of valuing again: ``simulate`` hands :meth:`Simulation.evaluate` the
baseline and the singles it has just valued (the same bits), and a batch of subsets of one
portfolio (the contributions') takes its class sums from the union of their drivers."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

import cxopt
from cxopt.engine import grouped as grouped_module
from cxopt.engine.grouped import evaluate_grouped
from cxopt.kernels import classes as kernels_classes


@pytest.fixture(scope="module")
def article_sim(article_path):
    sc = cxopt.load_scenario(article_path)
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=20_000, seed=1), trials=120, seed=3)


def touched(sim, portfolio) -> set[int]:
    d = sim.draws
    return {int(d.fix_driver[e]) for k in portfolio for e in range(d.fix_ptr[k], d.fix_ptr[k + 1])}


def union_path_portfolio(sim) -> list[int]:
    """A portfolio of three whose subsets take the union's class sums: drivers few enough for the
    union's classes to pay, and at least NESTED_MIN_SETS distinct driver sets among its subsets."""
    K, n_seg = len(sim.scenario.initiatives), len(sim.groups.segments)
    return next(list(p) for p in itertools.combinations(range(K), 3)
                if (n_seg << len(touched(sim, p))) * grouped_module.NESTED_RATIO <= sim.groups.n_groups
                and len({tuple(sorted(touched(sim, s))) for r in range(4) for s in itertools.combinations(p, r)})
                >= grouped_module.NESTED_MIN_SETS)


def test_the_baseline_and_singles_are_served_as_simulated_with_the_kernels_bits(article_sim):
    sim = article_sim
    K = len(sim.scenario.initiatives)
    assert {(), *((k,) for k in range(K))} <= set(sim._memo)
    rev, cust = sim.evaluate([[]] + [[k] for k in range(K)])
    np.testing.assert_array_equal(rev[0], sim.baseline_revenue)
    np.testing.assert_array_equal(rev[1:], sim.single_revenue)
    np.testing.assert_array_equal(cust[1:], sim.single_customers)
    # and they are what a fresh evaluation gives, bit for bit (nothing changed by serving them)
    ref_rev, ref_cust = evaluate_grouped(sim.scenario, sim.groups, sim.draws, [[k] for k in range(K)])
    np.testing.assert_array_equal(rev[1:], ref_rev)
    np.testing.assert_array_equal(cust[1:], ref_cust)


def test_subsets_of_one_portfolio_take_the_union_path_and_agree_with_the_per_set_sums(article_sim, monkeypatch):
    sim = article_sim
    chosen = union_path_portfolio(sim)
    subsets = [sorted(s) for r in range(4) for s in itertools.combinations(chosen, r)]
    calls = []
    nested = kernels_classes.evaluate_nested_classes  # engine.grouped imports it when it runs
    monkeypatch.setattr(kernels_classes, "evaluate_nested_classes", lambda *a: calls.append(1) or nested(*a))
    rev, cust = evaluate_grouped(sim.scenario, sim.groups, sim.draws, subsets, nested=True)
    assert calls
    ref_rev, ref_cust = evaluate_grouped(sim.scenario, sim.groups, sim.draws, subsets)  # per-set class sums
    assert len(calls) == 1
    np.testing.assert_allclose(rev, ref_rev, rtol=1e-14)
    np.testing.assert_allclose(cust, ref_cust, rtol=1e-14)
    np.testing.assert_array_equal(rev[0], ref_rev[0])  # the baseline: bit for bit


def test_a_portfolios_bits_do_not_depend_on_its_batch_unless_nested_is_asked(article_sim):
    """The search, the frontier and the binding study compare values computed in different batches:
    by default each portfolio's value is the same bits alone or with others; Simulation.evaluate keeps
    (and serves) only such values, never the nested ones a plan's contributions ask for."""
    sim = article_sim
    subsets = [sorted(s) for r in range(4) for s in itertools.combinations([0, 3, 5], r)]
    together, _ = evaluate_grouped(sim.scenario, sim.groups, sim.draws, subsets)
    for p, row in zip(subsets, together):
        alone, _ = evaluate_grouped(sim.scenario, sim.groups, sim.draws, [p])
        np.testing.assert_array_equal(row, alone[0])
    fresh = dataclasses.replace(sim)  # a copy starts with nothing kept
    nested_rev, _ = fresh.evaluate(subsets, nested=True)
    assert fresh._memo == {}  # nothing nested was kept
    np.testing.assert_allclose(nested_rev, together, rtol=1e-14)
    rev, _ = fresh.evaluate(subsets)
    np.testing.assert_array_equal(rev, together)


def test_monthly_paths_in_one_call_equal_one_call_each(article_sim):
    """A plan's path bit for bit; the baseline's and each member's to rounding (coarser groups)."""
    from cxopt.engine.paths import monthly_path, monthly_paths

    sim = article_sim
    plan = [0, 3, 5]
    asked = [plan, [], *([k] for k in plan)]
    together = monthly_paths(sim, asked)
    for p, got in zip(asked, together):
        alone = monthly_path(sim, p)
        if p == plan:
            np.testing.assert_array_equal(got.revenue_lost, alone.revenue_lost)
            np.testing.assert_array_equal(got.customers_lost, alone.customers_lost)
        scale = sim.groups.total_revenue / sim.scenario.horizon_months
        np.testing.assert_allclose(got.revenue_lost, alone.revenue_lost, rtol=0, atol=1e-13 * scale)
        np.testing.assert_allclose(got.customers_lost, alone.customers_lost, rtol=0, atol=1e-13 * sim.n_customers)
