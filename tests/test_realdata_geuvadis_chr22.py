"""Tests for haplexpr.realdata.geuvadis_chr22: the chr22 study builder, each of its decisions
counted (region FASTA, genes, covariates, split)."""

import numpy as np
import pandas as pd
import pysam
import pytest

from haplexpr.realdata.geuvadis_chr22 import (
    CHR22_LENGTH,
    BuildReport,
    Chr22Design,
    assemble,
    gene_fates,
    read_region_fasta,
    regress_out,
    write_reference,
)


def test_the_region_fasta_is_read_and_its_bases_land_at_their_coordinates(tmp_path):
    fasta = tmp_path / "region.fa"
    fasta.write_text(">22:11-18\nACGT\nacgt\n")
    start, bases = read_region_fasta(fasta)
    assert (start, bases) == (10, "ACGTACGT")
    write_reference(tmp_path / "ref.fa.gz", start, bases)
    with pysam.FastaFile(str(tmp_path / "ref.fa.gz")) as ref:
        assert list(ref.references) == ["22"] and list(ref.lengths) == [CHR22_LENGTH]
        assert ref.fetch("22", 8, 20) == "NNACGTACGTNN"
        assert ref.fetch("22", CHR22_LENGTH - 3, CHR22_LENGTH) == "NNN"
    fasta.write_text(">22:11-19\nACGT\nacgt\n")
    with pytest.raises(ValueError, match="8 bases for '>22:11-19'"):
        read_region_fasta(fasta)
    fasta.write_text(">chr1:11-18\nACGTACGT\n")
    with pytest.raises(ValueError, match="is not >22:START-END"):
        read_region_fasta(fasta)


def expression_table(rng, individuals):
    """Six genes, one for each decision, known bases at [1000, 2000) with margin 200."""
    genes = {
        # id: (TSS 1-based, values)
        "ENSG1.1": (1500, rng.gamma(2.0, 3.0, len(individuals))),  # kept
        "ENSG2.4": (5000, rng.gamma(2.0, 3.0, len(individuals))),  # wholly outside
        "ENSG3.2": (1050, rng.gamma(2.0, 3.0, len(individuals))),  # partly outside
        "ENSG1.2": (1600, rng.gamma(2.0, 3.0, len(individuals))),  # duplicate once unversioned
        "ENSG5.1": (1700, np.r_[np.zeros(7), np.ones(len(individuals) - 7)]),  # mostly zero
        "ENSG6.1": (1800, np.full(len(individuals), 4.0)),  # constant
        "ENSG7.1": (1900, rng.gamma(2.0, 3.0, len(individuals))),  # kept
    }
    rows = {
        gene: {
            "chr": "chr22",
            "TSS": tss,
            "strand": "+",
            **dict(zip(individuals, values, strict=True)),
        }
        for gene, (tss, values) in genes.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("gene")


def test_each_gene_decision_is_taken_once_and_counted():
    individuals = [f"I{i}" for i in range(12)]
    expression = expression_table(np.random.default_rng(0), individuals)
    report = BuildReport(design={}, known_region=(1000, 2000))
    design = Chr22Design(window_margin=200)
    fates = gene_fates(expression, individuals, report, design)
    assert fates["fate"].to_dict() == {
        "ENSG1.1": "kept",
        "ENSG2.4": "window wholly outside the known reference bases",
        "ENSG3.2": "window partly outside the known reference bases",
        "ENSG1.2": "duplicate gene ID once the version is removed",
        "ENSG5.1": "RPKM 0 in more than 50% of individuals",
        "ENSG6.1": "constant across individuals",
        "ENSG7.1": "kept",
    }
    assert fates.loc["ENSG2.4", "gene"] == "ENSG2"
    assert report.genes["kept"] == 2 and report.genes["versioned_ids_renamed"] == 7
    assert sum(v for k, v in report.genes.items() if k.startswith("dropped")) == 5


def test_covariates_are_regressed_out_and_the_gene_mean_kept():
    rng = np.random.default_rng(1)
    n = 80
    covariates = pd.DataFrame(
        rng.normal(size=(n, 4)),
        columns=["genotypes_PC1", "genes_PC1", "genes_PC2", "genes_PC3"],
        index=[f"I{i}" for i in range(n)],
    )
    cis = rng.normal(size=n)
    values = pd.DataFrame(
        {"G": 5 + 2 * covariates["genes_PC1"] + 3 * covariates["genotypes_PC1"] + cis},
        index=covariates.index,
    )
    report = BuildReport(design={})
    adjusted = regress_out(values, covariates, 2, report)
    assert report.expression["covariates"] == ["genotypes_PC1", "genes_PC1", "genes_PC2"]
    assert adjusted["G"].mean() == pytest.approx(values["G"].mean())
    for column in ("genotypes_PC1", "genes_PC1", "genes_PC2"):
        assert abs(np.corrcoef(adjusted["G"], covariates[column])[0, 1]) < 1e-9
    # what is left is the part no covariate explains
    assert np.corrcoef(adjusted["G"], cis)[0, 1] > 0.95


def test_the_study_splits_individuals_and_genes_and_the_ref_row_is_the_training_mean():
    individuals = [f"I{i}" for i in range(12)]
    rng = np.random.default_rng(2)
    expression = expression_table(rng, individuals)
    covariates = pd.DataFrame(
        rng.normal(size=(12, 2)), columns=["genotypes_PC1", "genes_PC1"], index=individuals
    )
    report = BuildReport(design={}, known_region=(1000, 2000))
    design = Chr22Design(
        train_individuals=6, test_individuals=4, window_margin=200, test_gene_fraction=0.5
    )
    table, train, test, train_genes, genes = assemble(
        expression, covariates, individuals[:11], report, design
    )
    assert len(train) == 6 and len(test) == 4 and not set(train) & set(test)
    assert "I11" not in train + test  # no genotypes
    assert report.individuals["unused"] == 1
    assert sorted(table["gene"].unique()) == ["ENSG1", "ENSG7"]
    assert sorted(table.groupby("gene")["split"].first()) == ["test", "train"]
    assert train_genes == sorted(table.loc[table["split"] == "train", "gene"].unique())
    for _, rows in table.groupby("gene"):
        ref = rows[rows["sample"] == "ref"]
        trained = rows[rows["sample"].isin(train)]
        assert len(ref) == 1 and len(rows) == 11
        for column in ("rpkm", "log2_rpkm", "log2_rpkm_adjusted"):
            assert ref[column].iloc[0] == pytest.approx(trained[column].mean())
        people = rows[rows["sample"] != "ref"]
        assert np.allclose(people["log2_rpkm"], np.log2(people["rpkm"] + 1))
    assert (table["chr"] == "chr22").all()
    # the same seed gives the same study
    again = assemble(
        expression, covariates, individuals[:11], BuildReport({}, (1000, 2000)), design
    )
    pd.testing.assert_frame_equal(table, again[0])
