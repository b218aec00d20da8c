"""Tracking that stays honest (issue 13): one month convention, a posterior that stays alive.

The truths here are never the plan's own trials: true worlds are drawn from the prior with
other seeds and their monthly losses drawn customer by customer in plain NumPy
(``cxopt.bench.truth``), so a posterior that collapsed onto a few stored trials would miss
them. The full-size calibration (200 worlds) is ``benchmarks/bench_track_calibration.py``.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import cxopt
from cxopt.bench.truth import actuals_csv, true_world
from cxopt.cli import app
from cxopt.engine.draws import draw_trials
from cxopt.engine.paths import monthly_path
from cxopt.tracking.evidence import DEFAULT_DISPERSION, estimate_dispersion
from cxopt.tracking.actuals import Actuals

ROOT = Path(__file__).resolve().parents[2]
ARTICLE = ROOT / "scenarios" / "bottom_up_article.toml"
OLD_PLAN = ROOT / "tests" / "data" / "plan_v1_article"


class Article:
    """The article's plan on 20,000 customers and 1,000 trials, stored and read back."""

    def __init__(self, root: Path):
        self.sc = cxopt.load_scenario(ARTICLE)
        self.base = cxopt.CustomerBase.synthetic(self.sc, n=20_000, seed=11)
        self.sim = cxopt.simulate(self.sc, self.base, trials=1_000, seed=5)
        self.plan = cxopt.build_plan(cxopt.optimize(self.sim))
        self.dir = cxopt.save_plan(self.plan, root / "plan")
        self.stored = cxopt.load_plan(self.dir)
        self.data = json.loads((self.dir / "plan.json").read_text())
        self.selected = list(self.plan.result.selected)


@pytest.fixture(scope="module")
def article(tmp_path_factory) -> Article:
    return Article(tmp_path_factory.mktemp("article"))


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def on_plan_csv(data: dict, months: int) -> str:
    """Each month's losses at the forecast's median, each metric at plan.md's checkpoint."""
    cols = ["month", "customers_lost"]
    values = {m: [str(m), str(round(data["monthly_forecast"]["customers_lost"][m - 1]["p50"]))]
              for m in range(1, months + 1)}
    for a in data["actions"]:
        if not a["checkpoints"]:
            continue
        cols.append(f"{a['id']}.metric")
        at = {c["month"]: c["expected_metric"] for c in a["checkpoints"]}
        for m in range(1, months + 1):
            values[m].append(repr(at.get(m, a["metric"]["target"] if m > max(at) else a["metric"]["baseline"])))
    return ",".join(cols) + "\n" + "".join(",".join(values[m]) + "\n" for m in range(1, months + 1))


# ---------------------------------------------------------------- one month convention
def test_plan_json_months_are_labels(article):
    H = article.sc.horizon_months
    for a in article.data["actions"]:
        k = article.sc.initiative_ids.index(a["id"])
        assert a["start_month"] == article.sc.initiatives[k].start_month + 1
        assert a["golive_month"]["p50"] == float(np.median(article.sim.draws.golive[:, k] + 1))
        months = [c["month"] for c in a["checkpoints"]]
        assert months == list(range(a["start_month"], min(round(a["golive_month"]["p50"]), H) + 1))
        if a["checkpoints"]:  # the target is reached at the end of the go-live month
            assert a["checkpoints"][-1]["expected_metric"] == pytest.approx(a["metric"]["target"])


@pytest.mark.parametrize("months", [3, 6])
def test_a_plan_followed_exactly_is_on_track(article, tmp_path, months):
    result = cxopt.track(article.stored, write(tmp_path / "onplan.csv", on_plan_csv(article.data, months)))
    states = {k: v["state"] for k, v in result.initiatives.items()}
    assert set(states.values()) == {"on_track"}, states
    assert abs(result.goal_probability["now"] - result.goal_probability["before"]) <= 0.10


def test_the_tracking_page_and_plan_md_show_the_same_planned_metric(article, tmp_path):
    result = cxopt.track(article.stored, write(tmp_path / "a.csv", on_plan_csv(article.data, 2)))
    for a in article.data["actions"]:
        path = {p["month"]: p["planned"] for p in result.initiatives[a["id"]]["metric_path"]}
        for c in a["checkpoints"]:
            assert path[c["month"]] == pytest.approx(c["expected_metric"], abs=1e-12)
    md = (article.dir / "plan.md").read_text()
    first = next(a for a in article.data["actions"] if a["checkpoints"])
    assert f"{first['checkpoints'][0]['expected_metric']:.3g}"[:3] in md


def test_live_month_is_the_first_month_live(article, tmp_path):
    kid = article.data["selected"][0]
    k = article.sc.initiative_ids.index(kid)
    result = cxopt.track(article.stored, write(tmp_path / "a.csv", f"month,{kid}.status,{kid}.live_month\n"
                                                                   f"1,live,1\n2,,\n"))
    assert result.initiatives[kid]["golive_month"] == {"mean": 1.0, "p10": 1.0, "p50": 1.0, "p90": 1.0}
    assert result.draws.golive[:, k].max() == 0 and result.draws.success[:, k].all()


def test_a_format_1_plan_is_upgraded_on_read(tmp_path):
    copy = Path(shutil.copytree(OLD_PLAN, tmp_path / "old"))
    old = json.loads((copy / "plan.json").read_text())
    with pytest.warns(UserWarning, match="format 1"):
        stored = cxopt.load_plan(copy)
    for before, after in zip(old["actions"], stored.data["actions"]):
        assert after["golive_month"]["p50"] == before["golive_month"]["p50"] + 1
        assert after["start_month"] == before["start_month"] + 1
        if after["checkpoints"]:
            assert after["checkpoints"][-1]["month"] == round(after["golive_month"]["p50"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = cxopt.track(copy, write(tmp_path / "a.csv", "month,customers_lost\n1,850\n2,840\n"))
    assert 0.0 <= result.goal_probability["now"] <= 1.0


# ---------------------------------------------------------------- evidence
def test_no_rows_reproduce_the_plans_forecast_exactly(article, tmp_path):
    result = cxopt.track(article.stored, write(tmp_path / "a.csv", "month,customers_lost\n"))
    np.testing.assert_array_equal(result.samples["churn_rate"], 1.0 - article.stored.customers /
                                  article.stored.groups.n_customers)
    assert result.goal_probability["now"] == result.goal_probability["before"]


def test_dated_rows_are_metric_readings_within_their_month(article, tmp_path):
    kid = next(a["id"] for a in article.data["actions"] if a["checkpoints"])
    path = write(tmp_path / "a.csv", f"month,customers_lost,{kid}.metric\n2027-01,900,\n2027-01-08,,1\n"
                                     f"2027-01-15,,2\n")
    read = cxopt.read_actuals(path, article.stored)
    assert [r.time for r in read.readings] == pytest.approx([8 / 31, 15 / 31])
    assert list(read.months) == [1]
    result = cxopt.track(article.stored, path)
    assert [w["date"] for w in result.initiatives[kid]["weekly_readings"]] == ["2027-01-08", "2027-01-15"]


def test_a_dated_row_with_losses_is_bad_input(article, tmp_path):
    path = write(tmp_path / "a.csv", "month,customers_lost\n2027-01-08,30\n")
    with pytest.raises(cxopt.DataError, match="customers_lost: row 1: a dated row"):
        cxopt.read_actuals(path, article.stored)


def test_the_dispersion_is_estimated_from_enough_months():
    rng = np.random.default_rng(4)
    mu = np.full(12, 1_000.0)
    path = np.tile(mu, (50, 1))  # particles that all know the path: the scatter is what is left
    noisy = rng.negative_binomial(20, 20 / (20 + mu))  # k = 20: about 22% month-to-month
    calm = rng.poisson(mu)

    def actuals(y, months):
        return Actuals(months=np.arange(1, months + 1), customers_lost=y[:months].astype(float),
                       revenue_lost=np.full(months, np.nan), customers_active=np.full(months, np.nan),
                       metric={}, status={}, live_month={})

    assert estimate_dispersion(actuals(noisy, 5), path) is None  # too few months: the default stands
    assert estimate_dispersion(actuals(noisy, 12), path) <= 50
    assert estimate_dispersion(actuals(calm, 12), path) > DEFAULT_DISPERSION


# ---------------------------------------------------------------- calibration against true worlds
def test_true_worlds_agree_with_the_engine(article):
    """The independent per-customer evaluation equals the engine's monthly path (another path, same model)."""
    world = true_world(article.sc, article.base, article.selected, seed=4242)
    engine = monthly_path(article.sim, article.selected, draws=draw_trials(article.sc, 1, 4242))
    np.testing.assert_allclose(world.expected_lost, engine.customers_lost[0], rtol=1e-9)


@pytest.fixture(scope="module")
def calibration(article, tmp_path_factory):
    """16 true worlds tracked after 3 and 6 months (the normal suite's small version)."""
    tmp = tmp_path_factory.mktemp("worlds")
    rows = {3: [], 6: []}
    for i in range(16):
        world = true_world(article.sc, article.base, article.selected, seed=90_000 + i,
                           dispersion=DEFAULT_DISPERSION)
        for months in rows:
            result = cxopt.track(article.stored, write(tmp / "a.csv", actuals_csv(world, months)), particles=400)
            rows[months].append((world.horizon_churn(months), result))
    return rows


def test_bands_cover_true_worlds_never_seen_by_the_plan(calibration):
    for months, rows in calibration.items():
        covered = np.mean([r.reforecast["churn_rate"]["p10"] <= truth <= r.reforecast["churn_rate"]["p90"]
                           for truth, r in rows])
        # nominal 80%; 16 worlds: a binomial 99% interval is about [0.5, 1.0]
        assert covered >= 0.5, (months, covered)


def test_bands_narrow_as_months_are_added(calibration):
    width = {m: np.mean([r.reforecast["churn_rate"]["p90"] - r.reforecast["churn_rate"]["p10"] for _, r in rows])
             for m, rows in calibration.items()}
    assert width[6] < width[3]


def test_the_posterior_stays_alive(calibration):
    for rows in calibration.values():
        for _, r in rows:
            assert r.effective_sample_size >= 0.3 * r.particles
            assert r.particles_unique >= 0.3 * r.particles


def test_every_band_contains_its_mean_and_median(calibration):
    for rows in calibration.values():
        for _, r in rows:
            for band in (r.reforecast["churn_rate"], r.reforecast["retained_revenue"]):
                assert band["p10"] <= band["p50"] <= band["p90"]
                assert band["p10"] <= band["mean"] <= band["p90"]


def test_the_same_plan_and_actuals_give_the_same_numbers(article, tmp_path):
    path = write(tmp_path / "a.csv", "month,customers_lost\n1,880\n2,700\n3,900\n")
    one, two = (cxopt.track(article.stored, path, particles=300).to_dict() for _ in range(2))
    assert one == two


# ---------------------------------------------------------------- the CLI
def test_retired_options_are_accepted_with_a_note(article, tmp_path):
    path = write(tmp_path / "a.csv", "month,customers_lost\n1,880\n")
    result = CliRunner().invoke(app, ["track", str(article.dir), str(path), "--resimulate", "--ess-threshold", "50",
                                      "--json", "--particles", "200"])
    assert result.exit_code == 0, result.output
    assert "--resimulate has no purpose" in result.stderr and "--ess-threshold has no purpose" in result.stderr
    data = json.loads(result.stdout)
    assert {"reforecast", "goal_probability", "months", "initiatives", "particles", "particles_unique",
            "effective_sample_size"} <= set(data)
    assert data["particles"] == 200


@pytest.mark.parametrize("option, value", [("--dispersion", "inf"), ("--dispersion", "0"), ("--metric-sd", "nan"),
                                           ("--particles", "1")])
def test_bad_tracking_options_exit_2_naming_the_option(article, tmp_path, option, value):
    path = write(tmp_path / "a.csv", "month,customers_lost\n1,880\n")
    result = CliRunner().invoke(app, ["track", str(article.dir), str(path), option, value])
    assert result.exit_code == 2, result.output
    assert option in result.stderr
