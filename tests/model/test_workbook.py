"""The scenario workbook (issue 18): it holds everything a TOML scenario holds, reads cells
however they are typed, and names the cell of every problem.

Each bundled scenario -> xlsx -> toml gives the same validated scenario; text that looks like
a formula, a date or a number stays what it was; formulas read by their saved value or are
refused by cell.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

import cxopt

from cxopt.errors import ScenarioError
from cxopt.model.scenario import load_scenario
from cxopt.model.workbook_schema import EXAMPLE, SHEETS
from cxopt.report.workbook_scenario import convert_scenario, write_scenario_workbook, write_template

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = sorted((ROOT / "scenarios").glob("*.toml"))


def test_a_scenario_the_workbook_cannot_hold_is_refused_naming_the_fields(tmp_path, monkeypatch):
    """A field the scenario model has and the workbook schema does not (simulated: the writer's schema
    without the Scenario sheet's sponsor and the Metrics sheet) is refused, named, never lost."""
    from dataclasses import replace

    from cxopt.report import workbook_scenario

    def without(spec):
        if spec.name == "Scenario":
            return replace(spec, columns=tuple(c for c in spec.columns if c.name != "sponsor"))
        return spec

    monkeypatch.setattr(workbook_scenario, "SHEETS", tuple(without(s) for s in SHEETS if s.name != "Metrics"))
    source = tmp_path / "goal.toml"
    source.write_text((ROOT / "scenarios" / "article_goal.toml").read_text()
                      .replace('seed = 20261202', 'seed = 20261202\nsponsor = "COO"'))
    with pytest.raises(cxopt.ScenarioError) as info:
        convert_scenario(source, tmp_path / "s.xlsx")
    assert all(p.source == str(source) and "cannot hold this field yet" in p.reason for p in info.value.problems)
    assert {p.path for p in info.value.problems} == {"scenario.sponsor", "metrics.csat"}
    assert not (tmp_path / "s.xlsx").exists()


@pytest.mark.parametrize("toml", BUNDLED, ids=lambda p: p.stem)
def test_bundled_scenario_round_trips_through_a_workbook(toml, tmp_path):
    xlsx, back = tmp_path / "s.xlsx", tmp_path / "s.toml"
    convert_scenario(toml, xlsx)
    convert_scenario(xlsx, back)
    original = load_scenario(toml).to_data()
    assert load_scenario(xlsx).to_data() == original
    assert load_scenario(back).to_data() == original


def test_template_workbook_and_toml_template_hold_the_same_example(tmp_path):
    write_template(tmp_path / "t.xlsx")
    write_template(tmp_path / "t.toml")
    from_xlsx = load_scenario(tmp_path / "t.xlsx")
    assert from_xlsx.to_data() == load_scenario(tmp_path / "t.toml").to_data()
    assert [s.name for s in SHEETS] == openpyxl.load_workbook(tmp_path / "t.xlsx").sheetnames
    assert from_xlsx.name == EXAMPLE["scenario"]["name"]


def _example() -> dict:
    import copy

    return copy.deepcopy(EXAMPLE)


@pytest.fixture(scope="module")
def example_xlsx(tmp_path_factory) -> Path:
    """The template's example as a workbook, written once; tests edit copies of it."""
    path = tmp_path_factory.mktemp("example") / "example.xlsx"
    write_scenario_workbook(EXAMPLE, path)
    return path


def test_text_that_looks_like_a_formula_a_date_or_a_number_stays_text(tmp_path):
    names = ["=SUM(A1:A9)", "+44 support line", "-5 dB hold music", "@mentions", "2027-01", "0123"]
    data = _example()
    data["scenario"]["name"] = names[0]
    data["initiatives"][0]["name"], data["initiatives"][1]["name"] = names[1], names[2]
    data["initiatives"][0]["owner"], data["initiatives"][1]["owner"] = names[3], names[4]
    data["pain_points"][0]["name"] = names[5]
    write_scenario_workbook(data, tmp_path / "s.xlsx")
    sc = load_scenario(tmp_path / "s.xlsx")
    assert [sc.name, sc.initiatives[0].name, sc.initiatives[1].name, sc.initiatives[0].owner,
            sc.initiatives[1].owner, sc.pain_points[0].name] == names
    sheet = zipfile.ZipFile(tmp_path / "s.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # stored as text, not as a formula


def test_start_month_is_written_as_text_and_read_whatever_the_cell_type(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    ws = wb["Scenario"]
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "start")
    assert ws.cell(row, 2).value == "2027-01" and ws.cell(row, 2).data_type == "s"
    import datetime as dt

    ws.cell(row, 2).value = dt.datetime(2027, 1, 1)  # Excel turns a typed 2027-01 into a date
    wb.save(tmp_path / "d.xlsx")
    assert load_scenario(tmp_path / "d.xlsx").scenario.start == dt.date(2027, 1, 1)


def test_numbers_typed_as_text_read_as_numbers(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    ws = wb["Initiatives"]
    col = [c.value for c in ws[1]].index("success_probability") + 1
    ws.cell(2, col).value = "0.75"
    ws.cell(2, col).data_type = "s"
    wb.save(tmp_path / "t.xlsx")
    assert load_scenario(tmp_path / "t.xlsx").initiatives[0].success_probability == 0.75


def test_floats_that_need_17_digits_round_trip_exactly(tmp_path):
    data = _example()
    data["pain_points"][0]["volume"] = 0.30798400000000004
    write_scenario_workbook(data, tmp_path / "s.xlsx")
    assert load_scenario(tmp_path / "s.xlsx").pain_points[0].volume == 0.30798400000000004


_INITIATIVES = [s.name for s in SHEETS].index("Initiatives") + 1  # its part in the .xlsx archive


def _with_formula(tmp_path: Path, example: Path, saved: str | None) -> Path:
    """The example with Initiatives!E2 (success_probability) a formula, saved value or not."""
    wb = openpyxl.load_workbook(example)
    ws = wb["Initiatives"]
    assert ws["E1"].value == "success_probability"
    ws["E2"] = "=0.5+0.3"
    wb.save(tmp_path / "f.xlsx")
    if saved is None:
        return tmp_path / "f.xlsx"
    # what Excel does on save: the formula's result stored beside it
    src, out = zipfile.ZipFile(tmp_path / "f.xlsx"), tmp_path / "saved.xlsx"
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == f"xl/worksheets/sheet{_INITIATIVES}.xml":
                body = re.sub(rb"<f>0.5\+0.3</f><v\s*/>", b"<f>0.5+0.3</f><v>" + saved.encode() + b"</v>", body)
                assert saved.encode() in body
            z.writestr(item, body)
    return out


def test_formula_is_read_by_its_saved_value(tmp_path, example_xlsx):
    assert load_scenario(_with_formula(tmp_path, example_xlsx, "0.8")).initiatives[0].success_probability == 0.8


def test_formula_without_a_saved_value_is_refused_naming_the_cell(tmp_path, example_xlsx):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(_with_formula(tmp_path, example_xlsx, None))
    (problem,) = exc.value.problems
    assert problem.path == "Initiatives!E2" and "formula" in problem.reason


def test_every_problem_at_once_each_with_its_cell(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    wb["Initiatives"]["E2"] = "likely"  # not a number
    wb["Initiatives"]["E3"] = 1.5  # out of range: found by the scenario's validation
    wb["Initiatives"]["C3"] = None  # the owner is required
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "bad.xlsx")
    found = {p.path: p.reason for p in exc.value.problems}
    assert set(found) == {"Initiatives!E2", "Initiatives!E3", "Initiatives!C3"}
    assert "expected a number" in found["Initiatives!E2"]
    assert "[0, 1]" in found["Initiatives!E3"] and "initiatives[1].success_probability" in found["Initiatives!E3"]
    assert all(p.source == str(tmp_path / "bad.xlsx") for p in exc.value.problems)


def test_unknown_driver_in_effects_names_the_driver_cell(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    wb["Effects"]["B2"] = "late_delivery"
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "bad.xlsx")
    assert [(p.path, "late_delivery" in p.reason) for p in exc.value.problems] == [("Effects!B2", True)]


def test_sheet_names_with_spaces_are_quoted_as_excel_writes_them(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    ws = wb["Pain points"]
    col = [c.value for c in ws[1]].index("volume") + 1
    ws.cell(2, col).value = 1.4
    wb.save(tmp_path / "bad.xlsx")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "bad.xlsx")
    assert exc.value.problems[0].path == f"'Pain points'!{ws.cell(2, col).coordinate}"


def test_single_requirement_kept_as_a_list_round_trips(tmp_path):
    data = _example()
    data["constraints"] = {"requires": {"welcome_program": ["callback_sla"]}}
    data["constraints"]["exclusive"] = [["callback_sla", "welcome_program"]]
    data["constraints"]["must"] = []
    write_scenario_workbook(data, tmp_path / "s.xlsx")
    convert_scenario(tmp_path / "s.xlsx", tmp_path / "s.toml")
    sc = load_scenario(tmp_path / "s.xlsx")
    assert sc.constraints.requires == {"welcome_program": ["callback_sla"]}
    assert sc.to_data() == load_scenario(tmp_path / "s.toml").to_data()


# -- the fields issues 14 and 15 added: CX metric levels and impacts, margin, sponsor, savings, budget months
def _header(ws) -> dict[str, object]:
    return {c.value: c for c in ws[1]}


def _validations(ws) -> dict[str, object]:
    """Data validations by the first cell they cover."""
    return {str(v.sqref).split(":")[0].split()[0]: v for v in ws.data_validations.dataValidation}


def test_template_has_the_new_columns_explained_and_guarded(example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    metrics = _header(wb["Metrics"])
    assert list(metrics) == ["metric", "name", "baseline", "unit", "higher_is_better"]
    assert all(c.comment and c.comment.text for c in metrics.values())
    rule = _validations(wb["Metrics"])[f"{metrics['higher_is_better'].column_letter}2"]
    assert rule.type == "list" and rule.formula1 == '"TRUE,FALSE"'
    assert [r[4] for r in wb["Metrics"].iter_rows(min_row=2, values_only=True)] == [True, True, False]
    impacts = _header(wb["Impacts"])
    assert list(impacts) == ["driver", "metric", "impact"] and all(c.comment for c in impacts.values())
    init = _header(wb["Initiatives"])
    assert {"savings", "savings.h2"} <= set(init) and "savings" in init["savings"].comment.text
    assert _validations(wb["Initiatives"])[f"{init['savings'].column_letter}2"].formula1 == "0.0"
    scenario = {r[0].value: r for r in wb["Scenario"].iter_rows(min_row=2)}
    margin = scenario["margin"][1]
    rule = _validations(wb["Scenario"])[margin.coordinate]
    assert (rule.type, rule.operator, rule.formula1, rule.formula2) == ("decimal", "between", "0.0", "1.0")
    assert "margin" in scenario["margin"][-1].value and scenario["sponsor"][1].value == "Chief Customer Officer"
    budget = {r[0].value: r for r in wb["Budget"].iter_rows(min_row=2)}
    for period, month in (("h1", "2027-01"), ("h2", "2027-07")):
        cell = budget[f"months.{period}"][1]
        assert cell.value == month and cell.data_type == "s"  # a month label stays text


def test_template_holds_the_example_s_new_fields():
    """Checked against the example itself, field by field (not against another read of the workbook)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        write_template(Path(tmp) / "t.xlsx")
        sc = load_scenario(Path(tmp) / "t.xlsx")
    assert sc.scenario.margin == EXAMPLE["scenario"]["margin"]
    assert sc.scenario.sponsor == EXAMPLE["scenario"]["sponsor"]
    assert {k: v.model_dump() for k, v in sc.metrics.items()} == EXAMPLE["metrics"]
    assert sc.pain_points[0].impacts == EXAMPLE["pain_points"][0]["impacts"]
    assert sc.pain_points[0].metric_impacts() == {**EXAMPLE["pain_points"][0]["impacts"], "nps": -25.0}
    assert sc.delighters[0].metric_impacts() == {"csat": 0.3, "nps": 10.0}
    assert [k.savings for k in sc.initiatives] == [80_000.0, {"h2": 30_000.0}]
    assert {k: f"{v:%Y-%m}" for k, v in sc.budget.months.items()} == EXAMPLE["budget"]["months"]
    assert sc.period_month("h2") == 7


def test_every_field_the_model_has_is_a_column_or_a_sheet():
    """A field added to the scenario model without a place in the workbook fails here (and convert
    would refuse a scenario using it)."""
    from cxopt.model import scenario as model

    placed = {"Scenario": model.ScenarioMeta, "Customers": model.Customers, "Segments": model.Segment,
              "Market": model.Market, "Metrics": model.MetricLevel, "Pain points": model.PainPoint,
              "Delighters": model.Delighter, "Initiatives": model.Initiative, "Budget": model.Budget,
              "Correlations": model.Correlation}
    elsewhere = {"Customers": {"segments"}, "Pain points": {"impacts"}, "Delighters": {"impacts"},
                 "Initiatives": {"fixes", "metric"}, "Metrics": {"metric"}}  # other sheets, or the key column
    by_name = {s.name: s for s in SHEETS}
    for sheet, cls in placed.items():
        columns = {c.name for c in by_name[sheet].columns} - {"metric_unit", "metric_baseline", "metric_target"}
        fields = set(cls.model_fields) - {"source"}
        assert fields - elsewhere.get(sheet, set()) == columns - elsewhere.get(sheet, set()), sheet
    assert set(model.ProcessMetric.model_fields) == {"name", "unit", "baseline", "target"}
    assert set(model.Constraints.model_fields) == set(by_name["Constraints"].columns[0].choices)
    assert set(model.Scenario.model_fields) - {"source"} == {
        "scenario", "customers", "market", "pain_points", "delighters", "initiatives", "budget", "constraints",
        "correlations", "metrics"}


def test_higher_is_better_reads_typed_as_text_or_a_number(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    ws = wb["Metrics"]
    ws["E2"], ws["E3"], ws["E4"] = "false", 0, "True"
    wb.save(tmp_path / "t.xlsx")
    sc = load_scenario(tmp_path / "t.xlsx")
    assert [m.higher_is_better for m in sc.metrics.values()] == [False, False, True]


def test_a_workbook_from_cxopt_0_2_with_impacts_on_its_metrics_sheet_still_reads(tmp_path, example_xlsx):
    wb = openpyxl.load_workbook(example_xlsx)
    del wb["Metrics"]
    wb["Impacts"].title = "Metrics"  # 0.2 named the impacts sheet Metrics and had no metric levels
    wb.save(tmp_path / "old.xlsx")
    sc = load_scenario(tmp_path / "old.xlsx")
    assert sc.metrics == {} and sc.pain_points[0].impacts == {"csat": -0.4, "ces": 1.1}


def test_nps_as_an_impact_row_or_as_nps_impact_moves_the_same_metric(tmp_path):
    """``nps_impact`` is the model's alias of an ``nps`` impact; each form round-trips as written."""
    data = _example()
    data["pain_points"][0].pop("nps_impact")
    data["pain_points"][0]["impacts"] = {"nps": -25.0, "csat": -0.4, "ces": 1.1}
    write_scenario_workbook(data, tmp_path / "row.xlsx")
    write_scenario_workbook(_example(), tmp_path / "alias.xlsx")
    row, alias = load_scenario(tmp_path / "row.xlsx"), load_scenario(tmp_path / "alias.xlsx")
    assert row.pain_points[0].metric_impacts() == alias.pain_points[0].metric_impacts()
    assert row.pain_points[0].nps_impact is None and alias.pain_points[0].impacts == {"csat": -0.4, "ces": 1.1}
    convert_scenario(tmp_path / "row.xlsx", tmp_path / "row.toml")
    assert load_scenario(tmp_path / "row.toml").to_data() == row.to_data()


def test_convert_keeps_inputs_as_given_through_the_workbook(tmp_path):
    """Defaults a file writes (unit = "points", higher_is_better = true) stay written; a per-period
    saving and [budget.months] survive TOML -> xlsx -> TOML."""
    source = tmp_path / "goal.toml"
    text = (ROOT / "scenarios" / "article_goal.toml").read_text()
    text = text.replace('seed = 20261202', 'seed = 20261202\nmargin = 0.35\nsponsor = "Chief Operating Officer"')
    text = text.replace("total = 1_250_000", 'total = { y1 = 700_000, y2 = 550_000 }\nmonths = { y1 = "2027-01", '
                                            'y2 = "2027-07" }')
    text = text.replace("cost = 300_000", "cost = { y1 = 300_000 }\nsavings = { y2 = 120_000 }")
    for n in ("450_000", "200_000", "250_000", "900_000"):
        text = text.replace(f"cost = {n}", f"cost = {{ y1 = {n} }}\nsavings = 10_000")
    source.write_text(text)
    convert_scenario(source, tmp_path / "g.xlsx")
    convert_scenario(tmp_path / "g.xlsx", tmp_path / "g.toml")
    back = (tmp_path / "g.toml").read_text()
    assert "[metrics.csat]" in back and 'unit = "points"' in back and "higher_is_better = true" in back
    original = load_scenario(source).to_data()
    assert load_scenario(tmp_path / "g.toml").to_data() == original
    assert original["initiatives"][0]["savings"] == {"y2": 120_000.0} and original["budget"]["months"]["y2"] == "2027-07-01"


def test_an_empty_unit_given_is_kept_apart_from_a_unit_left_out(tmp_path):
    """A metric level whose unit is given empty (unitless) is not one left out (points): the cell holds ""."""
    data = _example()
    data["metrics"]["nps"]["unit"] = ""
    del data["metrics"]["csat"]["unit"]
    write_scenario_workbook(data, tmp_path / "s.xlsx")
    sc = load_scenario(tmp_path / "s.xlsx")
    assert (sc.metrics["nps"].unit, sc.metrics["csat"].unit) == ("", "points")
    convert_scenario(tmp_path / "s.xlsx", tmp_path / "s.toml")
    convert_scenario(tmp_path / "s.toml", tmp_path / "again.xlsx")
    assert load_scenario(tmp_path / "again.xlsx").to_data() == sc.to_data()


def test_the_workbook_doc_names_every_sheet_and_column():
    text = (ROOT / "docs" / "scenario-workbook.md").read_text()
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| `")}
    assert list(rows) == [f"`{s.name}`" for s in SHEETS]
    for s in SHEETS:
        for c in s.columns:
            assert f"`{c.name}" in rows[f"`{s.name}`"], (s.name, c.name)
