"""A measured CX level as evidence for tracking (issue 14 item 1): the actuals' ``csat`` column.

The article's goal scenario declares ``[metrics.csat]`` (72 today). A level measured in month m
is held against each particle's level that month (``engine.levels``) with a normal likelihood
of sd ``level_sd`` (survey noise). Checked: the evidence moves the re-forecast the right way
(Bayes' rule on a normal likelihood: a reading above the forecast raises it, below lowers it);
a reading on the plan's own forecast leaves the goal's probability within a few points; a
level column left blank changes nothing; bad columns and values are bad input naming the file,
the column and the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cxopt
from cxopt.cli import app
from cxopt.engine.levels import metric_level_path

ROOT = Path(__file__).resolve().parents[2]
PARTICLES = 400


class GoalPlan:
    """The article's goal plan on 20,000 customers and 800 trials, stored and read back."""

    def __init__(self, root: Path):
        sc = cxopt.load_scenario(ROOT / "scenarios" / "article_goal.toml")
        sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=20_000, seed=11), trials=800, seed=5)
        self.plan = cxopt.build_plan(cxopt.optimize(sim))
        self.dir = cxopt.save_plan(self.plan, root / "plan")
        self.stored = cxopt.load_plan(self.dir)
        data = json.loads((self.dir / "plan.json").read_text())
        self.median_lost = [round(x["p50"]) for x in data["monthly_forecast"]["customers_lost"]]
        self.level = metric_level_path(self.stored.simulation(), list(self.stored.selected), "csat")
        self.root = root

    def actuals(self, months: int, levels: dict[int, object] | None = None, name: str = "csat") -> Path:
        """Losses at the plan's median each month; the level column as given (blank elsewhere)."""
        levels = levels or {}
        rows = [f"month,customers_lost,{name}"]
        rows += [f"{m},{self.median_lost[m - 1]},{levels.get(m, '')}" for m in range(1, months + 1)]
        path = self.root / f"actuals-{len(list(self.root.glob('actuals-*')))}.csv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        return path

    def planned_level(self, month: int) -> float:
        return float(np.median(self.level[:, month - 1]))

    def track(self, path: Path, **kw):
        return cxopt.track(self.stored, path, particles=PARTICLES, **kw)


@pytest.fixture(scope="module")
def goal(tmp_path_factory) -> GoalPlan:
    return GoalPlan(tmp_path_factory.mktemp("goal"))


def test_a_blank_level_column_changes_nothing(goal):
    without = goal.track(goal.actuals(6, name="customers_active"))  # the same losses, no level column
    blank = goal.track(goal.actuals(6))
    a, b = without.to_dict(), blank.to_dict()
    assert a == b
    assert all(m["measured"] is None for m in blank.levels["csat"]["months"])


def test_the_level_is_reported_measured_beside_its_forecast(goal):
    m5 = round(goal.planned_level(5) + 0.5, 3)
    r = goal.track(goal.actuals(6, {5: m5}))
    lv = r.to_dict()["levels"]["csat"]
    assert lv["today"] == 72.0 and lv["level_sd"] == 1.0 and lv["label"] == "CSAT"
    assert [m["month"] for m in lv["months"]] == list(range(1, 13))
    assert lv["months"][4]["measured"] == m5 and lv["months"][3]["measured"] is None
    for band in [lv["reforecast"], lv["planned"], *(m["forecast"] for m in lv["months"])]:
        assert band["p10"] <= band["p50"] <= band["p90"] and band["p10"] <= band["mean"] <= band["p90"]
    # before any go-live every particle is at today's level
    assert lv["months"][0]["forecast"]["p10"] == lv["months"][0]["forecast"]["p90"] == 72.0


@pytest.mark.parametrize("delta", [-2.0, 2.0])
def test_a_level_off_the_forecast_moves_the_reforecast_its_way(goal, delta):
    plain = goal.track(goal.actuals(6))
    measured = goal.track(goal.actuals(6, {6: round(goal.planned_level(6) + delta, 3)}))
    before, after = plain.levels["csat"]["reforecast"]["mean"], measured.levels["csat"]["reforecast"]["mean"]
    # a normal prior band of sd s and a reading of sd 1 shift the mean by s^2 / (s^2 + 1) of the gap:
    # at least a tenth of it here (s is about 0.35 points), and never past the reading
    assert np.sign(after - before) == np.sign(delta)
    assert 0.05 * abs(delta) < abs(after - before) < abs(delta)


def test_a_level_on_the_plan_keeps_the_goal_probability(goal):
    months = {m: round(goal.planned_level(m), 4) for m in range(1, 7)}
    plain = goal.track(goal.actuals(6))
    on_plan = goal.track(goal.actuals(6, months))
    assert abs(on_plan.goal_probability["now"] - plain.goal_probability["now"]) <= 0.05
    assert abs(on_plan.goal_probability["now"] - on_plan.goal_probability["before"]) <= 0.10
    assert abs(on_plan.levels["csat"]["reforecast"]["mean"] - plain.levels["csat"]["reforecast"]["mean"]) < 0.1


def test_a_smaller_survey_noise_moves_the_level_further(goal):
    path = goal.actuals(6, {6: round(goal.planned_level(6) + 1.5, 3)})
    loose, tight = goal.track(path, level_sd=3.0), goal.track(path, level_sd={"csat": 0.3})
    assert tight.levels["csat"]["level_sd"] == 0.3
    assert tight.levels["csat"]["reforecast"]["mean"] > loose.levels["csat"]["reforecast"]["mean"]


@pytest.mark.parametrize("name,reason", [("nps", "does not declare"), ("satisfaction", "unknown column")])
def test_a_level_column_for_an_undeclared_metric_is_bad_input(goal, name, reason):
    path = goal.actuals(3, {2: 70.0}, name=name)
    with pytest.raises(cxopt.DataError, match=rf"{path.name}: {name}: .*{reason}"):
        cxopt.read_actuals(path, goal.stored)


@pytest.mark.parametrize("value", ["inf", "nan", "high"])
def test_a_level_that_is_not_a_finite_number_is_bad_input(goal, value):
    path = goal.actuals(3, {2: value})
    with pytest.raises(cxopt.DataError, match=rf"{path.name}: csat: row 2"):
        cxopt.read_actuals(path, goal.stored)


def test_a_negative_level_is_a_level(goal):
    path = goal.actuals(2, {2: -5.0})  # NPS-like scales go below 0
    assert cxopt.read_actuals(path, goal.stored).levels["csat"][1] == -5.0


def test_a_level_in_a_dated_row_is_bad_input(goal, tmp_path):
    path = tmp_path / "dated.csv"
    path.write_text("month,csat\n2027-02-08,74\n", encoding="utf-8")
    with pytest.raises(cxopt.DataError, match="csat: row 1: a dated row"):
        cxopt.read_actuals(path, goal.stored)


def test_a_plan_without_declared_metrics_reports_no_levels(goal, tmp_path):
    sc = cxopt.load_scenario(ROOT / "scenarios" / "bottom_up_article.toml")
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=5_000, seed=1), trials=200, seed=2)
    stored = cxopt.load_plan(cxopt.save_plan(cxopt.build_plan(cxopt.optimize(sim)), tmp_path / "plan"))
    path = tmp_path / "a.csv"
    path.write_text("month,customers_lost\n1,80\n", encoding="utf-8")
    assert "levels" not in cxopt.track(stored, path, particles=100).to_dict()


@pytest.mark.parametrize("args,message", [(["--level-sd", "0"], "--level-sd: must be a finite number > 0"),
                                          (["--level-sd", "nps=2"], "--level-sd: names 'nps'"),
                                          (["--level-sd", "1", "--level-sd", "csat=2"], "--level-sd: give one")])
def test_bad_level_sd_exits_2_naming_the_option(goal, args, message):
    result = CliRunner().invoke(app, ["track", str(goal.dir), str(goal.actuals(2, {2: 72.5})), "--json", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_the_cli_takes_the_level_sd(goal):
    path = goal.actuals(6, {6: round(goal.planned_level(6) + 1.0, 3)})
    result = CliRunner().invoke(app, ["track", str(goal.dir), str(path), "--json", "--level-sd", "csat=0.5"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["levels"]["csat"]["level_sd"] == 0.5


def test_the_tracking_page_shows_the_level_measured_beside_its_forecast(goal):
    r = goal.track(goal.actuals(6, {6: round(goal.planned_level(6) + 3.0, 3)}))
    html = r.to_html()
    assert "CSAT month by month" in html and "above the forecast band" in html
