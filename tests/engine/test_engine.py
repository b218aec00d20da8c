"""The grouped engine (DESIGN.md section 1, "One trial" and "Grouped").

The reference here is the model written out per customer and per month, straight from
section 1, over the customers of ``base.iter_chunks()``:

    F_j(S, tau)   = 1 - prod_{k in S live in tau, targeting i's segment} (1 - f_kj)
    rho_i(S, tau) = (1 - m p_i prod_{d in e_i} (1 - lambda_d F_d))
                    * prod_{j in e_i, pain} (1 - sigma_j (1 - F_j))
    R(S)          = sum_i r_i (1/H) sum_tau rho_i(S, tau)

With fixed inputs every trial must equal it. With uncertain inputs its expectation is
known exactly (see :func:`expected_retained`), and the simulated mean must lie within
four standard errors of it.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numba
import numpy as np
import pytest

from cxopt import ScenarioError, parse_scenario
from cxopt.data.customers import CustomerBase
from cxopt.engine.simulation import simulate
from tests import builders

H = 12
SEGMENTS = [
    {"id": "consumer", "share": 0.7},
    {"id": "business", "share": 0.3, "revenue_multiplier": 4.0},
]
CUSTOMERS = {
    "count": 20_000,
    "revenue": {"dist": "lognormal", "median": 900.0, "sigma": 0.9},
    "baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.03},
    "exposure_correlation": 0.3,
    "segments": SEGMENTS,
}


def make_scenario(pain_points, delighters, initiatives, *, market=1.0, customers=None, seed=7, trials=3):
    return parse_scenario(builders.scenario(
        scenario={"name": "engine under test", "horizon_months": H, "seed": seed, "trials": trials},
        customers=customers or CUSTOMERS,
        market={"churn_multiplier": market},
        pain_points=pain_points,
        delighters=delighters,
        initiatives=initiatives,
    ), source="engine-test.toml")


def initiative(id, fixes, *, months=0, segments=None, q=1.0, start=0):
    return builders.initiative(id, fixes, months_to_impact=months, success_probability=q, start_month=start,
                               segments=segments)


# --------------------------------------------------------------------------------------
# the reference: the model per customer and per month
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inputs:
    """One possible world: a value for every uncertain input."""

    market: float
    strength: dict[str, float]  # severity per pain point, lift per delighter
    effect: dict[str, dict[str, float]]  # initiative -> driver -> f
    golive: dict[str, int]  # initiative -> first live month


def per_customer(base: CustomerBase):
    """(revenue, churn, segment name, {driver: exposed}) per customer, from the base's own stream."""
    seg_names = np.array(base.segments, dtype=object)
    for chunk in base.iter_chunks():
        bits = {d: (chunk.mask >> np.uint64(j)) & np.uint64(1) == 1 for j, d in enumerate(base.drivers)}
        yield chunk.revenue, chunk.baseline_churn, seg_names[chunk.segment], bits


def retained(sc, base, delivered, inputs: Inputs) -> tuple[float, float]:
    """Horizon-average retained revenue and customers when the initiatives ``delivered`` are."""
    pains = {p.id for p in sc.pain_points}
    targets = {k.id: k.segments for k in sc.initiatives}
    revenue = customers = 0.0
    for r, p, seg, exposed in per_customer(base):
        rho_sum = np.zeros(r.shape[0])
        for tau in range(H):
            live = [k for k in delivered if inputs.golive[k] <= tau]
            pain_factor = np.ones_like(r)
            delight_factor = np.ones_like(r)
            for d, e in exposed.items():
                not_fixed = np.ones_like(r)
                for k in live:
                    if d in inputs.effect[k]:
                        targeted = np.ones(r.shape, bool) if targets[k] is None else np.isin(seg, targets[k])
                        not_fixed[targeted] *= 1.0 - inputs.effect[k][d]
                F = 1.0 - not_fixed
                if d in pains:
                    pain_factor[e] *= 1.0 - inputs.strength[d] * (1.0 - F[e])
                else:
                    delight_factor[e] *= 1.0 - inputs.strength[d] * F[e]
            rho_sum += (1.0 - inputs.market * p * delight_factor) * pain_factor
        revenue += math.fsum(r * rho_sum / H)
        customers += math.fsum(rho_sum / H)
    return revenue, customers


def fixed_inputs(sc) -> Inputs:
    """The scenario's inputs when every one of them is a fixed number."""
    fixed = lambda dist: float(dist.params["value"])  # noqa: E731
    assert sc.market.churn_multiplier.is_fixed
    return Inputs(
        market=fixed(sc.market.churn_multiplier),
        strength={**{p.id: fixed(p.severity) for p in sc.pain_points},
                  **{d.id: fixed(d.lift) for d in sc.delighters}},
        effect={k.id: {d: fixed(f) for d, f in k.fixes.items()} for k in sc.initiatives},
        golive={k.id: min(H, k.start_month + int(fixed(k.months_to_impact))) for k in sc.initiatives},
    )


# --------------------------------------------------------------------------------------
# fixed inputs: every trial equals the closed form
# --------------------------------------------------------------------------------------
def fixed_scenario(*, missed_delivery_severity=0.2):
    return make_scenario(
        pain_points=[
            {"id": "missed_delivery", "volume": 0.25, "severity": missed_delivery_severity},
            {"id": "unreturned_call", "volume": {"consumer": 0.1, "business": 0.3}, "severity": 0.3},
            {"id": "billing_error", "volume": 0.15, "severity": 0.1},
        ],
        delighters=[{"id": "proactive_education", "reach": 0.3, "lift": 0.25}],
        initiatives=[
            initiative("crm_rebuild", {"missed_delivery": 0.5}, months=3),
            initiative("crm_patch", {"missed_delivery": 0.3}, months=6),
            initiative("callback_sla", {"unreturned_call": 0.6}, months=2, segments=["business"]),
            initiative("billing_fix", {"billing_error": 0.4}, months=0, start=1),
            initiative("loyalty_tiers", {"proactive_education": 0.7}, months=4),
            initiative("service_bundle", {"missed_delivery": 0.2, "proactive_education": 0.5}, months=9),
            initiative("too_late", {"billing_error": 0.9}, months=15),
            initiative("crm_rebuild_now", {"missed_delivery": 0.5}, months=0),
        ],
        market=1.1,
    )


FIXED_PORTFOLIOS = [
    pytest.param([], id="baseline"),
    *(pytest.param([k], id=k) for k in ["crm_rebuild", "crm_patch", "callback_sla", "billing_fix",
                                        "loyalty_tiers", "service_bundle", "too_late"]),
    pytest.param(["crm_rebuild", "crm_patch"], id="pair-same-pain"),
    pytest.param(["crm_rebuild", "billing_fix"], id="pair-different-pains"),
    pytest.param(["crm_rebuild", "callback_sla"], id="pair-with-segment-targeting"),
    pytest.param(["crm_patch", "service_bundle"], id="pair-pain-and-delighter-overlap"),
    pytest.param(["crm_rebuild", "crm_patch", "callback_sla", "billing_fix", "loyalty_tiers"],
                 id="portfolio"),
]


@pytest.fixture(scope="module", params=[0.2, 1.0], ids=["severity-0.2", "severity-1"])
def fixed_world(request):
    """A scenario without uncertainty, its base and its simulation (severity 1: nobody exposed stays)."""
    sc = fixed_scenario(missed_delivery_severity=request.param)
    base = CustomerBase.synthetic(sc)
    return sc, base, simulate(sc, base, trials=3, seed=1)


@pytest.mark.parametrize("portfolio", FIXED_PORTFOLIOS)
def test_fixed_inputs_give_the_closed_form_in_every_trial(fixed_world, portfolio):
    sc, base, sim = fixed_world
    revenue, customers = sim.evaluate([portfolio])
    ref_revenue, ref_customers = retained(sc, base, portfolio, fixed_inputs(sc))
    np.testing.assert_allclose(revenue[0], ref_revenue, rtol=1e-9)
    np.testing.assert_allclose(customers[0], ref_customers, rtol=1e-9)


def test_an_initiative_live_from_month_t_delivers_the_share_h_minus_t_over_h(fixed_world):
    sc, base, sim = fixed_world
    (r0, later, now), _ = sim.evaluate([[], ["crm_rebuild"], ["crm_rebuild_now"]])
    t = 3
    np.testing.assert_allclose(later - r0, (H - t) / H * (now - r0), rtol=1e-9)
    assert np.all(now > r0)


def test_an_initiative_live_after_the_horizon_changes_nothing(fixed_world):
    sc, base, sim = fixed_world
    (r0, late), _ = sim.evaluate([[], ["too_late"]])
    np.testing.assert_array_equal(late, r0)


def test_simulation_tables_equal_evaluate_on_the_same_draws(fixed_world):
    sc, base, sim = fixed_world
    singles, _ = sim.evaluate([[k] for k in sc.initiative_ids])
    np.testing.assert_array_equal(sim.single_revenue, singles)
    pairs, _ = sim.evaluate([list(p) for p in sim.pairs])
    # pairs are valued as R(k) + R(l) - R() + w_kl (issue 17): the same sums in another order
    np.testing.assert_allclose(sim.pair_revenue, pairs, rtol=1e-12)
    baseline, customers = sim.evaluate([[]])
    np.testing.assert_array_equal(sim.baseline_revenue, baseline[0])
    np.testing.assert_array_equal(sim.baseline_customers, customers[0])


# --------------------------------------------------------------------------------------
# uncertain inputs: the simulated mean converges to the exact expectation
# --------------------------------------------------------------------------------------
# Independent textbook means of the distributions used below.
def pert_mean(low, mode, high):
    return (low + 4 * mode + high) / 6


def triangular_mean(low, mode, high):
    return (low + mode + high) / 3


def uniform_mean(low, high):
    return (low + high) / 2


RANDOM_MARKET = {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.15}
RANDOM_PAINS = [
    {"id": "missed_delivery", "volume": 0.25,
     "severity": {"dist": "pert", "low": 0.1, "mode": 0.2, "high": 0.4}},
    {"id": "unreturned_call", "volume": {"consumer": 0.1, "business": 0.3},
     "severity": {"dist": "beta", "mean": 0.3, "sd": 0.1}},
    {"id": "billing_error", "volume": 0.15, "severity": {"dist": "uniform", "low": 0.05, "high": 0.15}},
]
RANDOM_DELIGHTERS = [
    {"id": "proactive_education", "reach": 0.3, "lift": {"dist": "uniform", "low": 0.1, "high": 0.3}},
]
# Each initiative acts on exactly one driver (see expected_retained) and none is correlated.
RANDOM_INITIATIVES = [
    initiative("crm_rebuild", {"missed_delivery": {"dist": "beta", "mean": 0.5, "sd": 0.15}},
               months=3, q=0.8),
    initiative("crm_patch", {"missed_delivery": {"dist": "uniform", "low": 0.2, "high": 0.4}},
               months=6, q=0.6),
    initiative("callback_sla",
               {"unreturned_call": {"dist": "triangular", "low": 0.4, "mode": 0.6, "high": 0.7}},
               months=2, q=0.9, segments=["business"]),
    initiative("billing_fix", {"billing_error": {"dist": "pert", "low": 0.2, "mode": 0.4, "high": 0.5}},
               months=0, q=0.7),
    initiative("loyalty_tiers", {"proactive_education": {"dist": "beta", "mean": 0.7, "sd": 0.1}},
               months=4, q=0.5),
]
MEAN_INPUTS = Inputs(
    market=triangular_mean(0.9, 1.0, 1.15),
    strength={"missed_delivery": pert_mean(0.1, 0.2, 0.4), "unreturned_call": 0.3,
              "billing_error": uniform_mean(0.05, 0.15), "proactive_education": uniform_mean(0.1, 0.3)},
    effect={"crm_rebuild": {"missed_delivery": 0.5}, "crm_patch": {"missed_delivery": uniform_mean(0.2, 0.4)},
            "callback_sla": {"unreturned_call": triangular_mean(0.4, 0.6, 0.7)},
            "billing_fix": {"billing_error": pert_mean(0.2, 0.4, 0.5)},
            "loyalty_tiers": {"proactive_education": 0.7}},
    golive={"crm_rebuild": 3, "crm_patch": 6, "callback_sla": 2, "billing_fix": 0, "loyalty_tiers": 4},
)
SUCCESS = {k["id"]: k["success_probability"] for k in RANDOM_INITIATIVES}
RANDOM_TRIALS = 4_000


def expected_retained(sc, base, portfolio) -> tuple[float, float]:
    """E[R(S)] exactly: enumerate the delivery patterns, and use each uncertain input's mean.

    Why the means are exact: for one group and month, R is a sum of products of
    m, lambda_d, sigma_j and (1 - f_kj) terms. Each of these appears at most once in every
    product (a customer meets each driver once; F_j = 1 - prod_k (1 - f_kj) multiplies
    distinct initiatives' effects, also on the same pain), and they are mutually
    independent: each has its own random stream, and an initiative's effects share one
    latent only across its own drivers -- hence each initiative here acts on one driver,
    and no correlation block is declared. So E[product] = product of the means. Delivery
    b_k is independent of all of them; conditioning on the pattern leaves the rest as is.
    """
    revenue = customers = 0.0
    for pattern in itertools.product([False, True], repeat=len(portfolio)):
        weight = math.prod(SUCCESS[k] if b else 1.0 - SUCCESS[k] for k, b in zip(portfolio, pattern))
        r, c = retained(sc, base, [k for k, b in zip(portfolio, pattern) if b], MEAN_INPUTS)
        revenue += weight * r
        customers += weight * c
    return revenue, customers


RANDOM_PORTFOLIOS = [
    pytest.param([], id="baseline"),
    *(pytest.param([k["id"]], id=k["id"]) for k in RANDOM_INITIATIVES),
    pytest.param(["crm_rebuild", "crm_patch"], id="pair-same-pain"),
    pytest.param(["crm_rebuild", "billing_fix"], id="pair-different-pains"),
    pytest.param([k["id"] for k in RANDOM_INITIATIVES], id="all-five"),
]


@pytest.fixture(scope="module")
def random_world():
    sc = make_scenario(RANDOM_PAINS, RANDOM_DELIGHTERS, RANDOM_INITIATIVES, market=RANDOM_MARKET)
    base = CustomerBase.synthetic(sc)
    return sc, base, simulate(sc, base, trials=RANDOM_TRIALS, seed=2026, pairs=False)


@pytest.fixture(scope="module")
def exact(random_world):
    """E[R(S)] and E[customers kept] for a portfolio (memoised: the reference is slow)."""
    sc, base, _ = random_world
    memo: dict[tuple[str, ...], tuple[float, float]] = {}

    def expectation(portfolio) -> np.ndarray:
        key = tuple(portfolio)
        if key not in memo:
            memo[key] = expected_retained(sc, base, list(portfolio))
        return np.array(memo[key])

    return expectation


def test_the_means_used_as_reference_are_the_scenario_distributions_means(random_world):
    # guards the reference against a typo in MEAN_INPUTS
    sc, _, _ = random_world
    assert MEAN_INPUTS.market == pytest.approx(sc.market.churn_multiplier.scipy.mean(), rel=1e-12)
    for d in sc.drivers:
        dist = d.severity if hasattr(d, "severity") else d.lift
        assert MEAN_INPUTS.strength[d.id] == pytest.approx(dist.scipy.mean(), rel=1e-12)
    for k in sc.initiatives:
        for d, f in k.fixes.items():
            assert MEAN_INPUTS.effect[k.id][d] == pytest.approx(f.scipy.mean(), rel=1e-12)


def within_standard_errors(samples: np.ndarray, expected: float, what: str, n_se: float = 4.0) -> None:
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(samples.mean() - expected) <= n_se * se, (
        f"{what}: simulated {samples.mean():.6g}, exact {expected:.6g}, 4 SE = {n_se * se:.3g}")


@pytest.mark.parametrize("portfolio", RANDOM_PORTFOLIOS)
def test_simulated_mean_retained_revenue_matches_the_exact_expectation(random_world, exact, portfolio):
    _, _, sim = random_world
    (revenue,), _ = sim.evaluate([portfolio])
    within_standard_errors(revenue, exact(portfolio)[0], f"R({portfolio})")


@pytest.mark.parametrize("portfolio", RANDOM_PORTFOLIOS[1:])
def test_simulated_mean_gain_matches_the_exact_expectation(random_world, exact, portfolio):
    # the gain R(S) - R() varies much less than R(S): a far sharper test of the initiatives
    # (it catches a 5% error in every effect or success probability at about 5 standard errors)
    _, _, sim = random_world
    revenue, _ = sim.evaluate([[], portfolio])
    within_standard_errors(revenue[1] - revenue[0], exact(portfolio)[0] - exact([])[0],
                           f"revenue gain of {portfolio}")


@pytest.mark.parametrize("portfolio", RANDOM_PORTFOLIOS[1:])
def test_simulated_mean_customers_kept_matches_the_exact_expectation(random_world, exact, portfolio):
    _, _, sim = random_world
    _, customers = sim.evaluate([[], portfolio])
    within_standard_errors(customers[1] - customers[0], exact(portfolio)[1] - exact([])[1],
                           f"customers kept by {portfolio}")


def test_delivery_frequency_matches_success_probability(random_world):
    sc, _, sim = random_world
    for k, init in enumerate(sc.initiatives):
        q = init.success_probability
        se = math.sqrt(q * (1 - q) / RANDOM_TRIALS)
        assert abs(sim.draws.success[:, k].mean() - q) <= 4 * se, init.id


# --------------------------------------------------------------------------------------
# reproducibility
# --------------------------------------------------------------------------------------
def random_simulation(seed=2026, trials=500):
    sc = make_scenario(RANDOM_PAINS, RANDOM_DELIGHTERS, RANDOM_INITIATIVES, market=RANDOM_MARKET)
    return simulate(sc, CustomerBase.synthetic(sc), trials=trials, seed=seed)


def tables(sim):
    return (sim.baseline_revenue, sim.baseline_customers, sim.single_revenue, sim.single_customers,
            sim.pairs, sim.pair_revenue, sim.pair_customers)


def assert_same_tables(a, b):
    for x, y in zip(tables(a), tables(b)):
        np.testing.assert_array_equal(x, y)


def test_same_seed_gives_identical_output():
    assert_same_tables(random_simulation(), random_simulation())


@pytest.fixture
def numba_threads():
    before = numba.get_num_threads()
    yield numba.set_num_threads
    numba.set_num_threads(before)


def test_thread_count_does_not_change_the_output(numba_threads):
    numba_threads(1)
    one = random_simulation()
    numba_threads(2)
    assert_same_tables(one, random_simulation())


def test_a_different_seed_gives_different_output():
    a, b = random_simulation(seed=1), random_simulation(seed=2)
    assert not np.array_equal(a.baseline_revenue, b.baseline_revenue)
    assert not np.array_equal(a.single_revenue, b.single_revenue)


# --------------------------------------------------------------------------------------
# interacting pairs: exactly those whose affected customers overlap
# --------------------------------------------------------------------------------------
def pairs_scenario():
    return make_scenario(
        pain_points=[
            {"id": "home_outage", "volume": {"consumer": 0.3, "business": 0.0}, "severity": 0.2},
            {"id": "office_outage", "volume": {"consumer": 0.0, "business": 0.3}, "severity": 0.2},
            {"id": "missed_delivery", "volume": 0.2, "severity": 0.1},
        ],
        delighters=[{"id": "proactive_education", "reach": 0.3, "lift": 0.1}],
        initiatives=[
            initiative("consumer_delivery", {"missed_delivery": 0.5}, segments=["consumer"]),
            initiative("business_delivery", {"missed_delivery": 0.5}, segments=["business"]),
            initiative("home_network", {"home_outage": 0.5}),
            initiative("office_network", {"office_outage": 0.5}),
            initiative("delivery_for_all", {"missed_delivery": 0.3}),
            initiative("home_network_for_business", {"home_outage": 0.5}, segments=["business"]),
            initiative("education", {"proactive_education": 0.5}),
        ],
    )


def overlapping_pairs(sc, base) -> set[tuple[str, str]]:
    """Pairs of initiatives that both act on at least one customer (reference from the customers)."""
    ids = sc.initiative_ids
    found: set[tuple[str, str]] = set()
    for r, p, seg, exposed in per_customer(base):
        acts = {}
        for k in sc.initiatives:
            on_driver = np.logical_or.reduce([exposed[d] for d in k.fixes])
            acts[k.id] = on_driver & (True if k.segments is None else np.isin(seg, k.segments))
        for a, b in itertools.combinations(ids, 2):
            if np.any(acts[a] & acts[b]):
                found.add((a, b))
    return found


@pytest.fixture(scope="module")
def pairs_world():
    sc = pairs_scenario()
    base = CustomerBase.synthetic(sc)
    return sc, base, simulate(sc, base, trials=3, seed=1)


def listed_pairs(sc, sim) -> set[tuple[str, str]]:
    ids = sc.initiative_ids
    return {(ids[k], ids[l]) for k, l in sim.pairs}


def test_pairs_are_exactly_the_initiatives_acting_on_a_common_customer(pairs_world):
    sc, base, sim = pairs_world
    assert listed_pairs(sc, sim) == overlapping_pairs(sc, base)


@pytest.mark.parametrize("pair", [
    ("consumer_delivery", "business_delivery"),  # disjoint segments
    ("home_network", "office_network"),  # pains no customer shares
    ("home_network", "home_network_for_business"),  # targets nobody with the pain
])
def test_initiatives_that_share_no_customer_are_not_a_pair(pairs_world, pair):
    sc, _, sim = pairs_world
    assert pair not in listed_pairs(sc, sim)


@pytest.mark.parametrize("pair", [
    ("consumer_delivery", "delivery_for_all"),
    ("consumer_delivery", "home_network"),
    ("business_delivery", "office_network"),
    ("delivery_for_all", "education"),
])
def test_initiatives_acting_on_a_common_customer_are_a_pair(pairs_world, pair):
    sc, _, sim = pairs_world
    assert pair in listed_pairs(sc, sim)


def test_pairs_are_ordered_and_unique(pairs_world):
    _, _, sim = pairs_world
    assert sim.pairs.shape[1] == 2
    assert np.all(sim.pairs[:, 0] < sim.pairs[:, 1])
    assert len({tuple(p) for p in sim.pairs}) == len(sim.pairs)


# --------------------------------------------------------------------------------------
# validation: a retention may not leave [0, 1]
# --------------------------------------------------------------------------------------
HIGH_CHURN = {**CUSTOMERS, "count": 2_000, "baseline_churn": 0.9}


def test_market_multiplier_that_pushes_churn_above_one_is_rejected():
    # upper bound 1.2 x largest baseline churn 0.9 = 1.08 > 1
    sc = make_scenario(RANDOM_PAINS, [], [], customers=HIGH_CHURN,
                       market={"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.2})
    with pytest.raises(ScenarioError) as info:
        simulate(sc, CustomerBase.synthetic(sc), trials=10, seed=1)
    assert "market.churn_multiplier" in str(info.value)


def test_market_multiplier_within_bounds_is_accepted():
    # upper bound 1.1 x 0.9 = 0.99 <= 1
    sc = make_scenario(RANDOM_PAINS, [], [], customers=HIGH_CHURN,
                       market={"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.1})
    sim = simulate(sc, CustomerBase.synthetic(sc), trials=10, seed=1)
    assert np.all(sim.baseline_revenue > 0)


def test_the_bound_uses_the_largest_churn_in_the_base_not_the_average():
    # average churn ~0.5, but some customers near 0.95: 1.1 x 0.95 > 1
    customers = {**HIGH_CHURN, "baseline_churn": {"dist": "uniform", "low": 0.05, "high": 0.95}}
    sc = make_scenario(RANDOM_PAINS, [], [], customers=customers,
                       market={"dist": "uniform", "low": 1.0, "high": 1.1})
    with pytest.raises(ScenarioError) as info:
        simulate(sc, CustomerBase.synthetic(sc), trials=10, seed=1)
    assert "market.churn_multiplier" in str(info.value)


def test_initiatives_sharing_many_groups_are_a_pair():
    # nine pain points met by half the customers each: all 512 masks occur, and two
    # initiatives on the first pain share the 256 groups exposed to it (a count that
    # must not wrap around in a narrow integer type)
    sc = make_scenario(
        pain_points=[{"id": f"pain_{j}", "volume": 0.5, "severity": 0.1} for j in range(9)],
        delighters=[],
        initiatives=[initiative("first_fix", {"pain_0": 0.5}), initiative("second_fix", {"pain_0": 0.2})],
        customers={**CUSTOMERS, "count": 100_000, "exposure_correlation": 0.0, "segments": []},
    )
    base = CustomerBase.synthetic(sc)
    sim = simulate(sc, base, trials=2, seed=1)
    assert np.count_nonzero(sim.groups.exposed(0)) == 256
    assert listed_pairs(sc, sim) == overlapping_pairs(sc, base) == {("first_fix", "second_fix")}
