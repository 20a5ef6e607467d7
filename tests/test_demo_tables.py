"""Tests for haplexpr.demo.tables: the committed demo's expression table and individual and gene
lists."""

import pandas as pd
import pysam
from support.demo_files import DEMO, check_lists


def header_samples(chrom):
    """The samples of one of the demo's VCFs, in header order."""
    with pysam.VariantFile(str(DEMO / "vcf" / f"demo.chr{chrom}.vcf.gz")) as vcf:
        return list(vcf.header.samples)


def test_tables():
    samples = header_samples("1")
    assert header_samples("2") == samples
    table = pd.read_csv(DEMO / "all_partition_data.csv.gz")
    assert list(table.columns) == ["split", "sample", "gene", "chr", "TSS", "strand", "log_TPM"]
    assert len(table) == 41 * 60
    assert set(table["sample"]) == set(samples) | {"ref"}
    assert not table.duplicated(["sample", "gene"]).any()
    assert set(table["chr"]) == {"chr1", "chr2"} and set(table["strand"]) == {"+", "-"}
    assert table["TSS"].dtype.kind == "i"
    per_gene = table.groupby("gene")[["split", "chr", "TSS", "strand"]].nunique()
    assert (per_gene == 1).all().all()
    genes = table.drop_duplicates("gene").set_index("gene")
    assert genes["split"].value_counts().to_dict() == {"train": 45, "test": 15}
    assert all(g.startswith("ENSG00000") and len(g) == 15 for g in genes.index)
    check_lists(DEMO, samples, genes, n_train=24, n_test=16, n_chosen=36)
