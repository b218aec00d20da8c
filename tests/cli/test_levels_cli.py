"""Measured CX levels through the CLI (issue 14): ``optimize --out`` writes the template's level
column, a filled copy tracks as the same actuals in CSV, ``track --out result.xlsx`` carries the
levels as the JSON gives them, and the terminal shows them.

The article's goal scenario (``[metrics.csat]``) on 2,000 customers and 100 trials.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cxopt.cli import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()
PARTICLES = ["--particles", "100"]
LEVELS = {1: 71.5, 3: 73.0625, 4: 74.25}  # measured CSAT (months 1, 3 and 4)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-15 * max(1.0, abs(b))


def rows(ws) -> list[dict]:
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]


def invoke(*args: str) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The plan, a filled copy of its template and the same actuals as CSV."""
    work = tmp_path_factory.mktemp("levels-cli")
    invoke("optimize", ROOT / "scenarios" / "article_goal.toml", "--customers", "2000", "--trials", "100",
           "--top", "1", "--quiet", "--json", "--out", work / "plan")
    data = json.loads((work / "plan" / "plan.json").read_text())
    lost = [round(x["p50"]) for x in data["monthly_forecast"]["customers_lost"]]
    csv = ["month,customers_lost,bill_check.status,csat"]
    csv += [f"{m},{lost[m - 1]},{'planned' if m < 3 else 'live'},{LEVELS.get(m, '')}" for m in range(1, 5)]
    (work / "actuals.csv").write_text("\n".join(csv) + "\n", encoding="utf-8")
    shutil.copy(work / "plan" / "actuals-template.xlsx", work / "filled.xlsx")
    wb = openpyxl.load_workbook(work / "filled.xlsx")
    ws = wb["Actuals"]
    col = {c.value: c.column for c in ws[1]}
    for m in range(1, 5):
        ws.cell(m + 1, col["customers_lost"]).value = lost[m - 1]
        ws.cell(m + 1, col["bill_check.status"]).value = "planned" if m < 3 else "live"
        if m in LEVELS:
            ws.cell(m + 1, col["csat"]).value = LEVELS[m]
    wb.save(work / "filled.xlsx")
    return work


@pytest.fixture(scope="module")
def tracked(work) -> dict:
    invoke("track", work / "plan", work / "actuals.csv", "--out", work / "result.json", *PARTICLES)
    return json.loads((work / "result.json").read_text())


def test_filled_template_tracks_as_the_same_csv(work, tracked):
    from_xlsx = json.loads(invoke("track", work / "plan", work / "filled.xlsx", "--json", *PARTICLES))
    assert from_xlsx == tracked
    measured = [m["measured"] for m in tracked["levels"]["csat"]["months"][:5]]
    assert measured == [71.5, None, 73.0625, 74.25, None]


def test_template_planned_level_is_trackings_planned_band(work, tracked):
    table = rows(openpyxl.load_workbook(work / "plan" / "actuals-template.xlsx")["Actuals"])
    months = tracked["levels"]["csat"]["months"]
    assert len(table) == len(months) == 12
    assert all(close(r["planned csat"], m["planned"]["p50"]) for r, m in zip(table, months))


def test_track_out_xlsx_carries_the_levels_of_the_json(work, tracked):
    invoke("track", work / "plan", work / "filled.xlsx", "--out", work / "result.xlsx", *PARTICLES)
    wb = openpyxl.load_workbook(work / "result.xlsx")
    lv = tracked["levels"]["csat"]
    table = rows(wb["Levels"])
    assert [r["month"] for r in table] == [m["month"] for m in lv["months"]]
    for r, m in zip(table, lv["months"]):
        assert r["metric"] == "csat" and r["measured"] == m["measured"]
        assert all(close(r[f"forecast {k.upper()}"], m["forecast"][k]) for k in ("p10", "p50", "p90"))
        assert all(close(r[f"planned {k.upper()}"], m["planned"][k]) for k in ("p10", "p50", "p90"))
    summary = {r["Item"]: r["Value"] for r in rows(wb["Summary"])}
    assert close(summary["CSAT level (points), horizon's last month, now P50"], lv["reforecast"]["p50"])
    assert close(summary["CSAT level (points), horizon's last month, planned P50"], lv["planned"]["p50"])


def test_track_terminal_shows_the_level_table(work, tracked):
    text = invoke("track", work / "plan", work / "actuals.csv", *PARTICLES)
    lv = tracked["levels"]["csat"]
    assert "CSAT month by month (points)" in text
    row4 = next(line for line in text.splitlines()
                if line.startswith("│") and line.strip("│ ").split("│")[0].strip() == "4"
                and "74.25" in line)
    assert f"{lv['months'][3]['forecast']['p50']:,.2f}" in row4
    assert f"{lv['months'][3]['planned']['p50']:,.2f}" in row4
    assert f"re-forecast {lv['reforecast']['p50']:,.2f}" in " ".join(text.split())


def test_a_level_that_is_not_a_number_is_bad_input_naming_the_column(work, tmp_path):
    wb = openpyxl.load_workbook(work / "filled.xlsx")
    ws = wb["Actuals"]
    ws.cell(3, [c.value for c in ws[1]].index("csat") + 1).value = "about 72"
    wb.save(tmp_path / "bad.xlsx")
    result = runner.invoke(app, ["track", str(work / "plan"), str(tmp_path / "bad.xlsx"), "--json", *PARTICLES])
    assert result.exit_code == 2
    assert "bad.xlsx" in result.output and "csat" in result.output and "expected a number" in result.output


def test_text_in_a_level_cell_is_named_by_its_cell(work):
    """A measured level that is not a number: the error names the sheet and cell, like every other figure."""
    wb = openpyxl.load_workbook(work / "filled.xlsx")
    ws = wb["Actuals"]
    col = {c.value: c.column for c in ws[1]}
    ws.cell(3, col["csat"]).value = "about 72"
    wb.save(work / "bad-level.xlsx")
    result = runner.invoke(app, ["track", str(work / "plan"), str(work / "bad-level.xlsx"), *PARTICLES])
    assert result.exit_code == 2, result.output
    cell = ws.cell(3, col["csat"]).coordinate
    text = " ".join(result.output.split())
    assert f"Actuals!{cell}" in text and "csat: expected a number, got 'about 72'" in text
