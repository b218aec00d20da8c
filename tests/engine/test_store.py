"""A re-run reads what it computed before (cxopt.engine.store, cxopt.engine.fingerprint).

The truth is always the computation without a store, in the same process: every table, every
portfolio valued, every draw column and every path read back is the same bits; a second run
computes nothing (the kernels are replaced by ones that fail); an edited initiative recomputes
exactly the tables it is in; a changed shared input (a pain's severity, the base) recomputes
everything; a torn or foreign entry is ignored; the directory is kept under its size.
"""

from __future__ import annotations

import numpy as np
import pytest

import cxopt
from cxopt.engine import fingerprint, grouped, simulation as simulation_module
from cxopt.engine.draws import draw_trials
from cxopt.engine.paths import monthly_paths
from cxopt.engine.store import TableStore, default_store, tables_dir
from cxopt.model.distributions import Distribution
from tests import builders

TRIALS = 64


def simulate(sc, base, store, **kw):
    return cxopt.simulate(sc, base, trials=TRIALS, seed=3, store=store, **kw)


def assert_same_tables(a, b) -> None:
    for name in ("baseline_revenue", "baseline_customers", "single_revenue", "single_customers", "pairs",
                 "pair_revenue", "pair_customers"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def assert_same_pair(got, want) -> None:
    """(revenue, customers) the same bits."""
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def failing(*_, **__):
    raise AssertionError("computed again")


@pytest.fixture
def store(tmp_path) -> TableStore:
    return TableStore(tmp_path / "tables")


@pytest.fixture(scope="module")
def base(small_scenario):
    return cxopt.CustomerBase.synthetic(small_scenario, n=3_000, seed=1)


# ---------------------------------------------------------------------------------- the store itself
def test_an_entry_comes_back_bit_for_bit_and_a_damaged_one_is_ignored(store):
    a = np.random.default_rng(0).standard_normal((2, 7, 5))
    assert store.get("k") is None and not store.path.exists()  # a read creates nothing
    store.put("k", a)
    got = store.get("k")
    np.testing.assert_array_equal(got, a)
    assert got.dtype == a.dtype and got.flags.writeable
    blob = raw(store, "k")
    for damaged in (blob[:-3] + bytes([blob[-3] ^ 1]) + blob[-2:],  # one flipped bit of the payload
                    blob[:40],  # torn
                    b"not an entry at all"):
        store._db.execute("UPDATE blobs SET data = ? WHERE key = 'k'", (damaged,))
        assert store.get("k") is None
    assert (store.hits, store.misses, store.writes) == (1, 4, 1)


def raw(store: TableStore, key: str) -> bytes:
    return store._db.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()[0]


def test_many_at_once_and_the_same_key_twice(store):
    arrays = {f"k{i}": np.full((2, 3), float(i)) for i in range(1200)}  # more than one query's keys
    store.put_many(arrays.items())
    keys = ["k5", "nope", "k1199", "k5"]
    got = store.get_many(keys)
    assert got[1] is None and got[0] is not got[3]
    np.testing.assert_array_equal(got[2], arrays["k1199"])
    np.testing.assert_array_equal(got[3], arrays["k5"])
    assert store.writes == 1200 and store.size() > 1200 * 48


def test_a_damaged_database_is_set_aside_and_one_that_cannot_be_made_is_skipped(tmp_path):
    directory = tmp_path / "tables"
    directory.mkdir()
    (directory / "tables.sqlite").write_bytes(b"this is not a database" * 100)
    store = TableStore(directory)
    store.put("k", np.ones(3))
    np.testing.assert_array_equal(TableStore(directory).get("k"), np.ones(3))
    assert (directory / "tables.sqlite.unreadable").is_file()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stuck = TableStore(blocker / "tables")  # its parent is a file: no directory can be made
    stuck.put("k", np.zeros(3))
    assert stuck.get("k") is None and stuck.writes == 0


def test_a_database_damaged_inside_is_set_aside_too(store):
    store.put_many((f"k{i}", np.full(2_000, float(i))) for i in range(40))  # many pages
    store.close()
    data = bytearray(store.path.read_bytes())
    data[8192:8192 + 40_000] = np.random.default_rng(1).integers(0, 256, 40_000, dtype=np.uint8).tobytes()
    store.path.write_bytes(bytes(data))
    again = TableStore(store.directory)
    for i in range(40):  # a damaged page is a miss or, when SQLite notices, the file set aside
        got = again.get(f"k{i}")
        assert got is None or np.array_equal(got, np.full(2_000, float(i)))
    again.put("fresh", np.arange(3.0))
    again.put("fresh", np.arange(3.0))  # after a set-aside the first write may be lost: the next one lands
    np.testing.assert_array_equal(TableStore(store.directory).get("fresh"), np.arange(3.0))


def test_a_busy_database_is_skipped_and_never_left_locked(store, monkeypatch):
    import sqlite3

    from cxopt.engine import store as store_module

    store.put("k", np.ones(3))
    store.close()
    monkeypatch.setattr(store_module, "TIMEOUT", 0.2)
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another run's long write
    busy = TableStore(store.directory)
    busy.put("k2", np.zeros(3))  # cannot write: skipped, no error
    assert busy.get("k") is None and busy.writes == 0
    other.execute("ROLLBACK")
    other.close()
    assert busy._db is None  # nothing held
    np.testing.assert_array_equal(TableStore(store.directory).get("k"), np.ones(3))


def test_a_directory_that_cannot_be_read_is_skipped(store, monkeypatch):
    from pathlib import Path

    store.put("k", np.ones(3))
    blocked = TableStore(store.directory)

    def refuse(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Path, "is_file", refuse)
    assert blocked.get("k") is None
    blocked.put("k2", np.ones(3))
    assert blocked.writes == 0


def test_prune_removes_the_least_recently_used_first(store):
    for i in range(5):
        store.put(f"k{i}", np.zeros(100))
        store._db.execute("UPDATE entries SET used = ? WHERE key = ?", (i + 1, f"k{i}"))
    store.get("k0")  # read now: the most recently used
    size = store.size() // 5
    store.max_bytes = 3 * size
    assert store.prune() == 2
    for table in ("entries", "blobs"):  # the bytes go with the entries
        left = [k for (k,) in store._db.execute(f"SELECT key FROM {table} ORDER BY key")]
        assert left == ["k0", "k3", "k4"], table
    assert store.prune() == 0


def test_the_directory_follows_the_cache_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("CXOPT_CACHE_DIR", str(tmp_path / "c"))
    assert tables_dir() == tmp_path / "c" / "tables"
    monkeypatch.delenv("CXOPT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_store().directory == tmp_path / "x" / "cxopt" / "tables"
    monkeypatch.setenv("CXOPT_CACHE_MAX_BYTES", "12345")
    assert default_store().max_bytes == 12345
    assert default_store().path == tmp_path / "x" / "cxopt" / "tables" / "tables.sqlite"


# ---------------------------------------------------------------------------------- the simulation
def test_a_second_run_reads_every_table_and_computes_nothing(small_scenario, base, store, monkeypatch):
    plain = simulate(small_scenario, base, None)
    first = simulate(small_scenario, base, store)
    assert_same_tables(first, plain)
    assert store.writes > 0
    monkeypatch.setattr(simulation_module, "evaluate_grouped", failing)
    monkeypatch.setattr(simulation_module, "evaluate_pairs", failing)
    monkeypatch.setattr(Distribution, "_frozen", property(failing))  # no inverse CDF computed either
    again = simulate(small_scenario, base, TableStore(store.directory))
    assert_same_tables(again, plain)
    assert again.store.misses == 0 and again.store.writes == 0


def test_evaluate_paths_and_stored_calls_are_the_same_bits(small_scenario, base, store, monkeypatch):
    plain = simulate(small_scenario, base, None)
    ports = [[0, 1], [0, 1, 2], [2]]
    nested = [[], [0], [1], [0, 1], [2], [0, 2], [1, 2], [0, 1, 2]]
    first = simulate(small_scenario, base, store)
    want, want_nested = plain.evaluate(ports), plain.evaluate(nested, nested=True)
    assert_same_pair(first.evaluate(ports), want)
    assert_same_pair(first.evaluate(nested, nested=True), want_nested)
    paths = [[0, 1, 2], [0], [2]]
    want_paths = monthly_paths(plain, paths)
    for w, g in zip(want_paths, monthly_paths(first, paths)):
        assert_same_pair((g.revenue_lost, g.customers_lost), (w.revenue_lost, w.customers_lost))
    calls = []
    out = first.stored("twice", (np.arange(3.0),), lambda: calls.append(1) or (np.ones(4), np.zeros(4)))
    # the next run: every kernel fails, so each value must come from the store
    again = simulate(small_scenario, base, TableStore(store.directory))
    monkeypatch.setattr(simulation_module, "evaluate_grouped", failing)
    monkeypatch.setattr("cxopt.kernels.classes.paths_by_class", failing)
    assert_same_pair(again.evaluate(ports), want)
    assert_same_pair(again.evaluate(nested, nested=True), want_nested)
    for w, g in zip(want_paths, monthly_paths(again, paths)):
        assert_same_pair((g.revenue_lost, g.customers_lost), (w.revenue_lost, w.customers_lost))
    back = again.stored("twice", (np.arange(3.0),), failing)
    np.testing.assert_array_equal(np.stack(back), np.stack(out))
    assert calls == [1]
    assert len(again.stored("other input", (np.arange(4.0),), lambda: (np.ones(2),))) == 1


def test_an_edited_initiative_recomputes_only_its_own_tables(base, store):
    sc = cxopt.parse_scenario(builders.scenario(), source="small")
    edited = cxopt.parse_scenario(builders.scenario({"initiatives[1].success_probability": 0.6}), source="small")
    simulate(sc, base, store)
    again = simulate(edited, base, TableStore(store.directory))
    assert_same_tables(again, simulate(edited, base, None))
    pairs_with_1 = sum(1 in p for p in again.pairs.tolist())
    assert again.store.misses == 1 + pairs_with_1  # its own single and its pairs; the ppf columns are read
    assert again.store.hits == 1 + 2 + (len(again.pairs) - pairs_with_1) + len(draw_columns(edited))


def draw_columns(sc) -> list:
    """The distributions :func:`draw_trials` takes an inverse CDF of (fixed values are not stored)."""
    out = [sc.market.churn_multiplier] + [p.severity for p in sc.pain_points] + [x.lift for x in sc.delighters]
    for init in sc.initiatives:
        out += list(init.fixes.values()) + [init.months_to_impact]
    return [d for d in out if not d.is_fixed]


@pytest.mark.parametrize("change", [{"pain_points[0].severity": builders.pert(0.05, 0.13, 0.25)},
                                    {"scenario.horizon_months": 18}])
def test_a_shared_input_changes_every_key(base, store, change):
    sc = cxopt.parse_scenario(builders.scenario(), source="small")
    first = simulate(sc, base, store)
    other = cxopt.parse_scenario(builders.scenario(change), source="small")
    again = simulate(other, base, TableStore(store.directory))
    assert_same_tables(again, simulate(other, base, None))
    assert again.store.misses >= 1 + len(sc.initiatives) + len(again.pairs)
    assert first.keys.shared != again.keys.shared


def test_another_base_changes_every_key(small_scenario, base, store):
    simulate(small_scenario, base, store)
    other = cxopt.CustomerBase.synthetic(small_scenario, n=3_000, seed=2)
    again = simulate(small_scenario, other, TableStore(store.directory))
    assert_same_tables(again, simulate(small_scenario, other, None))
    assert again.store.misses == 1 + len(small_scenario.initiatives) + len(again.pairs)


def test_auto_uses_the_store_for_file_bases_with_the_cache_on(small_scenario, base, tmp_path, monkeypatch):
    monkeypatch.setenv("CXOPT_CACHE_DIR", str(tmp_path / "cache"))
    assert simulate(small_scenario, base, "auto").store is None  # synthetic: generated each run
    path = tmp_path / "base.parquet"
    base.write_parquet(path)
    on_file = cxopt.CustomerBase.from_file(small_scenario, path)
    sim = simulate(small_scenario, on_file, "auto")
    assert sim.store is not None and sim.store.directory == tmp_path / "cache" / "tables"
    on_file.use_cache = False  # --no-cache
    assert simulate(small_scenario, on_file, "auto").store is None
    assert simulate(small_scenario, base, TableStore(tmp_path / "t"), mode="sampled").store is None
    with pytest.raises(cxopt.ArgumentError, match="store"):
        simulate(small_scenario, base, "yes")


def test_keys_name_each_input_and_nothing_else(small_scenario, base, tmp_path):
    sim = simulate(small_scenario, base, TableStore(tmp_path / "a"))
    keys = sim.keys
    assert keys.portfolio([1, 0]) == keys.portfolio([0, 1]) != keys.portfolio([0, 2])
    assert keys.pair(0, 1) != keys.portfolio([0, 1])  # another way of valuing it: another entry
    assert keys.batch([[0], [0, 1]]) != keys.batch([[0, 1], [0]]) != keys.batch([[0], [0, 1]], "paths")
    # an initiative's digest is its own draws': the same initiative under another seed differs
    other = cxopt.simulate(small_scenario, base, trials=TRIALS, seed=4, store=TableStore(tmp_path / "b"))
    assert all(a != b for a, b in zip(keys.initiatives, other.keys.initiatives))
    d = draw_trials(small_scenario, TRIALS, 3)
    targets = np.ones((3, 1), bool)
    assert fingerprint.table_keys(sim.groups, d, targets, 2, 1, 12) == keys
    # the segments an initiative targets are its own: only its digest moves
    fewer = targets.copy()
    fewer[1, 0] = False
    moved = fingerprint.table_keys(sim.groups, d, fewer, 2, 1, 12)
    assert moved.shared == keys.shared and [a == b for a, b in zip(moved.initiatives, keys.initiatives)] == \
        [True, False, True]
    # the count of pains (where the delighters' columns start), of segments, the horizon: shared
    for counts in ((1, 1, 12), (2, 2, 12), (2, 1, 18)):
        assert fingerprint.table_keys(sim.groups, d, targets, *counts).shared != keys.shared


def test_the_pair_tables_do_not_depend_on_the_batch(small_scenario, base):
    """read_through computes only the missing pairs: each pair's row must be the same bits in any batch."""
    sim = simulate(small_scenario, base, None)
    rows = grouped.evaluate_pairs(small_scenario, sim.groups, sim.draws, sim.pairs[1:],
                                  (sim.baseline_revenue, sim.baseline_customers),
                                  (sim.single_revenue, sim.single_customers))
    np.testing.assert_array_equal(rows[0], sim.pair_revenue[1:])


def test_the_code_is_in_every_key(tmp_path):
    """Any change to the package's source is another code digest, hence other keys."""
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    before = fingerprint.source_digest(tmp_path)
    (tmp_path / "kernels" / "a.py").write_text("x = 2\n")
    assert fingerprint.source_digest(tmp_path) != before
    (tmp_path / "kernels" / "a.py").write_text("x = 1\n")
    assert fingerprint.source_digest(tmp_path) == before
    (tmp_path / "c.py").write_text("")
    assert fingerprint.source_digest(tmp_path) != before


def test_the_plans_pain_losses_are_read_back(small_scenario, base, store, monkeypatch):
    from cxopt.plan.explain import risk_left

    want = risk_left(simulate(small_scenario, base, None), [0, 2])
    assert risk_left(simulate(small_scenario, base, store), [0, 2]) == want
    monkeypatch.setattr("cxopt.kernels.risk.pain_losses", failing)
    assert risk_left(simulate(small_scenario, base, TableStore(store.directory)), [0, 2]) == want


def test_a_nested_batch_is_stored_as_a_batch(article_path, tmp_path, monkeypatch):
    """The plan's subsets take the union's class sums (their bits depend on the batch): the batch is
    stored whole and read back whole, the kernel not run again."""
    import itertools

    from cxopt.kernels import classes as kernels_classes
    from tests.engine.test_plan_reuse import union_path_portfolio

    sc = cxopt.load_scenario(article_path)
    article = cxopt.CustomerBase.synthetic(sc, n=20_000, seed=1)
    plain = simulate(sc, article, None)
    chosen = union_path_portfolio(plain)
    subsets = [sorted(s) for r in range(4) for s in itertools.combinations(chosen, r)]
    calls = []
    kernel = kernels_classes.evaluate_nested_classes
    monkeypatch.setattr(kernels_classes, "evaluate_nested_classes", lambda *a: calls.append(1) or kernel(*a))
    want = plain.evaluate(subsets, nested=True)
    assert len(calls) == 1
    store = TableStore(tmp_path / "tables")
    assert_same_pair(simulate(sc, article, store).evaluate(subsets, nested=True), want)
    assert len(calls) == 2
    monkeypatch.setattr(kernels_classes, "evaluate_nested_classes", failing)
    assert_same_pair(simulate(sc, article, TableStore(store.directory)).evaluate(subsets, nested=True), want)
