"""The Dask path (issue 8): identical numbers on one machine, on a cluster, and whatever the partitioning.

Same seed => the same group statistics, value tables and ``optimize --json`` numbers
(timings aside) from the single-machine path, from a 2-worker ``LocalCluster``, and from
bases written as 1, 4 or 16 Parquet files; the sampled path likewise. A worker killed in the
middle of a pass has its fragments recomputed and the result does not change. One
LocalCluster serves the module (``connect("local:2")`` caches it, so ``DaskExecutor("local:2")``
anywhere in the module reuses it).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the Dask path needs pip install 'cxopt[distributed]'")

import cxopt  # noqa: E402
from cxopt import distributed  # noqa: E402
from cxopt.bench.run import bench_scenario  # noqa: E402
from cxopt.data.customers import SYNTHETIC_BLOCK, CustomerBase, write_partitioned  # noqa: E402
from cxopt.plan.build import build_plan  # noqa: E402
from cxopt.errors import ArgumentError, DataError  # noqa: E402
from cxopt.model.scenario import load_scenario, parse_scenario  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT / "scenarios" / "bottom_up_article.toml"
N = 120_000  # two synthetic blocks and a bit: fragments cut inside and between blocks
SEED = 11
TRIALS = 150
PARTITIONS = (1, 4, 16)
GROUP_FIELDS = ("segment", "mask", "customers", "revenue", "revenue_churn", "churn")
TIMING_KEYS = {"seconds", "stage_seconds", "first_solve_seconds", "solve_seconds"}


def assert_same_groups(a, b) -> None:
    for name in GROUP_FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.max_churn == b.max_churn
    assert a.segments == b.segments and a.drivers == b.drivers


def assert_same_simulation(a, b) -> None:
    for name in ("baseline_revenue", "baseline_customers", "single_revenue", "single_customers", "pairs",
                 "pair_revenue", "pair_customers"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert_same_groups(a.groups, b.groups)


def without_timing(obj):
    if isinstance(obj, dict):
        return {k: without_timing(v) for k, v in obj.items() if k not in TIMING_KEYS}
    if isinstance(obj, list):
        return [without_timing(v) for v in obj]
    return obj


def plan_numbers(sim) -> dict:
    """What ``cxopt optimize --json`` prints (the plan's dict), timings aside."""
    return without_timing(build_plan(cxopt.optimize(sim)).to_dict())


@pytest.fixture(scope="module")
def client():
    c = distributed.connect("local:2")
    yield c
    distributed.shutdown()


@pytest.fixture(scope="module")
def article():
    return load_scenario(ARTICLE)


@pytest.fixture(scope="module")
def reference(article):
    """The single-machine run on a synthetic base: the numbers every other path must give."""
    sim = cxopt.simulate(article, CustomerBase.synthetic(article, n=N, seed=SEED), trials=TRIALS, seed=SEED)
    return sim, plan_numbers(sim)


@pytest.fixture(scope="module")
def partitioned(article, tmp_path_factory) -> dict[int, Path]:
    root = tmp_path_factory.mktemp("partitioned")
    base = CustomerBase.synthetic(article, n=N, seed=SEED)
    return {p: write_partitioned(base, root / f"p{p}", p, chunk_size=SYNTHETIC_BLOCK // 2)
            for p in PARTITIONS}


# --------------------------------------------------------------------------------------
# connecting
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec, expected", [
    ("local", ("local", distributed._cpu_count())),
    ("local:3", ("local", 3)),
    ("tcp://10.0.0.5:8786", ("address", "tcp://10.0.0.5:8786")),
    ("tls://scheduler:8786", ("address", "tls://scheduler:8786")),
    ("scheduler.example:8786", ("address", "tcp://scheduler.example:8786")),
])
def test_cluster_specs_are_parsed(spec, expected):
    assert distributed.parse_cluster(spec) == expected


def test_an_empty_cluster_spec_uses_the_environment(monkeypatch):
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://127.0.0.1:8786")
    assert distributed.parse_cluster("") == ("address", "tcp://127.0.0.1:8786")
    assert distributed.parse_cluster(None) == ("address", "tcp://127.0.0.1:8786")


@pytest.mark.parametrize("spec", ["local:0", "local:two", "nowhere", ""])
def test_a_bad_cluster_spec_is_an_argument_error_naming_the_parameter(spec, monkeypatch):
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    with pytest.raises(ArgumentError) as info:
        distributed.parse_cluster(spec)
    [problem] = info.value.problems
    assert (problem.source, problem.path) == ("", "cluster")


def test_without_dask_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ImportError, match=r"pip install 'cxopt\[distributed\]'"):
        distributed.connect("local:2")


def test_local_workers_split_the_cpus_between_their_numba_threads(client):
    threads = client.run(lambda: (distributed._worker_threads(), __import__("numba").get_num_threads())[1])
    assert len(threads) == 2
    assert set(threads.values()) == {max(1, distributed._cpu_count() // 2)}


# --------------------------------------------------------------------------------------
# grouping
# --------------------------------------------------------------------------------------
def test_grouping_on_the_cluster_equals_one_machine(article, client, reference):
    base = CustomerBase.synthetic(article, n=N, seed=SEED)
    groups = distributed.group_distributed(article, base, client, fragment_rows=SYNTHETIC_BLOCK // 3)
    assert_same_groups(groups, reference[0].groups)
    assert base.group() is groups  # cached on the base like base.group()


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_partitioned_bases_group_identically_on_one_machine_and_on_the_cluster(article, client, reference,
                                                                               partitioned, partitions):
    one = CustomerBase.from_file(article, partitioned[partitions]).group()
    base = CustomerBase.from_file(article, partitioned[partitions])
    many = distributed.group_distributed(article, base, client, fragment_rows=1)  # one fragment a row group
    assert_same_groups(one, reference[0].groups)
    assert_same_groups(many, reference[0].groups)


def _unsegmented() -> dict:
    return {
        "scenario": {"name": "no declared segments", "trials": 50, "seed": 3},
        "customers": {"path": "customers.parquet"},  # segments then come from the file
        "pain_points": [
            {"id": "billing", "volume": 0.3, "severity": {"dist": "uniform", "low": 0.02, "high": 0.1}},
            {"id": "outage", "volume": 0.2, "severity": 0.05},
        ],
        "initiatives": [{"id": "fix_billing", "owner": "Billing", "cost": 10, "fixes": {"billing": 0.5}}],
    }


def test_segments_found_in_the_files_are_ordered_by_name_as_on_one_machine(client, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    sc = parse_scenario(_unsegmented(), source="test")
    rng = np.random.default_rng(0)
    for part, names in enumerate((["zeta", "alpha"], ["mid", "zeta"])):  # first seen != sorted
        n = 2_000
        pq.write_table(pa.table({
            "customer_id": np.arange(part * n, (part + 1) * n, dtype=np.int64),
            "revenue": rng.lognormal(6, 0.5, n), "baseline_churn": rng.uniform(0, 0.2, n),
            "segment": rng.choice(names, n), "exposed_billing": rng.random(n) < 0.3,
            "exposed_outage": rng.random(n) < 0.2,
        }), tmp_path / f"part-{part}.parquet", row_group_size=500)
    one = CustomerBase.from_file(sc, tmp_path).group()
    base = CustomerBase.from_file(sc, tmp_path)
    many = distributed.group_distributed(sc, base, client, fragment_rows=1)
    assert one.segments == ("alpha", "mid", "zeta")
    assert_same_groups(many, one)
    # adopted by the base as base.group() would have recorded them
    assert base.cached_groups is many and base.segments == one.segments and base.n_customers == 4_000


def test_a_bad_row_read_on_a_worker_names_the_file_and_the_row(article, client, tmp_path):
    import pyarrow.parquet as pq

    source = write_partitioned(CustomerBase.synthetic(article, n=3_000, seed=SEED), tmp_path / "base", 1)
    path = source / "part-00000.parquet"
    table = pq.read_table(path)
    revenue = table.column("revenue").to_numpy().copy()
    revenue[1234] = -5.0
    pq.write_table(table.set_column(table.schema.get_field_index("revenue"), "revenue", [revenue]), path)
    with pytest.raises(DataError) as info:
        distributed.group_distributed(article, CustomerBase.from_file(article, source), client)
    [problem] = info.value.problems
    assert problem.source.endswith("part-00000.parquet") and problem.path == "revenue"
    assert "row 1235" in problem.reason and "negative revenue" in problem.reason


def test_the_same_base_twice_is_refused_on_the_cluster_as_on_one_machine(article, client, tmp_path):
    """Duplicate ids across fragments (no worker sees both) are found by the pass's id check."""
    import shutil

    source = write_partitioned(CustomerBase.synthetic(article, n=3_000, seed=SEED), tmp_path / "base", 1)
    shutil.copy(source / "part-00000.parquet", source / "part-00001.parquet")
    problems = []
    for group in (lambda b: b.group(), lambda b: distributed.group_distributed(article, b, client)):
        with pytest.raises(DataError) as info:
            group(CustomerBase.from_file(article, source))
        [problem] = info.value.problems
        problems.append((Path(problem.source).name, problem.path, problem.reason))
    assert problems[0] == problems[1]
    assert problems[1][:2] == ("part-00001.parquet", "customer_id") and "appears twice" in problems[1][2]


# --------------------------------------------------------------------------------------
# simulation and optimisation
# --------------------------------------------------------------------------------------
def test_simulate_on_the_cluster_equals_one_machine(article, client, reference):
    sim = cxopt.simulate(article, CustomerBase.synthetic(article, n=N, seed=SEED), trials=TRIALS, seed=SEED,
                         executor=distributed.DaskExecutor("local:2"))
    assert_same_simulation(sim, reference[0])
    assert plan_numbers(sim) == reference[1]


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_partitioned_bases_give_the_same_plan_on_one_machine_and_on_the_cluster(article, client, reference,
                                                                                partitioned, partitions):
    for cluster in (None, "local:2"):
        base = CustomerBase.from_file(article, partitioned[partitions])
        executor = None if cluster is None else distributed.DaskExecutor(cluster)
        sim = cxopt.simulate(article, base, trials=TRIALS, seed=SEED, executor=executor)
        assert_same_simulation(sim, reference[0])
        assert plan_numbers(sim) == reference[1]


def test_the_sampled_path_on_the_cluster_equals_one_machine(article, client, partitioned):
    n_trials = 12
    one = cxopt.simulate(article, CustomerBase.synthetic(article, n=N, seed=SEED), trials=n_trials, seed=SEED,
                         mode="sampled")
    synthetic = cxopt.simulate(article, CustomerBase.synthetic(article, n=N, seed=SEED), trials=n_trials,
                               seed=SEED, mode="sampled", executor=distributed.DaskExecutor("local:2"))
    assert_same_simulation(synthetic, one)
    base = CustomerBase.from_file(article, partitioned[4])
    groups = distributed.group_distributed(article, base, client)
    K = len(article.initiatives)
    portfolios = [[]] + [[k] for k in range(K)] + [list(map(int, p)) for p in one.pairs]
    # many small tasks: every file alone, trials cut in ranges
    rev, cust = distributed.evaluate_sampled_distributed(article, base, groups, one.draws, portfolios, client,
                                                         fragment_rows=1)
    assert np.array_equal(rev[0], one.baseline_revenue) and np.array_equal(cust[0], one.baseline_customers)
    assert np.array_equal(rev[1:1 + K], one.single_revenue)
    assert np.array_equal(rev[1 + K:], one.pair_revenue)


def test_sampled_tasks_cover_every_customer_and_trial_once(article, partitioned):
    base = CustomerBase.from_file(article, partitioned[4])
    tasks = distributed.plan_sampled_tasks(base, 10, workers=2, fragment_rows=1)
    cells = {(f.path, f.row_groups, t) for f, lo, hi in tasks for t in range(lo, hi)}
    assert len(cells) == sum(hi - lo for _, lo, hi in tasks)  # no overlap
    assert {t for _, _, t in cells} == set(range(10))
    assert sum(f.rows for f in {f for f, _, _ in tasks}) == N


# --------------------------------------------------------------------------------------
# a worker lost in the middle of a pass
# --------------------------------------------------------------------------------------
def _kill_a_worker_when_busy(client, killed: list[str], timeout: float = 60.0) -> threading.Thread:
    """From a thread: once a worker is running a task of the pass, kill its process (os._exit)."""

    def run() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [w for w, keys in client.processing().items() if any("fragment" in str(k) for k in keys)]
            if busy:
                time.sleep(0.3)  # let it get into the task
                killed.append(busy[0])
                try:
                    client.run(os._exit, 1, workers=[busy[0]])
                except Exception:  # noqa: BLE001 — the worker died before it could answer: the point
                    pass
                return
            time.sleep(0.02)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_worker_killed_mid_run_changes_nothing(client):
    sc = bench_scenario(1_500_000, initiatives=6, pains=6, delighters=1)
    expected = CustomerBase.synthetic(sc, n=1_500_000, seed=SEED).group()
    killed: list[str] = []
    thread = _kill_a_worker_when_busy(client, killed)
    groups = distributed.group_distributed(sc, CustomerBase.synthetic(sc, n=1_500_000, seed=SEED), client,
                                           fragment_rows=SYNTHETIC_BLOCK)  # 23 fragments
    thread.join()
    assert killed, "no worker was killed: the pass ended before any task started"
    assert killed[0] not in client.scheduler_info()["workers"]  # the process did die
    assert_same_groups(groups, expected)
    client.wait_for_workers(2, timeout=60)  # the nanny restarted it, for the tests that follow


# --------------------------------------------------------------------------------------
# the command line
# --------------------------------------------------------------------------------------
def _app():
    from cxopt.cli import app
    from cxopt.cli.bench import register

    if not any(c.name == "bench" for c in app.registered_commands):
        register(app)
    return app


def invoke(*args):
    from typer.testing import CliRunner

    return CliRunner().invoke(_app(), [str(a) for a in args], catch_exceptions=False)


def test_optimize_json_is_the_same_with_cluster_and_partitions(client, reference, partitioned):
    common = ["optimize", ARTICLE, "--trials", TRIALS, "--seed", SEED, "--json", "--quiet"]
    runs = [invoke(*common, "--customers", N, "--cluster", "local:2")]
    runs += [invoke(*common, "--base", partitioned[p], "--cluster", "local:2") for p in PARTITIONS]
    single = invoke(*common, "--customers", N)
    assert single.exit_code == 0, single.stderr
    for run in runs:
        assert run.exit_code == 0, run.stderr
        assert without_timing(json.loads(run.stdout)) == without_timing(json.loads(single.stdout))


def test_bench_prints_every_stage_and_reuses_its_base(client, tmp_path):
    args = ["bench", "--customers", 60_000, "--trials", 40, "--initiatives", 6, "--partitions", 3,
            "--sampled-customers", 5_000, "--base", tmp_path / "base", "--json", "--quiet"]
    first = invoke(*args)
    assert first.exit_code == 0, first.stderr
    data = json.loads(first.stdout)
    assert set(data["stages"]) == {"generate", "read", "group", "simulate", "optimize", "sampled"}
    assert data["customers"] == 60_000 and data["partitions"] == 3 and not data["base_reused"]
    assert data["ratios"]["group_to_read"] > 0 and data["ratios"]["sampled_kernel_to_reference"] > 0
    assert data["stages"]["sampled"]["max_relative_gap"] < 0.01  # same uniforms, same model
    again = invoke(*[a for a in args if a not in ("--customers", 60_000)], "--cluster", "local:2")
    assert again.exit_code == 0, again.stderr
    data2 = json.loads(again.stdout)
    assert data2["base_reused"] and "generate" not in data2["stages"] and data2["workers"] == 2
    assert data2["stages"]["group"]["groups"] == data["stages"]["group"]["groups"]
    assert data2["stages"]["optimize"]["selected"] == data["stages"]["optimize"]["selected"]


def test_bench_refuses_a_reused_base_of_another_size(tmp_path):
    synthetic = CustomerBase.synthetic(bench_scenario(5_000), n=5_000, seed=1)
    base = write_partitioned(synthetic, tmp_path / "b", 1)
    result = invoke("bench", "--customers", 6_000, "--base", base, "--quiet")
    assert result.exit_code == 2 and "5,000" in result.stderr and result.stdout == ""
