"""Measured CX levels in the terminal, the tracking workbook and the actuals template (issue 14).

The tracking JSON's ``levels`` section (``tracking.levels``) is the one source: the terminal's
table per declared metric and the tracking workbook's ``Levels`` sheet and ``Summary`` rows are
checked cell by cell against it. The template's ``planned csat`` column is the plan's level that
month on the plan's trials: checked against the tracking JSON's ``planned`` band (the same
function on the same trials), against plan.json's level in the horizon's last month, and against
the closed form before anything can be live (today's level). A filled template reads back as the
same actuals as the CSV.

The article's goal scenario (``[metrics.csat]``, 72 today) on 3,000 customers and 200 trials.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from rich.console import Console

import cxopt
from cxopt.report.terminal import print_tracking
from cxopt.report.workbook_plan import actuals_template, planned_levels
from cxopt.report.workbook_tracking import tracking_workbook
from cxopt.tracking.track import track

ROOT = Path(__file__).resolve().parents[2]
PARTICLES = 200
LEVELS = {2: 72.4, 4: 74.123456789012, 5: 75}  # measured CSAT, months 2, 4, 5


def close(a: float, b: float) -> bool:
    """Equal to the 16 significant digits an .xlsx file stores."""
    return abs(a - b) <= 1e-15 * max(1.0, abs(b))


class Goal:
    """The article's goal plan, saved and read back, and actuals with a CSAT column (CSV)."""

    def __init__(self, root: Path):
        sc = cxopt.load_scenario(ROOT / "scenarios" / "article_goal.toml")
        sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=3_000, seed=11), trials=200, seed=5)
        self.plan = cxopt.build_plan(cxopt.optimize(sim), explain=False, binding=False)
        self.dir = cxopt.save_plan(self.plan, root / "plan")
        self.data = json.loads((self.dir / "plan.json").read_text())
        self.lost = [round(x["p50"]) for x in self.data["monthly_forecast"]["customers_lost"]]
        rows = ["month,customers_lost,csat"]
        rows += [f"2027-{m:02d},{self.lost[m - 1]},{LEVELS.get(m, '')}" for m in range(1, 6)]
        self.csv = root / "actuals.csv"
        self.csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
        self.result = track(self.dir, self.csv, particles=PARTICLES).to_dict()
        self.root = root


@pytest.fixture(scope="module")
def goal(tmp_path_factory) -> Goal:
    return Goal(tmp_path_factory.mktemp("levels-output"))


def rows(ws) -> list[dict]:
    head = [c.value for c in ws[1]]
    return [dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)]


def terminal(data: dict) -> str:
    out = io.StringIO()
    print_tracking(data, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def level_table(text: str, title: str) -> list[list[str]]:
    """The body rows of the table under ``title``: its cells, stripped."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == title)
    body = []
    for line in lines[start + 4:]:  # title, top rule, header, header rule
        if not line.startswith("│"):
            break
        body.append([c.strip() for c in line.strip("│").split("│")])
    return body


def two(x: float) -> str:
    return f"{x:,.2f}"


def test_the_json_carries_the_measured_levels(goal):
    lv = goal.result["levels"]["csat"]
    assert [m["measured"] for m in lv["months"][:6]] == [None, 72.4, None, 74.123456789012, 75.0, None]


def test_terminal_shows_a_table_per_metric_as_in_the_json(goal):
    text = terminal(goal.result)
    lv = goal.result["levels"]["csat"]
    body = level_table(text, "CSAT month by month (points)")
    assert len(body) == len(lv["months"]) == 12
    for cells, m in zip(body, lv["months"]):
        f = m["forecast"]
        assert cells == [str(m["month"]), "" if m["measured"] is None else two(m["measured"]), two(f["p50"]),
                         f"{two(f['p10'])} – {two(f['p90'])}", two(m["planned"]["p50"])]
    rf, pl = lv["reforecast"], lv["planned"]
    flat = " ".join(text.split())
    assert (f"re-forecast {two(rf['p50'])} (P10 – P90 {two(rf['p10'])} – {two(rf['p90'])}), planned "
            f"{two(pl['p50'])} (P10 – P90 {two(pl['p10'])} – {two(pl['p90'])})") in flat
    # the table sits between the months' table and the initiatives'
    assert text.index("Month by month: customers lost") < text.index("CSAT month by month") < text.index("Initiatives")


def test_terminal_prints_metric_names_as_text_never_markup(goal):
    data = copy.deepcopy(goal.result)
    data["levels"]["csat"]["label"] = "CSAT [bold]x[/bold] [/]"
    data["levels"]["csat"]["unit"] = "pts [red]"
    text = terminal(data)
    assert "CSAT [bold]x[/bold] [/] month by month (pts [red])" in text
    assert "CSAT [bold]x[/bold] [/] (pts [red]): today 72.00" in " ".join(text.split())


def test_terminal_without_levels_has_no_level_table(goal):
    data = {k: v for k, v in goal.result.items() if k != "levels"}
    assert "month by month (" not in terminal(data)


def test_tracking_workbook_levels_are_the_jsons(goal, tmp_path):
    tracking_workbook(goal.result).save(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "t.xlsx")
    assert wb.sheetnames == ["Summary", "Months", "Levels", "Initiatives", "Metrics", "Wins"]
    lv = goal.result["levels"]["csat"]
    table = rows(wb["Levels"])
    assert [(r["metric"], r["label"], r["month"], r["month label"]) for r in table] == \
        [("csat", "CSAT", m, f"2027-{m:02d}") for m in range(1, 13)]
    for r, m in zip(table, lv["months"]):
        assert r["measured"] == m["measured"]
        for k in ("mean", "p10", "p50", "p90"):
            name = "mean" if k == "mean" else k.upper()
            assert close(r[f"forecast {name}"], m["forecast"][k]) and close(r[f"planned {name}"], m["planned"][k])
    summary = {r["Item"]: r["Value"] for r in rows(wb["Summary"])}
    assert summary["CSAT level (points) today"] == lv["today"] == 72.0
    for k in ("mean", "p10", "p50", "p90"):
        name = "mean" if k == "mean" else k.upper()
        assert close(summary[f"CSAT level (points), horizon's last month, now {name}"], lv["reforecast"][k])
        assert close(summary[f"CSAT level (points), horizon's last month, planned {name}"], lv["planned"][k])


def test_tracking_workbook_without_levels_has_no_levels_sheet(goal, tmp_path):
    data = {k: v for k, v in goal.result.items() if k != "levels"}
    tracking_workbook(data).save(tmp_path / "t.xlsx")
    assert "Levels" not in openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames


def test_planned_levels_are_trackings_planned_band_and_the_plans_level(goal):
    sim = goal.plan.simulation
    planned = planned_levels(sim, goal.plan.result.selected)
    assert list(planned) == ["csat"]
    months = goal.result["levels"]["csat"]["months"]
    assert len(planned["csat"]) == 12
    for p, m in zip(planned["csat"], months):
        for k in ("mean", "p10", "p50", "p90"):
            assert abs(p[k] - m["planned"][k]) <= 1e-12 * abs(m["planned"][k])
    # the horizon's last month is plan.json's portfolio level
    assert planned["csat"][-1] == pytest.approx(goal.data["metrics"]["csat"]["portfolio"], rel=1e-12)
    # closed form: in a month no initiative can be live in any trial, the level is today's
    golive = sim.draws.golive[:, list(goal.plan.result.selected)]
    for m in range(12):
        if not np.any(golive <= m):
            assert planned["csat"][m] == {"mean": 72.0, "p10": 72.0, "p50": 72.0, "p90": 72.0}
    assert not np.any(golive <= 0)  # the check above ran at least for month 1


def test_template_has_the_level_column_its_comment_validation_and_planned_level(goal):
    wb = openpyxl.load_workbook(goal.dir / "actuals-template.xlsx")
    ws = wb["Actuals"]
    head = [c.value for c in ws[1]]
    j = head.index("csat") + 1
    assert head[j] == "planned csat"  # the planned level beside it
    about = ws.cell(1, j).comment.text
    assert "level measured this month" in about and "CSAT" in about and "blank if not measured" in about
    assert "ignored when read" in ws.cell(1, j + 1).comment.text
    letter = ws.cell(1, j).column_letter
    numbers = [dv for dv in ws.data_validations.dataValidation if str(dv.sqref) == f"{letter}2:{letter}13"]
    assert len(numbers) == 1 and numbers[0].type == "decimal" and numbers[0].showErrorMessage
    assert float(numbers[0].formula1) < -1e100  # a negative level (an NPS) is a level
    months = goal.result["levels"]["csat"]["months"]
    for m, r in enumerate(rows(ws)):
        assert r["csat"] is None
        assert close(r["planned csat"], months[m]["planned"]["p50"])
        assert ws.cell(m + 2, j + 1).number_format == "#,##0.00"
    assert "csat" in " ".join(str(c.value) for c in wb["Read me"]["A"])


def test_template_from_plan_json_alone_has_the_column_without_planned(goal, tmp_path):
    actuals_template(goal.data).save(tmp_path / "a.xlsx")
    head = [c.value for c in openpyxl.load_workbook(tmp_path / "a.xlsx")["Actuals"][1]]
    assert "csat" in head and "planned csat" not in head
    undeclared = copy.deepcopy(goal.data)
    undeclared["metrics"]["csat"]["today"] = None  # named in impacts only: no level to measure against
    actuals_template(undeclared).save(tmp_path / "b.xlsx")
    assert "csat" not in [c.value for c in openpyxl.load_workbook(tmp_path / "b.xlsx")["Actuals"][1]]


def test_filled_template_tracks_identically_to_the_same_actuals_as_csv(goal):
    wb = openpyxl.load_workbook(goal.dir / "actuals-template.xlsx")
    ws = wb["Actuals"]
    col = {c.value: c.column for c in ws[1]}
    for m in range(1, 6):
        ws.cell(m + 1, col["customers_lost"]).value = goal.lost[m - 1]
        if m in LEVELS:
            ws.cell(m + 1, col["csat"]).value = LEVELS[m]
    wb.save(goal.root / "filled.xlsx")
    assert track(goal.dir, goal.root / "filled.xlsx", particles=PARTICLES).to_dict() == goal.result
