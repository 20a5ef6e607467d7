"""Tests for haplexpr.atomic: output appears complete or not at all."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import ROOT

from haplexpr.atomic import atomic_path

SRC = ROOT / "src"


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_file_appears_only_when_block_succeeds(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        tmp.write_text("complete")
        assert tmp.parent == tmp_path and tmp.name != target.name
        assert not target.exists(), "the target must not exist before the block ends"
    assert target.read_text() == "complete"
    assert listing(tmp_path) == ["out.txt"]


def test_success_replaces_existing_content(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old content, longer than the new one")
    with atomic_path(str(target)) as tmp:
        tmp.write_text("new")
        assert target.read_text() == "old content, longer than the new one"
    assert target.read_text() == "new"
    assert listing(tmp_path) == ["out.txt"]


def test_exception_keeps_old_content_removes_temp_and_propagates(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="^failed halfway$"):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("failed halfway")
    assert target.read_text() == "old"
    assert listing(tmp_path) == ["out.txt"]


def test_exception_without_earlier_file_leaves_nothing(tmp_path):
    with pytest.raises(ValueError):
        with atomic_path(tmp_path / "out.txt") as tmp:
            tmp.write_bytes(b"\x00" * 10)
            raise ValueError
    assert listing(tmp_path) == []


def test_block_that_writes_nothing_raises_and_creates_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic_path(tmp_path / "out.txt"):
            pass
    assert listing(tmp_path) == []


def test_parent_directories_are_created(tmp_path):
    target = tmp_path / "a" / "b" / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent.is_dir()
        tmp.write_text("x")
    assert target.read_text() == "x"


CHILD = """
import os, signal, sys
from haplexpr.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    tmp.write_text("partial")
    print(tmp, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_sigkill_inside_block_keeps_old_content(tmp_path):
    """A killed writer never replaces the target; its pid-named temp file stays behind."""
    target = tmp_path / "out.txt"
    target.write_text("old")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(target)], capture_output=True, text=True, env=env
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert target.read_text() == "old"
    # `finally` cannot run on SIGKILL: the temporary sibling (named with the dead writer's pid)
    # is left, hidden, beside the untouched target.
    leftover = Path(child.stdout.strip())
    assert leftover.parent == tmp_path
    assert leftover.name.startswith(".out.txt.tmp")
    assert leftover.read_text() == "partial"
    assert listing(tmp_path) == sorted(["out.txt", leftover.name])
    # A rerun (another pid) removes the dead writer's temp file, writes its own, completes.
    (tmp_path / ".other.txt.tmp1").write_text("another path's temp file")
    with atomic_path(target) as tmp:
        assert tmp != leftover and not leftover.exists()
        tmp.write_text("rerun")
    assert target.read_text() == "rerun"
    assert listing(tmp_path) == [".other.txt.tmp1", "out.txt"]
