"""A study built from tiny tables in the seed's formats, written into a test's folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from haplexpr.study.design import Study
from haplexpr.study.genes import read_partition_table
from haplexpr.study.table_schema import StudyTableError

HEADER = "split,sample,gene,chr,TSS,strand,log_TPM\n"


def write_table(folder: Path, rows: list[str], header: str = HEADER) -> Path:
    """``rows`` under ``header`` as ``folder/table.csv``."""
    path = folder / "table.csv"
    path.write_text(header + "".join(row + "\n" for row in rows))
    return path


def table_error(path: Path, missing_targets: str = "drop", cache_dir: Path | None = None) -> str:
    """The message reading the table at ``path`` stops with."""
    with pytest.raises(StudyTableError) as caught:
        read_partition_table(path, "log_TPM", missing_targets, cache_dir)
    return str(caught.value)


def small_study(
    folder: Path, rows, train="A\nB\n", test="C\n", genes="G1\nG2\n", missing_targets="drop"
) -> Study:
    """Write the partition table (``rows`` under HEADER) and the three lists; read the Study."""
    (folder / "table.csv").write_text(HEADER + "".join(r + "\n" for r in rows))
    (folder / "train.txt").write_text(train)
    (folder / "test.txt").write_text(test)
    (folder / "genes.txt").write_text(genes)
    config = {
        "data": {
            "partition_table": "table.csv",
            "train_individuals": "train.txt",
            "test_individuals": "test.txt",
            "individual_genes": "genes.txt",
            "target_column": "log_TPM",
            "reference_sample": "ref",
            "missing_targets": missing_targets,
        },
        "evaluation": {"unseen_genes": None},  # every held-out gene
        "training": {"seed": 0},
    }
    return Study.from_config(config, root=folder)
