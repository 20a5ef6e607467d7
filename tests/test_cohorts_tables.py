"""Tests for haplexpr.cohorts.tables: the study's evidence per gene and the cohort's tables."""

import numpy as np
import pandas as pd
import pytest

from haplexpr.cohorts.tables import (
    GENE_COLUMNS,
    cohort_tables,
    gene_evidence,
    r_confidence_interval,
)


def per_gene_rows(rows):
    """A metrics per-gene table from (individuals, gene_set, gene, n, r, q, constant)."""
    return pd.DataFrame(
        [
            {
                "individuals": who,
                "gene_set": gene_set,
                "gene": gene,
                "n": n,
                "r": r,
                "spearman": r,
                "p_value": q,
                "q_value": q,
                "constant_observed": False,
                "constant_predicted": constant,
            }
            for who, gene_set, gene, n, r, q, constant in rows
        ]
    )


PER_GENE = per_gene_rows(
    [
        ("held_out_individuals", "seen_genes", "G1", 50, 0.6, 0.001, False),  # usable
        ("held_out_individuals", "seen_genes", "G2", 50, 0.2, 0.20, False),  # q too high
        ("held_out_individuals", "unseen_genes", "G3", 50, -0.5, 0.001, False),  # wrong sign
        ("held_out_individuals", "unseen_genes", "G4", 50, np.nan, np.nan, True),  # constant
        ("training_individuals", "seen_genes", "G2", 200, 0.9, 0.0001, False),  # not held out
    ]
)


def test_usable_is_a_positive_held_out_r_at_the_q_value():
    evidence = gene_evidence(PER_GENE, 0.05).set_index("gene")
    assert list(evidence.index) == ["G1", "G2", "G3", "G4"]  # held-out rows only
    assert evidence["usable"].to_dict() == {"G1": True, "G2": False, "G3": False, "G4": False}
    assert gene_evidence(PER_GENE, 0.25).set_index("gene")["usable"]["G2"]
    assert evidence.loc["G2", "held_out_r"] == 0.2  # the training individuals' 0.9 is not used


def test_r_interval_is_fisher_z_and_holds_r():
    low, high = r_confidence_interval(np.array([0.6, 0.0]), np.array([50, 103]))
    half = 1.959964 / np.sqrt(47)
    assert low[0] == pytest.approx(np.tanh(np.arctanh(0.6) - half), abs=1e-6)
    assert high[0] == pytest.approx(np.tanh(np.arctanh(0.6) + half), abs=1e-6)
    assert low[1] == pytest.approx(-high[1]) and high[1] == pytest.approx(np.tanh(0.1959964))
    low, high = r_confidence_interval(np.array([0.5, np.nan]), np.array([3, 50]))
    assert np.isnan([low, high]).all()  # n <= 3: no interval; NaN R: none either


def predictions(samples, genes):
    return pd.DataFrame(
        [(s, g, 10 * i + j) for j, g in enumerate(genes) for i, s in enumerate(samples)],
        columns=["sample", "gene", "prediction"],
    ).astype({"prediction": float})


def test_wide_table_is_genes_by_individuals_after_the_evidence():
    frame = predictions(["A", "B", "C"], ["G2", "G1", "G5"])
    tables = cohort_tables(frame, gene_evidence(PER_GENE, 0.05), ["C", "A", "B"])
    wide = tables.wide
    assert list(wide.columns) == GENE_COLUMNS + ["C", "A", "B"]
    assert list(wide["gene"]) == ["G2", "G1", "G5"]  # the predictions' order
    assert wide.set_index("gene").loc["G1", "C"] == 21.0  # sample C (i=2), gene G1 (j=1)
    g5 = wide.set_index("gene").loc["G5"]  # predicted, never scored: no evidence, not usable
    assert not g5["usable"] and np.isnan(g5["held_out_r"])
    long = tables.long
    assert list(long.columns) == ["sample", "gene", "prediction", "usable"]
    assert len(long) == 9 and long.set_index(["sample", "gene"])["usable"][("A", "G1")]


def test_a_missing_individual_or_a_clashing_name_is_refused():
    frame = predictions(["A"], ["G1"])
    with pytest.raises(ValueError, match=r"no predictions for cohort individuals \['B'\]"):
        cohort_tables(frame, gene_evidence(PER_GENE, 0.05), ["A", "B"])
    with pytest.raises(ValueError, match="usable"):
        cohort_tables(predictions(["usable"], ["G1"]), gene_evidence(PER_GENE, 0.05), ["usable"])
