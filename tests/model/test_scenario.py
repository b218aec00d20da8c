"""The scenario file (DESIGN.md section 6): what loads, what its defaults are, and how each
class of bad input is reported (file, dotted field path, reason; every problem at once)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

import cxopt
from cxopt import ScenarioError, load_scenario
from cxopt.model.scenario import DEFAULT_SEED, DEFAULT_TRIALS

# DESIGN.md section 6, verbatim
DESIGN_EXAMPLE = '''\
[scenario]
name = "Communications company"
currency = "USD"
horizon_months = 12
trials = 10_000
seed = 20261122

[customers]
count = 200_000                 # synthetic base ...
# path = "customers.parquet"    # ... or a real one (then volume/reach are measured from it)
revenue = { dist = "lognormal", median = 900.0, sigma = 0.9 }
baseline_churn = { dist = "beta", mean = 0.08, sd = 0.03 }
exposure_correlation = 0.2      # latent Gaussian copula between driver exposures

[[customers.segments]]
id = "consumer"
share = 0.85
[[customers.segments]]
id = "business"
share = 0.15
revenue_multiplier = 4.0

[market]
churn_multiplier = { dist = "triangular", low = 0.9, mode = 1.0, high = 1.15 }

[[pain_points]]
id = "missed_delivery"
name = "Missed delivery date"
volume = 0.20                   # or per segment: { consumer = 0.22, business = 0.10 }
severity = { dist = "pert", low = 0.01, mode = 0.03, high = 0.06 }
complaint_rate = 0.5            # optional; volume may instead be complaints / complaint_rate
nps_impact = -12                # optional linear metric impacts among exposed customers

[[delighters]]
id = "proactive_education"
reach = 0.25
lift = { dist = "uniform", low = 0.05, high = 0.15 }

[[initiatives]]
id = "callback_sla"
name = "Sales call-back within 24 hours"
owner = "Head of Sales Operations"
cost = 300_000                  # or per period: { q1 = 100_000, q2 = 200_000 }
success_probability = 0.9
months_to_impact = 3
fixes = { unreturned_sales_call = { dist = "beta", mean = 0.6, sd = 0.15 } }
segments = ["business"]         # optional targeting
metric = { name = "calls returned within 24h", unit = "%", baseline = 55, target = 95 }

[budget]
total = 1_500_000               # or per period: { q1 = 800_000, q2 = 700_000 }
max_initiatives = 5
owner_capacity = 1

[constraints]
exclusive = [["crm_rebuild", "crm_patch"]]
requires = { loyalty_tiers = "crm_rebuild" }
must = []
forbid = []
'''

# The example names a pain point and three initiatives it does not define; these complete it.
DESIGN_EXAMPLE_COMPLETION = """
[[pain_points]]
id = "unreturned_sales_call"
volume = { consumer = 0.02, business = 0.12 }
severity = "pert(0.02, 0.05, 0.10)"

[[initiatives]]
id = "crm_rebuild"
owner = "Chief Information Officer"
cost = { q1 = 400_000, q2 = 500_000 }
fixes = { unreturned_sales_call = 0.5, missed_delivery = 0.1 }

[[initiatives]]
id = "crm_patch"
owner = "Chief Information Officer"
cost = 150_000
fixes = { unreturned_sales_call = 0.2 }

[[initiatives]]
id = "loyalty_tiers"
owner = "Head of Marketing"
cost = 200_000
fixes = { proactive_education = { dist = "normal", mean = 0.4, sd = 0.2 } }
"""

# The smallest scenario the tests edit: no [scenario], [market], [budget] or segments.
MINIMAL = """\
[customers]
count = 1_000

[[pain_points]]
id = "missed_delivery"
volume = 0.2
severity = 0.03

[[pain_points]]
id = "billing_error"
volume = 0.1
severity = { dist = "pert", low = 0.01, mode = 0.02, high = 0.05 }

[[delighters]]
id = "proactive_education"
reach = 0.25
lift = 0.1

[[initiatives]]
id = "courier_tracking"
owner = "Head of Logistics"
cost = 100_000
fixes = { missed_delivery = 0.5 }

[[initiatives]]
id = "billing_audit"
owner = "Head of Billing"
cost = 50_000
fixes = { billing_error = 0.4 }

[[initiatives]]
id = "onboarding_videos"
owner = "Head of Marketing"
cost = 20_000
fixes = { proactive_education = 0.3 }
"""

SEGMENTS = """count = 1_000

[[customers.segments]]
id = "consumer"
share = 0.8

[[customers.segments]]
id = "business"
share = 0.2
"""


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def edit(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def after(text: str, anchor: str, extra: str) -> str:
    """``text`` with ``extra`` inserted after the single occurrence of ``anchor``."""
    return edit(text, anchor, anchor + extra)


def segmented(text: str = MINIMAL) -> str:
    return edit(text, "count = 1_000\n", SEGMENTS)


def write(tmp_path: Path, text: str, name: str = "scenario.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str):
    return load_scenario(write(tmp_path, text))


def rejected(tmp_path: Path, text: str) -> tuple[ScenarioError, Path]:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value, path


def assert_reported(err: ScenarioError, file: Path, field: str, reason: str) -> None:
    """One line of the message reads ``FILE: field: ...reason...``."""
    lines = str(err).splitlines()
    assert any(line.startswith(f"{file}: {field}: ") and reason in line for line in lines), str(err)


def assert_rejected(tmp_path: Path, text: str, field: str, reason: str) -> ScenarioError:
    err, path = rejected(tmp_path, text)
    assert_reported(err, path, field, reason)
    return err


# --------------------------------------------------------------------------------------
# the DESIGN.md example
# --------------------------------------------------------------------------------------
def test_design_example_loads(tmp_path):
    sc = load(tmp_path, DESIGN_EXAMPLE + DESIGN_EXAMPLE_COMPLETION)
    assert isinstance(sc, cxopt.Scenario)
    assert (sc.name, sc.scenario.currency, sc.horizon_months) == ("Communications company", "USD", 12)
    assert (sc.scenario.trials, sc.scenario.seed) == (10_000, 20261122)
    assert sc.customers.count == 200_000 and sc.customers.exposure_correlation == 0.2
    assert sc.segment_ids == ["consumer", "business"]
    assert [s.share for s in sc.customers.segments] == [0.85, 0.15]
    assert [s.revenue_multiplier for s in sc.customers.segments] == [1.0, 4.0]
    assert sc.driver_ids == ["missed_delivery", "unreturned_sales_call", "proactive_education"]
    assert sc.initiative_ids == ["callback_sla", "crm_rebuild", "crm_patch", "loyalty_tiers"]
    assert sc.source == str(tmp_path / "scenario.toml")


def test_design_example_distributions_are_read_with_their_parameters(tmp_path):
    sc = load(tmp_path, DESIGN_EXAMPLE + DESIGN_EXAMPLE_COMPLETION)
    assert sc.customers.revenue.kind == "lognormal"
    assert dict(sc.customers.revenue.params) == {"median": 900.0, "sigma": 0.9}
    assert sc.customers.baseline_churn.mean() == pytest.approx(0.08)
    assert sc.market.churn_multiplier.kind == "triangular"
    missed = sc.pain_points[0]
    assert missed.severity.kind == "pert" and dict(missed.severity.params) == {
        "low": 0.01, "mode": 0.03, "high": 0.06
    }
    assert sc.delighters[0].lift.support() == (0.05, 0.15)
    assert sc.pain_points[1].severity.describe() == "pert(0.02, 0.05, 0.1)"


def test_design_example_pain_point_delighter_and_initiative_fields(tmp_path):
    sc = load(tmp_path, DESIGN_EXAMPLE + DESIGN_EXAMPLE_COMPLETION)
    missed = sc.pain_points[0]
    assert (missed.label, missed.volume, missed.complaint_rate) == ("Missed delivery date", 0.20, 0.5)
    assert missed.metric_impacts() == {"nps": -12.0}
    assert sc.pain_points[1].volume == {"consumer": 0.02, "business": 0.12}
    assert sc.delighters[0].reach == 0.25
    sla = sc.initiative("callback_sla")
    assert (sla.label, sla.owner, sla.cost, sla.success_probability) == (
        "Sales call-back within 24 hours", "Head of Sales Operations", 300_000.0, 0.9
    )
    assert sla.months_to_impact.is_fixed and sla.months_to_impact.mean() == 3
    assert sla.fixes["unreturned_sales_call"].mean() == pytest.approx(0.6)
    assert sla.segments == ["business"]
    assert (sla.metric.name, sla.metric.unit, sla.metric.baseline, sla.metric.target) == (
        "calls returned within 24h", "%", 55, 95
    )


def test_design_example_budget_and_constraints(tmp_path):
    sc = load(tmp_path, DESIGN_EXAMPLE + DESIGN_EXAMPLE_COMPLETION)
    assert (sc.budget.total, sc.budget.max_initiatives, sc.budget.owner_capacity) == (1_500_000.0, 5, 1)
    assert sc.budget_periods() == ["total"]
    assert sc.initiative("crm_rebuild").total_cost() == 900_000.0  # per-period cost against one number
    assert sc.constraints.exclusive == [["crm_rebuild", "crm_patch"]]
    assert sc.constraints.requires == {"loyalty_tiers": "crm_rebuild"}
    assert sc.constraints.must == [] and sc.constraints.forbid == []


def test_design_example_as_printed_is_rejected_for_exactly_the_ids_it_does_not_define(tmp_path):
    err, path = rejected(tmp_path, DESIGN_EXAMPLE)
    assert {(p.path, p.reason) for p in err.problems} == {
        (
            "initiatives[0].fixes.unreturned_sales_call",
            "unknown pain point or delighter 'unreturned_sales_call'",
        ),
        ("constraints.exclusive[0][0]", "unknown initiative 'crm_rebuild'"),
        ("constraints.exclusive[0][1]", "unknown initiative 'crm_patch'"),
        ("constraints.requires.loyalty_tiers", "unknown initiative 'loyalty_tiers'"),
        ("constraints.requires.loyalty_tiers", "unknown initiative 'crm_rebuild'"),
    }
    assert all(p.source == str(path) for p in err.problems)


# --------------------------------------------------------------------------------------
# defaults
# --------------------------------------------------------------------------------------
def test_minimal_scenario_loads(tmp_path):
    sc = load(tmp_path, MINIMAL)
    assert sc.initiative_ids == ["courier_tracking", "billing_audit", "onboarding_videos"]


def test_name_defaults_to_the_id(tmp_path):
    sc = load(tmp_path, segmented())
    labels = [x.label for x in (*sc.customers.segments, *sc.pain_points, *sc.delighters, *sc.initiatives)]
    assert labels == [
        "consumer", "business", "missed_delivery", "billing_error", "proactive_education",
        "courier_tracking", "billing_audit", "onboarding_videos",
    ]


def test_a_given_name_is_the_label(tmp_path):
    sc = load(tmp_path, after(MINIMAL, 'id = "billing_audit"\n', 'name = "Audit every bill"\n'))
    assert sc.initiative("billing_audit").label == "Audit every bill"


def test_success_probability_defaults_to_one(tmp_path):
    sc = load(tmp_path, MINIMAL)
    assert [k.success_probability for k in sc.initiatives] == [1.0, 1.0, 1.0]


def test_months_to_impact_defaults_to_zero(tmp_path):
    sc = load(tmp_path, MINIMAL)
    assert all(k.months_to_impact.is_fixed and k.months_to_impact.mean() == 0.0 for k in sc.initiatives)


def test_horizon_defaults_to_twelve_months(tmp_path):
    assert load(tmp_path, MINIMAL).horizon_months == 12


def test_trials_and_seed_have_defaults(tmp_path):
    sc = load(tmp_path, MINIMAL)
    assert (sc.scenario.trials, sc.scenario.seed) == (DEFAULT_TRIALS, DEFAULT_SEED)


def test_market_churn_multiplier_defaults_to_one(tmp_path):
    multiplier = load(tmp_path, MINIMAL).market.churn_multiplier
    assert multiplier.is_fixed and multiplier.mean() == 1.0


def test_no_budget_means_no_limit_and_at_most_five_initiatives(tmp_path):
    budget = load(tmp_path, MINIMAL).budget
    assert (budget.total, budget.max_initiatives, budget.owner_capacity) == (None, 5, 1)


def test_no_segments_means_one_segment_for_all(tmp_path):
    assert load(tmp_path, MINIMAL).segment_ids == ["all"]


def test_bare_number_is_a_fixed_distribution(tmp_path):
    severity = load(tmp_path, MINIMAL).pain_points[0].severity
    assert severity.is_fixed and severity.mean() == 0.03


def test_function_form_distribution_in_a_file(tmp_path):
    sc = load(tmp_path, edit(MINIMAL, "lift = 0.1", 'lift = "uniform(0.05, 0.15)"'))
    assert sc.delighters[0].lift.kind == "uniform" and sc.delighters[0].lift.mean() == pytest.approx(0.1)


def test_complaints_with_complaint_rate_stand_in_for_volume(tmp_path):
    sc = load(tmp_path, edit(MINIMAL, "volume = 0.2\n", "complaints = 40\ncomplaint_rate = 0.5\n"))
    missed = sc.pain_points[0]
    assert (missed.volume, missed.complaints, missed.complaint_rate) == (None, 40.0, 0.5)


def test_per_segment_volume_and_reach_tables_load(tmp_path):
    text = edit(segmented(), "volume = 0.2\n", "volume = { consumer = 0.22, business = 0.10 }\n")
    text = edit(text, "reach = 0.25\n", "reach = { consumer = 0.3, business = 0.0 }\n")
    sc = load(tmp_path, text)
    assert sc.pain_points[0].volume == {"consumer": 0.22, "business": 0.10}
    assert sc.delighters[0].reach == {"consumer": 0.3, "business": 0.0}


def test_per_period_budget_and_costs_load(tmp_path):
    text = edit(MINIMAL, "cost = 100_000\n", "cost = { q1 = 60_000, q2 = 40_000 }\n")
    text = edit(text, "cost = 50_000\n", "cost = { q2 = 50_000 }\n")  # a period it omits costs 0 there
    text = edit(text, "cost = 20_000\n", "cost = { q1 = 20_000 }\n")
    sc = load(tmp_path, text + "\n[budget]\ntotal = { q1 = 80_000, q2 = 90_000 }\n")
    assert sc.budget_periods() == ["q1", "q2"]
    assert sc.initiative("courier_tracking").cost == {"q1": 60_000.0, "q2": 40_000.0}
    assert sc.initiative("courier_tracking").total_cost() == 100_000.0


def test_a_plain_cost_against_a_per_period_budget_is_an_error(tmp_path):
    text = edit(MINIMAL, "cost = 100_000\n", "cost = { q1 = 60_000, q2 = 40_000 }\n")
    text = edit(text, "cost = 50_000\n", "cost = { q2 = 50_000 }\n")
    with pytest.raises(ScenarioError) as err:
        load(tmp_path, text + "\n[budget]\ntotal = { q1 = 80_000, q2 = 90_000 }\n")
    assert "initiatives[2].cost" in str(err.value) and "per period" in str(err.value)


def test_initiative_targeting_a_declared_segment_loads(tmp_path):
    text = after(segmented(), 'owner = "Head of Billing"\n', 'segments = ["business"]\n')
    assert load(tmp_path, text).initiative("billing_audit").segments == ["business"]


def test_relative_customer_file_is_resolved_against_the_scenario_directory(tmp_path):
    sc = load(tmp_path, edit(MINIMAL, "count = 1_000\n", 'path = "customers.parquet"\n'))
    assert sc.customers.path == str(tmp_path / "customers.parquet")
    assert sc.segment_ids == []  # taken from the file when it is read


def test_with_a_customer_file_undeclared_segment_names_wait_for_the_file(tmp_path):
    text = edit(MINIMAL, "count = 1_000\n", 'path = "customers.parquet"\n')
    text = edit(text, "volume = 0.2\n", "volume = { retail = 0.3, wholesale = 0.1 }\n")
    assert load(tmp_path, text).pain_points[0].volume == {"retail": 0.3, "wholesale": 0.1}


def test_max_initiatives_above_five_warns(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[budget]\nmax_initiatives = 7\n")
    with pytest.warns(UserWarning, match="max_initiatives = 7") as record:
        sc = load_scenario(path)
    assert sc.budget.max_initiatives == 7
    assert str(path) in str(record[0].message)


def test_max_initiatives_of_five_does_not_warn(tmp_path):
    path = write(tmp_path, MINIMAL + "\n[budget]\nmax_initiatives = 5\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(path)


# --------------------------------------------------------------------------------------
# how problems are reported
# --------------------------------------------------------------------------------------
def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


def test_each_problem_names_the_file_the_field_and_the_reason(tmp_path):
    err, path = rejected(tmp_path, edit(MINIMAL, "volume = 0.2", "volume = 1.2"))
    [problem] = err.problems
    assert (problem.source, problem.path) == (str(path), "pain_points[0].volume")
    assert "must lie in [0, 1]" in problem.reason
    assert str(err) == f"{path}: pain_points[0].volume: {problem.reason}"


def test_several_schema_problems_in_one_file_are_all_reported(tmp_path):
    text = edit(MINIMAL, "volume = 0.2", "volume = 1.2")
    text = edit(text, 'owner = "Head of Billing"\n', "")
    text = edit(text, "lift = 0.1", "lfit = 0.1")
    err, path = rejected(tmp_path, text)
    assert len(err.problems) >= 2
    assert_reported(err, path, "pain_points[0].volume", "[0, 1]")
    assert_reported(err, path, "initiatives[1].owner", "Field required")
    assert_reported(err, path, "delighters[0].lfit", "unknown key")


def test_several_cross_reference_problems_in_one_file_are_all_reported(tmp_path):
    text = edit(MINIMAL, "fixes = { billing_error = 0.4 }", "fixes = { billing_eror = 0.4 }")
    text += '\n[constraints]\nmust = ["courier_trackin"]\nforbid = ["ghost"]\n'
    err, path = rejected(tmp_path, text)
    assert len(err.problems) >= 2
    assert_reported(err, path, "initiatives[1].fixes.billing_eror", "unknown pain point or delighter")
    assert_reported(err, path, "constraints.must[0]", "unknown initiative 'courier_trackin'")
    assert_reported(err, path, "constraints.forbid[0]", "unknown initiative 'ghost'")


# --------------------------------------------------------------------------------------
# unknown keys: a typo anywhere is an error
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "old, new, field",
    [
        ("[customers]\n", "[scenaro]\nname = 'x'\n\n[customers]\n", "scenaro"),
        ("[customers]\n", "[scenario]\nhorizon_month = 6\n\n[customers]\n", "scenario.horizon_month"),
        ("count = 1_000\n", "count = 1_000\nrevenu = 900\n", "customers.revenu"),
        ("[customers]\n", "[market]\nchurn_multipler = 1.1\n\n[customers]\n", "market.churn_multipler"),
        ("severity = 0.03\n", "severity = 0.03\nnps_impcat = -3\n", "pain_points[0].nps_impcat"),
        ("lift = 0.1\n", "lift = 0.1\nnps = 2\n", "delighters[0].nps"),
        ("cost = 20_000\n", "cost = 20_000\nsucess_probability = 0.9\n", "initiatives[2].sucess_probability"),
        (
            "cost = 50_000\n",
            'cost = 50_000\nmetric = { name = "bills audited", baseline = 0, target = 100, traget = 1 }\n',
            "initiatives[1].metric.traget",
        ),
        ("[customers]\n", "source = 'elsewhere.toml'\n\n[customers]\n", "source"),
    ],
)
def test_unknown_key_is_an_error(tmp_path, old, new, field):
    assert_rejected(tmp_path, edit(MINIMAL, old, new), field, "unknown key")


@pytest.mark.parametrize(
    "section, field",
    [
        ("[budget]\nmax_initiative = 3\n", "budget.max_initiative"),
        ("[constraints]\nexclusiv = []\n", "constraints.exclusiv"),
        ('[[correlations]]\ninitiatives = ["courier_tracking", "billing_audit"]\nrho = 0.3\nsign = 1\n',
         "correlations[0].sign"),
    ],
)
def test_unknown_key_in_an_optional_section_is_an_error(tmp_path, section, field):
    assert_rejected(tmp_path, MINIMAL + "\n" + section, field, "unknown key")


def test_unknown_key_in_a_segment_is_an_error(tmp_path):
    text = after(segmented(), "share = 0.2\n", "revenue_multipler = 4\n")
    assert_rejected(tmp_path, text, "customers.segments[1].revenue_multipler", "unknown key")


def test_misspelt_distribution_parameter_is_an_error(tmp_path):
    text = edit(MINIMAL, "mode = 0.02", "mdoe = 0.02")
    assert_rejected(tmp_path, text, "pain_points[1].severity", "pert takes parameters (low, mode, high)")


def test_a_file_cannot_set_where_it_came_from(tmp_path):
    err, path = rejected(tmp_path, 'source = "elsewhere.toml"\n' + MINIMAL)
    assert all(p.source == str(path) for p in err.problems)


# --------------------------------------------------------------------------------------
# missing required fields
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line, field",
    [
        ('owner = "Head of Billing"\n', "initiatives[1].owner"),
        ("cost = 50_000\n", "initiatives[1].cost"),
        ("fixes = { billing_error = 0.4 }\n", "initiatives[1].fixes"),
        ("severity = 0.03\n", "pain_points[0].severity"),
        ("reach = 0.25\n", "delighters[0].reach"),
        ("lift = 0.1\n", "delighters[0].lift"),
        ('id = "billing_error"\n', "pain_points[1].id"),
        ('id = "onboarding_videos"\n', "initiatives[2].id"),
    ],
)
def test_missing_required_field_is_an_error(tmp_path, line, field):
    assert_rejected(tmp_path, edit(MINIMAL, line, ""), field, "Field required")


def test_pain_point_without_volume_or_complaints_is_an_error(tmp_path):
    assert_rejected(tmp_path, edit(MINIMAL, "volume = 0.2\n", ""), "pain_points[0]", "give 'volume'")


def test_customers_without_count_or_path_is_an_error(tmp_path):
    assert_rejected(tmp_path, edit(MINIMAL, "count = 1_000\n", ""), "customers", "give either 'count'")


def test_customers_with_both_count_and_path_is_an_error(tmp_path):
    text = edit(MINIMAL, "count = 1_000\n", 'count = 1_000\npath = "customers.parquet"\n')
    assert_rejected(tmp_path, text, "customers", "not both")


def test_missing_customers_section_is_an_error(tmp_path):
    text = edit(MINIMAL, "[customers]\ncount = 1_000\n", "")
    assert_rejected(tmp_path, text, "customers", "Field required")


def test_empty_fixes_is_an_error(tmp_path):
    text = edit(MINIMAL, "fixes = { billing_error = 0.4 }", "fixes = {}")
    assert_rejected(tmp_path, text, "initiatives[1]", "'fixes' is empty")


@pytest.mark.parametrize("owner", ['""', '"   "'])
def test_empty_owner_is_an_error(tmp_path, owner):
    text = edit(MINIMAL, 'owner = "Head of Billing"', f"owner = {owner}")
    assert_rejected(tmp_path, text, "initiatives[1].owner", "expected non-empty text")


@pytest.mark.parametrize("bad_id", ['"missed delivery"', '"missed.delivery"', '""', "3"])
def test_id_must_be_text_without_spaces_or_dots(tmp_path, bad_id):
    text = edit(MINIMAL, 'id = "missed_delivery"', f"id = {bad_id}")
    assert_rejected(tmp_path, text, "pain_points[0].id", "id")


# --------------------------------------------------------------------------------------
# complaints as volume
# --------------------------------------------------------------------------------------
def test_complaints_without_complaint_rate_is_an_error(tmp_path):
    text = edit(MINIMAL, "volume = 0.2\n", "complaints = 40\n")
    assert_rejected(tmp_path, text, "pain_points[0]", "'complaints' needs 'complaint_rate'")


def test_volume_and_complaints_together_is_an_error(tmp_path):
    text = edit(MINIMAL, "volume = 0.2\n", "volume = 0.2\ncomplaints = 40\ncomplaint_rate = 0.5\n")
    assert_rejected(tmp_path, text, "pain_points[0]", "not both")


def test_complaints_implying_more_exposed_customers_than_exist_is_an_error(tmp_path):
    # 600 complaints at a rate of 0.5 means 1,200 exposed customers among 1,000
    text = edit(MINIMAL, "volume = 0.2\n", "complaints = 600\ncomplaint_rate = 0.5\n")
    assert_rejected(tmp_path, text, "pain_points[0].complaints", "exceeds the 1,000 customers")


# --------------------------------------------------------------------------------------
# ranges
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "old, new, field, reason",
    [
        ("volume = 0.2", "volume = 1.2", "pain_points[0].volume", "must lie in [0, 1]"),
        ("volume = 0.2", "volume = -0.1", "pain_points[0].volume", "must lie in [0, 1]"),
        ("reach = 0.25", "reach = 1.5", "delighters[0].reach", "must lie in [0, 1]"),
        ("severity = 0.03", "severity = 1.5", "pain_points[0].severity", "outside the valid range [0, 1]"),
        ("severity = 0.03", 'severity = "uniform(0.5, 1.5)"', "pain_points[0].severity",
         "outside the valid range"),
        ("lift = 0.1", 'lift = "normal(5, 0.1)"', "delighters[0].lift", "no mass in the valid range"),
        ("fixes = { missed_delivery = 0.5 }", "fixes = { missed_delivery = 1.2 }",
         "initiatives[0].fixes.missed_delivery", "outside the valid range"),
        ("cost = 100_000", "success_probability = 1.1\ncost = 100_000", "initiatives[0].success_probability",
         "must lie in [0, 1]"),
        ("cost = 100_000", "success_probability = -0.1\ncost = 100_000", "initiatives[0].success_probability",
         "must lie in [0, 1]"),
        ("volume = 0.2", "complaints = 40\ncomplaint_rate = 0", "pain_points[0].complaint_rate",
         "must lie in (0, 1]"),
        ("cost = 100_000", "cost = -1", "initiatives[0].cost", "must be >= 0"),
        ("cost = 100_000", "cost = { q1 = 10, q2 = -5 }", "initiatives[0].cost", "must be a number >= 0"),
        ("cost = 100_000", "months_to_impact = -1\ncost = 100_000", "initiatives[0].months_to_impact",
         "outside the valid range"),
        ("cost = 100_000", "start_month = 12\ncost = 100_000", "initiatives[0].start_month",
         "12-month horizon"),
        ("count = 1_000", "count = 0", "customers.count", "greater than or equal to 1"),
        ("count = 1_000", "count = 1_000\nexposure_correlation = 1.0", "customers.exposure_correlation",
         "less than or equal to 0.99"),
        ("count = 1_000", 'count = 1_000\nbaseline_churn = { dist = "beta", mean = 0.08, sd = 0.5 }',
         "customers.baseline_churn", "beta sd must be <"),
        ("count = 1_000", 'count = 1_000\nrevenue = "uniform(-10, 100)"', "customers.revenue",
         "outside the valid range [0, inf]"),
    ],
)
def test_value_out_of_range_is_an_error(tmp_path, old, new, field, reason):
    assert_rejected(tmp_path, edit(MINIMAL, old, new), field, reason)


@pytest.mark.parametrize(
    "section, field, reason",
    [
        ("[scenario]\ntrials = 0\n", "scenario.trials", "greater than or equal to 1"),
        ("[scenario]\nhorizon_months = 0\n", "scenario.horizon_months", "greater than or equal to 1"),
        ("[scenario]\nseed = -1\n", "scenario.seed", "greater than or equal to 0"),
        ("[budget]\ntotal = -5\n", "budget.total", "must be >= 0"),
        ("[budget]\ntotal = { q1 = 100, q2 = -5 }\n", "budget.total", "must be a number >= 0"),
        ("[budget]\nmax_initiatives = 0\n", "budget.max_initiatives", "greater than or equal to 1"),
        ("[budget]\nowner_capacity = 0\n", "budget.owner_capacity", "greater than or equal to 1"),
        ("[market]\nchurn_multiplier = -0.5\n", "market.churn_multiplier", "outside the valid range"),
        ('[[correlations]]\ninitiatives = ["courier_tracking", "billing_audit"]\nrho = 1.5\n',
         "correlations[0].rho", "less than or equal to 1"),
    ],
)
def test_value_out_of_range_in_an_optional_section_is_an_error(tmp_path, section, field, reason):
    assert_rejected(tmp_path, MINIMAL + "\n" + section, field, reason)


def test_severity_with_low_above_mode_is_an_error(tmp_path):
    text = edit(MINIMAL, "low = 0.01, mode = 0.02", "low = 0.03, mode = 0.02")
    assert_rejected(tmp_path, text, "pain_points[1].severity", "low <= mode <= high")


def test_segment_share_outside_zero_one_is_an_error(tmp_path):
    text = edit(segmented(), "share = 0.8", "share = 1.5")
    assert_rejected(tmp_path, text, "customers.segments[0].share", "must lie in [0, 1]")


def test_per_segment_volume_outside_zero_one_is_an_error(tmp_path):
    text = edit(segmented(), "volume = 0.2", "volume = { consumer = 1.5, business = 0.1 }")
    assert_rejected(tmp_path, text, "pain_points[0].volume", "share for segment 'consumer'")


def test_non_number_where_a_number_belongs_is_an_error(tmp_path):
    text = edit(MINIMAL, "cost = 100_000", 'cost = "a lot"')
    assert_rejected(tmp_path, text, "initiatives[0].cost", "expected an amount")


# --------------------------------------------------------------------------------------
# cross-references
# --------------------------------------------------------------------------------------
def test_unknown_driver_in_fixes_is_an_error(tmp_path):
    text = edit(MINIMAL, "fixes = { proactive_education = 0.3 }",
                "fixes = { proactive_education = 0.3, late_delivery = 0.2 }")
    assert_rejected(tmp_path, text, "initiatives[2].fixes.late_delivery",
                    "unknown pain point or delighter 'late_delivery'")


@pytest.mark.parametrize(
    "constraints, field, unknown",
    [
        ('exclusive = [["courier_tracking", "ghost"]]', "constraints.exclusive[0][1]", "ghost"),
        ('requires = { ghost = "billing_audit" }', "constraints.requires.ghost", "ghost"),
        ('requires = { courier_tracking = "ghost" }', "constraints.requires.courier_tracking", "ghost"),
        ('requires = { courier_tracking = ["billing_audit", "ghost"] }',
         "constraints.requires.courier_tracking", "ghost"),
        ('must = ["billing_audit", "ghost"]', "constraints.must[1]", "ghost"),
        ('forbid = ["ghost"]', "constraints.forbid[0]", "ghost"),
    ],
)
def test_unknown_initiative_in_constraints_is_an_error(tmp_path, constraints, field, unknown):
    text = MINIMAL + "\n[constraints]\n" + constraints + "\n"
    assert_rejected(tmp_path, text, field, f"unknown initiative {unknown!r}")


def test_unknown_initiative_in_a_correlation_is_an_error(tmp_path):
    text = MINIMAL + '\n[[correlations]]\ninitiatives = ["courier_tracking", "ghost"]\nrho = 0.3\n'
    assert_rejected(tmp_path, text, "correlations[0].initiatives[1]", "unknown initiative 'ghost'")


def test_must_and_forbid_naming_the_same_initiative_is_an_error(tmp_path):
    text = MINIMAL + '\n[constraints]\nmust = ["billing_audit"]\nforbid = ["billing_audit"]\n'
    assert_rejected(tmp_path, text, "constraints", "'billing_audit' is both in 'must' and in 'forbid'")


def test_initiative_requiring_itself_is_an_error(tmp_path):
    text = MINIMAL + '\n[constraints]\nrequires = { billing_audit = "billing_audit" }\n'
    assert_rejected(tmp_path, text, "constraints.requires.billing_audit", "cannot require itself")


def test_exclusion_of_a_single_initiative_is_an_error(tmp_path):
    text = MINIMAL + '\n[constraints]\nexclusive = [["billing_audit"]]\n'
    assert_rejected(tmp_path, text, "constraints.exclusive[0]", "at least two initiatives")


def test_unknown_segment_in_initiative_segments_is_an_error(tmp_path):
    text = after(segmented(), 'owner = "Head of Billing"\n', 'segments = ["business", "goverment"]\n')
    assert_rejected(tmp_path, text, "initiatives[1].segments[1]", "unknown segment 'goverment'")


def test_initiative_segment_without_declared_segments_must_be_all(tmp_path):
    text = after(MINIMAL, 'owner = "Head of Billing"\n', 'segments = ["business"]\n')
    assert_rejected(tmp_path, text, "initiatives[1].segments[0]", "unknown segment 'business' (known: all)")


def test_empty_initiative_segments_is_an_error(tmp_path):
    text = after(segmented(), 'owner = "Head of Billing"\n', "segments = []\n")
    assert_rejected(tmp_path, text, "initiatives[1].segments", "targets nobody")


def test_unknown_segment_in_a_volume_table_is_an_error(tmp_path):
    text = edit(segmented(), "volume = 0.2", "volume = { consumer = 0.2, business = 0.1, busines = 0.1 }")
    assert_rejected(tmp_path, text, "pain_points[0].volume.busines", "unknown segment 'busines'")


def test_missing_segment_in_a_volume_table_is_an_error(tmp_path):
    text = edit(segmented(), "volume = 0.2", "volume = { consumer = 0.2 }")
    assert_rejected(tmp_path, text, "pain_points[0].volume", "no value for segment(s) business")


def test_unknown_and_missing_segments_in_a_reach_table_are_both_errors(tmp_path):
    text = edit(segmented(), "reach = 0.25", "reach = { consumer = 0.3, busines = 0.1 }")
    err, path = rejected(tmp_path, text)
    assert_reported(err, path, "delighters[0].reach.busines", "unknown segment 'busines'")
    assert_reported(err, path, "delighters[0].reach", "no value for segment(s) business")


def test_duplicate_pain_point_ids_are_an_error(tmp_path):
    text = edit(MINIMAL, 'id = "billing_error"', 'id = "missed_delivery"')
    text = edit(text, "fixes = { billing_error = 0.4 }", "fixes = { missed_delivery = 0.4 }")
    assert_rejected(
        tmp_path, text, "pain_points[1].id", "duplicate id 'missed_delivery' (also pain_points[0])"
    )


def test_duplicate_initiative_ids_are_an_error(tmp_path):
    text = edit(MINIMAL, 'id = "onboarding_videos"', 'id = "courier_tracking"')
    assert_rejected(
        tmp_path, text, "initiatives[2].id", "duplicate id 'courier_tracking' (also initiatives[0])"
    )


def test_pain_point_and_delighter_sharing_an_id_is_an_error(tmp_path):
    text = edit(MINIMAL, 'id = "proactive_education"', 'id = "billing_error"')
    text = edit(text, "fixes = { proactive_education = 0.3 }", "fixes = { billing_error = 0.3 }")
    assert_rejected(tmp_path, text, "delighters[0].id", "duplicate id 'billing_error' (also pain_points[1])")


def test_duplicate_segment_ids_are_an_error(tmp_path):
    text = edit(segmented(), 'id = "business"', 'id = "consumer"')
    assert_rejected(tmp_path, text, "customers.segments[1].id", "duplicate id 'consumer'")


def test_segment_shares_not_summing_to_one_is_an_error(tmp_path):
    text = edit(segmented(), "share = 0.2", "share = 0.3")
    assert_rejected(tmp_path, text, "customers.segments", "segment shares must sum to 1, got 1.1")


def test_synthetic_segment_without_a_share_is_an_error(tmp_path):
    text = edit(segmented(), "share = 0.2\n", "")
    assert_rejected(tmp_path, text, "customers.segments[1].share", "needs every segment's share")


def test_cost_period_not_in_the_budget_periods_is_an_error(tmp_path):
    text = edit(MINIMAL, "cost = 100_000", "cost = { q1 = 60_000, q3 = 40_000 }")
    text += "\n[budget]\ntotal = { q1 = 80_000, q2 = 90_000 }\n"
    assert_rejected(
        tmp_path, text, "initiatives[0].cost.q3", "the budget has no period 'q3' (periods: q1, q2)"
    )


# --------------------------------------------------------------------------------------
# the file itself
# --------------------------------------------------------------------------------------
def test_invalid_toml_is_an_error_naming_the_file(tmp_path):
    err, path = rejected(tmp_path, MINIMAL + "\n[budget\ntotal = 1\n")
    assert str(err).startswith(f"{path}: not valid TOML")


def test_duplicate_toml_key_is_invalid_toml(tmp_path):
    err, path = rejected(tmp_path, edit(MINIMAL, "volume = 0.2\n", "volume = 0.2\nvolume = 0.3\n"))
    assert str(err).startswith(f"{path}: not valid TOML")


def test_missing_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: no such file"


def test_non_utf8_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.replace('"Head of Billing"', '"Directeur financi\xe8re"').encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: not a UTF-8 text file"
