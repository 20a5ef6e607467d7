"""Atomic output: every file is written under a temporary name and renamed when complete.

A killed job then leaves either the old state or the finished file, never a partial file
that a rerun would mistake for output. The temporary file a killed writer left behind is
removed by the next writer of the same path (one job writes a path at a time).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    remove_stale_temporaries(path)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temporaries(path: str | Path, kinds: tuple[str, ...] = ("tmp",)) -> None:
    """Remove what a killed writer of ``path`` left: hidden siblings ``.<name>.<kind>*``."""
    path = Path(path)
    for kind in kinds:
        for stale in path.parent.glob(f".{glob.escape(path.name)}.{kind}*"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)
