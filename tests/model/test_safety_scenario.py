"""Scenario values that passed silently before issue 16: non-finite numbers, booleans as
whole numbers, a correlation of 1 or blocks that clash, circular requirements, a blank
customer path, and a go-live after the horizon (a warning)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from cxopt import ScenarioError, load_scenario


# The minimal scenario as TOML text: these rejections are about TOML literals (nan, inf, true)
# that a scenario dict cannot carry through the TOML writer unchanged.
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


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def after(text: str, anchor: str, extra: str) -> str:
    """``text`` with ``extra`` inserted after the single occurrence of ``anchor``."""
    return edit(text, anchor, anchor + extra)


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



INIT = 'fixes = { missed_delivery = 0.5 }\n'
PAIN = 'id = "missed_delivery"\nvolume = 0.2\nseverity = 0.03\n'
METRIC = 'metric = { name = "tracked", baseline = 55, target = 95 }\n'

NON_FINITE = {
    "nps_impact nan": (after(MINIMAL, PAIN, "nps_impact = nan\n"), "pain_points[0].nps_impact"),
    "nps_impact inf": (after(MINIMAL, PAIN, "nps_impact = -inf\n"), "pain_points[0].nps_impact"),
    "delighter nps_impact": (after(MINIMAL, "lift = 0.1\n", "nps_impact = inf\n"), "delighters[0].nps_impact"),
    "impacts nan": (after(MINIMAL, PAIN, "impacts = { csat = nan }\n"), "pain_points[0].impacts.csat"),
    "metric baseline nan": (after(MINIMAL, INIT, METRIC.replace("55", "nan")), "initiatives[0].metric.baseline"),
    "metric target inf": (after(MINIMAL, INIT, METRIC.replace("95", "inf")), "initiatives[0].metric.target"),
    "severity nan": (edit(MINIMAL, "severity = 0.03", "severity = nan"), "pain_points[0].severity"),
    "cost inf": (edit(MINIMAL, "cost = 100_000", "cost = inf"), "initiatives[0].cost"),
    "budget nan": (MINIMAL + "[budget]\ntotal = nan\n", "budget.total"),
    "volume nan": (edit(MINIMAL, "volume = 0.2", "volume = nan"), "pain_points[0].volume"),
}


@pytest.mark.parametrize("text, field", NON_FINITE.values(), ids=NON_FINITE.keys())
def test_non_finite_numbers_are_bad_input_naming_the_field(tmp_path, text, field):
    assert_rejected(tmp_path, text, field, "")


BOOLEANS = {
    "trials": ("[scenario]\ntrials = true\n" + MINIMAL, "scenario.trials"),
    "horizon": ("[scenario]\nhorizon_months = true\n" + MINIMAL, "scenario.horizon_months"),
    "seed": ("[scenario]\nseed = false\n" + MINIMAL, "scenario.seed"),
    "count": (edit(MINIMAL, "count = 1_000", "count = true"), "customers.count"),
    "max_initiatives": (MINIMAL + "[budget]\nmax_initiatives = true\n", "budget.max_initiatives"),
    "start_month": (after(MINIMAL, INIT, "start_month = false\n"), "initiatives[0].start_month"),
    "trials 2.5": ("[scenario]\ntrials = 2.5\n" + MINIMAL, "scenario.trials"),
}


@pytest.mark.parametrize("text, field", BOOLEANS.values(), ids=BOOLEANS.keys())
def test_a_boolean_or_a_fraction_is_not_a_whole_number(tmp_path, text, field):
    assert_rejected(tmp_path, text, field, "whole number")


CORR = '[[correlations]]\ninitiatives = [{ids}]\nrho = {rho}\n'


@pytest.mark.parametrize("blocks, field", [
    ([('"courier_tracking", "billing_audit"', 1.0)], "correlations[0].rho"),
    ([('"courier_tracking", "billing_audit"', -1.0)], "correlations[0].rho"),
    ([('"courier_tracking", "billing_audit"', 0.95), ('"billing_audit", "onboarding_videos"', 0.95),
      ('"courier_tracking", "onboarding_videos"', -0.95)], "correlations"),
], ids=["one", "minus-one", "clashing-blocks"])
def test_degenerate_or_clashing_correlations_are_bad_input(tmp_path, blocks, field):
    text = MINIMAL + "".join(CORR.format(ids=ids, rho=rho) for ids, rho in blocks)
    assert_rejected(tmp_path, text, field, "")


@pytest.mark.parametrize("requires", [
    '{ courier_tracking = "billing_audit", billing_audit = "courier_tracking" }',
    '{ courier_tracking = "billing_audit", billing_audit = "onboarding_videos", onboarding_videos = ["courier_tracking"] }',
], ids=["two", "three"])
def test_circular_requirements_are_bad_input(tmp_path, requires):
    text = MINIMAL + f"[constraints]\nrequires = {requires}\n"
    assert_rejected(tmp_path, text, "constraints.requires.courier_tracking", "circular")


def test_a_chain_of_requirements_is_fine(tmp_path):
    text = MINIMAL + '[constraints]\nrequires = { courier_tracking = "billing_audit", billing_audit = "onboarding_videos" }\n'
    load(tmp_path, text)


@pytest.mark.parametrize("path", ['""', '"   "'])
def test_a_blank_customer_path_is_bad_input(tmp_path, path):
    text = edit(MINIMAL, "count = 1_000", f"path = {path}")
    (tmp_path / "other.parquet").write_text("not this")
    assert_rejected(tmp_path, text, "customers.path", "")


def test_a_go_live_after_the_horizon_is_a_warning(tmp_path):
    text = "[scenario]\nhorizon_months = 6\n" + after(MINIMAL, INIT, "start_month = 2\nmonths_to_impact = 5\n")
    with pytest.warns(UserWarning, match=r"initiatives\[0\]\.months_to_impact.*horizon"):
        load(tmp_path, text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load(tmp_path, after(MINIMAL, INIT, "months_to_impact = 5\n"))


@pytest.mark.parametrize("customers, reason", [
    ("count = 1_000\nrevenue = 1e300", "above the maximum"),
    ('count = 1_000\nrevenue = { dist = "lognormal", median = 1e10, sigma = 2.0 }', "above the maximum"),
    ("count = 100_000_000\nrevenue = 1e11", "add up to more than"),
], ids=["fixed", "lognormal-tail", "total"])
def test_synthetic_revenue_the_int64_sums_cannot_hold_is_bad_input(tmp_path, customers, reason):
    assert_rejected(tmp_path, edit(MINIMAL, "count = 1_000", customers), "customers.revenue", reason)


def test_synthetic_revenue_of_a_large_company_is_fine(tmp_path):
    load(tmp_path, edit(MINIMAL, "count = 1_000", 'count = 10_000_000\nrevenue = { dist = "lognormal", median = 900.0, sigma = 0.9 }'))
