"""Metrics on a synthetic study: per-gene R across individuals, controls and across-gene R."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd
import pytest

from haplexpr.metrics.evaluation import (
    HELD_OUT_COLUMNS,
    PER_GENE_COLUMNS,
    SUMMARY_SCHEMA,
    EvaluationSettings,
    MissingPredictionsError,
    TableSchemaError,
    check_table,
    evaluate,
    held_out_table,
    read_table,
)
from haplexpr.study.design import REFERENCE_INDIVIDUAL, Study
from haplexpr.study.genes import gene_table, read_partition_table

SEEN = ["g1", "g2", "g3"]
HELD_OUT = ["g4", "g5"]
TARGET = "expression"


def make_study(n_train: int = 6, n_test: int = 6, seed: int = 0) -> Study:
    """Three genes seen in training, two held out, a ``ref`` pseudo-sample with targets."""
    rng = np.random.default_rng(seed)
    train = [f"tr{i:02d}" for i in range(n_train)]
    test = [f"te{i:02d}" for i in range(n_test)]
    rows = []
    for k, gene in enumerate(SEEN + HELD_OUT):
        split = "train" if gene in SEEN else "test"
        for sample in [*train, *test]:
            rows.append((split, sample, gene, "chr1", 1000 * (k + 1), "+", rng.normal(k, 1.0)))
        rows.append((split, "ref", gene, "chr1", 1000 * (k + 1), "+", REF_TARGETS[gene]))
    table = pd.DataFrame(rows, columns=["split", "sample", "gene", "chr", "TSS", "strand", TARGET])
    study = Study(
        table=table,
        genes=gene_table(table),
        train_individuals=train,
        test_individuals=test,
        individual_genes=list(SEEN),
        target_column=TARGET,
        reference_sample="ref",
    )
    study.check()
    return study


REF_TARGETS = {"g1": 1.0, "g2": 3.0, "g3": 2.5, "g4": -1.0, "g5": 0.5}
REF_PREDICTIONS = {"g1": 0.2, "g2": 0.9, "g3": 1.1, "g4": 0.0, "g5": 0.3}


def predictions_from(study: Study, transform) -> pd.DataFrame:
    """Predictions ``transform(observed, sample)`` for every individual, plus the reference."""
    observed = study.observed()
    individual = observed.assign(
        prediction=[
            transform(v, s) for v, s in zip(observed["observed"], observed["sample"], strict=True)
        ]
    )[["sample", "gene", "prediction"]]
    reference = pd.DataFrame(
        {"sample": REFERENCE_INDIVIDUAL, "gene": list(REF_PREDICTIONS),
         "prediction": list(REF_PREDICTIONS.values())}
    )  # fmt: skip
    return pd.concat([reference, individual], ignore_index=True)


def settings(permutations: int, seed: int = 0) -> EvaluationSettings:
    """Few resamples: these tests check values, not the statistics' precision."""
    return EvaluationSettings(
        permutations=permutations, bootstrap=200, gene_permutations=199, seed=seed
    )


def per_individual_rows(summary: pd.DataFrame) -> pd.DataFrame:
    wanted = summary["individuals"].isin(["held_out_individuals", "training_individuals"])
    return summary[wanted].set_index(["individuals", "gene_set"])


def pearson(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


# --------------------------------------------------------------------------- evaluate


def test_gene_sets():
    study = make_study()
    assert study.gene_sets() == {"seen_genes": SEEN, "unseen_genes": HELD_OUT}


def test_predictions_lacking_a_gene_set_are_refused():
    study = make_study()
    predictions = noisy_predictions(study, 0.5)
    without_g5 = predictions[
        (predictions["gene"] != "g5") | (predictions["sample"] == REFERENCE_INDIVIDUAL)
    ]
    with pytest.raises(
        MissingPredictionsError,
        match="1 of the 2 genes of gene set 'unseen_genes' for the individuals",
    ):
        evaluate(without_g5, study, settings(10))


def test_a_sample_of_unseen_genes_is_scored_on_its_genes_only():
    study = dataclasses.replace(make_study(), unseen_sample=1, seed=3)
    (chosen,) = study.unseen_genes()
    assert chosen in HELD_OUT
    items = pd.DataFrame(study.prediction_items(), columns=["sample", "gene"])
    predicted = noisy_predictions(study, 0.5).merge(items)  # only what the design predicts
    assert set(predicted["gene"]) == {*SEEN, chosen}
    _, per_gene = evaluate(predicted, study, settings(10))
    unseen = per_gene[per_gene["gene_set"] == "unseen_genes"]
    assert set(unseen["gene"]) == {chosen}


def test_perfect_predictions():
    study = make_study()
    summary, per_gene = evaluate(predictions_from(study, lambda v, s: v), study, settings(20))
    rows = per_individual_rows(summary)
    assert len(rows) == 4
    np.testing.assert_allclose(rows["mean_r"], 1.0)
    np.testing.assert_allclose(rows["median_r"], 1.0)
    np.testing.assert_allclose(rows["sign_agreement"], 1.0)
    assert (rows["n_constant_predictions"] == 0).all()
    assert rows.loc[("held_out_individuals", "seen_genes"), "n_genes"] == 3
    assert rows.loc[("held_out_individuals", "unseen_genes"), "n_genes"] == 2
    assert (rows["n_individuals"] == 6).all()
    assert list(per_gene.columns) == PER_GENE_COLUMNS
    assert len(per_gene) == 2 * (3 + 2)
    np.testing.assert_allclose(per_gene["r"], 1.0)
    assert (per_gene["n"] == 6).all()


def test_negated_predictions():
    study = make_study()
    summary, _ = evaluate(predictions_from(study, lambda v, s: -v), study, settings(0))
    rows = per_individual_rows(summary)
    np.testing.assert_allclose(rows["mean_r"], -1.0)
    np.testing.assert_allclose(rows["sign_agreement"], 0.0)
    assert rows["shuffled_mean_r"].isna().all()  # no permutations asked for


def test_held_out_and_training_individuals_are_scored_apart():
    study = make_study()
    train = set(study.train_individuals)
    predictions = predictions_from(study, lambda v, s: -v if s in train else 2 * v + 1)
    rows = per_individual_rows(evaluate(predictions, study, settings(0))[0])
    np.testing.assert_allclose(rows.loc["held_out_individuals", "mean_r"], 1.0)
    np.testing.assert_allclose(rows.loc["training_individuals", "mean_r"], -1.0)


@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # across-gene R of constants: NaN
@pytest.mark.parametrize("value", [0.0, 0.3, 0.1, -0.1321048632913019])
def test_constant_predictions_count_as_zero(value):
    study = make_study(n_train=12, n_test=12)
    summary, per_gene = evaluate(predictions_from(study, lambda v, s: value), study, settings(10))
    rows = per_individual_rows(summary)
    assert (rows["mean_r"] == 0.0).all()
    assert (rows["sign_agreement"] == 0.0).all()
    n_genes = {"seen_genes": 3, "unseen_genes": 2}
    for (_, gene_set), n_constant in rows["n_constant_predictions"].items():
        assert n_constant == n_genes[gene_set]
    assert per_gene["r"].isna().all()
    assert (rows["shuffled_mean_r"] == 0.0).all()


def test_per_gene_r_is_pearson_over_held_out_individuals():
    study = make_study()
    rng = np.random.default_rng(3)
    noisy = predictions_from(study, lambda v, s: v + rng.normal(0, 1.0))
    _, per_gene = evaluate(noisy, study, settings(0))
    merged = noisy.merge(study.observed(), on=["sample", "gene"])
    for gene in SEEN:
        rows = merged[(merged["gene"] == gene) & merged["sample"].isin(study.test_individuals)]
        expected = pearson(rows["prediction"], rows["observed"])
        got = per_gene.set_index(["individuals", "gene_set", "gene"]).loc[
            ("held_out_individuals", "seen_genes", gene), "r"
        ]
        assert got == pytest.approx(expected, rel=1e-10)


def test_shuffled_control_is_near_zero_and_seeded():
    study = make_study(n_train=30, n_test=30)
    predictions = predictions_from(study, lambda v, s: v)
    summary, _ = evaluate(predictions, study, settings(200, seed=11))
    rows = per_individual_rows(summary)
    assert (rows["shuffled_mean_r"].abs() < 0.15).all()
    assert (rows["shuffled_p95_mean_r"] > rows["shuffled_mean_r"]).all()
    assert (rows["shuffled_p95_mean_r"] < 1.0).all()
    again, _ = evaluate(predictions, study, settings(200, seed=11))
    pd.testing.assert_frame_equal(summary, again)
    other, _ = evaluate(predictions, study, settings(200, seed=12))
    assert not np.allclose(per_individual_rows(other)["shuffled_mean_r"], rows["shuffled_mean_r"])
    # The real scores do not depend on the seed.
    pd.testing.assert_series_equal(per_individual_rows(other)["mean_r"], rows["mean_r"])


def test_reference_genome_across_gene_r():
    study = make_study()
    rng = np.random.default_rng(4)
    predictions = predictions_from(study, lambda v, s: v + rng.normal(0, 0.5))
    summary, _ = evaluate(predictions, study, settings(0))
    ref_rows = summary[summary["individuals"] == "reference_genome"].set_index("gene_set")
    expected = pearson([REF_PREDICTIONS[g] for g in SEEN], [REF_TARGETS[g] for g in SEEN])
    assert ref_rows.loc["seen_genes", "across_gene_r"] == pytest.approx(expected, rel=1e-10)
    assert ref_rows.loc["seen_genes", "n_genes"] == 3
    assert ref_rows.loc["seen_genes", "n_individuals"] == 1


def test_held_out_individuals_across_genes():
    study = make_study()
    rng = np.random.default_rng(5)
    predictions = predictions_from(study, lambda v, s: v + rng.normal(0, 0.5))
    summary, _ = evaluate(predictions, study, settings(0))
    row = summary[
        (summary["individuals"] == "held_out_individuals_across_genes")
        & (summary["gene_set"] == "seen_genes")
    ].iloc[0]
    merged = predictions.merge(study.observed(), on=["sample", "gene"])
    per_person = [
        pearson(rows["prediction"], rows["observed"])
        for sample, rows in merged[merged["gene"].isin(SEEN)].groupby("sample")
        if sample in study.test_individuals
    ]
    assert len(per_person) == 6
    assert row["across_gene_r"] == pytest.approx(np.mean(per_person), rel=1e-10)
    assert (row["n_genes"], row["n_individuals"]) == (3, 6)


def test_held_out_table_lists_every_run_and_skips_per_gene_files(tmp_path):
    for run, r in (("m/p", 0.4), ("m/r", 0.1), ("n/p", 0.2)):
        rows = [
            {"individuals": ind, "gene_set": gs, "n_genes": 3, "mean_r": r, "shuffled_mean_r": 0.0,
             "shuffled_p95_mean_r": 0.05, "sign_agreement": 0.6, "n_constant_predictions": 0}
            for ind in ("held_out_individuals", "training_individuals")
            for gs in ("seen_genes", "unseen_genes")
        ]  # fmt: skip
        path = tmp_path / f"{run}.tsv"
        path.parent.mkdir(exist_ok=True)
        pd.DataFrame(rows).to_csv(path, sep="\t", index=False)
        pd.DataFrame({"gene": ["g"], "r": [1.0]}).to_csv(
            path.with_suffix(".per_gene.tsv"), sep="\t", index=False
        )
    table = held_out_table(tmp_path)
    assert list(table.columns) == HELD_OUT_COLUMNS
    assert table["run"].tolist() == ["m/p", "m/p", "m/r", "m/r", "n/p", "n/p"]
    assert table["mean_r"].tolist() == [0.4, 0.4, 0.1, 0.1, 0.2, 0.2]
    with pytest.raises(FileNotFoundError, match="no metrics summaries"):
        held_out_table(tmp_path / "empty")


def noisy_predictions(study: Study, noise: float, seed: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return predictions_from(study, lambda v, s: v + rng.normal(0, noise))


def test_spearman_per_gene_equals_scipy_and_cis_bracket_the_estimates():
    from scipy import stats

    study = make_study(n_train=10, n_test=10)
    predictions = noisy_predictions(study, 1.0)
    summary, per_gene = evaluate(predictions, study, settings(0))
    merged = predictions.merge(study.observed(), on=["sample", "gene"])
    held_out = per_gene[per_gene["individuals"] == "held_out_individuals"].set_index("gene")
    for gene in SEEN + HELD_OUT:
        rows = merged[(merged["gene"] == gene) & merged["sample"].isin(study.test_individuals)]
        want = stats.spearmanr(rows["prediction"], rows["observed"]).statistic
        assert abs(held_out.loc[gene, "spearman"] - want) < 1e-12
    rows = per_individual_rows(summary)
    for name in ("mean_r", "median_r", "mean_spearman"):
        assert (rows[f"{name}_low"] <= rows[name]).all() and (
            rows[name] <= rows[f"{name}_high"]
        ).all()
        assert (rows[f"{name}_low"] < rows[f"{name}_high"]).all()
    seen = rows.loc[("held_out_individuals", "seen_genes")]
    assert seen["mean_spearman"] == pytest.approx(held_out.loc[SEEN, "spearman"].mean(), abs=1e-12)


def test_a_gene_that_does_not_vary_is_counted_and_left_out_of_the_means():
    study = make_study()
    table = study.table.copy()
    table.loc[table["gene"] == "g2", TARGET] = 4.0  # every individual, and the reference
    study = dataclasses.replace(study, table=table)
    summary, per_gene = evaluate(noisy_predictions(study, 0.5), study, settings(20))
    rows = per_individual_rows(summary)
    seen = per_gene[(per_gene["gene_set"] == "seen_genes")].set_index(["individuals", "gene"])
    for individuals in ("held_out_individuals", "training_individuals"):
        row = rows.loc[(individuals, "seen_genes")]
        assert (row["n_genes"], row["n_constant_observed"], row["n_constant_predictions"]) == (
            3,
            1,
            0,
        )
        assert bool(seen.loc[(individuals, "g2"), "constant_observed"])
        assert np.isnan(seen.loc[(individuals, "g2"), "r"])
        others = seen.loc[[(individuals, "g1"), (individuals, "g3")], "r"]
        assert row["mean_r"] == pytest.approx(others.mean(), abs=1e-12)
    assert (rows.loc[(slice(None), "unseen_genes"), "n_constant_observed"] == 0).all()


def test_individuals_missing_in_a_gene_are_left_out_of_that_gene_only():
    study = make_study(n_train=6, n_test=8)
    gone = study.test_individuals[:3]
    table = study.table[~((study.table["gene"] == "g1") & study.table["sample"].isin(gone))]
    study = dataclasses.replace(study, table=table)
    predictions = noisy_predictions(study, 0.5)
    _, per_gene = evaluate(predictions, study, settings(10))
    held_out = per_gene[per_gene["individuals"] == "held_out_individuals"].set_index("gene")
    assert held_out.loc["g1", "n"] == 5 and (held_out.loc[["g2", "g3", "g4", "g5"], "n"] == 8).all()
    merged = predictions.merge(study.observed(), on=["sample", "gene"])
    rows = merged[(merged["gene"] == "g1") & merged["sample"].isin(study.test_individuals)]
    assert len(rows) == 5
    assert held_out.loc["g1", "r"] == pytest.approx(
        pearson(rows["prediction"], rows["observed"]), abs=1e-12
    )
    assert held_out[["r", "p_value", "q_value"]].notna().all().all()


def test_metrics_on_a_table_whose_missing_targets_were_dropped(tmp_path, caplog):
    """Rows data.missing_targets dropped (empty / NA cells in the CSV) are predicted, not scored."""
    study = make_study(n_train=6, n_test=8)
    table = study.table.astype({TARGET: object})
    gone = study.test_individuals[:2]
    table.loc[(table["gene"] == "g1") & table["sample"].isin(gone), TARGET] = ""
    table.loc[(table["gene"] == "g2") & (table["sample"] == "ref"), TARGET] = "NA"
    table.loc[(table["gene"] == "g3") & (table["sample"] == study.train_individuals[0]), TARGET] = (
        "NaN"
    )
    path = tmp_path / "table.csv"
    table.to_csv(path, index=False)
    with caplog.at_level(logging.WARNING):
        read = read_partition_table(path, TARGET)
    assert f"{path}: left out 4 of {len(table)} rows whose {TARGET} is missing" in caplog.text
    study = dataclasses.replace(study, table=read, genes=gene_table(read))
    study.check()
    everyone = pd.DataFrame(study.prediction_items(), columns=["sample", "gene"])
    noisy = noisy_predictions(study, 0.5).set_index(["sample", "gene"])["prediction"]
    predictions = everyone.assign(
        prediction=[noisy.get((s, g), 0.1 * i) for i, (s, g) in enumerate(everyone.values)]
    )
    summary, per_gene = evaluate(predictions, study, settings(10))
    held_out = per_gene[per_gene["individuals"] == "held_out_individuals"].set_index("gene")
    assert held_out.loc["g1", "n"] == 6 and (held_out.loc[["g2", "g3", "g4", "g5"], "n"] == 8).all()
    training = per_gene[per_gene["individuals"] == "training_individuals"].set_index("gene")
    assert training.loc["g3", "n"] == 5
    assert held_out[["r", "p_value", "q_value"]].notna().all().all()
    assert summary["mean_r"].notna().any()
    # g2 lost its ref row: its reference target is the training individuals' mean.
    observed = study.observed()
    g2 = observed[(observed["gene"] == "g2") & observed["sample"].isin(study.train_individuals)]
    assert study.reference_targets(["g2"])["g2"] == pytest.approx(g2["observed"].mean())


def test_genes_predicted_significantly_are_counted_at_the_fdr():
    study = make_study(n_train=20, n_test=20)
    good, _ = evaluate(noisy_predictions(study, 0.05), study, settings(0))
    rows = per_individual_rows(good)
    assert (rows["n_significant"] == rows["n_genes"]).all()  # p = 1/200 each, q <= 0.005
    assert (rows["share_significant"] == 1.0).all()
    rng = np.random.default_rng(9)
    unrelated, per_gene = evaluate(
        predictions_from(study, lambda v, s: rng.normal()), study, settings(0)
    )
    assert per_individual_rows(unrelated)["n_significant"].sum() <= 1
    assert ((per_gene["q_value"] >= per_gene["p_value"] - 1e-12) & (per_gene["p_value"] > 0)).all()


def test_rows_are_labelled_with_their_kind_and_checked_against_the_schema(tmp_path):
    study = make_study()
    summary, per_gene = evaluate(
        noisy_predictions(study, 0.5), study, settings(5), kind="genotype_baseline"
    )
    assert list(summary.columns) == list(SUMMARY_SCHEMA)
    assert (summary["kind"] == "genotype_baseline").all()
    path = tmp_path / "m.tsv"
    summary.to_csv(path, sep="\t", index=False)
    pd.testing.assert_frame_equal(read_table(path, SUMMARY_SCHEMA), summary, check_dtype=False)
    with pytest.raises(TableSchemaError, match=r"missing columns \['kind'\]"):
        check_table(summary.drop(columns="kind"), SUMMARY_SCHEMA, "summary")
    with pytest.raises(TableSchemaError, match="column mean_r is .*, expected float64"):
        check_table(summary.assign(mean_r="high"), SUMMARY_SCHEMA, "summary")
    with pytest.raises(ValueError, match="kind must be one of"):
        evaluate(noisy_predictions(study, 0.5), study, settings(0), kind="deep")
    assert list(per_gene.columns) == PER_GENE_COLUMNS
