"""What binds (plan/binding.py): each limit's gain if relaxed one step equals an exhaustive re-solve.

The reference enumerates every portfolio of five initiatives, keeps those the relaxed rules allow
(written out here from the definition of one step, not through plan/binding.py's relaxed
constraints: one more slot for one owner is counted directly) and takes the best exact value
on the same trials.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxopt
from cxopt.errors import InfeasibleError
from cxopt.plan.binding import binding, unspent
from cxopt.portfolio.constraints import Constraints
from cxopt.portfolio.search import optimize

K = 5
OWNERS = ("Head of Care", "Head of Digital", "CMO")


@pytest.fixture(scope="module")
def sim():
    pains = [{"id": f"p{j}", "volume": 0.4, "severity": {"dist": "uniform", "low": 0.05, "high": 0.2}}
             for j in range(3)]
    inits = [{"id": f"i{k}", "owner": OWNERS[k % 3], "cost": 100.0 * (k + 1), "months_to_impact": k,
              "success_probability": 0.9, "fixes": {f"p{k % 3}": {"dist": "uniform", "low": 0.2, "high": 0.6},
                                                    f"p{(k + 1) % 3}": 0.1 * (k + 1)}} for k in range(K)]
    sc = cxopt.parse_scenario({
        "scenario": {"trials": 24, "seed": 3},
        "customers": {"count": 500, "revenue": {"dist": "lognormal", "median": 800.0, "sigma": 0.5},
                      "baseline_churn": 0.05},
        "pain_points": pains, "initiatives": inits}, source="binding-test.toml")
    return cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=500), seed=2)


@pytest.fixture(scope="module")
def values(sim):
    portfolios = [c for r in range(K + 1) for c in itertools.combinations(range(K), r)]
    rev, _ = sim.evaluate([list(p) for p in portfolios])
    return {p: float(rev[i].mean()) for i, p in enumerate(portfolios)}


def best_where(values, allowed) -> float:
    return max(v for p, v in values.items() if allowed(p))


def reference_gain(cons: Constraints, selected, limit: str, values) -> float:
    """The exhaustive relaxed optimum minus the plan's value, one step written out per limit."""
    here = values[tuple(sorted(selected))]
    free = replace(cons, owner_capacity=K)  # owners checked by hand below

    def owners_ok(p, owner=None):
        for o in set(cons.owners):
            cap = cons.owner_capacity + (1 if o == owner else 0)
            if sum(1 for k in p if cons.owners[k] == o) > cap:
                return False
        return True

    kind, _, name = limit.partition(":")
    if kind == "budget":
        limit_ = cons.budget * 1.1
        rules, owner = replace(free, budget=limit_), None
    elif kind == "max_initiatives":
        rules, owner = replace(free, max_initiatives=cons.max_initiatives + 1), None
    elif kind == "owner":
        rules, owner = free, name
    elif kind == "exclusive":
        group = tuple(cons.ids.index(x) for x in name.split(","))
        rules, owner = replace(free, exclusive=tuple(g for g in cons.exclusive if g != group)), None
    elif kind == "requires":
        a, b = (cons.ids.index(x) for x in name.split("->"))
        rules, owner = replace(free, requires=tuple(r for r in cons.requires if r != (a, b))), None
    elif kind == "must":
        rules, owner = replace(free, must=cons.must - {cons.ids.index(name)}), None
    else:
        rules, owner = replace(free, forbid=cons.forbid - {cons.ids.index(name)}), None
    return best_where(values, lambda p: rules.is_feasible(p) and owners_ok(p, owner)) - here


rules_strategy = st.fixed_dictionaries({
    "budget": st.sampled_from([None, 300.0, 600.0, 900.0]),
    "max_initiatives": st.integers(1, 4),
    "owner_capacity": st.integers(1, 2),
    "exclusive": st.sampled_from([(), ((0, 1),), ((2, 4),)]),
    "requires": st.sampled_from([(), ((3, 0),), ((4, 1),)]),
    "must": st.sampled_from([frozenset(), frozenset({2})]),
    "forbid": st.sampled_from([frozenset(), frozenset({0})]),
})


@settings(max_examples=6, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rules=rules_strategy)
def test_gain_if_relaxed_equals_an_exhaustive_re_solve(sim, values, rules):
    base = Constraints.from_scenario(sim.scenario)
    cons = replace(base, budget=None if rules["budget"] is None else np.array([rules["budget"]]),
                   max_initiatives=rules["max_initiatives"], owner_capacity=rules["owner_capacity"],
                   exclusive=rules["exclusive"], requires=rules["requires"], must=rules["must"],
                   forbid=rules["forbid"])
    try:
        result = optimize(sim, constraints=cons, solver="exhaustive")
    except InfeasibleError:
        return
    out = binding(result)
    names = [x["limit"] for x in out["limits"]]
    assert "max_initiatives" in names and all(f"owner:{o}" in names for o in OWNERS)
    assert ("budget:total" in names) == (rules["budget"] is not None)
    scale = max(values.values())
    for x in out["limits"]:
        want = reference_gain(cons, result.selected, x["limit"], values)
        assert x["gain_if_relaxed"] == pytest.approx(want, abs=1e-9 * scale), x["limit"]
        assert x["binds"] == (want > 1e-9 * scale)


def test_unspent_budget_names_the_limits_that_keep_it_unspent(sim):
    base = Constraints.from_scenario(sim.scenario)
    cons = replace(base, budget=np.array([1_000.0]), max_initiatives=2)
    result = optimize(sim, constraints=cons, solver="exhaustive")
    (u,) = unspent(result)
    assert u["amount"] == pytest.approx(1_000.0 - result.total_cost)
    assert all("max_initiatives" in b for b in u["blocked_by"].values())
    assert "max_initiatives" in u["reason"]


def test_unspent_reason_groups_a_long_list():
    """Two hundred candidates left out: the text groups them by the limits they would break and names
    a few of each; ``blocked_by`` keeps every one."""
    from cxopt.plan.binding import NAMED, _why_not_added

    blocked = {f"i{k}": (["max_initiatives"] if k % 4 else ["budget:total", "max_initiatives"]) for k in range(200)}
    blocked["free"] = []
    text = _why_not_added(blocked)
    assert text.startswith("i1, i2, i3, i5, i6 and 145 more would break max_initiatives; ")
    assert "i0, i4, i8, i12, i16 and 45 more would break budget:total, max_initiatives" in text
    assert text.endswith("free fits but adds nothing the search could find")
    assert text.count(",") < 4 * (NAMED + 2)
    assert _why_not_added({}) == "every initiative is chosen"
