"""Simulation.evaluate keeps the last portfolios it valued on its own draws (the search, the plan's
contributions and its binding study ask for the same ones again): the kept values are the
kernel's own bits, the memory is bounded, and other draws are never served from it."""

from __future__ import annotations

import dataclasses

import numpy as np

import cxopt
from cxopt.engine import simulation as simulation_module
from cxopt.engine.grouped import evaluate_grouped


def test_kept_values_are_the_kernels_and_bounded(small_scenario, small_base, monkeypatch):
    sim = cxopt.simulate(small_scenario, small_base, trials=40, seed=2)
    K = len(small_scenario.initiatives)
    portfolios = [[], [0], [0, 1], [1, 0], list(range(K))]
    rev, cust = sim.evaluate(portfolios)
    ref_rev, ref_cust = evaluate_grouped(small_scenario, sim.groups, sim.draws, [sorted(p) for p in portfolios])
    np.testing.assert_array_equal(rev, ref_rev)
    np.testing.assert_array_equal(cust, ref_cust)
    again, _ = sim.evaluate([[1, 0]])
    np.testing.assert_array_equal(again[0], ref_rev[2])
    monkeypatch.setattr(simulation_module, "MEMO_PORTFOLIOS", 2)
    sim.evaluate([[0, 2], [1, 2], [2]])
    assert len(sim._memo) <= 3


def test_other_draws_and_copies_are_not_served_from_it(small_scenario, small_base):
    sim = cxopt.simulate(small_scenario, small_base, trials=40, seed=2)
    sim.evaluate([[0]])
    other = cxopt.simulate(small_scenario, small_base, trials=40, seed=3).draws
    rev, _ = sim.evaluate([[0]], draws=other)
    ref, _ = evaluate_grouped(small_scenario, sim.groups, other, [[0]])
    np.testing.assert_array_equal(rev, ref)
    assert dataclasses.replace(sim, draws=other)._memo == {}
