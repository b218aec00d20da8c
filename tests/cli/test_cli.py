"""The ``cxopt`` command (DESIGN.md section 5): what it prints, its exit codes, what it writes.

stdout carries the result only (``--json`` output must parse with nothing around it);
messages go to stderr; exit codes are 0 success, 2 bad input (naming the file, the field and
the reason, never a traceback), 3 infeasible, 1 anything else; the same seed gives the same
numbers whatever the thread count; nothing is overwritten without ``--force`` and no
temporary file is left behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from cxopt.cli import app
from tests import builders

CXOPT = Path(sys.executable).with_name("cxopt")
# the installed script, importing this checkout's cxopt (an editable install may point elsewhere)
PROCESS_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(builders.ROOT),
                                                                          os.environ.get("PYTHONPATH")]))}
SMALL_RUN = ["--customers", "3000", "--trials", "100", "--quiet"]
ARTICLE_RUN = ["--customers", "5000", "--trials", "200", "--quiet"]
TIMING_KEYS = {"seconds", "stage_seconds", "first_solve_seconds", "solve_seconds"}
BANDS = {"mean", "p10", "p50", "p90"}


def small_data(changes: dict | None = None) -> dict:
    """The builders' small scenario with a fourth initiative and a budget of 500 (of 750)."""
    data = builders.scenario({
        "scenario": {"name": "CLI test", "trials": 100, "seed": 42},
        "customers.count": 3_000,
        "initiatives[3]": builders.initiative("callback_team", {"long_hold": 0.2}, owner="Head of Contact Centre",
                                              cost=100),
        "budget.total": 500,
    })
    return builders.change(data, changes or {})


def invoke(*args: str | Path):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def assert_clean_error(result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    for n in needles:
        assert n in result.stderr, (n, result.stderr)


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    return builders.write(tmp_path_factory.mktemp("scenarios") / "small.toml", small_data())


@pytest.fixture(scope="module")
def infeasible(tmp_path_factory) -> Path:
    """Must-include over budget: first_call_fix and billing_portal cost 300 + 200 > 400."""
    data = small_data({"budget.total": 400, "constraints.must": ["first_call_fix", "billing_portal"]})
    return builders.write(tmp_path_factory.mktemp("scenarios") / "infeasible.toml", data)


@pytest.fixture(autouse=True, scope="module")
def restore_threads():
    yield
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


# --------------------------------------------------------------------------------------
# validate
# --------------------------------------------------------------------------------------
def test_validate_accepts_the_shipped_examples(bundled_scenario):
    result = invoke("validate", bundled_scenario)
    assert result.exit_code == 0, result.stderr
    assert "ok" in result.stderr
    assert result.stdout == ""


def test_validate_accepts_a_small_scenario(small):
    result = invoke("validate", small)
    assert result.exit_code == 0
    assert "4 initiatives" in result.stderr


def test_validate_reports_file_field_and_reason_without_a_traceback(tmp_path):
    bad = builders.write(tmp_path / "bad.toml",
                         small_data({"initiatives[0].cost": -300, "pain_points[1].volumme": 1}))
    result = invoke("validate", bad)
    assert_clean_error(result, 2, str(bad), "initiatives[0].cost", "pain_points[1].volumme", "unknown key")


def test_validate_reports_a_toml_syntax_error(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[scenario\nname = 1\n", encoding="utf-8")
    assert_clean_error(invoke("validate", bad), 2, str(bad), "TOML")


def test_validate_reports_a_missing_file(tmp_path):
    assert_clean_error(invoke("validate", tmp_path / "nowhere.toml"), 2, "nowhere.toml", "no such file")


def test_each_problem_is_reported_on_one_line(tmp_path):
    bad = builders.write(tmp_path / "a_scenario_file_with_a_rather_long_name.toml",
                         small_data({"constraints.must": ["no_such_initiative_anywhere"]}))
    result = invoke("validate", bad)
    assert result.exit_code == 2
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert str(bad) in lines[0] and "constraints.must[0]" in lines[0] and "unknown initiative" in lines[0]


# --------------------------------------------------------------------------------------
# risk and simulate
# --------------------------------------------------------------------------------------
def test_risk_json_reports_market_at_risk(article_path):
    result = invoke("risk", article_path, "--json", "--customers", "5000")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["customers"] == 5000
    assert isinstance(data["pain_points"], list) and len(data["pain_points"]) == 8
    assert {"id", "revenue_at_risk", "customers_lost"} <= set(data["pain_points"][0])
    mar = data["market_at_risk"]
    assert 0 < mar["customers"] < 1 and 0 < mar["revenue"] < 1


def test_simulate_json_keys(article_path):
    result = invoke("simulate", article_path, "--json", *ARTICLE_RUN)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data["baseline"]["retained_revenue"]) >= BANDS
    assert set(data["baseline"]["churn_rate"]) >= BANDS
    assert len(data["initiatives"]) == 12
    for kid, v in data["initiatives"].items():
        assert set(v["gain"]) >= BANDS, kid
    assert data["trials"] == 200 and data["customers"] == 5000 and data["mode"] == "grouped"
    assert isinstance(data["seconds"], float)


def test_simulate_same_seed_same_numbers(small):
    a = json.loads(invoke("simulate", small, "--json", "--seed", "9", *SMALL_RUN).stdout)
    b = json.loads(invoke("simulate", small, "--json", "--seed", "9", *SMALL_RUN).stdout)
    c = json.loads(invoke("simulate", small, "--json", "--seed", "10", *SMALL_RUN).stdout)
    assert without_timing(a) == without_timing(b)
    assert without_timing(a) != without_timing(c)


# --------------------------------------------------------------------------------------
# optimize
# --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def article_runs(article_path):
    """optimize --json on the article's scenario: one thread, two threads, two threads again."""
    out = {}
    for name, threads in (("one", "1"), ("two", "2"), ("again", "2")):
        result = invoke("optimize", article_path, "--json", "--seed", "5", "--threads", threads, *ARTICLE_RUN)
        assert result.exit_code == 0, result.stderr
        out[name] = json.loads(result.stdout)
    return out


def test_optimize_json_has_the_section_5_contract(article_runs):
    data = article_runs["two"]
    assert isinstance(data["selected"], list) and 1 <= len(data["selected"]) <= 5
    assert isinstance(data["total_cost"], float) and data["total_cost"] <= 1_500_000
    for part in ("baseline", "portfolio"):
        assert set(data[part]["retained_revenue"]) >= BANDS
        assert set(data[part]["churn_rate"]) >= BANDS
    assert set(data["market_at_risk"]) >= {"customers", "revenue"}
    assert set(data["contributions"]) == set(data["selected"])
    assert {"name", "status", "seconds"} <= set(data["solver"])
    assert data["solver"]["name"] in {"highs", "cbc"}
    assert data["solver"]["status"] in {"optimal", "feasible_not_proven"}
    assert data["portfolio"]["retained_revenue"]["mean"] > data["baseline"]["retained_revenue"]["mean"]
    assert data["portfolio"]["churn_rate"]["mean"] < data["baseline"]["churn_rate"]["mean"]


def test_optimize_contributions_add_up_to_the_gain(article_runs):
    data = article_runs["two"]
    gain = data["portfolio"]["retained_revenue"]["mean"] - data["baseline"]["retained_revenue"]["mean"]
    assert sum(data["contributions"].values()) == pytest.approx(gain, rel=1e-9)


def test_optimize_same_seed_gives_identical_json(article_runs):
    assert without_timing(article_runs["two"]) == without_timing(article_runs["again"])


def test_optimize_thread_count_does_not_change_the_numbers(article_runs):
    assert without_timing(article_runs["one"]) == without_timing(article_runs["two"])


def test_optimize_infeasible_exits_3_and_names_the_conflict(infeasible):
    result = invoke("optimize", infeasible, "--json", *SMALL_RUN)
    assert_clean_error(result, 3, "infeasible", "first_call_fix", "billing_portal", "budget")


def test_optimize_missing_file_exits_2(tmp_path):
    assert_clean_error(invoke("optimize", tmp_path / "missing.toml", "--json"), 2, "missing.toml")


@pytest.mark.parametrize("risk", ["cvar:2:0.5", "cvar:0.1", "tail:0.1:0.5"])
def test_optimize_bad_risk_exits_2(small, risk):
    assert_clean_error(invoke("optimize", small, "--json", "--risk", risk, *SMALL_RUN), 2, "--risk")


def test_optimize_customers_with_base_exits_2(small, tmp_path):
    base = tmp_path / "base.parquet"
    assert invoke("generate", small, "--customers", "100", "--out", base).exit_code == 0
    result = invoke("optimize", small, "--json", "--customers", "100", "--base", base)
    assert_clean_error(result, 2, "--customers", "--base")


def test_optimize_with_a_risk_objective(small):
    result = invoke("optimize", small, "--json", "--risk", "cvar:0.1:0.5", *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["solver"]["objective"] == "cvar:0.1:0.5"


def test_raising_the_focus_limit_warns_on_stderr_only(small):
    result = invoke("optimize", small, "--json", "--max-initiatives", "6", *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    json.loads(result.stdout)
    assert "warning" in result.stderr and "6" in result.stderr


def test_optimize_the_b2b_example(b2b_path):  # once a bug: it validated, then optimize exited 2
    result = invoke("optimize", b2b_path, "--json", "--customers", "2000", "--trials", "50", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert "renewal_notice" in json.loads(result.stdout)["selected"]  # a must-include


def test_optimize_json_in_a_real_process_is_pure_json(small):
    proc = subprocess.run([str(CXOPT), "optimize", str(small), "--json", "--customers", "3000", "--trials", "100"],
                          capture_output=True, text=True, timeout=120,
                          env={**PROCESS_ENV, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)  # nothing but the JSON on stdout (no solver chatter, no progress)
    assert data["selected"] and data["solver"]["name"] == "highs"
    assert "Traceback" not in proc.stderr


def test_bad_input_in_a_real_process_exits_2_without_a_traceback(tmp_path):
    bad = builders.write(tmp_path / "bad.toml", small_data({"initiatives[0].cost": -300}))
    proc = subprocess.run([str(CXOPT), "optimize", str(bad), "--json"], capture_output=True, text=True, timeout=120,
                          env=PROCESS_ENV)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "initiatives[0].cost" in proc.stderr and "Traceback" not in proc.stderr


# --------------------------------------------------------------------------------------
# outputs: generate and optimize --out
# --------------------------------------------------------------------------------------
def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


def test_generate_writes_a_parquet_base(small, tmp_path):
    out = tmp_path / "base.parquet"
    result = invoke("generate", small, "--customers", "2500", "--out", out, "--seed", "3")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    table = pq.read_table(out)
    assert table.num_rows == 2500
    assert {"customer_id", "revenue", "baseline_churn", "segment"} <= set(table.column_names)
    assert {"exposed_billing_error", "exposed_long_hold"} <= set(table.column_names)
    assert leftovers(tmp_path) == []


def test_generate_refuses_to_overwrite_without_force(small, tmp_path):
    out = tmp_path / "base.parquet"
    out.write_bytes(b"precious data")
    result = invoke("generate", small, "--customers", "100", "--out", out)
    assert_clean_error(result, 2, str(out), "--force")
    assert out.read_bytes() == b"precious data"
    assert leftovers(tmp_path) == []
    result = invoke("generate", small, "--customers", "100", "--out", out, "--force")
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).num_rows == 100
    assert leftovers(tmp_path) == []


def test_simulate_out_refuses_to_overwrite_without_force(small, tmp_path):
    out = tmp_path / "trials.parquet"
    out.write_bytes(b"precious data")
    result = invoke("simulate", small, *SMALL_RUN, "--out", out)
    assert_clean_error(result, 2, str(out), "--force")
    assert out.read_bytes() == b"precious data"
    result = invoke("simulate", small, *SMALL_RUN, "--out", out, "--force")
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).num_rows == 100
    assert leftovers(tmp_path) == []


def test_an_output_path_that_is_a_directory_is_bad_input(small, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    result = invoke("simulate", small, *SMALL_RUN, "--out", folder, "--force")
    assert_clean_error(result, 2, str(folder), "directory")
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_generated_base_is_usable(small, tmp_path):
    out = tmp_path / "base.parquet"
    assert invoke("generate", small, "--customers", "2000", "--out", out).exit_code == 0
    result = invoke("optimize", small, "--json", "--base", out, "--trials", "50", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["customers"] == 2000


def test_optimize_out_writes_the_plan_directory(small, tmp_path):
    out = tmp_path / "plan"
    result = invoke("optimize", small, "--out", out, "--json", *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    printed = json.loads(result.stdout)
    assert {"plan.json", "trials.parquet"} <= {p.name for p in out.iterdir()}
    plan = json.loads((out / "plan.json").read_text())
    assert plan["selected"] == printed["selected"]
    assert plan["contributions"] == printed["contributions"]
    assert pq.read_table(out / "trials.parquet").num_rows == 100
    assert leftovers(tmp_path) == []


def test_optimize_out_refuses_an_existing_directory_without_force(small, tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = invoke("optimize", small, "--out", out, "--json", *SMALL_RUN)
    assert_clean_error(result, 2, str(out), "--force")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    # issue 16: --force replaces only a plan directory cxopt wrote, never someone's files
    result = invoke("optimize", small, "--out", out, "--force", "--json", *SMALL_RUN)
    assert_clean_error(result, 2, str(out), "plan")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------------------
# frontier
# --------------------------------------------------------------------------------------
def test_frontier_json_rows(small):
    result = invoke("frontier", small, "--budgets", "0:600:4", "--json", *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["frontier"]
    assert [r["budget"] for r in rows] == [0.0, 200.0, 400.0, 600.0]
    assert all(r["feasible"] for r in rows)
    assert rows[0]["selected"] == []
    for r in rows:
        assert r["total_cost"] <= r["budget"]
    gains = [r["gain"] for r in rows]
    assert all(b >= a for a, b in zip(gains, gains[1:])), gains


def test_frontier_marks_infeasible_budgets(infeasible):
    result = invoke("frontier", infeasible, "--budgets", "0:1000:3", "--json", *SMALL_RUN)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)["frontier"]
    assert [r["feasible"] for r in rows] == [False, True, True]
    assert set(rows[1]["selected"]) >= {"first_call_fix", "billing_portal"}


@pytest.mark.parametrize("budgets", ["abc", "600:0:4", "0:600", "0:600:0", "-5:10:2"])
def test_frontier_bad_budgets_exit_2(small, budgets):
    assert_clean_error(invoke("frontier", small, "--budgets", budgets, "--json"), 2, "--budgets")
