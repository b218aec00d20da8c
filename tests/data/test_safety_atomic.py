"""Safe outputs (issue 16): unpredictable temporaries opened exclusively, no planted link
followed, cleanup on interruption, stale temporaries of killed runs removed, a forced
directory swap that never loses the old output, paths that cannot be outputs refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cxopt.data.atomic import (OLD_PREFIX, TMP_PREFIX, atomic_dir, atomic_path, check_output, recover_output,
                               write_text_atomic)
from cxopt.errors import ArgumentError, OutputExistsError


def dead_pid() -> int:
    """The pid of a process that has finished."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_symlink_planted_at_the_old_predictable_temporary_name_is_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "out.txt"
    (tmp_path / f"out.txt.tmp-{os.getpid()}").symlink_to(victim)
    write_text_atomic(out, "new")
    assert victim.read_text() == "precious"
    assert not out.is_symlink() and out.read_text() == "new"


def test_the_temporary_is_recognisable_unpredictable_and_in_the_target_directory(tmp_path):
    out = tmp_path / "out.txt"
    with atomic_path(out) as a:
        pass
    with atomic_path(out, force=True) as b:
        assert a != b
        assert b.parent == tmp_path
        assert b.name.startswith(f"{TMP_PREFIX}{os.getpid()}-out.txt-")
        assert b.is_file() and not b.is_symlink()


@pytest.mark.parametrize("interruption", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_an_interrupted_write_leaves_no_temporary_and_the_old_output(tmp_path, interruption):
    out = tmp_path / "out.txt"
    out.write_text("old")
    with pytest.raises(interruption):
        with atomic_path(out, force=True) as tmp:
            tmp.write_text("half")
            raise interruption()
    assert out.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("interruption", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_an_interrupted_directory_swap_keeps_the_old_directory(tmp_path, interruption):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "plan.json").write_text("old")
    with pytest.raises(interruption):
        with atomic_dir(out, force=True) as tmp:
            (tmp / "plan.json").write_text("new")
            raise interruption()
    assert (out / "plan.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]


def test_a_dangling_symlink_at_the_output_is_an_existing_output(tmp_path):
    out = tmp_path / "out.txt"
    out.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputExistsError):
        write_text_atomic(out, "x")
    with pytest.raises(OutputExistsError):
        check_output(out)
    write_text_atomic(out, "x", force=True)
    assert not out.is_symlink() and out.read_text() == "x"
    assert not (tmp_path / "nowhere").exists()


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_a_stale_temporary_of_a_killed_run_is_removed_by_the_next_run(tmp_path, kind):
    out = tmp_path / "base.parquet"
    stale = tmp_path / f"{TMP_PREFIX}{dead_pid()}-base.parquet-abc123"
    if kind == "dir":
        stale.mkdir()
        (stale / "part-00000.parquet").write_text("half")
    else:
        stale.write_text("half")
    live = tmp_path / f"{TMP_PREFIX}1-base.parquet-abc123"  # pid 1 is alive: not ours to touch
    live.write_text("someone's run")
    other = tmp_path / f"{TMP_PREFIX}{dead_pid()}-other.parquet-abc123"  # another output's
    other.write_text("x")
    write_text_atomic(out, "new")
    assert not os.path.lexists(stale)
    assert live.exists() and other.exists()


def test_a_kill_between_the_renames_of_a_forced_swap_is_undone_by_the_next_command(tmp_path):
    out = tmp_path / "plan"
    pid = dead_pid()
    aside = tmp_path / f"{OLD_PREFIX}{pid}-plan-0a1b2c"  # the old plan, renamed aside
    aside.mkdir()
    (aside / "plan.json").write_text("old")
    new = tmp_path / f"{TMP_PREFIX}{pid}-plan-xyz"  # the new one, not yet renamed in
    new.mkdir()
    (new / "plan.json").write_text("new")
    recover_output(out)
    assert (out / "plan.json").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]


def test_an_aside_left_after_the_new_directory_went_in_is_removed(tmp_path):
    out = tmp_path / "plan"
    out.mkdir()
    (out / "plan.json").write_text("new")
    aside = tmp_path / f"{OLD_PREFIX}{dead_pid()}-plan-0a1b2c"
    aside.mkdir()
    (aside / "plan.json").write_text("old")
    with atomic_dir(out, force=True) as tmp:
        (tmp / "plan.json").write_text("newer")
    assert (out / "plan.json").read_text() == "newer"
    assert [p.name for p in tmp_path.iterdir()] == ["plan"]


def test_a_forced_directory_swap_replaces_a_dangling_symlink(tmp_path):
    out = tmp_path / "plan"
    out.symlink_to(tmp_path / "nowhere")
    with pytest.raises(OutputExistsError):
        with atomic_dir(out):
            pass
    with atomic_dir(out, force=True) as tmp:
        (tmp / "plan.json").write_text("new")
    assert out.is_dir() and not out.is_symlink()


def test_outputs_get_ordinary_permissions(tmp_path):
    out = write_text_atomic(tmp_path / "out.txt", "x")
    mask = os.umask(0)
    os.umask(mask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~mask


def touch(path: Path) -> Path:
    path.write_text("x")
    return path


@pytest.mark.parametrize("make, needle", [
    (lambda d: Path("."), "not a name"),
    (lambda d: d / "..", "not a name"),
    (lambda d: touch(d / "afile") / "out.txt", "not a directory"),
    (lambda d: touch(d / "afile") / "deeper" / "out.txt", "not a directory"),
    (lambda d: (d / "adir").mkdir() or d / "adir", "is a directory"),
], ids=["dot", "dotdot", "under-a-file", "deep-under-a-file", "a-directory"])
def test_paths_that_cannot_be_outputs_are_refused_naming_the_path(tmp_path, make, needle):
    out = make(tmp_path)
    with pytest.raises(ArgumentError) as exc:
        check_output(out, force=True)
    assert needle in str(exc.value) and str(out) in str(exc.value)
    with pytest.raises((ArgumentError, OutputExistsError)):
        write_text_atomic(out, "x", force=True)


def test_a_read_only_directory_is_refused_before_any_work(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    if os.geteuid() == 0:  # root may write anywhere: pretend to be a user for whom ro is read-only
        real = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == ro else real(p, mode))
    try:
        with pytest.raises(ArgumentError, match="permission denied") as exc:
            check_output(ro / "out.txt")
        assert str(ro / "out.txt") in str(exc.value)
    finally:
        ro.chmod(0o755)
