"""Tests for haplexpr.runlog: a step's log lines, warnings and fatal errors reach its log file."""

import logging
import os
import re
import subprocess
import sys
import warnings

import pytest
from support import ROOT

from haplexpr import runlog

SRC = ROOT / "src"
STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"


@pytest.fixture
def configure(monkeypatch):
    """runlog.configure, with the root logger, warnings capture and sys.excepthook restored after.

    configure(force=True) replaces every root handler; the ones it installed are removed and
    closed at teardown (pytest re-adds its own per test phase).
    """
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    installed = []

    def call(*args, **kwargs):
        runlog.configure(*args, **kwargs)
        installed.extend(root.handlers)

    yield call
    logging.captureWarnings(False)
    for handler in installed:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)  # setLevel, not setattr: it also clears the loggers' level caches


def flush():
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_library_lines_reach_log_file_with_level_and_name(configure, tmp_path):
    path = tmp_path / "logs" / "rule" / "step.log"  # parent folders are created
    configure(path)
    logging.getLogger("haplexpr.some.module").info("embedded %d windows", 12)
    logging.getLogger("haplexpr.other").warning("odd input")
    logging.getLogger("haplexpr.other").debug("not at INFO")
    flush()
    assert re.fullmatch(
        rf"{STAMP} INFO haplexpr\.some\.module: embedded 12 windows\n"
        rf"{STAMP} WARNING haplexpr\.other: odd input\n",
        path.read_text(),
    )


def test_level_argument_lets_debug_lines_through(configure, tmp_path):
    configure(tmp_path / "step.log", level=logging.DEBUG)
    logging.getLogger("haplexpr.x").debug("detail")
    flush()
    assert re.fullmatch(
        rf"{STAMP} DEBUG haplexpr\.x: detail\n", (tmp_path / "step.log").read_text()
    )


def test_rerun_overwrites_log_file(configure, tmp_path):
    path = tmp_path / "step.log"
    configure(path)
    logging.getLogger("haplexpr").info("first run")
    flush()
    configure(path)
    logging.getLogger("haplexpr").info("second run")
    flush()
    text = path.read_text()
    assert "first run" not in text
    assert text.count("\n") == 1 and text.endswith("INFO haplexpr: second run\n")


def test_warnings_are_captured_into_log_file(configure, tmp_path):
    path = tmp_path / "step.log"
    configure(path)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("three genes have no variants", UserWarning, stacklevel=1)
    flush()
    text = path.read_text()
    assert re.match(rf"{STAMP} WARNING py\.warnings: ", text)
    assert "UserWarning: three genes have no variants" in text


def test_configure_none_logs_to_stderr(configure, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    configure(None)
    logging.getLogger("haplexpr.step").info("to stderr")
    flush()
    captured = capsys.readouterr()
    assert re.fullmatch(rf"{STAMP} INFO haplexpr\.step: to stderr\n", captured.err)
    assert captured.out == ""
    assert list(tmp_path.iterdir()) == []


CHILD = """
import logging, sys
from haplexpr.runlog import configure
configure(sys.argv[1])
logging.getLogger("haplexpr.step").info("started")

def load_table():
    raise ValueError("column log_TPM is missing")

load_table()
"""


def test_uncaught_exception_goes_to_log_file_and_stderr(tmp_path):
    path = tmp_path / "step.log"
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env
    )
    assert child.returncode == 1
    # The scheduler's stderr still gets the usual traceback ...
    assert "Traceback (most recent call last):" in child.stderr
    assert "in load_table" in child.stderr
    assert child.stderr.endswith("ValueError: column log_TPM is missing\n")
    # ... and the log file has the start line, then the error with its traceback.
    lines = path.read_text().splitlines()
    assert re.fullmatch(rf"{STAMP} INFO haplexpr\.step: started", lines[0])
    assert re.fullmatch(
        rf"{STAMP} CRITICAL haplexpr: ValueError: column log_TPM is missing", lines[1]
    )
    assert lines[2] == "Traceback (most recent call last):"
    assert any("in load_table" in line for line in lines)
    assert lines[-1] == "ValueError: column log_TPM is missing"
