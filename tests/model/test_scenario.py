"""The scenario file (DESIGN.md section 6): what loads, what its defaults are, and how each
class of bad input is reported (file, dotted field path, reason; every problem at once)."""

from __future__ import annotations

import tomllib
import warnings
from pathlib import Path

import pytest

import cxopt
from cxopt import ScenarioError, load_scenario
from cxopt.model.scenario import DEFAULT_SEED, DEFAULT_TRIALS
from tests import builders
from tests.builders import DROP

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
DESIGN_EXAMPLE_COMPLETION = "\n" + builders.to_toml({
    "pain_points": [
        builders.pain_point("unreturned_sales_call", {"consumer": 0.02, "business": 0.12}, "pert(0.02, 0.05, 0.10)"),
    ],
    "initiatives": [
        builders.initiative("crm_rebuild", {"unreturned_sales_call": 0.5, "missed_delivery": 0.1},
                            owner="Chief Information Officer", cost={"q1": 400_000, "q2": 500_000}),
        builders.initiative("crm_patch", {"unreturned_sales_call": 0.2}, owner="Chief Information Officer",
                            cost=150_000),
        builders.initiative("loyalty_tiers", {"proactive_education": {"dist": "normal", "mean": 0.4, "sd": 0.2}},
                            owner="Head of Marketing", cost=200_000),
    ],
})

# Two segments, for the changes that need them: merge into a change, {**SEGMENTED, ...}.
SEGMENTED = {"customers.segments": [{"id": "consumer", "share": 0.8}, {"id": "business", "share": 0.2}]}
SEGMENT_IDS = ["consumer", "business"]


def minimal(changes: dict | None = None) -> dict:
    """The builders' small scenario cut to what section 6 requires (no [scenario], [market],
    [budget], segments, names, probabilities or metrics), with one delighter; then ``changes``.

    pain_points: billing_error (pert severity), long_hold; delighters: proactive_education
    (lift 0.1); initiatives: first_call_fix, virtual_hold, billing_portal.
    """
    data = builders.required_only(builders.scenario(delighters=[builders.delighter("proactive_education")]))
    return builders.change(data, changes or {})


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def write(tmp_path: Path, scenario: dict | str, name: str = "scenario.toml") -> Path:
    return builders.write(tmp_path / name, scenario)


def load(tmp_path: Path, scenario: dict | str):
    return load_scenario(write(tmp_path, scenario))


def rejected(tmp_path: Path, scenario: dict | str) -> tuple[ScenarioError, Path]:
    path = write(tmp_path, scenario)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return info.value, path


def assert_reported(err: ScenarioError, file: Path, field: str, reason: str) -> None:
    """One line of the message reads ``FILE: field: ...reason...``."""
    lines = str(err).splitlines()
    assert any(line.startswith(f"{file}: {field}: ") and reason in line for line in lines), str(err)


def assert_rejected(tmp_path: Path, scenario: dict | str, field: str, reason: str) -> ScenarioError:
    err, path = rejected(tmp_path, scenario)
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
# the builders' scenarios themselves
# --------------------------------------------------------------------------------------
def test_the_small_scenario_loads_and_its_file_reads_back_as_its_data(write_scenario):
    path = write_scenario()
    sc = load_scenario(path)
    assert sc.initiative_ids == ["first_call_fix", "virtual_hold", "billing_portal"]
    assert sc.driver_ids == ["billing_error", "long_hold"]
    assert tomllib.loads(path.read_text(encoding="utf-8")) == builders.scenario()


def test_a_change_sets_a_field_by_the_path_the_validator_reports(write_scenario):
    sc = load_scenario(write_scenario({"initiatives[2].fixes.long_hold": 0.4, "budget.total": 500},
                                      market=builders.DROP))
    assert sc.initiative("billing_portal").fixes["long_hold"].mean() == 0.4
    assert sc.budget.total == 500.0
    assert sc.market.churn_multiplier.is_fixed


# --------------------------------------------------------------------------------------
# defaults
# --------------------------------------------------------------------------------------
def test_minimal_scenario_loads(tmp_path):
    sc = load(tmp_path, minimal())
    assert sc.initiative_ids == ["first_call_fix", "virtual_hold", "billing_portal"]
    assert sc.driver_ids == ["billing_error", "long_hold", "proactive_education"]


def test_name_defaults_to_the_id(tmp_path):
    sc = load(tmp_path, minimal(SEGMENTED))
    labels = [x.label for x in (*sc.customers.segments, *sc.pain_points, *sc.delighters, *sc.initiatives)]
    assert labels == [
        "consumer", "business", "billing_error", "long_hold", "proactive_education",
        "first_call_fix", "virtual_hold", "billing_portal",
    ]


def test_a_given_name_is_the_label(tmp_path):
    sc = load(tmp_path, minimal({"initiatives[1].name": "Answer every call"}))
    assert sc.initiative("virtual_hold").label == "Answer every call"


def test_success_probability_defaults_to_one(tmp_path):
    sc = load(tmp_path, minimal())
    assert [k.success_probability for k in sc.initiatives] == [1.0, 1.0, 1.0]


def test_months_to_impact_defaults_to_zero(tmp_path):
    sc = load(tmp_path, minimal())
    assert all(k.months_to_impact.is_fixed and k.months_to_impact.mean() == 0.0 for k in sc.initiatives)


def test_horizon_defaults_to_twelve_months(tmp_path):
    assert load(tmp_path, minimal()).horizon_months == 12


def test_trials_and_seed_have_defaults(tmp_path):
    sc = load(tmp_path, minimal())
    assert (sc.scenario.trials, sc.scenario.seed) == (DEFAULT_TRIALS, DEFAULT_SEED)


def test_market_churn_multiplier_defaults_to_one(tmp_path):
    multiplier = load(tmp_path, minimal()).market.churn_multiplier
    assert multiplier.is_fixed and multiplier.mean() == 1.0


def test_no_budget_means_no_limit_and_at_most_five_initiatives(tmp_path):
    budget = load(tmp_path, minimal()).budget
    assert (budget.total, budget.max_initiatives, budget.owner_capacity) == (None, 5, 1)


def test_no_segments_means_one_segment_for_all(tmp_path):
    assert load(tmp_path, minimal()).segment_ids == ["all"]


def test_bare_number_is_a_fixed_distribution(tmp_path):
    lift = load(tmp_path, minimal({"delighters[0].lift": 0.1})).delighters[0].lift
    assert lift.is_fixed and lift.mean() == 0.1


def test_function_form_distribution_in_a_file(tmp_path):
    sc = load(tmp_path, minimal({"delighters[0].lift": "uniform(0.05, 0.15)"}))
    assert sc.delighters[0].lift.kind == "uniform" and sc.delighters[0].lift.mean() == pytest.approx(0.1)


def test_complaints_with_complaint_rate_stand_in_for_volume(tmp_path):
    sc = load(tmp_path, minimal({"pain_points[0].volume": DROP, "pain_points[0].complaints": 40,
                                 "pain_points[0].complaint_rate": 0.5}))
    billing = sc.pain_points[0]
    assert (billing.volume, billing.complaints, billing.complaint_rate) == (None, 40.0, 0.5)


def test_per_segment_volume_and_reach_tables_load(tmp_path):
    sc = load(tmp_path, minimal({**SEGMENTED, "pain_points[0].volume": {"consumer": 0.22, "business": 0.10},
                                 "delighters[0].reach": {"consumer": 0.3, "business": 0.0}}))
    assert sc.pain_points[0].volume == {"consumer": 0.22, "business": 0.10}
    assert sc.delighters[0].reach == {"consumer": 0.3, "business": 0.0}


PER_PERIOD = {
    "initiatives[0].cost": {"q1": 60_000, "q2": 40_000},
    "initiatives[1].cost": {"q2": 50_000},  # a period it omits costs 0 there
    "budget.total": {"q1": 80_000, "q2": 90_000},
}


def test_per_period_budget_and_costs_load(tmp_path):
    sc = load(tmp_path, minimal({**PER_PERIOD, "initiatives[2].cost": {"q1": 20_000}}))
    assert sc.budget_periods() == ["q1", "q2"]
    assert sc.initiative("first_call_fix").cost == {"q1": 60_000.0, "q2": 40_000.0}
    assert sc.initiative("first_call_fix").total_cost() == 100_000.0


def test_initiative_targeting_a_declared_segment_loads(tmp_path):
    sc = load(tmp_path, minimal({**SEGMENTED, "initiatives[1].segments": ["business"]}))
    assert sc.initiative("virtual_hold").segments == ["business"]


FROM_FILE = {"customers.count": DROP, "customers.path": "customers.parquet"}


def test_relative_customer_file_is_resolved_against_the_scenario_directory(tmp_path):
    sc = load(tmp_path, minimal(FROM_FILE))
    assert sc.customers.path == str(tmp_path / "customers.parquet")
    assert sc.segment_ids == []  # taken from the file when it is read


def test_with_a_customer_file_undeclared_segment_names_wait_for_the_file(tmp_path):
    sc = load(tmp_path, minimal({**FROM_FILE, "pain_points[0].volume": {"retail": 0.3, "wholesale": 0.1}}))
    assert sc.pain_points[0].volume == {"retail": 0.3, "wholesale": 0.1}


def test_max_initiatives_above_five_warns(tmp_path):
    path = write(tmp_path, minimal({"budget.max_initiatives": 7}))
    with pytest.warns(UserWarning, match="max_initiatives = 7") as record:
        sc = load_scenario(path)
    assert sc.budget.max_initiatives == 7
    assert str(path) in str(record[0].message)


def test_max_initiatives_of_five_does_not_warn(tmp_path):
    path = write(tmp_path, minimal({"budget.max_initiatives": 5}))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_scenario(path)


# --------------------------------------------------------------------------------------
# how problems are reported
# --------------------------------------------------------------------------------------
def test_scenario_error_is_a_value_error():
    assert issubclass(ScenarioError, ValueError)


def test_each_problem_names_the_file_the_field_and_the_reason(tmp_path):
    err, path = rejected(tmp_path, minimal({"pain_points[0].volume": 1.2}))
    [problem] = err.problems
    assert (problem.source, problem.path) == (str(path), "pain_points[0].volume")
    assert "must lie in [0, 1]" in problem.reason
    assert str(err) == f"{path}: pain_points[0].volume: {problem.reason}"


def test_several_schema_problems_in_one_file_are_all_reported(tmp_path):
    err, path = rejected(tmp_path, minimal({"pain_points[0].volume": 1.2, "initiatives[1].owner": DROP,
                                            "delighters[0].lift": DROP, "delighters[0].lfit": 0.1}))
    assert len(err.problems) >= 2
    assert_reported(err, path, "pain_points[0].volume", "[0, 1]")
    assert_reported(err, path, "initiatives[1].owner", "Field required")
    assert_reported(err, path, "delighters[0].lfit", "unknown key")


def test_several_cross_reference_problems_in_one_file_are_all_reported(tmp_path):
    err, path = rejected(tmp_path, minimal({"initiatives[1].fixes": {"long_hol": 0.4},
                                            "constraints.must": ["first_call_fx"], "constraints.forbid": ["ghost"]}))
    assert len(err.problems) >= 2
    assert_reported(err, path, "initiatives[1].fixes.long_hol", "unknown pain point or delighter")
    assert_reported(err, path, "constraints.must[0]", "unknown initiative 'first_call_fx'")
    assert_reported(err, path, "constraints.forbid[0]", "unknown initiative 'ghost'")


def test_unknown_and_missing_segments_in_a_reach_table_are_both_errors(tmp_path):
    err, path = rejected(tmp_path, minimal({**SEGMENTED, "delighters[0].reach": {"consumer": 0.3, "busines": 0.1}}))
    assert_reported(err, path, "delighters[0].reach.busines", "unknown segment 'busines'")
    assert_reported(err, path, "delighters[0].reach", "no value for segment(s) business")


def test_a_file_cannot_set_where_it_came_from(tmp_path):
    err, path = rejected(tmp_path, minimal({"source": "elsewhere.toml"}))
    assert all(p.source == str(path) for p in err.problems)


# --------------------------------------------------------------------------------------
# what is rejected: one row per class of bad input
# --------------------------------------------------------------------------------------
def ghost_correlation(**fields) -> dict:
    return {"correlations": [{"initiatives": ["first_call_fix", "virtual_hold"], "rho": 0.3, **fields}]}


# (case id, change to minimal(), the field reported, a fragment of the reason)
REJECTED = [
    # unknown keys: a typo anywhere is an error
    ("unknown top-level table", {"scenaro.name": "x"}, "scenaro", "unknown key"),
    ("unknown top-level value", {"source": "elsewhere.toml"}, "source", "unknown key"),
    ("unknown key in [scenario]", {"scenario.horizon_month": 6}, "scenario.horizon_month", "unknown key"),
    ("unknown key in [customers]", {"customers.revenu": 900}, "customers.revenu", "unknown key"),
    ("unknown key in [market]", {"market.churn_multipler": 1.1}, "market.churn_multipler", "unknown key"),
    ("unknown key in a pain point", {"pain_points[0].nps_impcat": -3}, "pain_points[0].nps_impcat", "unknown key"),
    ("unknown key in a delighter", {"delighters[0].nps": 2}, "delighters[0].nps", "unknown key"),
    ("unknown key in an initiative", {"initiatives[2].sucess_probability": 0.9},
     "initiatives[2].sucess_probability", "unknown key"),
    ("unknown key in a metric", {"initiatives[1].metric": {"name": "calls", "baseline": 0, "target": 100, "traget": 1}},
     "initiatives[1].metric.traget", "unknown key"),
    ("unknown key in [budget]", {"budget.max_initiative": 3}, "budget.max_initiative", "unknown key"),
    ("unknown key in [constraints]", {"constraints.exclusiv": []}, "constraints.exclusiv", "unknown key"),
    ("unknown key in a correlation", ghost_correlation(sign=1), "correlations[0].sign", "unknown key"),
    ("unknown key in a segment", {**SEGMENTED, "customers.segments[1].revenue_multipler": 4},
     "customers.segments[1].revenue_multipler", "unknown key"),
    ("misspelt distribution parameter", {"pain_points[0].severity": {"dist": "pert", "low": 0.05, "mdoe": 0.12,
                                                                      "high": 0.25}},
     "pain_points[0].severity", "pert takes parameters (low, mode, high)"),
    # missing required fields
    ("no owner", {"initiatives[1].owner": DROP}, "initiatives[1].owner", "Field required"),
    ("no cost", {"initiatives[1].cost": DROP}, "initiatives[1].cost", "Field required"),
    ("no fixes", {"initiatives[1].fixes": DROP}, "initiatives[1].fixes", "Field required"),
    ("no severity", {"pain_points[0].severity": DROP}, "pain_points[0].severity", "Field required"),
    ("no reach", {"delighters[0].reach": DROP}, "delighters[0].reach", "Field required"),
    ("no lift", {"delighters[0].lift": DROP}, "delighters[0].lift", "Field required"),
    ("no pain point id", {"pain_points[1].id": DROP}, "pain_points[1].id", "Field required"),
    ("no initiative id", {"initiatives[2].id": DROP}, "initiatives[2].id", "Field required"),
    ("no volume nor complaints", {"pain_points[0].volume": DROP}, "pain_points[0]", "give 'volume'"),
    ("no count nor path", {"customers.count": DROP}, "customers", "give either 'count'"),
    ("both count and path", {"customers.path": "customers.parquet"}, "customers", "not both"),
    ("no [customers]", {"customers": DROP}, "customers", "Field required"),
    ("empty fixes", {"initiatives[1].fixes": {}}, "initiatives[1]", "'fixes' is empty"),
    ("empty owner", {"initiatives[1].owner": ""}, "initiatives[1].owner", "expected non-empty text"),
    ("blank owner", {"initiatives[1].owner": "   "}, "initiatives[1].owner", "expected non-empty text"),
    ("id with a space", {"pain_points[0].id": "billing error"}, "pain_points[0].id", "id"),
    ("id with a dot", {"pain_points[0].id": "billing.error"}, "pain_points[0].id", "id"),
    ("empty id", {"pain_points[0].id": ""}, "pain_points[0].id", "id"),
    ("id not text", {"pain_points[0].id": 3}, "pain_points[0].id", "id"),
    # complaints as volume
    ("complaints without a rate", {"pain_points[0].volume": DROP, "pain_points[0].complaints": 40},
     "pain_points[0]", "'complaints' needs 'complaint_rate'"),
    ("volume and complaints", {"pain_points[0].complaints": 40, "pain_points[0].complaint_rate": 0.5},
     "pain_points[0]", "not both"),
    # 600 complaints at a rate of 0.5 means 1,200 exposed customers among 1,000
    ("more complainers than customers", {"customers.count": 1_000, "pain_points[0].volume": DROP,
                                         "pain_points[0].complaints": 600, "pain_points[0].complaint_rate": 0.5},
     "pain_points[0].complaints", "exceeds the 1,000 customers"),
    # ranges
    ("volume above one", {"pain_points[0].volume": 1.2}, "pain_points[0].volume", "must lie in [0, 1]"),
    ("negative volume", {"pain_points[0].volume": -0.1}, "pain_points[0].volume", "must lie in [0, 1]"),
    ("reach above one", {"delighters[0].reach": 1.5}, "delighters[0].reach", "must lie in [0, 1]"),
    ("severity above one", {"pain_points[0].severity": 1.5}, "pain_points[0].severity",
     "outside the valid range [0, 1]"),
    ("severity distribution above one", {"pain_points[0].severity": "uniform(0.5, 1.5)"}, "pain_points[0].severity",
     "outside the valid range"),
    ("lift with no mass in range", {"delighters[0].lift": "normal(5, 0.1)"}, "delighters[0].lift",
     "no mass in the valid range"),
    ("effect above one", {"initiatives[0].fixes.billing_error": 1.2}, "initiatives[0].fixes.billing_error",
     "outside the valid range"),
    ("success probability above one", {"initiatives[0].success_probability": 1.1},
     "initiatives[0].success_probability", "must lie in [0, 1]"),
    ("negative success probability", {"initiatives[0].success_probability": -0.1},
     "initiatives[0].success_probability", "must lie in [0, 1]"),
    ("complaint rate zero", {"pain_points[0].volume": DROP, "pain_points[0].complaints": 40,
                             "pain_points[0].complaint_rate": 0}, "pain_points[0].complaint_rate", "must lie in (0, 1]"),
    ("negative cost", {"initiatives[0].cost": -1}, "initiatives[0].cost", "must be >= 0"),
    ("negative cost in a period", {"initiatives[0].cost": {"q1": 10, "q2": -5}}, "initiatives[0].cost",
     "must be a number >= 0"),
    ("cost not a number", {"initiatives[0].cost": "a lot"}, "initiatives[0].cost", "expected an amount"),
    ("negative months to impact", {"initiatives[0].months_to_impact": -1}, "initiatives[0].months_to_impact",
     "outside the valid range"),
    ("start after the horizon", {"initiatives[0].start_month": 12}, "initiatives[0].start_month", "12-month horizon"),
    ("no customers", {"customers.count": 0}, "customers.count", "greater than or equal to 1"),
    ("exposure correlation one", {"customers.exposure_correlation": 1.0}, "customers.exposure_correlation",
     "less than or equal to 0.99"),
    ("impossible beta", {"customers.baseline_churn": {"dist": "beta", "mean": 0.08, "sd": 0.5}},
     "customers.baseline_churn", "beta sd must be <"),
    ("negative revenue", {"customers.revenue": "uniform(-10, 100)"}, "customers.revenue",
     "outside the valid range [0, inf]"),
    ("no trials", {"scenario.trials": 0}, "scenario.trials", "greater than or equal to 1"),
    ("no horizon", {"scenario.horizon_months": 0}, "scenario.horizon_months", "greater than or equal to 1"),
    ("negative seed", {"scenario.seed": -1}, "scenario.seed", "greater than or equal to 0"),
    ("negative budget", {"budget.total": -5}, "budget.total", "must be >= 0"),
    ("negative budget in a period", {"budget.total": {"q1": 100, "q2": -5}}, "budget.total", "must be a number >= 0"),
    ("no initiatives allowed", {"budget.max_initiatives": 0}, "budget.max_initiatives", "greater than or equal to 1"),
    ("no owner capacity", {"budget.owner_capacity": 0}, "budget.owner_capacity", "greater than or equal to 1"),
    ("negative market multiplier", {"market.churn_multiplier": -0.5}, "market.churn_multiplier",
     "outside the valid range"),
    ("correlation above one", ghost_correlation(rho=1.5), "correlations[0].rho", "less than or equal to 1"),
    ("pert with low above mode", {"pain_points[0].severity": builders.pert(0.15, 0.12, 0.25)},
     "pain_points[0].severity", "low <= mode <= high"),
    ("segment share above one", {**SEGMENTED, "customers.segments[0].share": 1.5}, "customers.segments[0].share",
     "must lie in [0, 1]"),
    ("per-segment volume above one", {**SEGMENTED, "pain_points[0].volume": {"consumer": 1.5, "business": 0.1}},
     "pain_points[0].volume", "share for segment 'consumer'"),
    # cross-references
    ("unknown driver in fixes", {"initiatives[2].fixes.late_delivery": 0.2}, "initiatives[2].fixes.late_delivery",
     "unknown pain point or delighter 'late_delivery'"),
    ("unknown initiative in an exclusion", {"constraints.exclusive": [["first_call_fix", "ghost"]]},
     "constraints.exclusive[0][1]", "unknown initiative 'ghost'"),
    ("unknown initiative requiring", {"constraints.requires": {"ghost": "virtual_hold"}},
     "constraints.requires.ghost", "unknown initiative 'ghost'"),
    ("unknown initiative required", {"constraints.requires": {"first_call_fix": "ghost"}},
     "constraints.requires.first_call_fix", "unknown initiative 'ghost'"),
    ("unknown initiative among required", {"constraints.requires": {"first_call_fix": ["virtual_hold", "ghost"]}},
     "constraints.requires.first_call_fix", "unknown initiative 'ghost'"),
    ("unknown initiative in must", {"constraints.must": ["virtual_hold", "ghost"]}, "constraints.must[1]",
     "unknown initiative 'ghost'"),
    ("unknown initiative in forbid", {"constraints.forbid": ["ghost"]}, "constraints.forbid[0]",
     "unknown initiative 'ghost'"),
    ("unknown initiative in a correlation", {"correlations": [{"initiatives": ["first_call_fix", "ghost"], "rho": 0.3}]},
     "correlations[0].initiatives[1]", "unknown initiative 'ghost'"),
    ("must and forbid the same", {"constraints.must": ["virtual_hold"], "constraints.forbid": ["virtual_hold"]},
     "constraints", "'virtual_hold' is both in 'must' and in 'forbid'"),
    ("requiring itself", {"constraints.requires": {"virtual_hold": "virtual_hold"}},
     "constraints.requires.virtual_hold", "cannot require itself"),
    ("exclusion of one", {"constraints.exclusive": [["virtual_hold"]]}, "constraints.exclusive[0]",
     "at least two initiatives"),
    ("unknown segment targeted", {**SEGMENTED, "initiatives[1].segments": ["business", "goverment"]},
     "initiatives[1].segments[1]", "unknown segment 'goverment'"),
    ("segment targeted without segments", {"initiatives[1].segments": ["business"]}, "initiatives[1].segments[0]",
     "unknown segment 'business' (known: all)"),
    ("no segment targeted", {**SEGMENTED, "initiatives[1].segments": []}, "initiatives[1].segments",
     "targets nobody"),
    ("unknown segment in a volume table",
     {**SEGMENTED, "pain_points[0].volume": {"consumer": 0.2, "business": 0.1, "busines": 0.1}},
     "pain_points[0].volume.busines", "unknown segment 'busines'"),
    ("segment missing from a volume table", {**SEGMENTED, "pain_points[0].volume": {"consumer": 0.2}},
     "pain_points[0].volume", "no value for segment(s) business"),
    ("duplicate pain point id", {"pain_points[1].id": "billing_error"}, "pain_points[1].id",
     "duplicate id 'billing_error' (also pain_points[0])"),
    ("duplicate initiative id", {"initiatives[2].id": "first_call_fix"}, "initiatives[2].id",
     "duplicate id 'first_call_fix' (also initiatives[0])"),
    ("pain point and delighter sharing an id", {"delighters[0].id": "long_hold"}, "delighters[0].id",
     "duplicate id 'long_hold' (also pain_points[1])"),
    ("duplicate segment id", {**SEGMENTED, "customers.segments[1].id": "consumer"}, "customers.segments[1].id",
     "duplicate id 'consumer'"),
    ("segment shares not summing to one", {**SEGMENTED, "customers.segments[1].share": 0.3}, "customers.segments",
     "segment shares must sum to 1, got 1.1"),
    ("synthetic segment without a share", {**SEGMENTED, "customers.segments[1].share": DROP},
     "customers.segments[1].share", "needs every segment's share"),
    ("cost period not in the budget", {**PER_PERIOD, "initiatives[0].cost": {"q1": 60_000, "q3": 40_000}},
     "initiatives[0].cost.q3", "the budget has no period 'q3' (periods: q1, q2)"),
    ("plain cost against a per-period budget", PER_PERIOD, "initiatives[2].cost", "per period"),
    # a currency is a code or symbol: markup cannot hide in it (terminal, Markdown, HTML)
    ("currency with rich markup", {"scenario.currency": "[red]USD"}, "scenario.currency", "currency code or symbol"),
    ("currency with a link", {"scenario.currency": "](javascript:x)"}, "scenario.currency", "currency code or symbol"),
    ("currency with html", {"scenario.currency": "<b>"}, "scenario.currency", "currency code or symbol"),
    ("currency too long", {"scenario.currency": "DOLLARSXX"}, "scenario.currency", "at most 8"),
    ("currency empty", {"scenario.currency": " "}, "scenario.currency", "non-empty"),
]


@pytest.mark.parametrize("code", ["USD", "EUR", "€", "kr.", "CHF", "R$", "£"])
def test_currency_codes_and_symbols_are_accepted(tmp_path, code):
    sc = cxopt.parse_scenario(minimal({"scenario.currency": code}), source="x.toml")
    assert sc.scenario.currency == code


@pytest.mark.parametrize("changes, field, reason", [row[1:] for row in REJECTED], ids=[row[0] for row in REJECTED])
def test_invalid_scenario_is_rejected_naming_the_field_and_the_reason(tmp_path, changes, field, reason):
    assert_rejected(tmp_path, minimal(changes), field, reason)


# --------------------------------------------------------------------------------------
# the file itself
# --------------------------------------------------------------------------------------
def test_invalid_toml_is_an_error_naming_the_file(tmp_path):
    err, path = rejected(tmp_path, builders.to_toml(minimal()) + "\n[budget\ntotal = 1\n")
    assert str(err).startswith(f"{path}: not valid TOML")


def test_duplicate_toml_key_is_invalid_toml(tmp_path):
    text = builders.to_toml(minimal())
    assert text.count("volume = 0.3\n") == 1
    err, path = rejected(tmp_path, text.replace("volume = 0.3\n", "volume = 0.3\nvolume = 0.4\n"))
    assert str(err).startswith(f"{path}: not valid TOML")


def test_missing_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: no such file"


def test_non_utf8_file_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(builders.to_toml(minimal({"initiatives[1].owner": "Directeur financi\xe8re"})).encode("latin-1"))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert str(info.value) == f"{path}: not a UTF-8 text file"


def test_a_validated_scenario_as_data_writes_back_as_toml_and_reads_the_same(tmp_path):
    """Scenario.to_data() holds empty arrays of tables (correlations = []): dump_toml writes them as
    absent, and the TOML reads back to the same scenario."""
    import tomllib

    from cxopt.model.toml_writer import dump_toml

    sc = cxopt.parse_scenario(minimal(), source="x.toml")
    data = sc.to_data()
    assert data["correlations"] == []
    again = cxopt.parse_scenario(tomllib.loads(dump_toml(data)), source="y.toml")
    assert again.to_data() == data
