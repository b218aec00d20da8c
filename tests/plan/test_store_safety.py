"""A plan directory edited by hand, truncated or mismatched: every case is a PlanFileError (or the
scenario's own error) naming the file and the field or column, never a bare KeyError or
ArrowInvalid; and from the CLI, exit 2 with the file named (issue 16)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import cxopt
from cxopt.cli.app import app
from cxopt.plan.build import build_plan
from cxopt.plan.store import load_plan
from cxopt.report.plandir import save_plan
from tests import builders

try:
    from typer.testing import CliRunner
except ImportError:  # pragma: no cover
    CliRunner = None


@pytest.fixture(scope="module")
def plan_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("store")
    sc = cxopt.load_scenario(builders.write(root / "scenario.toml", builders.scenario({"scenario.trials": 60})))
    sim = cxopt.simulate(sc, cxopt.CustomerBase.synthetic(sc, n=3000), seed=5)
    return save_plan(build_plan(cxopt.optimize(sim), binding=False), root / "plan")


@pytest.fixture
def copy(plan_dir, tmp_path) -> Path:
    return Path(shutil.copytree(plan_dir, tmp_path / "plan"))


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def drop(key):
    return lambda d: d.pop(key)


def setitem(key, value):
    def f(d):
        d[key] = value
    return f


def set_goal(key, value):
    def f(d):
        d["goal"][key] = value
    return f


PLAN_EDITS = [
    ("selected", drop("selected")),
    ("selected", setitem("selected", "crm")),
    ("selected[0]", setitem("selected", ["no_such_initiative"])),
    ("seed", setitem("seed", "x")),
    ("goal", drop("goal")),
    ("goal.target", set_goal("target", None)),
    ("goal.target", set_goal("target", "0.2")),
    ("goal.confidence", set_goal("confidence", 2)),
    ("actions", setitem("actions", [{"owner": "x"}])),
]


@pytest.mark.parametrize("field,change", PLAN_EDITS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(PLAN_EDITS)])
def test_edited_plan_json_names_the_field(copy, field, change):
    edit_json(copy / "plan.json", change)
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    problem = info.value.problems[0]
    assert problem.source.endswith("plan.json") and problem.path == field


@pytest.mark.parametrize("name", ["plan.json", "scenario.json"])
@pytest.mark.parametrize("text", ["[1, 2]", "{not json", "\xff\xfe"])
def test_unreadable_json_names_the_file(copy, name, text):
    (copy / name).write_bytes(text.encode("latin-1"))
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].source.endswith(name)


def test_scenario_json_that_no_longer_validates_names_it(copy):
    edit_json(copy / "scenario.json", lambda d: d["scenario"].__setitem__("horizon_months", -3))
    with pytest.raises(cxopt.BadInputError) as info:
        load_plan(copy)
    assert any(p.source.endswith("scenario.json") for p in info.value.problems)


def test_scenario_json_with_an_added_initiative_does_not_match_the_trials(copy):
    def add(d):
        extra = json.loads(json.dumps(d["initiatives"][0]))
        extra["id"] = "added_later"
        d["initiatives"].append(extra)
    edit_json(copy / "scenario.json", add)
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    p = info.value.problems[0]
    assert p.source.endswith("trials.parquet") and "added_later" in p.path


@pytest.mark.parametrize("name", ["trials.parquet", "groups.parquet"])
@pytest.mark.parametrize("keep", [0, 100, 0.5])
def test_truncated_parquet_names_the_file(copy, name, keep):
    raw = (copy / name).read_bytes()
    n = int(len(raw) * keep) if isinstance(keep, float) else keep
    (copy / name).write_bytes(raw[:n])
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].source.endswith(name)


def test_trials_parquet_missing_a_column_names_it(copy):
    t = pq.read_table(copy / "trials.parquet")
    pq.write_table(t.drop(["market_multiplier"]), copy / "trials.parquet")
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].path == "market_multiplier"


def test_trials_parquet_with_text_or_nan_names_the_column(copy):
    import pyarrow as pa

    t = pq.read_table(copy / "trials.parquet")
    i = t.column_names.index("market_multiplier")
    bad = pa.array([float("nan")] + [1.0] * (t.num_rows - 1))
    pq.write_table(t.set_column(i, "market_multiplier", bad), copy / "trials.parquet")
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].path == "market_multiplier"
    pq.write_table(t.set_column(i, "market_multiplier", pa.array(["x"] * t.num_rows)), copy / "trials.parquet")
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].path == "market_multiplier"


def test_trials_count_that_disagrees_with_plan_json(copy):
    t = pq.read_table(copy / "trials.parquet")
    pq.write_table(t.slice(0, t.num_rows - 1), copy / "trials.parquet")
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert "trials" in info.value.problems[0].reason


def test_groups_parquet_without_metadata_or_other_drivers(copy):
    t = pq.read_table(copy / "groups.parquet")
    pq.write_table(t.replace_schema_metadata(None), copy / "groups.parquet")
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].path == "metadata"
    meta = dict(t.schema.metadata)
    meta[b"cxopt.drivers"] = json.dumps(["other"]).encode()
    pq.write_table(t.replace_schema_metadata(meta), copy / "groups.parquet")
    with pytest.raises(cxopt.PlanFileError) as info:
        load_plan(copy)
    assert info.value.problems[0].path == "metadata.drivers"


def test_the_untouched_copy_still_loads(copy, plan_dir):
    assert load_plan(copy).selected == load_plan(plan_dir).selected


@pytest.mark.skipif(CliRunner is None, reason="typer absent")
@pytest.mark.parametrize("command", ["track", "replan"])
def test_cli_exit_2_naming_the_file(copy, tmp_path, command):
    raw = (copy / "trials.parquet").read_bytes()
    (copy / "trials.parquet").write_bytes(raw[: len(raw) // 2])
    actuals = tmp_path / "actuals.csv"
    actuals.write_text("month,customers_lost\n1,10\n")
    result = CliRunner().invoke(app, [command, str(copy), str(actuals), "--json"])
    assert result.exit_code == 2, result.output
    assert "trials.parquet" in result.output
    assert "Traceback" not in result.output
