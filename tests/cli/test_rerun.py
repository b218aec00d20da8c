"""A re-run of ``cxopt optimize`` on an unchanged file base (issue 17 item 5), as a planner runs it:
separate processes sharing a cache directory. The second run prints what the first printed, and
what ``--no-cache`` computes afresh, to the bit (timings aside); it reads every table, so it never
imports numba or scipy.stats (two thirds of a second of the 2 s target); an edited initiative
gives the fresh run's numbers too."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cxopt
from cxopt.engine.store import TableStore
from tests import builders
from tests.cli.test_cli import PROCESS_ENV, without_timing

RUN = r"""
import runpy, sys
sys.argv = ["cxopt"] + sys.argv[1:]
try:
    runpy.run_module("cxopt", run_name="__main__")
except SystemExit as exc:
    if exc.code:
        raise
finally:
    print("LOADED", *(name for name in ("numba", "scipy.stats") if name in sys.modules), file=sys.stderr)
"""


def optimize(scenario, cache, *extra) -> tuple[dict, list[str]]:
    done = subprocess.run([sys.executable, "-c", RUN, "optimize", str(scenario), "--json", "--quiet", *extra],
                          capture_output=True, text=True, env={**PROCESS_ENV, "CXOPT_CACHE_DIR": str(cache)})
    assert done.returncode == 0, done.stderr
    loaded = [line for line in done.stderr.splitlines() if line.startswith("LOADED")][-1].split()[1:]
    return without_timing(json.loads(done.stdout)), loaded


def test_the_second_run_computes_nothing_and_prints_the_same(tmp_path):
    data = builders.scenario({"scenario.trials": 200, "budget": {"total": 500}})
    sc = cxopt.parse_scenario(data, source="rerun")
    cxopt.CustomerBase.synthetic(sc, n=3_000, seed=1).write_parquet(tmp_path / "base.parquet")
    data["customers"] = {**{k: v for k, v in data["customers"].items() if k != "count"}, "path": "base.parquet"}
    scenario = builders.write(tmp_path / "scenario.toml", data)
    cache = tmp_path / "cache"
    first, _ = optimize(scenario, cache)
    assert any((cache / "tables").iterdir())
    second, loaded = optimize(scenario, cache)
    assert second == first
    assert loaded == []  # no kernel ran, no scipy.stats summary was taken
    fresh, _ = optimize(scenario, cache, "--no-cache")
    assert fresh == first
    # an edit: the edited initiative's tables are computed, the others read, the numbers the fresh run's
    data["initiatives"][1]["success_probability"] = 0.6
    builders.write(scenario, data)
    edited, _ = optimize(scenario, cache)
    assert edited == optimize(scenario, cache, "--no-cache")[0]
    assert edited != first
    assert os.environ.get("CXOPT_CACHE_DIR") != str(cache)  # the user's (the suite's) cache untouched


def test_a_cache_cap_that_is_not_a_number_is_refused_naming_it(tmp_path, monkeypatch):
    """A planner's typo in CXOPT_CACHE_MAX_BYTES: exit 2 naming the variable and the reason, before any
    work, nothing written (no plan directory, no cache)."""
    from typer.testing import CliRunner

    from cxopt.cli.app import app

    data = builders.scenario({"scenario.trials": 20})
    sc = cxopt.parse_scenario(data, source="cap")
    cxopt.CustomerBase.synthetic(sc, n=500, seed=1).write_parquet(tmp_path / "base.parquet")
    scenario = builders.write(tmp_path / "scenario.toml", data)
    monkeypatch.setenv("CXOPT_CACHE_DIR", str(tmp_path / "cache"))
    for bad in ("2GB", "-1", "1.5e9"):
        monkeypatch.setenv("CXOPT_CACHE_MAX_BYTES", bad)
        result = CliRunner().invoke(app, ["optimize", str(scenario), "--base", str(tmp_path / "base.parquet"),
                                          "--quiet", "--out", str(tmp_path / "plan")])
        assert result.exit_code == 2, result.output
        assert "CXOPT_CACHE_MAX_BYTES" in result.output and repr(bad) in result.output
        assert "Traceback" not in result.output
        assert not (tmp_path / "plan").exists() and not (tmp_path / "cache").exists()
    monkeypatch.setenv("CXOPT_CACHE_MAX_BYTES", " 1000000 ")
    assert TableStore(tmp_path / "t").max_bytes == 1_000_000
