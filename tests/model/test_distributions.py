"""Uncertain inputs (DESIGN.md section 6, "Distributions"): every spelling, checked against
references built here, independently of cxopt: closed forms where they exist, otherwise
``scipy.stats`` parameterised from the textbook definition."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from cxopt.model.distributions import Distribution, DistributionError, parse_distribution

QUANTILES = np.array([0.0, 0.001, 0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975, 0.999, 1.0])
INNER_QUANTILES = QUANTILES[1:-1]
SHARE = dict(lower=0.0, upper=1.0)
NON_NEGATIVE = dict(lower=0.0, upper=math.inf)

# hypothesis: tests/conftest.py's profile (the same examples on every run), more of them here
PROPERTY = settings(max_examples=150)

# the uniforms the engine draws: multiples of 2**-53 in [0, 1] (numpy's Generator.random).
# (scipy's beta ppf returns NaN for u below ~1e-108 at some shapes; such u never arise.)
engine_uniforms = st.integers(0, 2**53).map(lambda k: k / 2**53)


# --------------------------------------------------------------------------------------
# independent references: (mean, std, ppf) of each spelling
# --------------------------------------------------------------------------------------
class Reference:
    def __init__(self, mean: float, std: float, ppf):
        self.mean, self.std, self.ppf = mean, std, ppf


def fixed_reference(value):
    return Reference(value, 0.0, lambda q: np.full(np.shape(q), float(value)))


def uniform_reference(low, high):
    return Reference((low + high) / 2, (high - low) / math.sqrt(12), lambda q: low + q * (high - low))


def triangular_reference(low, mode, high):
    var = (low**2 + mode**2 + high**2 - low * mode - low * high - mode * high) / 18

    def ppf(q):
        q = np.asarray(q, dtype=float)
        at_mode = (mode - low) / (high - low)
        left = low + np.sqrt(q * (high - low) * (mode - low))
        right = high - np.sqrt((1 - q) * (high - low) * (high - mode))
        return np.where(q < at_mode, left, right)

    return Reference((low + mode + high) / 3, math.sqrt(var), ppf)


def pert_reference(low, mode, high):
    # PERT: a beta scaled to [low, high] with
    # alpha = 1 + 4 (mode - low) / (high - low), beta = 1 + 4 (high - mode) / (high - low)
    width = high - low
    alpha = 1 + 4 * (mode - low) / width
    beta = 1 + 4 * (high - mode) / width
    b = stats.beta(alpha, beta)
    mean = (low + 4 * mode + high) / 6  # the classic PERT mean
    std = width * math.sqrt(alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1)))
    return Reference(mean, std, lambda q: low + width * b.ppf(q))


def beta_ab_reference(a, b):
    return Reference(
        a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))), stats.beta(a, b).ppf
    )


def beta_mean_sd_reference(mean, sd):
    # method of moments: nu = mean (1 - mean) / sd^2 - 1, a = mean nu, b = (1 - mean) nu
    nu = mean * (1 - mean) / sd**2 - 1
    return Reference(mean, sd, stats.beta(mean * nu, (1 - mean) * nu).ppf)


def lognormal_reference(median, sigma):
    mu = math.log(median)  # the median of a lognormal is exp(mu)
    mean = math.exp(mu + sigma**2 / 2)
    std = math.sqrt((math.exp(sigma**2) - 1) * math.exp(2 * mu + sigma**2))
    return Reference(mean, std, lambda q: np.exp(mu + sigma * stats.norm.ppf(q)))


def truncated_normal_reference(mean, sd, lower, upper):
    a, b = (lower - mean) / sd, (upper - mean) / sd
    Phi, phi = stats.norm.cdf, stats.norm.pdf
    z = Phi(b) - Phi(a)
    shift = (phi(a) - phi(b)) / z
    a_phi_a = a * phi(a) if math.isfinite(a) else 0.0  # x phi(x) -> 0 as |x| -> inf
    b_phi_b = b * phi(b) if math.isfinite(b) else 0.0
    var = sd**2 * (1 + (a_phi_a - b_phi_b) / z - shift**2)

    def ppf(q):
        return mean + sd * stats.norm.ppf(Phi(a) + np.asarray(q) * z)

    return Reference(mean + sd * shift, math.sqrt(var), ppf)


CASES = {
    "fixed": ({"dist": "fixed", "value": 0.3}, SHARE, fixed_reference(0.3)),
    "uniform": ({"dist": "uniform", "low": 0.05, "high": 0.15}, SHARE, uniform_reference(0.05, 0.15)),
    "triangular": (
        {"dist": "triangular", "low": 0.9, "mode": 1.0, "high": 1.15},
        NON_NEGATIVE,
        triangular_reference(0.9, 1.0, 1.15),
    ),
    "pert": (
        {"dist": "pert", "low": 0.01, "mode": 0.03, "high": 0.06},
        SHARE,
        pert_reference(0.01, 0.03, 0.06),
    ),
    "beta(mean,sd)": ({"dist": "beta", "mean": 0.6, "sd": 0.15}, SHARE, beta_mean_sd_reference(0.6, 0.15)),
    "beta(a,b)": ({"dist": "beta", "a": 2.0, "b": 5.0}, SHARE, beta_ab_reference(2.0, 5.0)),
    "lognormal": (
        {"dist": "lognormal", "median": 900.0, "sigma": 0.9},
        NON_NEGATIVE,
        lognormal_reference(900.0, 0.9),
    ),
    "normal truncated to [0,1]": (
        {"dist": "normal", "mean": 0.9, "sd": 0.3},
        SHARE,
        truncated_normal_reference(0.9, 0.3, 0.0, 1.0),
    ),
    "normal unbounded": (
        {"dist": "normal", "mean": -2.0, "sd": 0.5},
        dict(lower=-math.inf, upper=math.inf),
        Reference(-2.0, 0.5, lambda q: stats.norm(-2.0, 0.5).ppf(q)),
    ),
}
KINDS = list(CASES)


def build(kind: str) -> tuple[Distribution, Reference]:
    spec, bounds, ref = CASES[kind]
    return parse_distribution(spec, **bounds), ref


# --------------------------------------------------------------------------------------
# summaries agree with the references
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", KINDS)
def test_mean_matches_reference(kind):
    dist, ref = build(kind)
    assert dist.mean() == pytest.approx(ref.mean, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_std_matches_reference(kind):
    dist, ref = build(kind)
    assert dist.std() == pytest.approx(ref.std, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_inner_quantiles_match_reference(kind):
    dist, ref = build(kind)
    np.testing.assert_allclose(
        dist.quantile(INNER_QUANTILES), ref.ppf(INNER_QUANTILES), rtol=1e-7, atol=1e-12
    )


@pytest.mark.parametrize("kind", KINDS)
def test_extreme_quantiles_are_the_support_ends_clipped_to_the_field_range(kind):
    dist, _ = build(kind)
    lo, hi = dist.support()
    assert dist.quantile(0.0) == max(lo, dist.lower)
    assert dist.quantile(1.0) == min(hi, dist.upper)


def test_pert_mean_is_the_classic_weighted_average():
    dist = parse_distribution("pert(2, 3, 10)")
    assert dist.mean() == pytest.approx((2 + 4 * 3 + 10) / 6)


def test_beta_mean_sd_reproduces_its_mean_and_sd():
    dist = parse_distribution({"dist": "beta", "mean": 0.08, "sd": 0.03})
    assert (dist.mean(), dist.std()) == pytest.approx((0.08, 0.03))


def test_lognormal_median_is_the_given_median():
    dist = parse_distribution({"dist": "lognormal", "median": 900.0, "sigma": 0.9})
    assert dist.quantile(0.5) == pytest.approx(900.0)


def test_scalar_quantile_is_a_scalar_and_array_quantile_keeps_shape():
    dist, _ = build("pert")
    assert np.ndim(dist.quantile(0.5)) == 0
    assert np.shape(dist.quantile(np.full((3, 4), 0.5))) == (3, 4)
    fixed, _ = build("fixed")
    assert fixed.quantile(0.5) == 0.3
    assert np.shape(fixed.quantile(np.zeros((2, 5)))) == (2, 5)


@pytest.mark.parametrize(
    "kind, support",
    [
        ("fixed", (0.3, 0.3)),
        ("uniform", (0.05, 0.15)),
        ("pert", (0.01, 0.06)),
        ("beta(a,b)", (0.0, 1.0)),
        ("lognormal", (0.0, math.inf)),
        ("normal truncated to [0,1]", (0.0, 1.0)),
    ],
)
def test_support(kind, support):
    dist, _ = build(kind)
    assert dist.support() == pytest.approx(support, abs=1e-15)


# --------------------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------------------
N_DRAWS = 50_000


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "fixed"])
def test_sample_mean_within_four_standard_errors(kind):
    dist, ref = build(kind)
    draws = dist.sample(np.random.default_rng(12345), N_DRAWS)
    assert abs(draws.mean() - ref.mean) < 4 * ref.std / math.sqrt(N_DRAWS)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "fixed"])
def test_sample_variance_within_four_standard_errors(kind):
    # the standard error of a sample variance is sqrt((m4 - sigma^4) / n)
    dist, ref = build(kind)
    draws = dist.sample(np.random.default_rng(54321), N_DRAWS)
    m4 = np.mean((draws - draws.mean()) ** 4)
    se = math.sqrt((m4 - draws.var() ** 2) / N_DRAWS)
    assert abs(draws.var() - ref.std**2) < 4 * se


def test_sample_of_a_fixed_value_is_that_value():
    dist, _ = build("fixed")
    draws = dist.sample(np.random.default_rng(1), (3, 7))
    assert draws.shape == (3, 7) and draws.dtype == np.float64
    assert np.all(draws == 0.3)


@pytest.mark.parametrize("kind", KINDS)
def test_sample_is_the_inverse_cdf_of_the_generators_uniforms(kind):
    # common random numbers and the Gaussian copula rely on this
    dist, _ = build(kind)
    draws = dist.sample(np.random.default_rng(7), 1000)
    uniforms = np.random.default_rng(7).random(1000)
    np.testing.assert_array_equal(draws, np.asarray(dist.ppf(uniforms), dtype=float))


def test_same_seed_gives_identical_draws():
    dist, _ = build("lognormal")
    a = dist.sample(np.random.default_rng(99), 500)
    b = dist.sample(np.random.default_rng(99), 500)
    np.testing.assert_array_equal(a, b)


# --------------------------------------------------------------------------------------
# the truncated normal
# --------------------------------------------------------------------------------------
def test_truncated_normal_draws_never_leave_the_field_range():
    dist = parse_distribution({"dist": "normal", "mean": 0.95, "sd": 0.4}, **SHARE)
    draws = dist.sample(np.random.default_rng(3), N_DRAWS)
    assert draws.min() >= 0.0 and draws.max() <= 1.0


def test_truncated_normal_keeps_mass_on_both_sides_of_its_mean():
    dist = parse_distribution({"dist": "normal", "mean": 0.5, "sd": 0.4}, **SHARE)
    draws = dist.sample(np.random.default_rng(4), 10_000)
    assert 0.4 < np.mean(draws < 0.5) < 0.6


def test_truncated_normal_to_non_negative_values():
    dist = parse_distribution({"dist": "normal", "mean": 1.0, "sd": 2.0}, **NON_NEGATIVE)
    ref = truncated_normal_reference(1.0, 2.0, 0.0, math.inf)
    assert dist.mean() == pytest.approx(ref.mean, rel=1e-9)
    assert dist.support() == (0.0, math.inf)


def test_normal_mostly_outside_the_range_is_truncated_not_rejected():
    dist = parse_distribution({"dist": "normal", "mean": 1.5, "sd": 0.2}, **SHARE)
    assert 0.9 < dist.mean() < 1.0


@PROPERTY
@given(
    mean=st.floats(-1.0, 2.0),
    sd=st.floats(0.01, 3.0),
    u=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20),
)
def test_truncated_normal_quantiles_stay_in_the_field_range(mean, sd, u):
    try:
        dist = parse_distribution({"dist": "normal", "mean": mean, "sd": sd}, **SHARE)
    except DistributionError:
        assume(False)  # no mass in [0, 1]: rejected, tested below
    q = np.asarray(dist.ppf(np.array(u)))
    assert np.all((q >= 0.0) & (q <= 1.0))


# --------------------------------------------------------------------------------------
# spellings
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, kind",
    [
        ("fixed(0.3)", "fixed"),
        ("uniform(0.05, 0.15)", "uniform"),
        ("triangular(0.9, 1.0, 1.15)", "triangular"),
        ("pert(0.01, 0.03, 0.06)", "pert"),
        ("beta(0.6, 0.15)", "beta(mean,sd)"),  # positional beta arguments are (mean, sd)
        ("lognormal(900, 0.9)", "lognormal"),
        ("normal(0.9, 0.3)", "normal truncated to [0,1]"),
    ],
)
def test_function_form_is_the_table_form(text, kind):
    from_table, _ = build(kind)
    from_text = parse_distribution(text, lower=from_table.lower, upper=from_table.upper)
    assert from_text.kind == from_table.kind
    assert dict(from_text.params) == dict(from_table.params)
    np.testing.assert_allclose(from_text.quantile(QUANTILES), from_table.quantile(QUANTILES))


def test_function_form_tolerates_spaces():
    dist = parse_distribution("  pert( 0.01 ,0.03,   0.06 ) ")
    assert dict(dist.params) == {"low": 0.01, "mode": 0.03, "high": 0.06}


def test_function_form_accepts_exponents_and_signs():
    dist = parse_distribution("uniform(-1e-2, +2.5E1)")
    assert dict(dist.params) == {"low": -0.01, "high": 25.0}


@pytest.mark.parametrize("value", [0.3, 3, 0])
def test_bare_number_is_a_fixed_value(value):
    dist = parse_distribution(value, **NON_NEGATIVE)
    assert dist.is_fixed and dist.mean() == value and dist.std() == 0.0


def test_fixed_constructor_is_a_bare_number():
    assert Distribution.fixed(0.4, 0.0, 1.0) == parse_distribution(0.4, **SHARE)


def test_a_distribution_passes_through_unchanged():
    dist, _ = build("pert")
    assert parse_distribution(dist) is dist


@pytest.mark.parametrize("kind", KINDS)
def test_to_toml_reads_back_as_the_same_distribution(kind):
    dist, _ = build(kind)
    written = tomllib.loads(f"x = {dist.to_toml()}")["x"]
    again = parse_distribution(written, lower=dist.lower, upper=dist.upper)
    assert again.kind == dist.kind and dict(again.params) == dict(dist.params)


def test_describe_is_the_function_form():
    dist = parse_distribution({"dist": "pert", "low": 0.01, "mode": 0.03, "high": 0.06})
    assert dist.describe() == "pert(0.01, 0.03, 0.06)"
    assert parse_distribution(dist.describe()) == dist


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------
@st.composite
def pert_specs(draw):
    low = draw(st.floats(-1e3, 1e3))
    width = draw(st.floats(1e-3, 1e3))
    at = draw(st.floats(0.0, 1.0))
    return low, low + at * width, low + width


@PROPERTY
@given(spec=pert_specs(), q=st.lists(engine_uniforms, min_size=1, max_size=30))
def test_pert_quantiles_stay_within_low_and_high(spec, q):
    low, mode, high = spec
    dist = parse_distribution({"dist": "pert", "low": low, "mode": mode, "high": high})
    values = np.asarray(dist.quantile(np.array(q)))
    assert np.all((values >= low) & (values <= high))


@PROPERTY
@given(spec=pert_specs(), q=st.lists(engine_uniforms, min_size=2, max_size=30))
def test_pert_quantile_is_monotone(spec, q):
    low, mode, high = spec
    dist = parse_distribution({"dist": "pert", "low": low, "mode": mode, "high": high})
    values = np.asarray(dist.quantile(np.sort(q)))
    assert np.all(np.diff(values) >= 0)


@PROPERTY
@given(
    mean=st.floats(0.01, 0.99),
    fraction=st.floats(0.05, 0.95),
)
def test_beta_mean_sd_round_trips_for_every_feasible_sd(mean, fraction):
    sd = fraction * math.sqrt(mean * (1 - mean))
    dist = parse_distribution({"dist": "beta", "mean": mean, "sd": sd}, **SHARE)
    assert dist.mean() == pytest.approx(mean, rel=1e-9)
    assert dist.std() == pytest.approx(sd, rel=1e-6)


# --------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------
def test_distribution_error_is_a_value_error():
    assert issubclass(DistributionError, ValueError)


@pytest.mark.parametrize(
    "spec, reason",
    [
        ({"dist": "uniform", "low": 0.2, "high": 0.1}, "low < high"),
        ({"dist": "uniform", "low": 0.2, "high": 0.2}, "low < high"),
        ({"dist": "triangular", "low": 0.3, "mode": 0.5, "high": 0.1}, "low <= mode <= high"),
        ({"dist": "pert", "low": 0.3, "mode": 0.5, "high": 0.1}, "low <= mode <= high"),
    ],
)
def test_low_above_high_is_an_error(spec, reason):
    with pytest.raises(DistributionError, match=reason):
        parse_distribution(spec)


@pytest.mark.parametrize("kind", ["triangular", "pert"])
@pytest.mark.parametrize("mode", [0.05, 0.5])
def test_mode_outside_low_high_is_an_error(kind, mode):
    with pytest.raises(DistributionError, match="low <= mode <= high"):
        parse_distribution({"dist": kind, "low": 0.1, "mode": mode, "high": 0.3})


@pytest.mark.parametrize("kind", ["triangular", "pert"])
def test_zero_width_triangular_or_pert_is_an_error(kind):
    with pytest.raises(DistributionError, match="low < high"):
        parse_distribution({"dist": kind, "low": 0.2, "mode": 0.2, "high": 0.2})


@pytest.mark.parametrize("sd", [0.5, 0.6])
def test_beta_sd_too_large_for_its_mean_is_an_error(sd):
    # a beta with mean m has sd < sqrt(m (1 - m)) = 0.5 at m = 0.5
    with pytest.raises(DistributionError, match=r"sqrt\(mean\*\(1-mean\)\)"):
        parse_distribution({"dist": "beta", "mean": 0.5, "sd": sd})


@pytest.mark.parametrize(
    "spec, reason",
    [
        ({"dist": "beta", "mean": 0.0, "sd": 0.1}, "strictly between 0 and 1"),
        ({"dist": "beta", "mean": 1.2, "sd": 0.1}, "strictly between 0 and 1"),
        ({"dist": "beta", "mean": 0.5, "sd": 0.0}, "sd must be > 0"),
        ({"dist": "beta", "a": 0.0, "b": 2.0}, "a > 0 and b > 0"),
        ({"dist": "beta", "a": 2.0, "b": -1.0}, "a > 0 and b > 0"),
        ({"dist": "lognormal", "median": 0.0, "sigma": 0.5}, "median must be > 0"),
        ({"dist": "lognormal", "median": 10.0, "sigma": 0.0}, "sigma must be > 0"),
        ({"dist": "normal", "mean": 0.5, "sd": -0.1}, "sd must be > 0"),
    ],
)
def test_parameter_outside_its_domain_is_an_error(spec, reason):
    with pytest.raises(DistributionError, match=reason):
        parse_distribution(spec)


@pytest.mark.parametrize("spec", [{"dist": "gamma", "a": 2.0}, "gamma(2)", {"dist": ["pert"]}, {"dist": 3}])
def test_unknown_distribution_is_an_error(spec):
    with pytest.raises(DistributionError, match="unknown distribution"):
        parse_distribution(spec)


def test_table_without_dist_is_an_error():
    with pytest.raises(DistributionError, match="needs 'dist'"):
        parse_distribution({"low": 0.1, "high": 0.2})


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "pert", "low": 0.01, "high": 0.06},
        {"dist": "fixed"},
        {"dist": "beta", "mean": 0.5},
    ],
)
def test_missing_parameter_is_an_error(spec):
    with pytest.raises(DistributionError, match="takes parameters"):
        parse_distribution(spec)


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "uniform", "low": 0.1, "high": 0.2, "mode": 0.15},
        {"dist": "pert", "low": 0.01, "mdoe": 0.03, "high": 0.06},
        {"dist": "beta", "mean": 0.5, "b": 2.0},
        {"dist": "beta", "mean": 0.5, "sd": 0.1, "a": 2.0},
    ],
)
def test_extra_or_misspelt_parameter_is_an_error(spec):
    with pytest.raises(DistributionError, match="takes parameters"):
        parse_distribution(spec)


@pytest.mark.parametrize("bad", ["0.1", True, None, [0.1]])
def test_non_number_parameter_is_an_error(bad):
    with pytest.raises(DistributionError, match="parameter 'low' must be a number"):
        parse_distribution({"dist": "uniform", "low": bad, "high": 0.2})


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_parameter_is_an_error(bad):
    with pytest.raises(DistributionError, match="must be finite"):
        parse_distribution({"dist": "uniform", "low": bad, "high": 0.2})


@pytest.mark.parametrize("text", ["pert(0.01, low, 0.06)", "uniform(0.1; 0.2)"])
def test_function_form_with_non_numbers_is_an_error(text):
    with pytest.raises(DistributionError, match="as numbers"):
        parse_distribution(text)


@pytest.mark.parametrize(
    "text, count", [("pert(0.01, 0.06)", 2), ("uniform(0.1, 0.2, 0.3)", 3), ("fixed()", 0)]
)
def test_function_form_with_wrong_argument_count_is_an_error(text, count):
    with pytest.raises(DistributionError, match=f"got {count}"):
        parse_distribution(text)


@pytest.mark.parametrize("text", ["0.3", "pert 0.01 0.03 0.06", "", "PERT(0.01, 0.03, 0.06)"])
def test_unreadable_text_is_an_error(text):
    with pytest.raises(DistributionError, match="cannot read"):
        parse_distribution(text)


@pytest.mark.parametrize("value", [True, [0.1, 0.2], None])
def test_value_that_is_neither_number_nor_table_is_an_error(value):
    with pytest.raises(DistributionError, match="expected a number"):
        parse_distribution(value)


@pytest.mark.parametrize(
    "spec, bounds",
    [
        ({"dist": "uniform", "low": 0.5, "high": 1.5}, SHARE),
        ({"dist": "pert", "low": -0.1, "mode": 0.1, "high": 0.2}, SHARE),
        ({"dist": "triangular", "low": -1.0, "mode": 1.0, "high": 2.0}, NON_NEGATIVE),
        ({"dist": "lognormal", "median": 0.5, "sigma": 0.1}, SHARE),
        ({"dist": "beta", "a": 2.0, "b": 2.0}, dict(lower=0.0, upper=0.5)),
    ],
)
def test_support_outside_the_field_range_is_an_error(spec, bounds):
    with pytest.raises(DistributionError, match="outside the valid range"):
        parse_distribution(spec, **bounds)


@pytest.mark.parametrize("value, bounds", [(1.5, SHARE), (-0.1, SHARE), (-3, NON_NEGATIVE)])
def test_fixed_value_outside_the_field_range_is_an_error(value, bounds):
    with pytest.raises(DistributionError, match="outside the valid range"):
        parse_distribution(value, **bounds)


def test_support_touching_the_field_range_ends_is_allowed():
    dist = parse_distribution({"dist": "uniform", "low": 0.0, "high": 1.0}, **SHARE)
    assert dist.support() == (0.0, 1.0)


@pytest.mark.parametrize("mean", [5.0, -5.0])
def test_normal_with_no_mass_in_the_field_range_is_an_error(mean):
    with pytest.raises(DistributionError, match="no mass in the valid range"):
        parse_distribution({"dist": "normal", "mean": mean, "sd": 0.1}, **SHARE)


# --------------------------------------------------------------------------------------
# summaries without scipy.stats: the same bits as the frozen scipy distribution
# --------------------------------------------------------------------------------------
bounded = st.floats(-5, 5, allow_nan=False)
widths = st.floats(1e-3, 10, allow_nan=False)


@st.composite
def any_distribution(draw) -> Distribution:
    kind = draw(st.sampled_from(["uniform", "triangular", "pert", "beta_ab", "beta_mean", "lognormal", "normal"]))
    low, width = draw(bounded), draw(widths)
    if kind == "uniform":
        return parse_distribution({"dist": "uniform", "low": low, "high": low + width})
    if kind in ("triangular", "pert"):
        mode = low + width * draw(st.floats(0, 1))
        return parse_distribution({"dist": kind, "low": low, "mode": mode, "high": low + width})
    if kind == "beta_ab":
        return parse_distribution({"dist": "beta", "a": draw(st.floats(0.2, 40)), "b": draw(st.floats(0.2, 40))})
    if kind == "beta_mean":
        mean = draw(st.floats(0.02, 0.98))
        return parse_distribution({"dist": "beta", "mean": mean,
                                   "sd": draw(st.floats(0.01, 0.99)) * math.sqrt(mean * (1 - mean))})
    if kind == "lognormal":
        return parse_distribution({"dist": "lognormal", "median": draw(st.floats(1e-3, 1e4)),
                                   "sigma": draw(st.floats(0.01, 3))})
    return parse_distribution({"dist": "normal", "mean": draw(st.floats(0, 1)), "sd": width}, **SHARE)


@PROPERTY
@given(any_distribution(), st.lists(engine_uniforms, min_size=1, max_size=8))
def test_quantile_and_mean_are_scipys_bits(dist, us):
    q = np.array(us + [0.0, 1.0, 0.1, 0.5, 0.9])
    np.testing.assert_array_equal(dist.quantile(q), dist.ppf(q))  # ppf: the frozen scipy distribution
    assert dist.quantile(0.1) == dist.ppf(0.1)
    assert dist.mean() == float(dist.scipy.mean())


def test_summaries_do_not_import_scipy_stats():
    """A plan's summaries (a lift's mean and P10/P90) do not wait half a second for scipy.stats."""
    import subprocess
    import sys

    code = ("import sys; from cxopt.model.distributions import parse_distribution as p\n"
            "for d in (p('pert(0.01, 0.03, 0.1)'), p('triangular(1, 2, 4)'), p('uniform(0, 1)'),"
            " p({'dist': 'beta', 'mean': 0.3, 'sd': 0.1}), p('lognormal(900, 0.9)')):\n"
            "    d.mean(), d.quantile(0.1), d.quantile([0.1, 0.9])\n"
            "assert 'scipy.stats' not in sys.modules, 'scipy.stats imported'\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
