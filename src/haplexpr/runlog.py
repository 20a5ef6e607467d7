"""Logging for pipeline steps: everything a step says goes to its rule's log file."""

from __future__ import annotations

import logging
import os
import platform
import sys
from pathlib import Path


def configure(log_path: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send library logging (and warnings) to ``log_path`` (stderr when None)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path is not None:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers = [logging.FileHandler(log_path, mode="w")]
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught


def _log_uncaught(kind, error, traceback) -> None:
    """Put a step's fatal error in its log file, not only on the scheduler's stderr."""
    logging.getLogger("haplexpr").critical(
        "%s: %s", kind.__name__, error, exc_info=(kind, error, traceback)
    )
    sys.__excepthook__(kind, error, traceback)


def cpu_name() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what platform knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def machine_name() -> str:
    """The CPU and how many: measured figures and reports say where they were made."""
    return f"{cpu_name()}, {os.cpu_count()} CPUs"
