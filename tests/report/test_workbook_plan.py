"""plan.xlsx and actuals-template.xlsx (issue 18): derived from plan.json, one source; a filled
copy of the template tracks exactly as the same actuals in CSV; writing is atomic and a locked
destination is a clear error, never a half file."""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cxopt.cli import app
from cxopt.data.workbook import read_actuals_workbook
from cxopt.errors import DataError
from cxopt.report.workbook_plan import actuals_template, plan_workbook
from cxopt.report.xlsx import save_workbook
from cxopt.tracking.track import track

ROOT = Path(__file__).resolve().parents[2]
STORED = ROOT / "tests" / "data" / "plan_v1_article"
ACTUALS_CSV = ROOT / "tests" / "golden" / "actuals_article.csv"
FRONTIER = ROOT / "tests" / "golden" / "frontier_article.json"
runner = CliRunner()


def close(a: float, b: float) -> bool:
    """Equal to the 16 significant digits an .xlsx file stores."""
    return abs(a - b) <= 1e-15 * max(1.0, abs(b))


@pytest.fixture(scope="module")
def data() -> dict:
    return json.loads((STORED / "plan.json").read_text())


@pytest.fixture(scope="module")
def plan_xlsx(data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("plan") / "plan.xlsx"
    plan_workbook(data, frontier=json.loads(FRONTIER.read_text())).save(path)
    return path


def rows(ws) -> list[dict]:
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]


def test_plan_workbook_has_the_sheets_people_read(plan_xlsx):
    wb = openpyxl.load_workbook(plan_xlsx)
    assert wb.sheetnames == ["Goal", "Portfolio", "Action plan", "Monthly forecast", "Frontier", "Assumptions"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
    assert wb["Portfolio"]["D2"].number_format == "#,##0"
    names = zipfile.ZipFile(plan_xlsx).namelist()
    assert sum(n.startswith("xl/charts/chart") for n in names) == 2  # native charts, not pictures


def test_plan_workbook_carries_plan_json_numbers(plan_xlsx, data):
    wb = openpyxl.load_workbook(plan_xlsx)
    goal = {r[0]: r[1] for r in wb["Goal"].iter_rows(min_row=2, values_only=True)}
    assert goal["Goal"] == data["goal"]["statement"]
    assert close(goal["Target"], data["goal"]["target"]) and close(goal["Baseline"], data["goal"]["baseline"])
    assert close(goal[f"Total cost ({data['currency']})"], data["total_cost"])
    portfolio = rows(wb["Portfolio"])
    assert [r["id"] for r in portfolio] == [a["id"] for a in data["actions"]]
    for r in portfolio:
        detail = data["contribution_details"][r["id"]]
        assert close(r[f"cost ({data['currency']})"], detail["cost"])
        for k in ("mean", "p10", "p50", "p90"):
            assert close(r[f"contribution {k.upper() if k != 'mean' else 'mean'}"], detail["revenue"][k])
    forecast = rows(wb["Monthly forecast"])
    assert len(forecast) == data["horizon_months"]
    for m, r in enumerate(forecast):
        assert r["label"] == f"2027-{m + 1:02d}"
        for what in ("customers", "revenue"):
            band = data["monthly_forecast"][f"{what}_lost"][m]
            assert all(close(r[f"{what} lost {k.upper() if k != 'mean' else 'mean'}"], band[k])
                       for k in ("mean", "p10", "p50", "p90"))
    checkpoints = [(a["id"], c["month"], c["expected_metric"]) for a in data["actions"] for c in a["checkpoints"]]
    written = [(r["initiative"], r["month"], r["expected"]) for r in rows(wb["Action plan"])]
    assert [w[:2] for w in written] == [c[:2] for c in checkpoints]
    assert all(close(w[2], c[2]) for w, c in zip(written, checkpoints))


def test_plan_workbook_writes_user_text_as_text_never_a_formula(data, tmp_path):
    tricky = json.loads(json.dumps(data))
    tricky["actions"][0]["owner"] = "=HYPERLINK(\"http://x\")"
    tricky["actions"][1]["owner"] = "@ops"
    tricky["goal"]["statement"] = "-5% churn"
    plan_workbook(tricky).save(tmp_path / "p.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "p.xlsx")
    owners = [r["owner"] for r in rows(wb["Portfolio"])]
    assert owners[:2] == ["=HYPERLINK(\"http://x\")", "@ops"]
    assert all(c.data_type != "f" for ws in wb.worksheets for row in ws.iter_rows() for c in row)


@pytest.fixture(scope="module")
def template(data, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("actuals") / "actuals-template.xlsx"
    actuals_template(data).save(path)
    return path


def test_actuals_template_holds_the_plans_months_as_text_and_planned_values(template, data):
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Actuals", "Weekly metrics", "Read me"]
    ws = wb["Actuals"]
    table = rows(ws)
    assert [r["month"] for r in table] == [f"2027-{m:02d}" for m in range(1, 13)]
    assert all(ws.cell(r, 1).data_type == "s" for r in range(2, 14))
    for m, r in enumerate(table):
        assert close(r["planned customers_lost"], data["monthly_forecast"]["customers_lost"][m]["p50"])
        assert r["customers_lost"] is None
    for a in data["actions"]:
        assert f"{a['id']}.status" in table[0] and f"{a['id']}.live_month" in table[0]
    note = " ".join(str(c.value) for c in wb["Read me"]["A"])
    assert "copy" in note and "outside the plan directory" in note
    assert [c.value for c in wb["Weekly metrics"][1]][0] == "date"


def fill(template: Path, out: Path, weekly: list | None = None) -> Path:
    """The golden actuals (tests/golden/actuals_article.csv) typed into a copy of the template."""
    wb = openpyxl.load_workbook(template)
    ws = wb["Actuals"]
    col = {c.value: c.column for c in ws[1]}
    lines = ACTUALS_CSV.read_text().splitlines()
    head = lines[0].split(",")
    for i, line in enumerate(lines[1:], start=2):
        for name, value in zip(head[1:], line.split(",")[1:]):
            if value:
                ws.cell(i, col[name]).value = value if name.endswith(".status") else float(value)
    for j, (date, values) in enumerate(weekly or [], start=2):
        wk = wb["Weekly metrics"]
        wcol = {c.value: c.column for c in wk[1]}
        wk.cell(j, 1).value = date
        for name, v in values.items():
            wk.cell(j, wcol[name]).value = v
    wb.save(out)
    return out


def test_filled_template_tracks_identically_to_the_same_actuals_as_csv(template, tmp_path):
    filled = fill(template, tmp_path / "actuals.xlsx")
    assert track(STORED, filled).to_dict() == track(STORED, ACTUALS_CSV).to_dict()


def test_weekly_rows_are_appended_with_their_iso_date_and_metrics_only(template, tmp_path):
    import datetime as dt

    filled = fill(template, tmp_path / "a.xlsx", weekly=[("2027-04-05", {"callback_sla.metric": 96}),
                                                         (dt.datetime(2027, 4, 12), {"callback_sla.metric": 97})])
    table = read_actuals_workbook(filled).to_pylist()
    assert [r["month"] for r in table] == ["2027-01", "2027-02", "2027-03", "2027-04-05", "2027-04-12"]
    assert table[-1]["callback_sla.metric"] == 97.0
    assert {k for k, v in table[-1].items() if v is not None} == {"month", "callback_sla.metric"}


def test_bad_actuals_cell_is_named(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    ws = wb["Actuals"]
    ws["B3"] = "about 300"
    ws["A5"] = None
    ws["B5"] = 12
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(DataError) as exc:
        read_actuals_workbook(tmp_path / "bad.xlsx")
    assert [p.path for p in exc.value.problems] == ["Actuals!B3", "Actuals!A5"]
    assert "expected a number" in exc.value.problems[0].reason


def test_locked_destination_is_a_clear_error_and_leaves_the_old_file(monkeypatch, tmp_path):
    target = tmp_path / "plan.xlsx"
    target.write_bytes(b"old")

    def locked(src, dst):  # what Windows does while Excel holds the file open
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", locked)
    with pytest.raises(PermissionError, match="open in Excel"):
        save_workbook(openpyxl.Workbook(), target, force=True)
    assert target.read_bytes() == b"old"
    assert list(tmp_path.iterdir()) == [target]


def test_existing_output_needs_force(tmp_path):
    from cxopt.errors import OutputExistsError

    (tmp_path / "t.xlsx").write_bytes(b"mine")
    with pytest.raises(OutputExistsError):
        save_workbook(openpyxl.Workbook(), tmp_path / "t.xlsx")
    assert (tmp_path / "t.xlsx").read_bytes() == b"mine"


# -- through the CLI: a scenario workbook -> optimize --out -> the filled template -> track --out .xlsx
SMALL = ROOT / "scenarios" / "bottom_up_article.toml"


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("cli")
    assert runner.invoke(app, ["convert", str(SMALL), "--out", str(work / "s.xlsx")]).exit_code == 0
    result = runner.invoke(app, ["optimize", str(work / "s.xlsx"), "--customers", "800", "--trials", "40",
                                 "--quiet", "--top", "1", "--out", str(work / "plan")])
    assert result.exit_code == 0, result.output
    return work / "plan"


def test_optimize_out_writes_the_workbooks_from_plan_json(plan_dir):
    data = json.loads((plan_dir / "plan.json").read_text())
    assert (plan_dir / "scenario.xlsx").is_file()
    wb = openpyxl.load_workbook(plan_dir / "plan.xlsx")
    portfolio = rows(wb["Portfolio"])
    assert {r["id"] for r in portfolio} == set(data["selected"])
    assert all(close(r["contribution mean"], data["contribution_details"][r["id"]]["revenue"]["mean"]) for r in portfolio)
    table = rows(openpyxl.load_workbook(plan_dir / "actuals-template.xlsx")["Actuals"])
    assert all(close(r["planned revenue_lost"], data["monthly_forecast"]["revenue_lost"][m]["p50"])
               for m, r in enumerate(table))


def test_track_reads_the_filled_workbook_and_writes_xlsx_or_json_by_extension(plan_dir, tmp_path):
    shutil.copy(plan_dir / "actuals-template.xlsx", tmp_path / "mine.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "mine.xlsx")
    wb["Actuals"]["B2"], wb["Actuals"]["D2"] = 8, 9000
    wb.save(tmp_path / "mine.xlsx")
    for name in ("t.xlsx", "t.json"):
        result = runner.invoke(app, ["track", str(plan_dir), str(tmp_path / "mine.xlsx"), "--out", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    from_json = json.loads((tmp_path / "t.json").read_text())
    months = rows(openpyxl.load_workbook(tmp_path / "t.xlsx")["Months"])
    assert months[0]["customers lost (actual)"] == 8
    assert close(months[0]["forecast P50"], from_json["months"][0]["forecast_customers_lost"]["p50"])
    states = {r["initiative"]: r["state"] for r in rows(openpyxl.load_workbook(tmp_path / "t.xlsx")["Initiatives"])}
    assert states == {k: v["state"] for k, v in from_json["initiatives"].items()}


def _leaves(value, path: str = ""):
    """The inputs of a TOML scenario as written: (dotted path, value); a distribution is one input."""
    if isinstance(value, dict) and "dist" not in value:
        for k, v in value.items():
            yield from _leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for i, v in enumerate(value):
            yield from _leaves(v, f"{path}[{i}]")
    else:
        yield path, value


def test_assumptions_list_every_input_as_given_including_metrics_margin_savings_and_months(data, tmp_path):
    """Checked against the TOML file itself: every value it writes is a row, months as the text given."""
    import tomllib

    from cxopt.model.scenario import load_scenario
    from cxopt.report.workbook_scenario import scenario_data

    text = (ROOT / "scenarios" / "article_goal.toml").read_text()
    text = text.replace("seed = 20261202", 'seed = 20261202\nmargin = 0.35\nsponsor = "Chief Operating Officer"')
    text = text.replace("total = 1_250_000", 'total = { y1 = 700_000, y2 = 550_000 }\nmonths = { y1 = "2027-01", '
                                            'y2 = "2027-07" }')
    text = text.replace("cost = 300_000", "cost = { y1 = 300_000 }\nsavings = { y2 = 120_000 }")
    for n in ("450_000", "200_000", "250_000", "900_000"):
        text = text.replace(f"cost = {n}", f"cost = {{ y1 = {n} }}\nsavings = 10_000")
    (tmp_path / "s.toml").write_text(text)
    sc = load_scenario(tmp_path / "s.toml")
    plan_workbook(data, scenario_data=scenario_data(sc)).save(tmp_path / "plan.xlsx")
    given = {r["input"]: r["as given"] for r in rows(openpyxl.load_workbook(tmp_path / "plan.xlsx")["Assumptions"])}
    expected = dict(_leaves(tomllib.loads(text)))
    for path in ("metrics.csat.baseline", "metrics.csat.unit", "metrics.csat.higher_is_better", "scenario.margin",
                 "scenario.sponsor", "pain_points[0].impacts.csat", "initiatives[0].savings.y2",
                 "initiatives[1].savings", "budget.months.y2"):
        assert path in expected  # the check below covers the new inputs
    for path, value in expected.items():
        assert path in given, path
        if isinstance(value, dict):  # a distribution, described
            assert given[path].startswith(value["dist"]), path
        elif isinstance(value, list):
            assert given[path] == ", ".join(value), path
        else:  # (an empty text, unit = "", is an empty cell)
            assert given[path] == (None if value == "" else value), path
