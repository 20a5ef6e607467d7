"""The partition table's schema (``schemas/partition_table.schema.yaml``), checked column-wise.

The table can hold millions of rows (462 individuals x 20,000 genes), so its schema is
applied with vectorised pandas checks rather than row by row with jsonschema; each
failure names the file, the first offending line (1-based, the header is line 1), the
column and value, and what to change.
"""

from __future__ import annotations

import logging
import re
from importlib.resources import files
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

SCHEMA = Path(str(files("haplexpr") / "schemas" / "partition_table.schema.yaml"))

#: What ``data.missing_targets`` may say about rows whose target is missing.
MISSING_TARGETS = ("drop", "error")

#: Target cells read as missing (lower-cased): empty, and how R, pandas and spreadsheets write NA.
MISSING_SPELLINGS = ("", "na", "nan", "-nan", "n/a", "#n/a", "null", "none", "<na>")

log = logging.getLogger(__name__)


class StudyTableError(ValueError):
    """A study table (partition table, sample or gene list) is malformed."""


def load_schema() -> dict:
    """The partition table's schema."""
    return yaml.safe_load(SCHEMA.read_text())


def check_partition_table(
    table: pd.DataFrame,
    path: str | Path,
    target_column: str,
    schema: dict | None = None,
    missing_targets: str = "drop",
) -> pd.DataFrame:
    """Check ``table`` (read with every cell as text) against the schema; return it typed.

    ``TSS`` becomes int and the target float; raises :class:`StudyTableError` on the first
    problem. Rows whose target is missing (empty, ``NA``, ``NaN``...) are checked like any
    other, then left out with a warning (``missing_targets="drop"``; measured expression has
    gaps) or refused (``"error"``).
    """
    if missing_targets not in MISSING_TARGETS:
        raise ValueError(f"missing_targets must be one of {MISSING_TARGETS}: {missing_targets!r}")
    schema = schema or load_schema()
    columns = {**schema["columns"], target_column: schema["target"]}
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise StudyTableError(
            f"{path}: missing columns {missing} (it has {', '.join(map(str, table.columns))}); "
            f"the table needs {', '.join(schema['columns'])} and the target column "
            f"{target_column!r} (config data.target_column)"
        )
    if table.empty:
        raise StudyTableError(f"{path}: no rows")
    typed = table.copy()
    for column, rules in columns.items():
        allow_missing = column == target_column and missing_targets == "drop"
        typed[column] = _check_column(table[column], column, rules, path, allow_missing)
    _check_unique(typed, schema["unique"], path)
    _check_per_gene(typed, schema["per_gene"], path)
    missing = typed[target_column].isna().to_numpy()
    if missing.any():
        typed = _drop_missing(typed, missing, path, target_column)
    return typed


def _drop_missing(table: pd.DataFrame, missing: np.ndarray, path, target_column: str):
    """``table`` less the rows without a target, with a warning that counts and names them."""
    kept = table[~missing]
    dropped = table[missing]
    lines = np.flatnonzero(missing)[:3] + 2
    shown = ", ".join(
        f"({s}, {g}) line {n}"
        for s, g, n in zip(dropped["sample"], dropped["gene"], lines, strict=False)
    )
    emptied = []
    for column, what in (("gene", "genes"), ("sample", "samples")):
        gone = sorted(set(dropped[column]) - set(kept[column]))
        if gone:
            emptied.append(f"{len(gone)} {what} with no target left, e.g. {', '.join(gone[:3])}")
    log.warning(
        "%s: left out %d of %d rows whose %s is missing, e.g. (sample, gene) %s%s "
        "(config data.missing_targets: drop; set error to refuse such a table)",
        path, len(dropped), len(table), target_column, shown,
        f"; {'; '.join(emptied)}" if emptied else "",
    )  # fmt: skip
    if kept.empty:
        raise StudyTableError(f"{path}: every row's {target_column} is missing")
    return kept.reset_index(drop=True)


def _fail(path, values: pd.Series, bad: np.ndarray, column: str, why: str) -> StudyTableError:
    """An error naming the first bad row of ``values`` (its file line) and the column."""
    first = int(np.flatnonzero(bad)[0])
    count = int(bad.sum())
    more = f" ({count} rows like it)" if count > 1 else ""
    return StudyTableError(
        f"{path}: line {first + 2}, column {column}: {values.iloc[first]!r} {why}{more}; "
        "fix the table (schema: haplexpr/schemas/partition_table.schema.yaml)"
    )


def _check_column(
    values: pd.Series, column: str, rules: dict, path, allow_missing: bool = False
) -> pd.Series:
    """One column against its rules (type, enum, pattern, minimum); returns it typed.

    Each distinct value is checked once (a study table repeats each gene, sample and TSS
    hundreds of times) and the verdict spread back to its rows. ``allow_missing`` (a number
    column only): missing cells (:data:`MISSING_SPELLINGS`) become NaN instead of failing.
    """
    codes, distinct = pd.factorize(values.astype(str), use_na_sentinel=False)
    distinct = pd.Series(distinct).str.strip()

    def rows(per_value) -> np.ndarray:
        return np.asarray(per_value)[codes]

    absent = distinct.str.lower().isin(MISSING_SPELLINGS).to_numpy() & allow_missing
    empty = rows((distinct == "").to_numpy() & ~absent)
    if empty.any():
        raise _fail(path, values, empty, column, "is empty: every row needs a value")
    if rules["type"] in ("integer", "number"):
        numbers = pd.to_numeric(distinct.where(~absent, "nan"), errors="coerce")
        bad = ~np.isfinite(numbers.to_numpy(dtype=float)) & ~absent
        if rules["type"] == "integer":
            bad |= ~bad & (numbers.fillna(0) % 1 != 0).to_numpy()
        if bad.any():
            kind = "a whole number" if rules["type"] == "integer" else "a finite number"
            raise _fail(path, values, rows(bad), column, f"is not {kind}")
        if "minimum" in rules:
            low = (numbers < rules["minimum"]).to_numpy()
            if low.any():
                raise _fail(path, values, rows(low), column, f"is below {rules['minimum']}")
        typed = numbers.astype(int) if rules["type"] == "integer" else numbers.astype(float)
        return pd.Series(rows(typed), index=values.index)
    if "enum" in rules:
        bad = ~distinct.isin(rules["enum"]).to_numpy()
        if bad.any():
            raise _fail(
                path, values, rows(bad), column, f"is not one of {', '.join(rules['enum'])}"
            )
    if "pattern" in rules:
        bad = ~distinct.str.contains(re.compile(rules["pattern"])).to_numpy()
        if bad.any():
            raise _fail(path, values, rows(bad), column, f"does not match {rules['pattern']}")
    # taken by code, not rebuilt from Python strings (seconds for a 10^7-row table)
    return pd.Series(distinct.array.take(codes), index=values.index)


def _check_unique(table: pd.DataFrame, key: list[str], path) -> None:
    """Fail on a repeated key, naming both lines."""
    repeated = table.duplicated(key, keep=False).to_numpy()
    if repeated.any():
        rows = np.flatnonzero(repeated)
        first = table.iloc[rows[0]][key]
        twin = next(r for r in rows[1:] if (table.iloc[r][key] == first).all())
        named = ", ".join(f"{k} {first[k]}" for k in key)
        raise StudyTableError(
            f"{path}: lines {rows[0] + 2} and {twin + 2} are both {named}; keep one row per "
            f"({', '.join(key)})"
        )


def _check_per_gene(table: pd.DataFrame, columns: list[str], path) -> None:
    """Fail on a gene whose rows disagree on ``columns``, naming gene, column and values."""
    per_gene = table.groupby("gene", sort=False)[columns].nunique()
    for column in columns:
        conflicting = per_gene.index[per_gene[column] > 1]
        if len(conflicting):
            gene = conflicting[0]
            values = sorted(table.loc[table["gene"] == gene, column].astype(str).unique())
            raise StudyTableError(
                f"{path}: gene {gene} has rows with different {column} ({', '.join(values)}); "
                f"a gene's {', '.join(columns)} must be the same on all its rows"
            )
