"""Tracking (DESIGN.md section 1 "One trial", section 3 "Tracking"; issue 7).

A stored plan keeps the grouped statistics, the per-trial draws and each trial's monthly
forecast path. Tracking applies delivery facts exactly (a cancelled initiative has
``b_k = 0``, an actual go-live month replaces the drawn one) and re-weights the trials by
the likelihood of the observed monthly losses and process metrics. The references here:

* no evidence is the plan itself (equal weights reproduce its forecast);
* a fact is a fresh evaluation of the portfolio on the same draws with the fact written in
  by hand (``Simulation.evaluate``), to 1e-9 relative;
* re-weighting is Bayes' rule, checked against brute force (rejection sampling over fresh
  trials) and by calibration (true worlds drawn from the prior are covered by the P10–P90
  band about 80% of the time).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import poisson
from typer.testing import CliRunner

import cxopt
from cxopt.cli import app
from cxopt.engine.draws import draw_trials
from cxopt.engine.paths import monthly_path
from cxopt.plan.build import build_plan
from cxopt.plan.store import FORMAT_VERSION, load_plan
from cxopt.report.plandir import save_plan
from cxopt.tracking.actuals import Actuals, read_actuals
from cxopt.tracking.facts import apply_facts
from cxopt.tracking.track import track
from tests import builders
from tests.builders import DROP

CUSTOMERS = 20_000
BANDS = {"mean", "p10", "p50", "p90"}
STATES = {"on_track", "at_risk", "off_track"}

# The builders' small scenario: three initiatives, go-live fixed at 3 and 2 (known exactly)
# and one uncertain (2..8).
SMALL = builders.scenario({"scenario.name": "tracking test"})

# Little variety (a market multiplier, one severity, one initiative's effect, success and
# go-live) and enough trials to cover it densely: importance weights stay well spread.
CALIBRATION = builders.scenario({
    "scenario.name": "calibration", "scenario.trials": 2000, "scenario.seed": 11,
    "market.churn_multiplier": builders.triangular(0.8, 1.0, 1.2),
    "pain_points[1]": DROP,  # long_hold
    "initiatives[2]": DROP,  # billing_portal
    "initiatives[1]": DROP,  # virtual_hold
    "initiatives[0].months_to_impact": builders.uniform(2, 6),
    "initiatives[0].success_probability": 0.8,
    "initiatives[0].fixes.billing_error": builders.uniform(0.2, 0.7),
})


class Made:
    """A plan, its simulation and its directory read back."""

    def __init__(self, root: Path, data: dict, seed: int = 3):
        self.sc = cxopt.load_scenario(builders.write(root / "scenario.toml", data))
        self.sim = cxopt.simulate(self.sc, cxopt.CustomerBase.synthetic(self.sc, n=CUSTOMERS), seed=seed)
        self.plan = build_plan(cxopt.optimize(self.sim))
        self.dir = save_plan(self.plan, root / "plan")
        self.stored = load_plan(self.dir)
        self.sel = list(self.stored.selected)
        self.N = float(self.stored.groups.n_customers)

    def k(self, initiative: str) -> int:
        return self.sc.initiative_ids.index(initiative)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Made:
    made = Made(tmp_path_factory.mktemp("small"), SMALL)
    assert made.plan.result.selected_ids == ["first_call_fix", "virtual_hold", "billing_portal"]
    return made


@pytest.fixture(scope="module")
def calibration(tmp_path_factory) -> Made:
    made = Made(tmp_path_factory.mktemp("calibration"), CALIBRATION)
    assert made.plan.result.selected_ids == ["first_call_fix"]
    return made


def actuals(months, customers_lost=None, *, status=None, live_month=None, metric=None) -> Actuals:
    """Actuals built in Python (the same object read_actuals returns)."""
    months = np.asarray(months, dtype=np.int64)
    nan = np.full(len(months), np.nan)
    lost = nan.copy() if customers_lost is None else np.asarray(customers_lost, dtype=np.float64)
    as_float = lambda d: {k: np.asarray(v, dtype=np.float64) for k, v in (d or {}).items()}  # noqa: E731
    return Actuals(months=months, customers_lost=lost, revenue_lost=nan.copy(), customers_active=nan.copy(),
                   metric=as_float(metric), status=dict(status or {}), live_month=as_float(live_month))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def weighted_mean_effect(made: Made, result, initiative: str) -> tuple[float, float]:
    """(prior mean, posterior mean) of the initiative's first effectiveness draw."""
    e = made.stored.draws.fix_ptr[made.k(initiative)]
    return float(made.stored.draws.effect[:, e].mean()), float(result.weights @ result.draws.effect[:, e])


# --------------------------------------------------------------------------------------
# no evidence: the plan itself
# --------------------------------------------------------------------------------------
NO_EVIDENCE = {
    "a planned status only": "month,first_call_fix.status\n1,planned\n",
    "months without values": "month,customers_lost,virtual_hold.metric\n1,,\n2,,\n",
}


@pytest.mark.parametrize("text", NO_EVIDENCE.values(), ids=NO_EVIDENCE.keys())
def test_no_evidence_reproduces_the_plans_forecast(small, tmp_path, text):
    result = track(small.dir, write(tmp_path / "actuals.csv", text))
    planned = small.plan.to_dict()
    T = small.stored.draws.trials
    assert result.reforecast["retained_revenue"] == planned["portfolio"]["retained_revenue"]
    for q in BANDS:  # bitwise equality: see test_no_evidence_churn_rate_is_bitwise_the_plans
        assert result.reforecast["churn_rate"][q] == pytest.approx(planned["portfolio"]["churn_rate"][q],
                                                                   rel=1e-12)
    assert result.goal_probability["now"] == result.goal_probability["before"]
    assert result.goal_probability["before"] == small.plan.goal.probability_met
    assert np.all(result.weights == 1.0 / T)
    assert result.effective_sample_size == pytest.approx(T, rel=1e-12)
    for m, row in enumerate(result.months):
        assert row["forecast_customers_lost"] == planned["monthly_forecast"]["customers_lost"][m]
    for initiative, entry in result.initiatives.items():
        assert entry["contribution"] == pytest.approx(planned["contributions"][initiative], rel=1e-9)


def test_no_evidence_churn_rate_is_bitwise_the_plans(small, tmp_path):
    result = track(small.dir, write(tmp_path / "actuals.csv", NO_EVIDENCE["a planned status only"]))
    assert result.reforecast["churn_rate"] == small.plan.to_dict()["portfolio"]["churn_rate"]


# --------------------------------------------------------------------------------------
# facts, applied exactly
# --------------------------------------------------------------------------------------
def test_cancelled_initiative_is_the_portfolio_without_it_on_the_same_draws(small):
    k = small.k("first_call_fix")
    facts = actuals([1, 2], status={"first_call_fix": ["planned", "cancelled"]})
    draws, latest = apply_facts(small.stored.draws, small.sc.initiative_ids, small.sc.horizon_months, facts)
    assert latest["first_call_fix"] == "cancelled" and not draws.success[:, k].any()
    without = [x for x in small.sel if x != k]
    rev, cust = small.stored.simulation().evaluate([small.sel], draws=draws)
    ref_rev, ref_cust = small.sim.evaluate([without])  # the optimiser's own simulation and draws
    np.testing.assert_allclose(rev[0], ref_rev[0], rtol=1e-9, atol=0)
    np.testing.assert_allclose(cust[0], ref_cust[0], rtol=1e-9, atol=0)

    result = track(small.stored, facts)  # no loss evidence: equal weights on the re-evaluated trials
    churn = 1 - ref_cust[0].mean() / small.N
    assert result.reforecast["retained_revenue"]["mean"] == pytest.approx(ref_rev[0].mean(), rel=1e-9)
    assert result.reforecast["churn_rate"]["mean"] == pytest.approx(churn, rel=1e-9)
    path = monthly_path(small.sim, without).customers_lost
    for m, row in enumerate(result.months):
        assert row["forecast_customers_lost"]["mean"] == pytest.approx(path[:, m].mean(), rel=1e-9)
    assert abs(result.initiatives["first_call_fix"]["contribution"]) <= 1e-9 * ref_rev[0].mean()
    gain = ref_rev[0].mean() - small.sim.baseline_revenue.mean()
    others = sum(result.initiatives[x]["contribution"] for x in ("virtual_hold", "billing_portal"))
    assert others == pytest.approx(gain, rel=1e-9)  # the parts still add up to the whole


def test_actual_golive_month_replaces_the_drawn_one(small):
    k = small.k("billing_portal")
    assert len(np.unique(small.stored.draws.golive[:, k])) > 3  # uncertain in the plan
    facts = actuals([6, 7], status={"billing_portal": [None, "live"]},
                    live_month={"billing_portal": [np.nan, 6]})  # first live in month 6
    draws, _ = apply_facts(small.stored.draws, small.sc.initiative_ids, small.sc.horizon_months, facts)
    golive, success = small.sim.draws.golive.copy(), small.sim.draws.success.copy()
    golive[:, k], success[:, k] = 5, True  # went live: delivered, from month index 5 (month 6)
    by_hand = small.sim.draws.with_facts(success=success, golive=golive)
    np.testing.assert_array_equal(draws.golive, by_hand.golive)
    np.testing.assert_array_equal(draws.success, by_hand.success)
    ref_rev, ref_cust = small.sim.evaluate([small.sel], draws=by_hand)
    result = track(small.stored, facts)
    assert result.reforecast["retained_revenue"]["mean"] == pytest.approx(ref_rev[0].mean(), rel=1e-9)
    churn = 1 - ref_cust[0].mean() / small.N
    assert result.reforecast["churn_rate"]["mean"] == pytest.approx(churn, rel=1e-9)
    assert result.initiatives["billing_portal"]["golive_month"] == dict.fromkeys(BANDS, 6.0)


def test_revised_golive_in_the_future_keeps_the_chance_of_failure(small):
    k = small.k("billing_portal")
    facts = actuals([2], status={"billing_portal": ["delayed"]}, live_month={"billing_portal": [10]})
    draws, latest = apply_facts(small.stored.draws, small.sc.initiative_ids, small.sc.horizon_months, facts)
    assert np.all(draws.golive[:, k] == 9)  # first live in month 10: index 9
    np.testing.assert_array_equal(draws.success, small.stored.draws.success)
    assert latest["billing_portal"] == "delayed"


def test_status_planned_rules_out_earlier_golive_and_live_forces_delivery(small):
    k = small.k("billing_portal")
    drawn = small.stored.draws.golive[:, k]
    draws, _ = apply_facts(small.stored.draws, small.sc.initiative_ids, small.sc.horizon_months,
                           actuals([4], status={"billing_portal": ["planned"]}))
    np.testing.assert_array_equal(draws.golive[:, k], np.maximum(drawn, 4))  # not live in months 1..4
    live = actuals([3], status={"billing_portal": ["live"]})
    draws, _ = apply_facts(small.stored.draws, small.sc.initiative_ids, small.sc.horizon_months, live)
    np.testing.assert_array_equal(draws.golive[:, k], np.minimum(drawn, 2))  # live in month 3 at the latest
    assert draws.success[:, k].all()


# --------------------------------------------------------------------------------------
# evidence: calibration and brute force
# --------------------------------------------------------------------------------------
def true_worlds(made: Made, n: int, seed: int) -> tuple[np.ndarray, object]:
    """Fresh draws (not among the plan's trials): each a possible true world, and its monthly path."""
    draws = draw_trials(made.sc, n, seed)
    return monthly_path(made.stored.simulation(), made.sel, draws=draws).customers_lost, draws


def test_the_posterior_agrees_with_rejection_sampling(calibration):
    """The particles' posterior mean == the mean over fresh trials accepted with probability L / L_max.

    Rejection sampling from the prior (fresh draws, another seed, the engine's monthly path) is
    exact and knows nothing of the sampler; the likelihood is Poisson on both sides.
    """
    M = 3
    worlds, _ = true_worlds(calibration, 20, seed=31)
    # a world well away from the prior mean, so that the evidence has something to move
    mu = worlds[np.argmax(worlds[:, :M].sum(axis=1))]
    y = np.random.default_rng(5).poisson(mu[:M]).astype(np.float64)
    result = track(calibration.stored, actuals(range(1, M + 1), y), dispersion=1e7)  # Poisson
    w, churn = result.weights, result.samples["churn_rate"]
    weighted = float(w @ churn)
    assert result.reforecast["churn_rate"]["mean"] == pytest.approx(weighted, rel=1e-12)
    weighted_sd = np.sqrt(w @ (churn - weighted) ** 2)
    n_eff = result.particles_unique / 2  # moved particles are correlated: a conservative sample size
    market_w = float(w @ result.draws.market)

    fresh_path, fresh = true_worlds(calibration, 60_000, seed=77)
    loglik = poisson.logpmf(y, fresh_path[:, :M]).sum(axis=1)
    bound = poisson.logpmf(y, y).sum()  # a Poisson likelihood is largest at mu = y
    accept = np.random.default_rng(6).random(len(loglik)) < np.exp(loglik - bound)
    assert accept.sum() > 500
    fresh_churn = (y.sum() + fresh_path[accept, M:].sum(axis=1)) / calibration.N
    brute, brute_se = fresh_churn.mean(), fresh_churn.std() / np.sqrt(accept.sum())
    se = np.sqrt(brute_se ** 2 + weighted_sd ** 2 / n_eff)
    assert abs(weighted - brute) < 4 * se, (weighted, brute, se)
    prior = calibration.plan.to_dict()["portfolio"]["churn_rate"]["mean"]
    assert abs(prior - brute) > 8 * se  # the evidence moved the forecast: the agreement means something
    market = fresh.market[accept]
    market_sd_w = np.sqrt(w @ (result.draws.market - market_w) ** 2)
    market_se = np.sqrt(market.var() / accept.sum() + market_sd_w ** 2 / n_eff)
    assert abs(market_w - market.mean()) < 4 * market_se


# --------------------------------------------------------------------------------------
# the dispersion: what the model leaves out widens the band
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def six_months(calibration) -> Actuals:
    worlds, _ = true_worlds(calibration, 1, seed=404)
    return actuals(range(1, 7), np.random.default_rng(8).poisson(worlds[0, :6]))


def test_a_smaller_dispersion_widens_the_reforecast(calibration, six_months):
    width = {}
    for k in (20.0, 1e7):
        band = track(calibration.stored, six_months, dispersion=k).reforecast["churn_rate"]
        width[k] = band["p90"] - band["p10"]
    assert width[20.0] > 1.5 * width[1e7], width


def test_the_dispersion_used_is_reported(calibration, six_months):
    assert track(calibration.stored, six_months, dispersion=50.0).dispersion == {"value": 50.0, "how": "given"}
    assert track(calibration.stored, six_months).dispersion["how"] == "estimated"  # six months observed
    three = Actuals(**{**six_months.__dict__, "months": six_months.months[:3],
                       "customers_lost": six_months.customers_lost[:3], "revenue_lost": six_months.revenue_lost[:3],
                       "customers_active": six_months.customers_active[:3]})
    assert track(calibration.stored, three).dispersion["how"] == "default"


# --------------------------------------------------------------------------------------
# process metrics and initiative states
# --------------------------------------------------------------------------------------
def test_metric_ahead_of_plan_raises_effectiveness_and_is_a_win(small):
    # first_call_fix goes live in month 4 (its first live month): by the end of month 2 the plan
    # expects half of the way (2.4 -> 1.3)
    result = track(small.stored, actuals([2], metric={"first_call_fix": [1.3]}), metric_sd=0.15)
    prior, now = weighted_mean_effect(small, result, "first_call_fix")
    assert now > prior + 0.03, (prior, now)
    entry = result.initiatives["first_call_fix"]
    assert entry["state"] == "on_track"
    assert entry["metric"]["progress"] == pytest.approx(1.0)
    assert entry["metric"]["planned_progress"] == pytest.approx(2 / 4)
    assert {"initiative": "first_call_fix", "owner": "Head of Billing"}.items() <= result.wins[0].items()
    assert [w["initiative"] for w in result.wins] == ["first_call_fix"]


@pytest.mark.parametrize("observed, states", [(400.0, {"off_track"}), (222.0, {"at_risk"}),
                                              (300.0, {"at_risk", "off_track"})])
def test_lagging_metric_is_at_risk_or_off_track(small, observed, states):
    # virtual_hold goes live in month 3 (its first live month): by the end of month 3 the plan
    # expects the target (420 -> 90 s)
    assert small.plan.to_dict()["actions"][small.sel.index(small.k("virtual_hold"))]["golive_month"]["p50"] == 3
    result = track(small.stored, actuals([3], metric={"virtual_hold": [observed]}), metric_sd=0.15)
    entry = result.initiatives["virtual_hold"]
    assert entry["state"] in states, entry
    prior, now = weighted_mean_effect(small, result, "virtual_hold")
    assert now < prior, (prior, now)
    assert "virtual_hold" not in [w["initiative"] for w in result.wins]


def test_cancelled_is_off_track_and_delayed_at_risk(small):
    result = track(small.stored, actuals([3], status={"first_call_fix": ["cancelled"],
                                                      "billing_portal": ["delayed"]}))
    assert result.initiatives["first_call_fix"]["state"] == "off_track"
    assert result.initiatives["first_call_fix"]["status"] == "cancelled"
    assert result.initiatives["billing_portal"]["state"] == "at_risk"
    assert result.initiatives["virtual_hold"]["status"] == "planned"
    assert result.initiatives["virtual_hold"]["state"] == "on_track"
    assert result.wins == []


def test_live_earlier_than_planned_is_a_win(small):
    result = track(small.stored, actuals([2], status={"billing_portal": ["live"]}))
    assert {"initiative": "billing_portal", "owner": "Head of Digital"}.items() <= result.wins[0].items()


# --------------------------------------------------------------------------------------
# the actuals file
# --------------------------------------------------------------------------------------
BAD_ACTUALS = {
    "unknown initiative": ("month,crm_rebuild.metric\n1,3\n", "crm_rebuild.metric", None),
    "unknown column": ("month,churned\n1,3\n", "churned", None),
    "month after the horizon": ("month,customers_lost\n1,3\n13,4\n", "month", "row 2"),
    "month zero": ("month,customers_lost\n0,3\n", "month", "row 1"),
    "YYYY-MM before the start": ("month,customers_lost\n2026-12,3\n", "month", "row 1"),
    "YYYY-MM after the horizon": ("month,customers_lost\n2027-12,3\n2028-01,4\n", "month", "row 2"),
    "negative count": ("month,customers_lost\n1,3\n2,-4\n", "customers_lost", "row 2"),
    "negative revenue": ("month,revenue_lost\n1,-4\n", "revenue_lost", "row 1"),
    "months out of order": ("month,customers_lost\n2,3\n1,4\n", "month", "row 2"),
    "month repeated": ("month,customers_lost\n1,3\n2,4\n2,5\n", "month", "row 3"),
    "missing month": ("month,customers_lost\n1,3\n,4\n", "month", "row 2"),
    "bad status": ("month,virtual_hold.status\n1,planned\n2,finished\n", "virtual_hold.status", "row 2"),
    "non-integer live month": ("month,virtual_hold.live_month\n1,\n2,2.5\n", "virtual_hold.live_month",
                               "row 2"),
    "live month after the horizon": ("month,virtual_hold.live_month\n1,14\n", "virtual_hold.live_month",
                                     "row 1"),
    "text count": ("month,customers_lost\n1,many\n", "customers_lost", "row 1"),
    "no month column": ("customers_lost\n3\n", "month", None),
}


@pytest.mark.parametrize("text, column, row", BAD_ACTUALS.values(), ids=BAD_ACTUALS.keys())
def test_bad_actuals_name_the_file_column_and_row(small, tmp_path, text, column, row):
    path = write(tmp_path / "actuals.csv", text)
    with pytest.raises(cxopt.DataError) as info:
        read_actuals(path, small.stored)
    problem = info.value.problems[0]
    assert problem.source == str(path)
    assert problem.path == column, problem
    if row is not None:
        assert row in problem.reason, problem


def test_duplicated_column_is_an_error(small, tmp_path):
    path = write(tmp_path / "actuals.csv", "month,customers_lost,customers_lost\n1,30,300\n")
    with pytest.raises(cxopt.DataError):
        read_actuals(path, small.stored)


def test_calendar_months_count_from_the_scenarios_start(small, tmp_path):
    path = write(tmp_path / "actuals.csv", "month,customers_lost,virtual_hold.status\n"
                                           "2027-02,150,Live\n2027-03,160,\n2027-12,170,cancelled\n")
    read = read_actuals(path, small.stored)
    np.testing.assert_array_equal(read.months, [2, 3, 12])
    np.testing.assert_array_equal(read.customers_lost, [150, 160, 170])
    assert read.status == {"virtual_hold": ["live", None, "cancelled"]}


def test_calendar_months_need_the_scenarios_start(tmp_path):
    made = Made(tmp_path, builders.scenario({"scenario.start": DROP, "scenario.trials": 50}))
    path = write(tmp_path / "actuals.csv", "month,customers_lost\n1,3\n2027-02,3\n")
    with pytest.raises(cxopt.DataError) as info:
        read_actuals(path, made.stored)
    problem = info.value.problems[0]
    assert (problem.source, problem.path) == (str(path), "month") and "row 2" in problem.reason
    np.testing.assert_array_equal(read_actuals(write(path, "month\n1\n2\n"), made.stored).months, [1, 2])


def test_parquet_actuals_read_like_csv(small, tmp_path):
    table = pa.table({"month": ["2027-01", "2027-02"], "customers_lost": [150.0, 160.0],
                      "first_call_fix.status": ["planned", "cancelled"],
                      "virtual_hold.metric": [400.0, None]})
    pq.write_table(table, tmp_path / "actuals.parquet")
    csv = write(tmp_path / "actuals.csv", "month,customers_lost,first_call_fix.status,virtual_hold.metric\n"
                                          "1,150,planned,400\n2,160,cancelled,\n")
    a = track(small.dir, tmp_path / "actuals.parquet")
    b = track(small.dir, csv)
    assert a.to_dict() == b.to_dict()


# --------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------
def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def cli_plan(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    scenario = builders.write(root / "small.toml", SMALL)
    result = invoke("optimize", scenario, "--customers", "5000", "--trials", "200", "--quiet",
                    "--out", root / "plan")
    assert result.exit_code == 0, result.stderr
    return root / "plan"


def test_track_json_contract(cli_plan, tmp_path):
    path = write(tmp_path / "actuals.csv",
                 "month,customers_lost,revenue_lost,first_call_fix.status,virtual_hold.metric\n"
                 "1,45,31000,planned,300\n2,40,,cancelled,200\n")
    result = invoke("track", cli_plan, path, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["reforecast"]["retained_revenue"]) >= BANDS
    assert set(data["reforecast"]["churn_rate"]) >= BANDS
    assert set(data["goal_probability"]) >= {"before", "now"}
    assert all(0 <= data["goal_probability"][x] <= 1 for x in ("before", "now"))
    assert isinstance(data["effective_sample_size"], float)
    assert isinstance(data["months"], list) and len(data["months"]) == 12
    assert data["months"][0]["actual_customers_lost"] == 45
    assert data["months"][2]["actual_customers_lost"] is None
    assert set(data["initiatives"]) == {"first_call_fix", "virtual_hold", "billing_portal"}
    for entry in data["initiatives"].values():
        assert {"status", "state", "contribution"} <= set(entry)
        assert entry["state"] in STATES
    assert data["initiatives"]["first_call_fix"]["status"] == "cancelled"
    assert data["initiatives"]["first_call_fix"]["state"] == "off_track"


def test_track_bad_actuals_exit_2(cli_plan, tmp_path):
    path = write(tmp_path / "actuals.csv", "month,customers_lost\n1,3\n2,-4\n")
    result = invoke("track", cli_plan, path, "--json")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert str(path) in result.stderr and "customers_lost" in result.stderr and "row 2" in result.stderr
    assert "Traceback" not in result.stderr
    missing = invoke("track", cli_plan.parent / "no-plan", path)
    assert missing.exit_code == 2 and "no-plan" in missing.stderr


def test_track_out_refuses_to_overwrite_without_force(cli_plan, tmp_path):
    path = write(tmp_path / "actuals.csv", "month,customers_lost\n1,45\n")
    out = tmp_path / "tracking.json"
    first = invoke("track", cli_plan, path, "--out", out)
    assert first.exit_code == 0, first.stderr
    assert set(json.loads(out.read_text())) >= {"reforecast", "goal_probability", "initiatives"}
    out.write_text("mine\n")
    again = invoke("track", cli_plan, path, "--out", out)
    assert again.exit_code == 2 and str(out) in again.stderr
    assert out.read_text() == "mine\n"
    forced = invoke("track", cli_plan, path, "--out", out, "--force")
    assert forced.exit_code == 0, forced.stderr
    assert "reforecast" in json.loads(out.read_text())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["actuals.csv", "tracking.json"]  # no temporary left


# --------------------------------------------------------------------------------------
# the plan directory
# --------------------------------------------------------------------------------------
def test_stored_plan_re_evaluates_to_the_stored_values(small):
    stored = small.stored
    rev, cust = stored.simulation().evaluate([stored.selected])
    np.testing.assert_array_equal(rev[0], stored.revenue)
    np.testing.assert_array_equal(cust[0], stored.customers)
    np.testing.assert_array_equal(stored.revenue, small.plan.result.revenue)
    np.testing.assert_array_equal(stored.baseline_revenue, small.sim.baseline_revenue)
    path = monthly_path(stored.simulation(), stored.selected)
    np.testing.assert_array_equal(path.customers_lost, stored.customers_lost)
    np.testing.assert_array_equal(path.revenue_lost, stored.revenue_lost)
    np.testing.assert_array_equal(stored.customers_lost, small.plan.path.customers_lost)
    for name in ("market", "strength", "effect", "success", "golive", "latent"):
        np.testing.assert_array_equal(getattr(stored.draws, name), getattr(small.sim.draws, name))


def test_wrong_format_version_is_refused(small, tmp_path):
    import shutil

    copy = Path(shutil.copytree(small.dir, tmp_path / "plan"))
    data = json.loads((copy / "plan.json").read_text())
    assert data["format_version"] == FORMAT_VERSION
    data["format_version"] = FORMAT_VERSION + 1
    (copy / "plan.json").write_text(json.dumps(data))
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].path == "format_version"
    assert "plan.json" in info.value.problems[0].source


@pytest.mark.parametrize("name", ["plan.json", "scenario.json", "groups.parquet", "trials.parquet"])
def test_missing_plan_file_is_refused(small, tmp_path, name):
    import shutil

    copy = Path(shutil.copytree(small.dir, tmp_path / "plan"))
    (copy / name).unlink()
    with pytest.raises(cxopt.PlanFileError) as info:
        track(copy, actuals([1]))
    assert info.value.problems[0].path == name


def test_plan_keeps_the_validated_scenario_not_the_file(small, tmp_path):
    import shutil

    copy = Path(shutil.copytree(small.dir, tmp_path / "plan"))
    (copy / "scenario.toml").unlink()  # the file as written is for people; tracking does not need it
    stored = load_plan(copy)
    assert stored.scenario.to_data() == small.sc.to_data()
    assert track(stored, actuals([1], [150])).trials == small.stored.draws.trials


def test_plan_from_a_scenario_built_in_python_can_be_tracked(small_scenario, small_base, tmp_path):
    sim = cxopt.simulate(small_scenario, small_base, trials=50, seed=3)  # parse_scenario: no file
    plan = build_plan(cxopt.optimize(sim))
    stored = load_plan(save_plan(plan, tmp_path / "plan"))
    assert stored.selected == list(plan.result.selected)
    np.testing.assert_array_equal(stored.simulation().evaluate([stored.selected])[0][0], plan.result.revenue)
    assert track(stored, actuals([1], [15])).trials == 50
