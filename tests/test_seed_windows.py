"""Window placement: ``data.tss_coordinate_base: 0`` cuts the seed's windows, base for base.

The seed (run_models/Dataset.py) reads the table's TSS as a 0-based index into pyfaidx:
``cur_start = max(0, TSS - int(L/2))``, ``cur_end = TSS + int(L/2)``, an individual's
haplotype is ``fasta[chrom][cur_start:cur_end]``, reverse-complemented on the - strand.
That slice is rebuilt here from the FASTA with pysam (0-based, end-exclusive, as pyfaidx's
slicing) and compared with what the pipeline feeds its models from its reference store.
"""

from __future__ import annotations

import copy
import csv
import gzip
from pathlib import Path

import pysam
import pytest
from support import ROOT

from haplexpr.sequence_encoding import reverse_complement
from haplexpr.sequences.personal_sequences import build_reference_store
from haplexpr.sequences.store import HaplotypeStore
from haplexpr.study.design import REFERENCE_INDIVIDUAL
from haplexpr.study.genes import study_windows

REFERENCE = ROOT / "data" / "demo" / "reference.fa"


def seed_slice(fasta: pysam.FastaFile, chrom: str, tss: int, strand: str, length: int) -> str:
    """The seed's individual window around the table's ``tss``, in the gene's orientation."""
    start = max(0, tss - int(length / 2))
    seq = fasta.fetch(chrom, start, tss + int(length / 2)).upper()
    return reverse_complement(seq) if strand == "-" else seq


def demo_genes(config: dict) -> list[dict]:
    """One row per gene of the demo table (chr, TSS, strand as the seed reads them)."""
    with gzip.open(ROOT / config["data"]["partition_table"], "rt", newline="") as handle:
        rows = {row["gene"]: row for row in csv.DictReader(handle)}
    return list(rows.values())


def reference_store(config: dict, tss_base: int, prefix: Path) -> HaplotypeStore:
    """The pipeline's reference windows with the table's TSS read as ``tss_base``."""
    config = copy.deepcopy(config)
    config["data"]["tss_coordinate_base"] = tss_base
    table = ROOT / config["data"]["partition_table"]
    build_reference_store(REFERENCE, study_windows(config, table, REFERENCE), prefix)
    return HaplotypeStore(prefix, [])


@pytest.mark.parametrize("tss_base, shift", [(0, 0), (1, -1)])
def test_tss_coordinate_base_0_is_the_seeds_window_on_every_demo_gene(
    demo_config, tmp_path, tss_base, shift
):
    """Base 0 gives the seed's slice; base 1 (the default) starts one base earlier."""
    store = reference_store(demo_config, tss_base, tmp_path / "reference")
    genes = demo_genes(demo_config)
    lengths = sorted(
        {m["input_length"] for m in demo_config["models"].values()}
        | {demo_config["consensus"]["window_length"]}
    )
    with pysam.FastaFile(str(REFERENCE)) as fasta:
        for row in genes:
            chrom, tss = row["chr"].removeprefix("chr"), int(row["TSS"])
            assert tss >= demo_config["consensus"]["window_length"] // 2  # none clipped
            for length in lengths:
                ours = store.model_input(REFERENCE_INDIVIDUAL, row["gene"], 1, length)
                seed = seed_slice(fasta, chrom, tss + shift, row["strand"], length)
                assert ours.upper() == seed, (row["gene"], length)
    assert len(genes) > 30 and {row["strand"] for row in genes} == {"+", "-"}


def test_at_a_contig_start_the_seed_shortens_and_the_pipeline_pads_in_front(demo_config, tmp_path):
    """A TSS closer to the contig start than L/2: the seed's slice starts at base 0 and is
    short (its S2F encoder zero-pads at the end); the pipeline N-pads in front, so the TSS
    stays at the window's centre."""
    config = copy.deepcopy(demo_config)
    tss, length = 100, 512
    table = tmp_path / "table.csv"
    table.write_text(
        "split,sample,gene,chr,TSS,strand,log_TPM\n"
        f"train,ref,G,chr1,{tss},+,1.0\ntrain,ref,H,chr1,{tss},-,1.0\n"
    )
    config["data"]["tss_coordinate_base"] = 0
    build_reference_store(
        REFERENCE, study_windows(config, table, REFERENCE), tmp_path / "reference"
    )
    store = HaplotypeStore(tmp_path / "reference", [])
    with pysam.FastaFile(str(REFERENCE)) as fasta:
        seed = seed_slice(fasta, "1", tss, "+", length)
        ours = store.model_input(REFERENCE_INDIVIDUAL, "G", 1, length)
        assert len(seed) == tss + length // 2 and len(ours) == length
        assert ours == "N" * (length // 2 - tss) + seed
        minus = store.model_input(REFERENCE_INDIVIDUAL, "H", 1, length)
        assert minus == reverse_complement(ours)
