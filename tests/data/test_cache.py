"""A re-run skips the base (cxopt.data.cache): the second pass over an unchanged file base reads
nothing, and any change to the file, the drivers or the segments is a new key."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cxopt.data import cache
from cxopt.data.customers import CustomerBase
from tests.data.test_customers import assert_same_groups, make_scenario


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("CXOPT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def write_base(path, sc, n=2_000, seed=1):
    rng = np.random.default_rng(seed)
    pq.write_table(pa.table({
        "customer_id": np.arange(n, dtype=np.int64), "revenue": rng.lognormal(6, 0.5, n),
        "baseline_churn": rng.uniform(0, 0.2, n), "segment": rng.choice(["a", "b"], n),
        **{f"exposed_{d}": rng.random(n) < 0.3 for d in sc.driver_ids},
    }), path, row_group_size=500)


def no_reading(*_, **__):
    raise AssertionError("the base was read")


@pytest.fixture
def file_base(tmp_path):
    sc = make_scenario(segments=False, path="customers.parquet")
    path = tmp_path / "customers.parquet"
    write_base(path, sc)
    return sc, path


def test_the_second_run_does_not_read_the_base(file_base, monkeypatch):
    sc, path = file_base
    first = CustomerBase.from_file(sc, path).group()
    again = CustomerBase.from_file(sc, path)
    monkeypatch.setattr(again, "iter_chunks", no_reading)
    monkeypatch.setattr("cxopt.data.base.iter_batches", no_reading)
    assert_same_groups(again.group(), first)
    assert again.segments == first.segments and again.n_customers == first.n_customers


def test_a_changed_file_invalidates(file_base):
    sc, path = file_base
    first = CustomerBase.from_file(sc, path).group()
    write_base(path, sc, n=2_500, seed=2)
    os.utime(path, ns=(1, 1))  # even with an old modification time the content fingerprint differs
    changed = CustomerBase.from_file(sc, path).group()
    assert changed.n_customers == 2_500 != first.n_customers


def test_other_drivers_or_segments_are_another_key(file_base):
    _, path = file_base
    key = cache.cache_key([path], ["a", "b"], ["x"])
    assert key != cache.cache_key([path], ["a"], ["x"])
    assert key != cache.cache_key([path], ["a", "b"], ["y"])


def test_no_cache_reads_the_base_and_synthetic_bases_are_not_cached(file_base, monkeypatch, private_cache):
    sc, path = file_base
    CustomerBase.from_file(sc, path).group()
    again = CustomerBase.from_file(sc, path)
    again.use_cache = False
    monkeypatch.setattr(again, "iter_chunks", no_reading)
    with pytest.raises(AssertionError, match="was read"):
        again.group()
    before = sorted(private_cache.iterdir())
    CustomerBase.synthetic(make_scenario(count=500), seed=1).group()
    assert sorted(private_cache.iterdir()) == before


@pytest.mark.parametrize("command", [["simulate", "--json", "--trials", "20"], ["risk", "--json"],
                                     ["optimize", "--json", "--trials", "20"]])
def test_every_command_that_reads_a_base_takes_no_cache(file_base, private_cache, tmp_path, command):
    """A first run fills the cache; the same command again leaves it alone, and with --no-cache
    reads the base again (the entry's file is rewritten: its modification time moves)."""
    from typer.testing import CliRunner

    from cxopt.cli.app import app
    from tests import builders

    sc, path = file_base
    scenario = builders.write(tmp_path / "scenario.toml", sc.to_data())
    run = lambda *extra: CliRunner().invoke(app, [command[0], str(scenario), "--base", str(path), *command[1:],  # noqa: E731
                                                  *extra])
    assert run().exit_code == 0
    [entry] = list(private_cache.glob("*.npz"))  # the groups' entry (the tables live in tables/)
    os.utime(entry, ns=(1, 1))
    assert run().exit_code == 0
    assert entry.stat().st_mtime_ns == 1  # read from the cache, not written again
    tables = private_cache / "tables" / "tables.sqlite"  # the simulation's tables (cxopt.engine.store)
    assert tables.is_file() == (command[0] != "risk")
    state = table_state(tables)
    result = run("--no-cache")
    assert result.exit_code == 0, result.output
    assert entry.stat().st_mtime_ns == 1  # --no-cache neither reads nor writes the cache
    assert table_state(tables) == state  # nor the tables: a read marks entries used now, a write adds them
    monkey = pytest.MonkeyPatch()
    try:
        monkey.setattr("cxopt.data.base.iter_batches", no_reading)
        assert run("--no-cache").exit_code != 0  # it did read the base: the reader was called
        assert run().exit_code == 0  # and without the flag the cache answers
    finally:
        monkey.undo()


def table_state(path) -> tuple | None:
    """(entries, the latest use) of a table store's database, None when there is none."""
    import sqlite3

    if not path.is_file():
        return None
    with sqlite3.connect(path) as db:
        return db.execute("SELECT COUNT(*), MAX(used) FROM entries").fetchone()


def test_report_takes_no_cache():
    from typer.main import get_command

    from cxopt.cli.app import app

    params = {p.name for p in get_command(app).commands["report"].params}
    assert "no_cache" in params
