"""``cxopt init`` and ``convert``, and scenario workbooks at the CLI (issue 18): a bad cell is bad
input (exit 2) named ``FILE: Sheet!CELL: reason``, every problem at once; outputs are never
written over without ``--force``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from cxopt.cli import app
from cxopt.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def cxopt(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("init") / "scenario.xlsx"
    result = cxopt("init", path)
    assert result.exit_code == 0, result.output
    return path


def test_init_writes_a_workbook_template_that_validates(template):
    result = cxopt("validate", template)
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(template)
    assert wb.sheetnames == ["Scenario", "Customers", "Segments", "Market", "Metrics", "Pain points", "Delighters",
                             "Impacts", "Initiatives", "Effects", "Costs", "Budget", "Constraints", "Correlations"]
    for ws in wb.worksheets:
        assert ws.max_row >= 2, f"{ws.title}: an example row"
        assert any(c.comment for c in ws[1]), f"{ws.title}: header comments"
    kinds = {v.formula1 for v in wb["Effects"].data_validations.dataValidation}
    assert any("pert" in (k or "") for k in kinds)  # the distribution kinds are guarded


def test_init_toml_writes_the_same_scenario_commented(template, tmp_path):
    result = cxopt("init", tmp_path / "s.toml")
    assert result.exit_code == 0, result.output
    text = (tmp_path / "s.toml").read_text()
    assert text.count("\n# ") > 20
    lines = text.splitlines()
    for new in ("[metrics.nps]", "margin = ", "sponsor = ", "impacts = ", "savings = ", "months = ",
                "higher_is_better = "):
        at = next(i for i, line in enumerate(lines) if line.startswith(new))
        assert lines[at - 1].startswith("# "), f"{new}: commented"
    assert load_scenario(tmp_path / "s.toml").to_data() == load_scenario(template).to_data()


def test_init_never_overwrites_without_force(tmp_path):
    (tmp_path / "s.xlsx").write_text("mine")
    result = cxopt("init", tmp_path / "s.xlsx")
    assert result.exit_code == 2 and "already exists" in result.output
    assert (tmp_path / "s.xlsx").read_text() == "mine"
    assert cxopt("init", tmp_path / "s.xlsx", "--force").exit_code == 0
    assert list(tmp_path.iterdir()) == [tmp_path / "s.xlsx"]  # no temporary left


def test_init_refuses_another_format(tmp_path):
    result = cxopt("init", tmp_path / "s.csv")
    assert result.exit_code == 2 and "s.csv" in result.output and ".xlsx or .toml" in result.output


def test_convert_round_trips_a_bundled_scenario(tmp_path):
    source = ROOT / "scenarios" / "b2b_software.toml"
    assert cxopt("convert", source, "--out", tmp_path / "b.xlsx").exit_code == 0
    assert cxopt("convert", tmp_path / "b.xlsx", "--out", tmp_path / "b.toml").exit_code == 0
    assert load_scenario(tmp_path / "b.toml").to_data() == load_scenario(source).to_data()
    again = cxopt("convert", tmp_path / "b.xlsx", "--out", tmp_path / "b.toml")
    assert again.exit_code == 2 and "already exists" in again.output


def _field_row(ws, field: str) -> int:
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == field)


def _col(ws, name: str) -> int:
    return [c.value for c in ws[1]].index(name) + 1


@dataclass(frozen=True)
class SetCell:
    """Spoil one cell of a table sheet: ``row`` of the column headed ``column`` (a field of a key-value sheet
    when ``field`` is given: its row, column number ``column``)."""

    name: str
    sheet: str
    column: str | int
    value: object
    reason: str
    row: int = 2
    field: str | None = None

    def __call__(self, wb) -> tuple[str, str]:
        ws = wb[self.sheet]
        row = _field_row(ws, self.field) if self.field else self.row
        cell = ws.cell(row, self.column if isinstance(self.column, int) else _col(ws, self.column))
        cell.value = self.value
        return f"{self.sheet}!{cell.coordinate}", self.reason


wrong_type = SetCell("wrong_type", "Scenario", 2, "many", "expected a number", field="trials")
out_of_range = SetCell("out_of_range", "Initiatives", "success_probability", 1.5, "[0, 1]")
negative_cost = SetCell("negative_cost", "Costs", "amount", -10, ">= 0")
unknown_initiative = SetCell("unknown_initiative", "Costs", "initiative", "ghost", "unknown initiative 'ghost'", row=3)
unknown_driver = SetCell("unknown_driver", "Effects", "driver", "late_delivery", "late_delivery")
unknown_distribution = SetCell("unknown_distribution", "Market", 3, "gaussian", "unknown distribution 'gaussian'",
                               field="churn_multiplier")
formula_without_value = SetCell("formula_without_value", "Segments", "share", "=1-0.15", "formula")
margin_out_of_range = SetCell("margin_out_of_range", "Scenario", 2, 1.2, "(0, 1]", field="margin")
margin_zero = SetCell("margin_zero", "Scenario", 2, 0, "(0, 1]", field="margin")
higher_is_better_not_a_boolean = SetCell("higher_is_better_not_a_boolean", "Metrics", "higher_is_better", "mostly",
                                         "expected TRUE or FALSE", row=3)
metric_baseline_missing = SetCell("metric_baseline_missing", "Metrics", "baseline", None, "required, but missing")
metric_baseline_not_a_number = SetCell("metric_baseline_not_a_number", "Metrics", "baseline", "about 3",
                                       "expected a number", row=4)
metric_named_churn = SetCell("metric_named_churn", "Metrics", "metric", "churn", "other than 'churn'")
metric_name_empty = SetCell("metric_name_empty", "Metrics", "metric", None, "the metric's name")
impact_of_unknown_driver = SetCell("impact_of_unknown_driver", "Impacts", "driver", "ghost_pain",
                                   "unknown pain point or delighter 'ghost_pain'")
impact_not_a_number = SetCell("impact_not_a_number", "Impacts", "impact", "a lot", "expected a number")
negative_savings = SetCell("negative_savings", "Initiatives", "savings", -5, ">= 0")
savings_total_and_per_period = SetCell("savings_total_and_per_period", "Initiatives", "savings", 10,
                                       "savings.<period> columns, not both", row=3)
budget_month_not_a_month = SetCell("budget_month_not_a_month", "Budget", 2, "July", "expected a date",
                                   field="months.h2")
budget_month_outside_the_horizon = SetCell("budget_month_outside_the_horizon", "Budget", 2, "2029-07",
                                           "outside the horizon", field="months.h2")


# spoils that are not one cell's value


def missing_required_column(wb):
    ws = wb["Initiatives"]
    ws.delete_cols(_col(ws, "owner"))
    return "Initiatives!1:1", "missing required column 'owner'"


def unknown_column(wb):
    ws = wb["Delighters"]
    ws.cell(1, ws.max_column + 1).value = "reech"
    return f"Delighters!{ws.cell(1, ws.max_column).coordinate}", "unknown column 'reech'"


def empty_sheet(wb):
    ws = wb["Customers"]
    ws.delete_rows(2, ws.max_row)
    return "Customers!A2", "give either 'count'"


def metric_given_twice(wb):
    ws = wb["Metrics"]
    ws.cell(3, _col(ws, "metric")).value = ws.cell(2, _col(ws, "metric")).value
    return f"Metrics!{ws.cell(3, _col(ws, 'metric')).coordinate}", "given twice"


def savings_in_an_unknown_period(wb):
    ws = wb["Initiatives"]
    col = ws.max_column + 1
    ws.cell(1, col).value = "savings.h9"
    ws.cell(3, col).value = 10
    return f"Initiatives!{ws.cell(3, col).coordinate}", "not a budget period"


def budget_month_of_an_unknown_period(wb):
    ws = wb["Budget"]
    ws.cell(_field_row(ws, "months.h2"), 1).value = "months.h3"
    return f"Budget!A{_field_row(ws, 'months.h3')}", "not a budget period"


@pytest.mark.parametrize("spoil", [wrong_type, out_of_range, negative_cost, unknown_initiative, unknown_driver,
                                   unknown_distribution, missing_required_column, unknown_column, empty_sheet,
                                   formula_without_value, margin_out_of_range, margin_zero,
                                   higher_is_better_not_a_boolean, metric_baseline_missing,
                                   metric_baseline_not_a_number, metric_named_churn, metric_given_twice,
                                   metric_name_empty, impact_of_unknown_driver, impact_not_a_number, negative_savings,
                                   savings_in_an_unknown_period, savings_total_and_per_period,
                                   budget_month_not_a_month, budget_month_outside_the_horizon,
                                   budget_month_of_an_unknown_period], ids=lambda f: getattr(f, "name", None) or f.__name__)
def test_bad_cell_is_exit_2_naming_file_sheet_and_cell(spoil, template, tmp_path):
    wb = openpyxl.load_workbook(template)
    cell, reason = spoil(wb)
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    result = cxopt("validate", bad)
    assert result.exit_code == 2, result.output
    assert f"error: {bad}: {cell}: " in result.output
    line = next(x for x in result.output.splitlines() if f": {cell}: " in x)
    assert reason in line
    assert "Traceback" not in result.output


def test_every_bad_cell_is_reported_at_once(template, tmp_path):
    wb = openpyxl.load_workbook(template)
    cells = [f(wb)[0] for f in (wrong_type, out_of_range, unknown_initiative, margin_out_of_range,
                                higher_is_better_not_a_boolean, impact_of_unknown_driver, negative_savings,
                                budget_month_not_a_month)]
    wb.save(tmp_path / "bad.xlsx")
    result = cxopt("validate", tmp_path / "bad.xlsx")
    assert result.exit_code == 2
    for cell in cells:
        assert f": {cell}: " in result.output


def test_not_a_workbook_is_bad_input(tmp_path):
    (tmp_path / "s.xlsx").write_text("[scenario]\n")
    result = cxopt("validate", tmp_path / "s.xlsx")
    assert result.exit_code == 2 and "cannot read as an .xlsx workbook" in result.output
