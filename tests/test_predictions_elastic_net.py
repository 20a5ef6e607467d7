"""Tests for haplexpr.predictions.elastic_net: cis dosages, the per-gene fit, its cohorts."""

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
from support.study_tables import small_study
from support.vcf_files import record_line, write_vcf

from haplexpr.config import validate_config
from haplexpr.errors import ConfigError
from haplexpr.predictions.elastic_net import (
    ElasticNetSettings,
    cis_genotypes,
    elastic_net_cohort_predictions,
    elastic_net_predictions,
)
from haplexpr.study.design import REFERENCE_INDIVIDUAL
from haplexpr.study.genes import gene_windows
from haplexpr.vcf.genotypes import SampleGenotypes

# --- cis_genotypes --------------------------------------------------------------------------

SAMPLES = ["A", "B", "C"]
# (1-based POS, REF, ALT, calls of A, B, C); the window below is [100, 200) 0-based, i.e.
# POS 101..200, plus a deletion at POS 99 whose REF reaches into it.
RECORDS = [
    (98, "G", "T", ["1|1", "1|1", "1|1"]),  # 0-based 97: outside
    (99, "CAG", "C", ["0|1", "0|0", "1|1"]),  # covers 98..100: overlaps the window start
    (100, "A", "G", ["1|1", "1|1", "1|1"]),  # 0-based 99: one base before the start
    (101, "A", "G", ["0|0", "0|1", "1|1"]),  # 0-based 100: the first base
    (150, "T", "C,G", ["0|2", "1|2", "2|2"]),  # multi-allelic: every ALT index counts
    (160, "C", "A", [".|1", "./.", "1|."]),  # missing alleles count 0
    (170, "G", "A", ["1/0", "0/0", "1/1"]),  # unphased
    (200, "T", "A", ["1|0", "0|0", "0|1"]),  # 0-based 199: the last base
    (201, "C", "T", ["1|1", "1|1", "1|1"]),  # 0-based 200: the end, excluded
]


@pytest.fixture(scope="module")
def vcf(tmp_path_factory):
    path = tmp_path_factory.mktemp("cis") / "calls.vcf.gz"
    lines = [record_line("1", pos, ref, alt, calls) for pos, ref, alt, calls in RECORDS]
    write_vcf(path, lines, SAMPLES, {"1": 1000, "2": 1000}, index=True)
    return path


def dosages_in(vcf, chrom, start, end, samples=SAMPLES):
    with SampleGenotypes(vcf, samples) as genotypes:
        return cis_genotypes(genotypes, chrom, start, end)


def test_dosages_of_records_overlapping_the_window(vcf):
    dosages = dosages_in(vcf, "1", 100, 200).dosages
    # Columns: POS 99 (deletion), 101, 150, 160, 170, 200.
    expected = [[1, 0, 1, 1, 1, 1], [0, 1, 2, 0, 0, 0], [2, 2, 2, 1, 2, 1]]
    np.testing.assert_array_equal(dosages, expected)
    assert dosages.dtype == np.float64


def test_dosages_follow_the_requested_sample_order(vcf):
    dosages = dosages_in(vcf, "1", 100, 101, ["C", "A"]).dosages  # POS 99 (deletion) and 101
    np.testing.assert_array_equal(dosages, [[2, 2], [1, 0]])


def test_window_clipped_at_contig_start(vcf):
    np.testing.assert_array_equal(dosages_in(vcf, "1", -50, 98).dosages, [[2], [2], [2]])


@pytest.mark.parametrize(("chrom", "start", "end"), [("1", 300, 900), ("2", 0, 1000)])
def test_no_records_gives_samples_by_zero(vcf, chrom, start, end):
    dosages = dosages_in(vcf, chrom, start, end).dosages
    assert dosages.shape == (3, 0)


# --- elastic_net_predictions on a planted study -------------------------------------------

TRAIN = [f"I{n:02d}" for n in range(36)]
TEST = [f"J{n:02d}" for n in range(10)]
CIS = 1000
SETTINGS = ElasticNetSettings(cis_window=CIS, min_minor_allele_count=2, l1_ratio=0.5, cv_folds=5)
# GENE's TSS is 0-based 5000 (the table's 1-based 5001); no variant is near QUIET (50000).
# 0-based variant positions, all in GENE's cis window. RARE and FIXED have a minor allele
# count of 1 among the training individuals (FIXED: one REF allele of 72), below 2.
CAUSAL, NULL, RARE, FIXED = 5100, 4500, 5500, 5600


def planted_genotypes() -> dict[int, dict[str, tuple[int, int]]]:
    """Each individual's haplotypes per variant.

    J00, J01 and J03 have equal CAUSAL and NULL genotypes; J01 differs from J00 only at RARE,
    J03 only at FIXED. J02 carries no ALT at any variant kept.
    """
    rng = np.random.default_rng(4)
    individuals = TRAIN + TEST
    genotypes = {
        pos: {i: tuple(int(a) for a in rng.random(2) < 0.4) for i in individuals}
        for pos in (CAUSAL, NULL)
    }
    genotypes[RARE] = {i: (0, 0) for i in individuals}
    genotypes[RARE]["I00"] = (0, 1)  # minor allele count 1 among the training individuals
    genotypes[RARE]["J01"] = (1, 1)  # held out: not counted
    genotypes[FIXED] = {i: (1, 1) for i in individuals}
    genotypes[FIXED]["I01"] = (0, 1)
    genotypes[FIXED]["J02"] = genotypes[FIXED]["J03"] = (0, 0)
    for pos in (CAUSAL, NULL):
        genotypes[pos]["J00"] = genotypes[pos]["J01"] = genotypes[pos]["J03"] = (1, 0)
        genotypes[pos]["J02"] = (0, 0)
    return genotypes


def planted_study(folder, genotypes, shift_test: float = 0.0):
    """GENE = 2 + CAUSAL dosage + noise, +1.5 and -1.5 for the rare-allele carriers I00 and I01.

    QUIET is noise around 5. ``shift_test`` is added to every held-out individual's targets.
    """
    rng = np.random.default_rng(7)
    rows = []
    for sample in TRAIN + TEST:
        gene = 2.0 + sum(genotypes[CAUSAL][sample]) + rng.normal(0, 0.1)
        gene += {"I00": 1.5, "I01": -1.5}.get(sample, 0.0)
        quiet = rng.normal(5.0, 1.0)
        shift = shift_test if sample in TEST else 0.0
        rows.append(f"train,{sample},GENE,chr1,5001,+,{gene + shift!r}")
        rows.append(f"train,{sample},QUIET,chr1,50001,-,{quiet + shift!r}")
    train, test = ("".join(f"{s}\n" for s in group) for group in (TRAIN, TEST))
    return small_study(folder, rows, train=train, test=test, genes="GENE\nQUIET\n")


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("planted")
    genotypes = planted_genotypes()
    # The VCF lists samples in another order than the study: the baseline must subset by name.
    samples = (TRAIN + TEST)[::-1]
    lines = [
        record_line("1", pos + 1, "A", "G", [f"{a}|{b}" for a, b in (calls[s] for s in samples)])
        for pos, calls in sorted(genotypes.items())
    ]
    vcf = write_vcf(folder / "chr1.vcf.gz", lines, samples, {"1": 100_000}, index=True)
    study = planted_study(folder, genotypes)
    windows = gene_windows(study.genes, {"1": 100_000}, 1, tss_base=1)
    return study, windows, {"1": vcf}, genotypes


def predict(planted, **changes):
    study, windows, vcfs, _ = planted
    fit = elastic_net_predictions(study, windows, vcfs, dataclasses.replace(SETTINGS, **changes))
    return fit.predictions


def by_sample(predictions: pd.DataFrame, gene: str) -> pd.Series:
    return predictions[predictions["gene"] == gene].set_index("sample")["prediction"]


def test_one_row_per_individual_and_gene_plus_reference(planted):
    predictions = predict(planted)
    assert list(predictions.columns) == ["sample", "gene", "prediction"]
    expected = [(s, g) for g in ("GENE", "QUIET") for s in [*TRAIN, *TEST, REFERENCE_INDIVIDUAL]]
    assert list(zip(predictions["sample"], predictions["gene"], strict=True)) == expected
    assert predictions["prediction"].notna().all()


def test_planted_effect_is_recovered_on_held_out_individuals(planted):
    study, *_ = planted
    gene = by_sample(predict(planted), "GENE")
    observed = study.table.set_index(["gene", "sample"]).loc["GENE", "log_TPM"]
    r = np.corrcoef(gene[TEST], observed[TEST])[0, 1]
    assert r > 0.9
    truth = 2.0 + np.array([sum(planted[3][CAUSAL][s]) for s in TEST])
    assert np.abs(gene[TEST].to_numpy() - truth).max() < 0.3


def test_reference_is_the_all_zero_dosage_prediction(planted):
    gene = by_sample(predict(planted), "GENE")
    assert gene[REFERENCE_INDIVIDUAL] == pytest.approx(gene["J02"], abs=1e-12)
    assert gene[REFERENCE_INDIVIDUAL] == pytest.approx(2.0, abs=0.2)


def test_variants_below_minor_allele_count_are_dropped(planted):
    """RARE (J01) and FIXED (J03) change no prediction; at threshold 1 both are features."""
    gene = by_sample(predict(planted), "GENE")
    assert gene["J01"] == pytest.approx(gene["J00"], abs=1e-12)
    assert gene["J03"] == pytest.approx(gene["J00"], abs=1e-12)
    # The only carriers of RARE's ALT (I00) and FIXED's REF (I01) are outliers (+1.5, -1.5).
    kept = by_sample(predict(planted, min_minor_allele_count=1), "GENE")
    assert kept["J01"] - kept["J00"] > 1.0
    assert kept["J00"] - kept["J03"] > 1.0


def test_gene_without_cis_variants_is_predicted_as_training_mean(planted):
    study, *_ = planted
    quiet = by_sample(predict(planted), "QUIET")
    observed = study.table.set_index(["gene", "sample"]).loc["QUIET", "log_TPM"]
    np.testing.assert_allclose(quiet.to_numpy(), observed[TRAIN].mean(), rtol=0, atol=1e-12)


def test_fewer_training_individuals_than_folds_predicts_the_mean(planted):
    study, *_ = planted
    gene = by_sample(predict(planted, cv_folds=len(TRAIN) + 1), "GENE")
    observed = study.table.set_index(["gene", "sample"]).loc["GENE", "log_TPM"]
    np.testing.assert_allclose(gene.to_numpy(), observed[TRAIN].mean(), rtol=0, atol=1e-12)


def test_rerun_with_the_same_seed_is_identical(planted):
    pd.testing.assert_frame_equal(predict(planted), predict(planted), check_exact=True)


def test_held_out_expression_is_never_used(planted, tmp_path):
    """Shifting every held-out individual's expression changes no prediction."""
    study, windows, vcfs, genotypes = planted
    shifted = planted_study(tmp_path, genotypes, shift_test=100.0)
    again = elastic_net_predictions(shifted, windows, vcfs, SETTINGS).predictions
    pd.testing.assert_frame_equal(predict(planted), again, check_exact=True)


def test_training_individual_without_a_target_is_left_out_of_that_gene_fit(planted):
    """A row data.missing_targets dropped: the fit uses the others, everyone is predicted."""
    study, windows, vcfs, _ = planted
    dropped = study.table[~((study.table["gene"] == "QUIET") & (study.table["sample"] == "I00"))]
    study = dataclasses.replace(study, table=dropped)
    quiet = by_sample(elastic_net_predictions(study, windows, vcfs, SETTINGS).predictions, "QUIET")
    observed = dropped.set_index(["gene", "sample"]).loc["QUIET", "log_TPM"]
    assert quiet.notna().all() and "I00" in quiet.index
    fitted_on = [s for s in TRAIN if s != "I00"]
    np.testing.assert_allclose(quiet.to_numpy(), observed[fitted_on].mean(), rtol=0, atol=1e-12)


def test_cv_r2_is_the_share_the_cis_genotypes_explain(planted):
    """GENE is mostly its CAUSAL dosage (R² ~0.78); QUIET has no cis variants."""
    study, windows, vcfs, _ = planted
    fit = elastic_net_predictions(study, windows, vcfs, SETTINGS).heritability
    assert list(fit.columns) == ["gene", "n_variants", "cv_r2", "intercept"]
    fit = fit.set_index("gene")
    assert fit.loc["GENE", "n_variants"] == 2  # CAUSAL and NULL; RARE and FIXED dropped
    assert 0.65 < fit.loc["GENE", "cv_r2"] < 0.85  # 0.48 of 0.48 + 0.01 noise + 0.125 outliers
    assert fit.loc["QUIET", "n_variants"] == 0 and fit.loc["QUIET", "cv_r2"] == 0.0
    few = elastic_net_predictions(study, windows, vcfs, dataclasses.replace(SETTINGS, cv_folds=37))
    assert few.heritability["cv_r2"].isna().all()


def test_the_seed_picks_the_cv_folds(planted, monkeypatch):
    """Folds are shuffled by the seed, so another seed hands ElasticNetCV other folds."""
    from haplexpr.predictions import elastic_net

    seen = []
    original = elastic_net.KFold

    def recording(**kwargs):
        seen.append(kwargs)
        return original(**kwargs)

    monkeypatch.setattr(elastic_net, "KFold", recording)
    study, windows, vcfs, _ = planted
    elastic_net_predictions(study, windows, vcfs, dataclasses.replace(SETTINGS, seed=3))
    assert seen == [{"n_splits": 5, "shuffle": True, "random_state": 3}]


# --- a new cohort predicted from the stored weights ----------------------------------------


def test_cis_genotypes_name_each_column_chrom_pos_ref_alt(vcf):
    assert dosages_in(vcf, "1", 100, 200).variants == [
        "1:99:CAG:C",
        "1:101:A:G",
        "1:150:T:C,G",
        "1:160:C:A",
        "1:170:G:A",
        "1:200:T:A",
    ]


def test_a_cohort_of_the_held_out_individuals_gets_their_study_predictions(planted):
    """Intercept + stored weights x the cohort's dosages is the fitted model's prediction."""
    study, windows, vcfs, _ = planted
    fit = elastic_net_predictions(study, windows, vcfs, SETTINGS)
    assert set(fit.weights["gene"]) == {"GENE"} and (fit.weights["weight"] != 0).all()
    assert set(fit.weights["variant"]) <= {f"1:{CAUSAL + 1}:A:G", f"1:{NULL + 1}:A:G"}
    cohort = TEST[::-1]  # any order
    again = elastic_net_cohort_predictions(
        fit.heritability, fit.weights, windows, vcfs, cohort, CIS
    )
    study_rows = fit.predictions.set_index(["sample", "gene"])["prediction"]
    expected = study_rows.loc[list(zip(again["sample"], again["gene"], strict=True))]
    np.testing.assert_allclose(again["prediction"], expected, rtol=0, atol=1e-9)
    assert list(again["sample"].unique()) == cohort


def test_a_weighted_variant_missing_from_the_cohort_vcf_counts_as_reference(planted, tmp_path):
    """Without CAUSAL's record, every individual's CAUSAL dosage is 0: NULL's weight is left."""
    study, windows, vcfs, genotypes = planted
    fit = elastic_net_predictions(study, windows, vcfs, SETTINGS)
    lines = [
        record_line("1", pos + 1, "A", "G", [f"{a}|{b}" for a, b in (calls[s] for s in TEST)])
        for pos, calls in sorted(genotypes.items())
        if pos != CAUSAL
    ]
    cohort_vcf = write_vcf(tmp_path / "cohort.vcf.gz", lines, TEST, {"1": 100_000}, index=True)
    got = elastic_net_cohort_predictions(
        fit.heritability, fit.weights, windows, {"1": cohort_vcf}, TEST, CIS
    )
    gene = got[got["gene"] == "GENE"].set_index("sample")["prediction"]
    weights = fit.weights.set_index("variant")["weight"]
    intercept = fit.heritability.set_index("gene").loc["GENE", "intercept"]
    null_weight = weights.get(f"1:{NULL + 1}:A:G", 0.0)
    expected = [intercept + null_weight * sum(genotypes[NULL][s]) for s in TEST]
    np.testing.assert_allclose(gene[TEST], expected, rtol=0, atol=1e-9)
    quiet = got[got["gene"] == "QUIET"]["prediction"]
    assert (quiet == fit.heritability.set_index("gene").loc["QUIET", "intercept"]).all()


def test_settings_read_every_key_of_the_config_and_default_to_config_yaml(demo_config):
    """A key added to ``baselines.elastic_net`` must reach the settings; the library's
    defaults are config.yaml's, so a caller without a config fits what the pipeline fits."""
    fields = {f.name for f in dataclasses.fields(ElasticNetSettings)}
    assert fields == {*demo_config["baselines"]["elastic_net"], "seed"}
    assert ElasticNetSettings.from_config(demo_config) == ElasticNetSettings()
    changed = {**demo_config, "training": {**demo_config["training"], "seed": 7}}
    assert ElasticNetSettings.from_config(changed).seed == 7


def test_a_bad_setting_is_refused_naming_the_key(demo_config):
    """The schema is the one check of the block the settings are built from."""
    config = copy.deepcopy(demo_config)
    config["baselines"]["elastic_net"]["cv_folds"] = 1
    with pytest.raises(ConfigError, match=r"config key baselines/elastic_net/cv_folds: 1 is less"):
        validate_config(config)
